#!/bin/sh
# Per-device SWIOTLB limits, default pool, with an NVMe disk beside the
# virtio one (run-guest.sh -n). NVMe sets min_align_mask 4095, so
# swiotlb_max_mapping_size() of its PCI function is 128 * 2048 - 4096 =
# 258048 bytes, where the virtio disk's is 262144. dmawatch reads each
# device's limit; the kernel's own figures for the same number are the
# queue limits the drivers derived from it (nvme0n1's max_hw_sectors_kb,
# vda's max_segment_size). O_DIRECT IO on the NVMe disk, then the test
# module maps 260096 bytes (127 slots) on each PCI function: over NVMe's
# limit, within virtio's. dmawatch stat (JSON and text) and tracefs
# swiotlb_bounced count the same window.
# shellcheck disable=SC2154 # spawned and tracing: set by lib.sh
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
map_size=260096
echo 8 > /proc/sys/vm/nr_hugepages

# The namespace appears once the controller's reset work has scanned it.
i=0
while [ ! -b /dev/nvme0n1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
emit nvme_disk "$([ -b /dev/nvme0n1 ] && echo yes || echo no)"
emit nvme_modules "$(sed -n 's/^\(nvme[a-z_]*\) .*/\1/p' /proc/modules | sort | tr '\n' ' ')"

# The PCI function (DDDD:BB:DD.F) on a sysfs path, the nearest one up.
pci_of() { # sysfs-path
	_p=$(readlink -f "$1")
	while [ -n "$_p" ] && [ "$_p" != /sys ]; do
		case ${_p##*/} in
		[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7])
			echo "${_p##*/}"
			return
			;;
		esac
		_p=${_p%/*}
	done
}
# nvme0n1's device is its controller (nvme0, under the PCI function), or,
# where the kernel made a multipath head of the namespace, the subsystem
# (virtual): then its controllers, nvme0 and so on, are links in it.
emit nvme_device_path "$(readlink -f /sys/block/nvme0n1/device)"
nvme=$(pci_of /sys/block/nvme0n1/device)
if [ -z "$nvme" ]; then
	for c in /sys/block/nvme0n1/device/nvme[0-9]*; do
		[ -n "$nvme" ] || nvme=$(pci_of "$c")
	done
fi
emit nvme_pci "$nvme"
# The other way round: the PCI function the nvme driver is bound to.
bound=
for f in /sys/bus/pci/drivers/nvme/[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:*; do
	[ -e "$f" ] && bound="$bound${bound:+ }${f##*/}"
done
emit nvme_driver_pci "$bound"
# virtio-blk's DMA device is the virtio PCI function, virtio0's parent.
emit vda_device_path "$(readlink -f /sys/block/vda/device)"
vda=$(pci_of /sys/block/vda/device)
emit vda_pci "$vda"
emit vda_dma_dev "$(dma_dev_of vda)"

# The kernel's figures: what each driver derived from
# dma_max_mapping_size() / dma_opt_mapping_size() of its device.
for q in max_hw_sectors_kb max_sectors_kb max_segment_size logical_block_size; do
	emit "nvme_$q" "$(cat /sys/block/nvme0n1/queue/$q)"
	emit "vda_$q" "$(cat /sys/block/vda/queue/$q)"
done

insmod /lab/dmawatch_lab.ko
emit insmod_exit $?

# Both views of one window: JSON for the counts, the text for its LIMIT
# column. Attaching takes 5-10 s each, minutes on a loaded TCG host.
spawn /tmp/lim.json /tmp/lim.err dmawatch stat --json 1
json_pid=$spawned
spawn /tmp/lim.txt /tmp/limt.err dmawatch stat 1
text_pid=$spawned
wait_for /tmp/lim.json '"devices"' 180 "$json_pid"
emit stat_attached $?
wait_for /tmp/lim.txt '^DEVICE' 180 "$text_pid"
emit text_attached $?

trace_swiotlb_start
# O_DIRECT from malloc()ed memory (page-sized segments), then from a
# hugetlb page: physically contiguous, so each request is one segment as
# large as nvme0n1's max_hw_sectors_kb allows.
labio write /dev/nvme0n1 16777216 1048576 > /tmp/w.out
emit nvme_write_exit $?
labio read /dev/nvme0n1 16777216 65536 > /tmp/r.out
emit nvme_read_exit $?
labio write /dev/nvme0n1 4194304 2097152 hugetlb > /tmp/h.out
emit nvme_huge_exit $?
emit nvme_io_bytes "$(sed -n 's/^bytes //p' /tmp/w.out /tmp/r.out /tmp/h.out | awk '{ s += $1 } END { print s + 0 }')"
# The IO's own mappings, before the module's (tracefs: events, bytes,
# largest size).
# shellcheck disable=SC2046 # the sum's four fields, an argument each
set -- $(trace_swiotlb_sum "$nvme")
emit nvme_io_trace "$1 $2 $3"

# The module's 260096 bytes on each PCI function, from one page-aligned
# buffer (alloc_pages): 127 slots.
echo "$map_size $nvme" > $ctl/map_single 2> /tmp/m.err
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit nvme_map_exit $?
emit nvme_map_err "$(cat /tmp/m.err)"
emit nvme_map_result "$(cat $ctl/map_single)"
echo "$map_size $vda" > $ctl/map_single 2> /tmp/m.err
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit vda_map_exit $?
emit vda_map_err "$(cat /tmp/m.err)"
emit vda_map_result "$(cat $ctl/map_single)"
# "SIZE" alone still maps on the module's own device; a name no PCI
# device has is refused, and maps nothing.
echo 4096 > $ctl/map_single
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit own_map_exit $?
emit own_map_result "$(cat $ctl/map_single)"
echo "4096 0000:ff:1f.7" > $ctl/map_single 2> /tmp/m.err
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit nodev_map_exit $?
emit nodev_map_err "$(cat /tmp/m.err)"
emit nodev_map_result "$(cat $ctl/map_single)"
trace_swiotlb_stop

kill -TERM "$json_pid" "$text_pid"
wait "$json_pid"
emit stat_exit $?
wait "$text_pid"
emit text_exit $?
emit stat_stderr "$(head -c 300 /tmp/lim.err)"
emit text_stderr "$(head -c 300 /tmp/limt.err)"
emit stat_final "$(tail -n 1 /tmp/lim.json)"

for d in "nvme $nvme" "vda $vda" "lab dmawatch-lab"; do
	# shellcheck disable=SC2086 # the pair, an argument each
	set -- $d
	name=$1
	# shellcheck disable=SC2046 # the sum's four fields, an argument each
	set -- $(trace_swiotlb_sum "$2")
	emit "${name}_trace_events" "$1"
	emit "${name}_trace_bytes" "$2"
	emit "${name}_trace_largest" "$3"
done
emit nvme_trace_sizes "$(grep -E "swiotlb_bounced: dev_name(: |=)$nvme " "$tracing/trace" |
	sed -n 's/.* size=\([0-9]*\).*/\1/p' | sort -n | uniq -c | sort -rn | head -n 8 |
	awk '{ printf "%s%s:%s", s, $2, $1; s = "," }')"

# stat's text: the header and the two disks' rows of its last report.
awk '/^DEVICE / { h = $0; n = "" } $1 == dev { n = $0 } END { print h; print n }' \
	dev="$nvme" /tmp/lim.txt > /tmp/lim.rows
emit text_header "$(sed -n 1p /tmp/lim.rows)"
emit text_nvme_row "$(sed -n 2p /tmp/lim.rows)"
emit text_vda_row "$(awk '$1 == dev { n = $0 } END { print n }' dev="$vda" /tmp/lim.txt)"
cat /tmp/lim.txt

# What the kernel said about the mappings: refusals name the device.
emit nvme_full_lines "$(dmesg | grep -F "$nvme" | grep -cF 'swiotlb buffer is full')"
emit vda_full_lines "$(dmesg | grep -F "$vda" | grep -cF 'swiotlb buffer is full')"
emit full_lines "$(dmesg_count 'swiotlb buffer is full')"
dmesg | grep -F -e 'swiotlb' -e 'nvme' | tail -n 20
rmmod dmawatch_lab
