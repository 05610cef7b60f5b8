#!/bin/sh
# A pool that grows (CONFIG_SWIOTLB_DYNAMIC, the lab's own kernel), booted
# with swiotlb=512,force: 1 MiB at boot. dmawatch stat --json runs
# throughout, tracefs counts every bounce, and at each quiescent point the
# last report is kept beside debugfs' own figures (io_tlb_nslabs,
# io_tlb_used, io_tlb_transient_nslabs):
#   boot      one pool of 512 slots;
#   write     a 1 MiB O_DIRECT write from a hugetlb page needs 514 slots:
#             on a fixed pool it never fits and virtio-blk requeues it
#             forever (guest/pool-small.sh); here the segment that finds no
#             room gets a transient pool and the worker adds a pool, so the
#             write completes;
#   held      the test module holds 24 mappings of 128 KiB (1536 slots):
#             what no pool has room for goes to transient pools of 64
#             slots, kept while held;
#   released  everything unmapped: transient pools gone, added pools kept.
# Then a request larger than any pool could be (a 512 KiB dma_map_single:
# 256 slots > 128 in one segment) fails at once, growth or not
# (swiotlb_find_slots()), and diagnose judges the guest.
# shellcheck disable=SC2154 # spawned and swiotlb_dir: set by lib.sh
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
echo 8 > /proc/sys/vm/nr_hugepages
dev=$(dma_dev_of vda)
emit vda_dma_dev "$dev"
emit transient_file "$([ -e "$swiotlb_dir/io_tlb_transient_nslabs" ] && echo yes || echo no)"

spawn /tmp/stat.json /tmp/stat.err dmawatch stat --json 1
stat_pid=$spawned
wait_for /tmp/stat.json '"devices"' 180
emit stat_attached $?
trace_swiotlb_start

# Once the guest is quiet: the second report from now (the first may have
# read the pool before the last change), and debugfs' figures after it.
sample() { # name
	n=$(wc -l < /tmp/stat.json)
	i=0
	while [ "$(wc -l < /tmp/stat.json)" -lt $((n + 2)) ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	emit "${1}_report" "$(sed -n "$((n + 2))p" /tmp/stat.json)"
	emit "${1}_nslabs" "$(cat "$swiotlb_dir/io_tlb_nslabs")"
	emit "${1}_used" "$(cat "$swiotlb_dir/io_tlb_used")"
	emit "${1}_transient" "$(cat "$swiotlb_dir/io_tlb_transient_nslabs" 2> /dev/null)"
}

sample boot

labio write /dev/vda 1048576 1048576 hugetlb > /tmp/w.out 2>&1 &
pid=$!
i=0
while running $pid && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
if running $pid; then
	emit write_state "$(awk '{ print $3 }' /proc/$pid/stat)"
else
	wait $pid
	emit write_state "exited $?"
fi
emit write_bytes "$(sed -n 's/^bytes //p' /tmp/w.out)"
# The worker that adds a pool runs after the mapping that asked for it.
sleep 2
sample write

insmod /lab/dmawatch_lab.ko
emit insmod_exit $?
echo "24 131072" > $ctl/hold
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit hold_exit $?
emit hold_state "$(cat $ctl/hold)"
sleep 2
sample held

echo "release all" > $ctl/hold
# Transient pools are freed after an RCU grace period.
sleep 2
sample released

echo 524288 > $ctl/map_single
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit map_512k_exit $?
emit map_512k_result "$(cat $ctl/map_single)"
sleep 1
sample toolarge
emit full_lines "$(dmesg | grep -cF 'swiotlb buffer is full')"
emit full_line "$(dmesg | grep -m 1 -F 'swiotlb buffer is full')"
emit grow_fail_lines "$(dmesg | grep -cF 'Failed to allocate new pool')"

trace_swiotlb_stop
kill -TERM "$stat_pid"
wait "$stat_pid"
emit stat_exit $?
emit stat_stderr "$(head -c 300 /tmp/stat.err)"
emit stat_final "$(tail -n 1 /tmp/stat.json)"
# shellcheck disable=SC2046 # the sum's four fields, an argument each
set -- $(trace_swiotlb_sum "$dev")
emit vda_trace_events "$1"
emit vda_trace_bytes "$2"
# shellcheck disable=SC2046
set -- $(trace_swiotlb_sum dmawatch-lab)
emit lab_trace_events "$1"
emit lab_trace_bytes "$2"
rmmod dmawatch_lab

dmawatch diagnose --json --window 3 > /tmp/diag.json 2> /tmp/diag.err
emit diagnose_exit $?
emit diagnose_err "$(head -c 300 /tmp/diag.err)"
emit diagnose_json "$(tr -d '\n' < /tmp/diag.json)"
