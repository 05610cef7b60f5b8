#!/bin/sh
# run-guest.sh [options] KERNEL_ENV INITRAMFS
#
# Boots one lab guest under QEMU (TCG: KVM does not work on these hosts) with
# every DMA of its virtio-blk disk bounced through SWIOTLB
# (swiotlb=force, virtio-blk-pci disable-legacy=on,iommu_platform=on).
#
#   -s NAME     scenario to run (/lab/NAME.sh in the guest); default: shell
#   -p SPEC     swiotlb= value (default: force; e.g. 512,force)
#   -t SECONDS  hard limit for the whole boot (default 180)
#   -o DIR      where console.log, results and status go (required unless shell)
#   -a ARGS     extra kernel command line
#   -b          a second virtio disk (vdb, 16 MiB) without
#               iommu_platform=on: it bypasses the DMA API and SWIOTLB
#   -n          an NVMe disk (nvme0n1, 64 MiB, serial dmawnvme): a PCI
#               device that maps through dma-direct like the virtio disk,
#               so it bounces too, but with NVMe's min_align_mask (4095)
#               and so a smaller SWIOTLB limit (258048 bytes, not 262144).
#               It sits behind a PCIe root port, so it can be hot-plugged:
#               a "host unplug-nvme" or "host plug-nvme" line from the
#               scenario (results port) has QEMU's monitor device_del it,
#               or device_add a new one in the same slot. A second root
#               port stays empty until "host plug-virtio" puts a bouncing
#               virtio disk there (64 MiB; "host unplug-virtio" takes it
#               away).
#   -f H:G[,H:G...]
#               a virtio network card (eth0, 10.0.2.15 on QEMU's user
#               network) that bounces like the disk (iommu_platform=on),
#               with each host port H on 127.0.0.1 forwarded to the
#               guest's TCP port G. restrict=on: the guest reaches nothing
#               outside, and nothing but those ports reaches the guest.
#
# TCG runs the guest's two vCPUs in one host thread (LAB_TCG_THREAD=single,
# the default): with a thread per vCPU (multi), a vCPU can execute a stale
# int3 that the kernel's text_poke_bp() left while live-patching code
# (static keys flipped by tracefs enables, kprobes, BPF attach and detach)
# and the guest dies with "Oops: int3". `make lab-soak` measures both.
# oops=panic and softlockup_panic=1 with panic=-1 and -no-reboot: a guest
# whose kernel oopsed or locked up (it would otherwise limp on until the
# time limit) ends at once.
#
# The scenario's "key value" lines arrive in DIR/results through a second
# serial port. DIR/status ends as "ok" (the guest powered itself off after
# its scenario), "hung" (killed at the time limit), "incomplete" (QEMU
# ended without the scenario's end marker) or "qemu-failed N".
# QEMU is killed on every way out; exit status 0 only for "ok".
set -eu
scenario=shell swiotlb=force limit=180 out='' extra='' bypass='' nvme='' forwards=''
while getopts s:p:t:o:a:bnf: opt; do
	case $opt in
	f) forwards=$OPTARG ;;
	b) bypass=1 ;;
	n) nvme=1 ;;
	s) scenario=$OPTARG ;;
	p) swiotlb=$OPTARG ;;
	t) limit=$OPTARG ;;
	o) out=$OPTARG ;;
	a) extra=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
kernel_env=${1:?usage: run-guest.sh [-s NAME] [-p SPEC] [-t S] [-o DIR] KERNEL_ENV INITRAMFS}
initrd=${2:?usage: run-guest.sh [-s NAME] [-p SPEC] [-t S] [-o DIR] KERNEL_ENV INITRAMFS}
# shellcheck disable=SC1090
. "$kernel_env"

command -v qemu-system-x86_64 >/dev/null || {
	echo "run-guest: qemu-system-x86_64 missing: run 'make deps'" >&2
	exit 1
}

work=$(mktemp -d)
qemu_pid='' mon_cat=''
cleanup() {
	[ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null || true
	[ -n "$mon_cat" ] && kill "$mon_cat" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case ${LAB_TCG_THREAD:=single} in
single | multi) ;;
*) echo "run-guest: LAB_TCG_THREAD must be single or multi" >&2; exit 2 ;;
esac
truncate -s 256M "$work/disk.img"
[ -z "$bypass" ] || truncate -s 16M "$work/disk2.img"
[ -z "$nvme" ] || truncate -s 64M "$work/nvme.img" "$work/hotplug.img"
netdev=user,id=net0,restrict=on
for pair in $(echo "$forwards" | tr , ' '); do
	case $pair in
	[0-9]*:[0-9]*) netdev="$netdev,hostfwd=tcp:127.0.0.1:${pair%%:*}-:${pair#*:}" ;;
	*) echo "run-guest: -f takes HOSTPORT:GUESTPORT[,...], not '$pair'" >&2; exit 2 ;;
	esac
