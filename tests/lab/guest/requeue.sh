#!/bin/sh
# Scenario: the requeue family against the kernel's own block_rq_requeue
# events. Booted with swiotlb=512,force (a 1 MiB pool): eight O_DIRECT
# writers of 256 KiB blocks at once need 8 x 130 slots, so virtio-blk's
# mappings fail for a while ("swiotlb buffer is full"), it returns a
# resource status, and the block layer requeues the requests and completes
# them later: a burst that ends. dmawatch stat --json runs throughout; the
# tracefs event, enabled after its first report and off before its last,
# sees the same window (nothing else in the guest does block IO).
. /lab/lib.sh
disk=vda
writers=16
emit disk_dev "$(cat /sys/block/$disk/dev)"
emit nslabs "$(cat $swiotlb_dir/io_tlb_nslabs)"

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
set -- $(requeued "$(head -n 1 /tmp/stat.json)")
emit before_requeues "$1"
emit before_bytes "$2"

full0=$(dmesg_count 'swiotlb buffer is full')
echo 0 > $tracing/tracing_on
echo > $tracing/trace
echo 8192 > $tracing/buffer_size_kb
echo 1 > $tracing/events/block/block_rq_requeue/enable
echo 1 > $tracing/tracing_on
pids=
for w in $(seq $writers); do
	labio write /dev/$disk 8388608 262144 > /tmp/w$w.out 2>&1 &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait $p || fails=$((fails + 1)); done
echo 0 > $tracing/tracing_on
echo 0 > $tracing/events/block/block_rq_requeue/enable
emit writers_failed "$fails"
emit written "$(cat /tmp/w*.out | sed -n 's/^bytes //p' | awk '{ s += $1 } END { print s + 0 }')"
emit full_lines $(($(dmesg_count 'swiotlb buffer is full') - full0))
# The reference: the kernel's events for this disk ("MAJ,MIN" after the
# event name), their sectors, and whether the buffer lost any.
devc=$(tr : , < /sys/block/$disk/dev)
grep -E "block_rq_requeue: $devc " $tracing/trace > /tmp/rq.txt
emit trace_requeues "$(wc -l < /tmp/rq.txt)"
emit trace_bytes "$(sed -n 's/.* + \([0-9]*\) .*/\1/p' /tmp/rq.txt | awk '{ s += $1 * 512 } END { print s + 0 }')"
emit trace_other_disks "$(grep -c 'block_rq_requeue:' $tracing/trace | awk -v m="$(wc -l < /tmp/rq.txt)" '{ print $1 - m }')"
emit trace_overrun "$(cat $tracing/per_cpu/cpu*/stats | sed -n 's/^overrun: //p' | awk '{ s += $1 } END { print s + 0 }')"
emit trace_first "$(head -n 1 /tmp/rq.txt)"
emit trace_max_bytes "$(sed -n 's/.* + \([0-9]*\) .*/\1/p' /tmp/rq.txt | sort -n | tail -n 1 | awk '{ print $1 * 512 }')"

kill -TERM $spid
wait $spid
emit stat_exit $?
set -- $(requeued "$(tail -n 1 /tmp/stat.json)")
emit after_requeues "$1"
emit after_bytes "$2"
emit after_row "$(tail -n 1 /tmp/stat.json | grep -o '"requeues":\[[^]]*\]')"
# Runs the kernel skipped (recursion protection), which the count lacks.
emit after_missed "$(tail -n 1 /tmp/stat.json |
	sed -n 's/.*"missed_runs":{[^}]*"requeue":\([0-9]*\).*/\1/p')"
