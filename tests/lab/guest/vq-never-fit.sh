#!/bin/sh
# Scenario: the virtqueue family sees a request that can never be mapped.
# Meant for swiotlb=512,force: a 1 MiB O_DIRECT write needs 514 slots, more
# than the whole pool, so virtqueue_add_sgs fails with -ENOMEM and
# virtio-blk requeues the request forever (guest/pool-small.sh). The write
# comes from a hugetlb buffer: physically contiguous, it always makes one
# request (4 x 256 KiB + header + status = 514 slots); from scattered 4 KiB
# pages the block layer may split it at max_segments (254) into requests
# that fit, depending on how memory happened to be laid out. dmawatch
# stat --json and trace --json run during it. Before that, a workload that
# fits the pool checks that the req queues' submissions and bytes cover it.
#
# Booted with a pool that holds 1 MiB requests (plain swiotlb=force) the
# same script is the negative control: the 1 MiB write completes and
# nothing is reported as never fitting.
# shellcheck disable=SC2154 # swiotlb_dir: set by lib.sh
. /lab/lib.sh


# "key":value of a JSON object given as text ($1): numbers and strings.
jnum() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([0-9-]*\).*/\1/p" | head -n 1; }
jstr() { printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" | head -n 1; }

# The req.N virtqueue objects of the virtio disk in the report next_report
# kept: every read between two next_report calls sees the same report.
vq_rows() {
	cat /tmp/stat.kept |
		grep -oE "\{\"device\":\"$vdev\",\"vq\":\"req\.[0-9]+\",[^{}]*\{[^{}]*\}[^{}]*\}"
}

# Sum of one numeric field (a top-level one or failures.X) over vq_rows.
vq_sum() { # field
	vq_rows | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}

# Waits for the next stat report and keeps it for vq_rows; false after
# $1 seconds.
next_report() { # seconds
	n=$(wc -l < /tmp/stat.json)
	i=0
	while [ "$(wc -l < /tmp/stat.json)" -le "$n" ]; do
		[ $i -ge $(($1 * 10)) ] && break
		sleep 0.1
		i=$((i + 1))
	done
	tail -n 1 /tmp/stat.json > /tmp/stat.kept
	[ $i -lt $(($1 * 10)) ]
}

dev=$(dma_dev_of vda)
vdev=$(basename "$(readlink -f /sys/block/vda/device)")
nslabs=$(cat "$swiotlb_dir/io_tlb_nslabs")
emit vda_dma_dev "$dev"
emit vda_virtio "$vdev"
emit nslabs "$nslabs"
# A 1 MiB request of 4 KiB pages plus header and status: 512 + 2 slots.
if [ "$nslabs" -lt 514 ]; then mode=never-fit; else mode=fits; fi
emit mode $mode

# ---- start dmawatch: trace says "tracing" on stderr, stat a first report
t0=$(now_cs)
dmawatch trace --json > /tmp/trace.json 2> /tmp/trace.err &
tpid=$!
dmawatch stat --json 1 > /tmp/stat.json 2> /tmp/stat.err &
spid=$!
i=0
until grep -q tracing /tmp/trace.err && [ -s /tmp/stat.json ]; do
	if [ $i -ge 900 ] || ! running $tpid || ! running $spid; then
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
emit attach_s $((($(now_cs) - t0) / 100))
emit trace_running "$(running $tpid && echo yes || echo no)"
emit stat_running "$(running $spid && echo yes || echo no)"
emit trace_err "$(grep -v tracing /tmp/trace.err | head -n 1)"
# Which pair is attached: calibration's fentry verdict, and the kprobes.
emit fentry_add_sgs "$(dmawatch probe --json | grep -oE '"name":"virtqueue_add_sgs"[^}]*' |
	sed -n 's/.*"fentry":\([a-z]*\).*/\1/p')"
