#!/bin/sh
# Scenario: the requeue family against the kernel's own block_rq_requeue
# events. Booted with swiotlb=512,force (four 128-slot segments): the test
# module holds a 192 KiB mapping (96 slots) in each segment, so 128 slots
# stay free, 32 a segment. An O_DIRECT write of 256 KiB blocks from 4 KiB
# pages needs 64 x 2 slots plus the header's and the status's: 130, more
# than are free. virtio-blk's mapping fails ("swiotlb buffer is full"), it
# returns a resource status, and the block layer requeues the request and
# retries it, again and again, until the module lets the slots go; then the
# write completes: a burst of requeues that ends. (Concurrent writers alone
# did not always exhaust the pool: under TCG they may run one after the
# other.) dmawatch stat --json runs throughout; the tracefs event, enabled
# after its first report and off before its last, sees the same window
# (nothing else in the guest does block IO).
# shellcheck disable=SC2154 # swiotlb_dir and tracing: set by lib.sh
. /lab/lib.sh
disk=vda
ctl=/sys/kernel/debug/dmawatch_lab
held_s=2
emit disk_dev "$(cat /sys/block/$disk/dev)"
emit nslabs "$(cat "$swiotlb_dir/io_tlb_nslabs")"
# Loaded first: the module's own disk is scanned now, not in the window.
insmod /lab/dmawatch_lab.ko
emit insmod_exit $?

# "requeues bytes" of $disk in a report line ($1), "0 0" when not listed.
requeued() {
	printf '%s\n' "$1" | grep -o '"requeues":\[[^]]*\]' |
		grep -o "{\"disk\":\"$disk\"[^}]*}" |
		sed -n 's/.*"requeues":\([0-9]*\),"bytes":\([0-9]*\).*/\1 \2/p' | grep . || echo 0 0
}

dmawatch stat --json 1 > /tmp/stat.json 2> /tmp/stat.err &
spid=$!
i=0
until [ -s /tmp/stat.json ] || [ $i -ge 900 ] || ! running $spid; do
	sleep 0.1
	i=$((i + 1))
done
emit stat_attached "$(running $spid && [ -s /tmp/stat.json ] && echo yes || echo no)"
emit stat_err "$(head -n 1 /tmp/stat.err)"
emit probe_line "$(dmawatch probe | grep -m 1 '^requeue ')"
# shellcheck disable=SC2046 # requeues and bytes, an argument each
set -- $(requeued "$(head -n 1 /tmp/stat.json)")
emit before_requeues "$1"
emit before_bytes "$2"

full0=$(dmesg_count 'swiotlb buffer is full')
echo 0 > "$tracing/tracing_on"
echo > "$tracing/trace"
echo 8192 > "$tracing/buffer_size_kb"
echo 1 > "$tracing/events/block/block_rq_requeue/enable"
echo 1 > "$tracing/tracing_on"
echo "4 196608" > $ctl/hold
emit hold "$(cat $ctl/hold)"
emit used_held "$(cat "$swiotlb_dir/io_tlb_used")"
labio write /dev/$disk 1048576 262144 > /tmp/w.out 2>&1 &
wpid=$!
sleep $held_s
emit writer_while_held "$(running $wpid && awk '{ print $3 }' /proc/$wpid/stat || echo exited)"
echo "release all" > $ctl/hold
wait $wpid
emit writer_exit $?
echo 0 > "$tracing/tracing_on"
echo 0 > "$tracing/events/block/block_rq_requeue/enable"
emit written "$(sed -n 's/^bytes //p' /tmp/w.out)"
emit full_lines $(($(dmesg_count 'swiotlb buffer is full') - full0))
# The reference: the kernel's events for this disk ("MAJ,MIN" after the
# event name), their sectors, and whether the buffer lost any.
devc=$(tr : , < /sys/block/$disk/dev)
grep -E "block_rq_requeue: $devc " "$tracing/trace" > /tmp/rq.txt
emit trace_requeues "$(wc -l < /tmp/rq.txt)"
emit trace_bytes "$(sed -n 's/.* + \([0-9]*\) .*/\1/p' /tmp/rq.txt | awk '{ s += $1 * 512 } END { print s + 0 }')"
emit trace_other_disks "$(grep -c 'block_rq_requeue:' "$tracing/trace" | awk -v m="$(wc -l < /tmp/rq.txt)" '{ print $1 - m }')"
emit trace_overrun "$(cat "$tracing"/per_cpu/cpu*/stats | sed -n 's/^overrun: //p' | awk '{ s += $1 } END { print s + 0 }')"
emit trace_first "$(head -n 1 /tmp/rq.txt)"
emit trace_max_bytes "$(sed -n 's/.* + \([0-9]*\) .*/\1/p' /tmp/rq.txt | sort -n | tail -n 1 | awk '{ print $1 * 512 }')"

kill -TERM $spid
wait $spid
emit stat_exit $?
# shellcheck disable=SC2046 # requeues and bytes, an argument each
set -- $(requeued "$(tail -n 1 /tmp/stat.json)")
emit after_requeues "$1"
emit after_bytes "$2"
emit after_row "$(tail -n 1 /tmp/stat.json | grep -o '"requeues":\[[^]]*\]')"
# Runs the kernel skipped (recursion protection), which the count lacks.
emit after_missed "$(tail -n 1 /tmp/stat.json |
	sed -n 's/.*"missed_runs":{[^}]*"requeue":\([0-9]*\).*/\1/p')"
