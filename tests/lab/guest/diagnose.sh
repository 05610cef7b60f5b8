#!/bin/sh
# Scenario: dmawatch diagnose's verdicts, step by step in one boot
# (swiotlb=4096,force: an 8 MiB pool; vdb is a second virtio disk without
# iommu_platform=on). Each step does what a failure mode does, then
# diagnose judges it, and the kernel's own lines and figures are emitted
# beside its JSON for the checks to compare:
#   bypass     vdb bypasses the DMA API (its features bit 33 is 0)
#   transient  the module holds the pool while a 1 MiB write waits, then
#              lets go: the write completes, the pool recovers
#   over-limit the module maps 512 KiB
#   fragmented one 96-slot mapping held per segment, then 256 KiB refused
#   leak       the module keeps mapping and never unmaps while diagnose
#              watches with the probes
#   aligned    the module again, with NVMe's min_align_mask: the limit
#              diagnose judges its device by, read live
# shellcheck disable=SC2154 # swiotlb_dir: set by lib.sh
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab

features_bit33() { # block device
	d=$(readlink -f "/sys/block/$1/device")
	cut -c34 "$d/features"
}

# diagnose --no-bpf --json: its JSON and exit status under KEY.
diagnose() { # key
	dmawatch diagnose --no-bpf --json > "/tmp/$1.json" 2> "/tmp/$1.err"
	emit "${1}_exit" $?
	emit "${1}_json" "$(cat "/tmp/$1.json")"
	emit "${1}_err" "$(head -c 300 "/tmp/$1.err")"
}

# The kernel's buffer-full lines for a device, first and last, without the
# timestamp (diagnose quotes them so).
full_line() { # first|last device
	dmesg | grep -F "$2: swiotlb buffer is full" | sed 's/^\[[^]]*\] *//' |
		if [ "$1" = first ]; then head -n 1; else tail -n 1; fi
}

nslabs=$(cat "$swiotlb_dir/io_tlb_nslabs")
emit nslabs "$nslabs"
emit vda_dev "$(dma_dev_of vda)"
emit vdb_dev "$(dma_dev_of vdb)"
emit vda_bit33 "$(features_bit33 vda)"
emit vdb_bit33 "$(features_bit33 vdb)"

# ---- bypass: nothing has failed yet; vdb is the only finding
diagnose bypass

# ---- transient: fill the pool, start a 1 MiB write that cannot map,
# release, let it finish
insmod /lab/dmawatch_lab.ko
emit insmod_exit $?
echo 4 > /proc/sys/vm/nr_hugepages
# 31 of the 32 segments held (128 slots each): 128 slots left.
echo "$((nslabs / 128 - 1)) 262144" > $ctl/hold
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit hold_exit $?
labio write /dev/vda 1048576 1048576 hugetlb > /tmp/w.out 2>&1 &
wpid=$!
i=0
while [ -z "$(full_line first "$(dma_dev_of vda)")" ] && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
emit held_used "$(cat "$swiotlb_dir/io_tlb_used")"
echo "release all" > $ctl/hold
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit release_exit $?
wait $wpid
emit write_exit $?
emit write_bytes "$(sed -n 's/^bytes //p' /tmp/w.out)"
emit transient_first "$(full_line first "$(dma_dev_of vda)")"
emit transient_last "$(full_line last "$(dma_dev_of vda)")"
emit transient_used "$(cat "$swiotlb_dir/io_tlb_used")"
diagnose transient

# The kernel rate-limits its buffer-full lines per call site, all devices
# together (dev_warn_ratelimited: 10 in 5 s), and the transient step's
# requeued write printed more than that: the next line would be dropped.
sleep 6

# ---- over the limit: 512 KiB in one mapping
echo 524288 > $ctl/map_single
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit map_512k_exit $?
emit over_first "$(full_line first dmawatch-lab)"
diagnose over

# ---- fragmented: 96 of every 128 slots held, then 256 KiB refused
sleep 6 # the rate limit again (above)
echo "$((nslabs / 128)) 196608" > $ctl/hold
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit frag_hold_exit $?
echo 262144 > $ctl/map_single
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit map_256k_exit $?
emit frag_line "$(dmesg | grep -F 'dmawatch-lab: swiotlb buffer is full (sz: 262144 bytes)' |
	sed 's/^\[[^]]*\] *//' | tail -n 1)"
diagnose frag
echo "release all" > $ctl/hold

# ---- a leak: the module keeps one more 8 KiB mapping every 0.2 s while
# diagnose watches with the probes (the one step with the live window)
rm -f /tmp/leak.stop
(i=0; while [ $i -lt 600 ] && [ ! -e /tmp/leak.stop ]; do
	echo "1 8192" > $ctl/hold
	sleep 0.2
	i=$((i + 1))
done) &
lpid=$!
dmawatch diagnose --json --window 3 > /tmp/leak.json 2> /tmp/leak.err
emit leak_exit $?
touch /tmp/leak.stop
wait $lpid
emit leak_json "$(cat /tmp/leak.json)"
emit leak_err "$(head -c 300 /tmp/leak.err)"
emit leak_held "$(cat $ctl/hold)"
echo "release all" > $ctl/hold
rmmod dmawatch_lab
# ---- aligned: the device's limit as NVMe's is (min_align_mask 4095),
# read by the probes from the device while it maps; the kernel's own
# figure is the module's dma_max_mapping_size() line
insmod /lab/dmawatch_lab.ko min_align_mask=4095
emit aligned_insmod_exit $?
emit aligned_kernel_limit "$(dmesg | sed -n 's/.*dmawatch_lab: .*(dma_max_mapping_size=\([0-9]*\)).*/\1/p' | tail -n 1)"
rm -f /tmp/aligned.stop
(i=0; while [ $i -lt 300 ] && [ ! -e /tmp/aligned.stop ]; do
	echo 8192 > $ctl/map_single
	sleep 0.1
	i=$((i + 1))
done) &
apid=$!
dmawatch diagnose --json --window 2 > /tmp/aligned.json 2> /tmp/aligned.err
emit aligned_exit $?
touch /tmp/aligned.stop
wait $apid
emit aligned_json "$(cat /tmp/aligned.json)"
emit aligned_err "$(head -c 300 /tmp/aligned.err)"
rmmod dmawatch_lab