emit vq_kprobes "$(grep -c 'virtqueue_add_' /sys/kernel/debug/kprobes/list 2>/dev/null)"
emit stat_err "$(head -n 1 /tmp/stat.err)"

# ---- a workload that fits the pool: 8 MiB in 128 KiB O_DIRECT writes
# (66 slots a request). Deltas of the req queues' counters across it.
next_report 5
adds0=$(vq_sum adds)
bytes0=$(vq_sum bytes)
labio write /dev/vda 8388608 131072 > /tmp/cov.out 2>&1
emit cov_exit $?
emit cov_bytes "$(sed -n 's/^bytes //p' /tmp/cov.out)"
next_report 5
next_report 5
emit cov_adds $(($(vq_sum adds) - adds0))
emit cov_vq_bytes $(($(vq_sum bytes) - bytes0))
emit cov_rows "$(vq_rows | wc -l)"
emit cov_row "$(vq_rows | head -n 1)"

# ---- the 1 MiB write; how long until dmawatch calls it never fitting
# (the virtqueue family's events: other families may report the same IO)
nf_pat='"kind":"never-fit","source":"virtqueue_add"'
echo 4 > /proc/sys/vm/nr_hugepages
emit hugepages "$(cat /proc/sys/vm/nr_hugepages)"
full0=$(dmesg_count 'swiotlb buffer is full')
t0=$(now_cs)
labio write /dev/vda 1048576 1048576 hugetlb > /tmp/w.out 2>&1 &
wpid=$!
detect=none
while [ $(($(now_cs) - t0)) -lt 2000 ]; do
	tail -n 1 /tmp/stat.json > /tmp/stat.kept # the latest report, as it comes
	if grep -q "$nf_pat" /tmp/trace.json &&
		[ "$(vq_sum never_fit)" -gt 0 ]; then
		detect=$((($(now_cs) - t0) / 100))
		break
	fi
	running $wpid || break
	sleep 0.2
done
emit detect_s "$detect"
# Let the requeue loop run a little, so retries climb and the rate limit
# shows, then take the final counters.
sleep 3
next_report 5
if running $wpid; then
	emit writer_state "$(awk '{ print $3 }' /proc/$wpid/stat)"
else
	wait $wpid
	emit writer_state "exited $?"
fi
emit write_bytes "$(sed -n 's/^bytes //p' /tmp/w.out)"

emit enomem "$(vq_sum enomem)"
emit enospc "$(vq_sum enospc)"
emit eio "$(vq_sum eio)"
emit never_fit "$(vq_sum never_fit)"
# The row of the queue that failed: its names.
row=$(vq_rows | grep -v '"enomem":0,' | head -n 1)
emit fail_vq "$(jstr "$row" vq)"
emit fail_dma_device "$(jstr "$row" dma_device)"
emit fail_driver "$(jstr "$row" driver)"

nf=$(grep "$nf_pat" /tmp/trace.json)
ev=$(printf '%s\n' "$nf" | head -n 1)
emit nf_events "$(printf '%s\n' "$nf" | grep -c never-fit)"
emit vqfail_events "$(grep -c '"kind":"vq-failed","source":"virtqueue_add"' /tmp/trace.json)"
emit nf_source "$(jstr "$ev" source)"
emit nf_device "$(jstr "$ev" device)"
emit nf_driver "$(jstr "$ev" driver)"
emit nf_vq "$(jstr "$ev" vq)"
emit nf_err "$(jnum "$ev" err)"
emit nf_size "$(jnum "$ev" size)"
emit nf_slots_needed "$(jnum "$ev" slots_needed)"
emit nf_slots_total "$(jnum "$ev" slots_total)"
emit nf_retries_first "$(jnum "$ev" retries)"
emit nf_retries_max "$(printf '%s\n' "$nf" | sed -n 's/.*"retries":\([0-9]*\).*/\1/p' |
	sort -n | tail -n 1)"