done
set -- qemu-system-x86_64 -accel "tcg,thread=$LAB_TCG_THREAD" -machine q35 -m 1G -smp 2 \
	-nodefaults -no-reboot -vga none -display none \
	-kernel "$VMLINUZ" -initrd "$initrd" \
	-drive "file=$work/disk.img,if=none,id=disk0,format=raw,cache=unsafe" \
	-device virtio-blk-pci,drive=disk0,disable-legacy=on,iommu_platform=on \
	${bypass:+-drive "file=$work/disk2.img,if=none,id=disk1,format=raw,cache=unsafe"} \
	${bypass:+-device virtio-blk-pci,drive=disk1,disable-legacy=on} \
	${nvme:+-drive "file=$work/nvme.img,if=none,id=nvme0,format=raw,cache=unsafe"} \
	${nvme:+-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1} \
	${nvme:+-device nvme,serial=dmawnvme,drive=nvme0,bus=rp1,id=nvmedev} \
	${nvme:+-device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2} \
	${forwards:+-netdev "$netdev"} \
	${forwards:+-device virtio-net-pci,netdev=net0,disable-legacy=on,iommu_platform=on} \
	-append "console=ttyS0 panic=-1 oops=panic softlockup_panic=1 loglevel=4 swiotlb=$swiotlb dmawatch.scenario=$scenario $extra"

if [ "$scenario" = shell ]; then
	exec "$@" -serial mon:stdio
fi

[ -n "$out" ] || { echo "run-guest: -o DIR is required for a scenario" >&2; exit 2; }
mkdir -p "$out"
: > "$out/results"
echo running > "$out/status"
# QEMU's monitor on two FIFOs (QEMU opens mon.in and mon.out), for the
# scenario's hot-plug requests; what it answers goes to a log.
if [ -n "$nvme" ]; then
	mkfifo "$work/mon.in" "$work/mon.out"
	set -- "$@" -chardev "pipe,id=mon0,path=$work/mon" -mon chardev=mon0,mode=readline
fi
start=$(date +%s)
"$@" -serial "file:$out/console.log" -serial "file:$out/results" </dev/null &
qemu_pid=$!
if [ -n "$nvme" ]; then
	cat "$work/mon.out" > "$out/monitor.log" &
	mon_cat=$!
	# Read-write: opening a FIFO so never waits for the other end.
	exec 4<> "$work/mon.in"
fi
handled=0
# The scenario's requests ("host VERB" lines), each carried out once.
host_requests() {
	total=$(grep -c '^host ' "$out/results" || true)
	while [ "$handled" -lt "$total" ]; do
		handled=$((handled + 1))
		# The serial port ends lines with \r\n.
		case $(grep '^host ' "$out/results" | sed -n "${handled}p" | tr -d '\r') in
		"host unplug-nvme") echo "device_del nvmedev" >&4 ;;
		"host unplug-virtio") echo "device_del hotplugdev" >&4 ;;
		"host plug-virtio")
			echo "drive_add 0 file=$work/hotplug.img,if=none,id=hp$handled,format=raw,cache=unsafe" >&4
			echo "device_add virtio-blk-pci,drive=hp$handled,bus=rp2,disable-legacy=on,iommu_platform=on,id=hotplugdev" >&4
			;;
		"host plug-nvme")
			echo "drive_add 0 file=$work/nvme.img,if=none,id=nvme$handled,format=raw,cache=unsafe" >&4
			echo "device_add nvme,serial=dmawnvme,drive=nvme$handled,bus=rp1,id=nvmedev" >&4
			;;
		*) echo "run-guest: unknown request: $(grep '^host ' "$out/results" | sed -n "${handled}p")" >&2 ;;
		esac
	done
}
# Poll rather than `timeout`, so the limit also covers a QEMU that ignores
# SIGTERM and so the status names what happened.
while kill -0 "$qemu_pid" 2>/dev/null; do
	[ -z "$nvme" ] || host_requests
	if [ $(($(date +%s) - start)) -ge "$limit" ]; then
		kill -9 "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
		qemu_pid=
		echo hung > "$out/status"
		echo "$(($(date +%s) - start))" > "$out/seconds"
		exit 1
	fi
	sleep 0.5
done
rc=0
wait "$qemu_pid" || rc=$?
qemu_pid=
echo "$(($(date +%s) - start))" > "$out/seconds"
if [ "$rc" -ne 0 ]; then
	echo "qemu-failed $rc" > "$out/status"
	exit 1
fi
if ! grep -q '^end 1' "$out/results"; then
	echo incomplete > "$out/status"
	exit 1
fi
echo ok > "$out/status"