# Every report must be failure number 1, 2, 4, 8, ... of the request
# (retries + 1 a power of two: the sampling policy, common.bpf.h).
emit nf_retries_not_pow2 "$(printf '%s\n' "$nf" | sed -n 's/.*"retries":\([0-9]*\).*/\1/p' |
	awk '{ r = $1 + 1; while (r % 2 == 0) r /= 2; if (r != 1) n++ } END { print n + 0 }')"
stack=$(printf '%s\n' "$ev" | sed -n 's/.*"stack":\[\(.*\)\]}.*/\1/p')
emit nf_stack "$(printf '%s\n' "$stack" | cut -c 1-1000)"
# virtio-blk's queue_rq (virtblk_add_req tail-calls virtqueue_add_sgs).
emit nf_stack_has_queue_rq "$(printf '%s\n' "$stack" | grep -c 'virtio_queue_rq')"
emit full_lines $(($(dmesg_count 'swiotlb buffer is full') - full0))
emit full_dev "$(dmesg | grep -m 1 -F 'swiotlb buffer is full' |
	sed -n 's/.* \([^ ]*\): swiotlb buffer is full.*/\1/p')"
emit event_drops "$(jnum "$(tail -n 1 /tmp/stat.json)" event_drops)"
# The pool as the kernel saw it at the first failed mapping: the "used N"
# of its first full line, and dmawatch's map-failed event for that same
# mapping (swiotlb_map, and the DMA API's tracepoint after it, run right
# after the kernel prints it, before virtio_ring unwinds the request's
# other mappings).
emit full_first_used "$(dmesg | grep -m 1 -F 'swiotlb buffer is full' |
	sed -n 's/.*used \([0-9]*\) (slots).*/\1/p')"
mf=$(grep -E '"kind":"map-failed","source":"(swiotlb_map|dma_map_page)"' /tmp/trace.json | head -n 1)
emit mf_first_used "$(jnum "$mf" slots_used)"
emit mf_first_total "$(jnum "$mf" slots_total)"
# The pool's high-water in stat's last report, against the most slots the
# kernel printed in use at a failed mapping: where the kernel keeps no
# high-water (7.x without swiotlb=...,track_hiwater), dmawatch's own must
# still cover it (the swiotlb family reads the pool at every failure).
emit full_used_max "$(dmesg | grep -F 'swiotlb buffer is full' |
	sed -n 's/.*used \([0-9]*\) (slots).*/\1/p' | sort -n | tail -n 1)"
last=$(tail -n 1 /tmp/stat.json)
# The high-water where it is one (the kernel's), else the most seen.
emit stat_hiwater "$(jnum "$last" slots_hiwater)$(jnum "$last" slots_most_seen)"
emit stat_hiwater_source "$(jstr "$last" hiwater_source)"
emit stat_hiwater_kernel "$(printf '%s\n' "$last" |
	sed -n 's/.*"hiwater_from_kernel":\([a-z]*\).*/\1/p')"

# dmawatch diagnose while the write still hangs, with its live window:
# after the counters above, which are read from the last stat report and
# must not see a new one land between two reads (diagnose takes seconds).
dmawatch diagnose --json --save-bundle /tmp/bundle > /tmp/diag.json 2> /tmp/diag.err
emit diag_exit $?
emit diag_json "$(cat /tmp/diag.json)"
emit diag_err "$(head -c 300 /tmp/diag.err)"
emit diag_bundle "$(tar -C /tmp -czf - bundle | base64 -w 0)"
emit diag_full_first "$(dmesg | grep -m 1 -F "$(dma_dev_of vda): swiotlb buffer is full" |
	sed 's/^\[[^]]*\] *//')"
emit sysfs_max_sectors_kb "$(cat /sys/block/vda/queue/max_sectors_kb)"
kill -TERM $tpid $spid 2>/dev/null
wait $tpid
emit trace_exit $?
wait $spid
emit stat_exit $?
