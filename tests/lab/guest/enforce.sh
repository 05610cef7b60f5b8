#!/bin/sh
# Scenario: dmawatch enforce. Booted with swiotlb=512,force: a 1 MiB pool.
# A 1 MiB O_DIRECT write from a hugetlb page is four 256 KiB segments of
# 128 slots, plus virtio-blk's header and status slots: 514 > 512, so it
# can never be mapped and virtio-blk requeues it forever (a hang). Steps:
#  1. --deny on vda: that write fails with EIO at once; smaller IO passes;
#  2. the lab module's disk with max_segment_size 4 MiB and
#     on_map_error=ioerr: --max-segment auto, under --audit then --deny;
#  3. --apply-queue-limits: the 1 MiB write completes, the limit comes back;
#  4. the lifecycle: Ctrl-C, SIGTERM, SIGKILL, --pin/--status/--unpin, two
#     enforcers;
#  5. --audit on vda: the write hangs (audit changes no IO: this is the
#     hang without enforce) and the would-deny is counted. vda stays
#     wedged: this step is last.
# Where the kernel refuses fmod_ret (no CONFIG_FUNCTION_ERROR_INJECTION),
# --deny must refuse in one line; the deny steps record that instead.
# shellcheck disable=SC2154 # spawned, swiotlb_dir and tracing: set by lib.sh
. /lab/lib.sh
disk=vda
ctl=/sys/kernel/debug/dmawatch_lab
emit nslabs "$(cat "$swiotlb_dir/io_tlb_nslabs")"
emit ei_list "$([ -r /sys/kernel/debug/error_injection/list ] &&
	grep -c '^should_fail_bio[[:space:]]' /sys/kernel/debug/error_injection/list || echo none)"
emit max_sectors_kb "$(cat /sys/block/$disk/queue/max_sectors_kb)"
emit max_segments "$(cat /sys/block/$disk/queue/max_segments)"
emit max_segment_size "$(cat /sys/block/$disk/queue/max_segment_size)"
echo 8 > /proc/sys/vm/nr_hugepages
emit hugepages "$(cat /proc/sys/vm/nr_hugepages)"
enf_progs() { grep -c 'bpf_prog_[0-9a-f]*_enforce_' /proc/kallsyms; }

# enforce ARGS... in the background: events to /tmp/enf.out, messages to
# /tmp/enf.err; waits until it says it is attached (or exits).
start_enforce() {
	spawn /tmp/enf.out /tmp/enf.err dmawatch enforce --json "$@"
	epid=$spawned
	wait_for /tmp/enf.err 'attached\|pinned' 60 "$epid"
}
stop_enforce() { # signal
	kill -"${1:-INT}" "$epid"
	wait "$epid"
	erc=$?
}
# dmawatch trace (only the enforce family) in the background, to
# /tmp/trace.out; started once it reads.
start_trace() {
	spawn /tmp/trace.out /tmp/trace.err dmawatch -F enforce trace --json
	tpid=$spawned
	wait_for /tmp/trace.err tracing 60 "$tpid"
	sleep 1.5 # its first read: decisions before it are not news
}
stop_trace() {
	sleep 1.5 # one more read
	kill -INT "$tpid"
	wait "$tpid"
	trc=$?
}
tfield() { # key: of the first enforce record trace printed
	grep -m 1 '"kind":"enforce-' /tmp/trace.out | grep -o "\"$1\":\"\{0,1\}[^,\"}]*" | sed 's/.*:"\{0,1\}//'
}
# A field of the first JSON line of /tmp/enf.out that has "key":
field() { # line-selector key
	grep -m 1 "$1" /tmp/enf.out | grep -o "\"$2\":\"\{0,1\}[^,\"}]*" | sed 's/.*:"\{0,1\}//'
}
# labio's exit status and "error" line, and how long it ran (cs).
io() { # name args...
	n=$1
	shift
	t0=$(now_cs)
	labio "$@" > /tmp/io.out 2>&1
	rc=$?
	emit "${n}_exit" $rc
	emit "${n}_cs" $(($(now_cs) - t0))
	emit "${n}_error" "$(sed -n 's/^error //p' /tmp/io.out)"
	emit "${n}_bytes" "$(sed -n 's/^bytes //p' /tmp/io.out)"
}

# ---- 1. deny on vda --------------------------------------------------------
start_enforce --deny --never-fit --device $disk
emit deny_running "$(running "$epid" && echo yes || echo no)"
emit deny_err "$(head -n 1 /tmp/enf.err)"
emit deny_progs "$(enf_progs)"
if running "$epid"; then
	full0=$(dmesg_count 'swiotlb buffer is full')
	start_trace
	io big_deny write /dev/$disk 1048576 1048576 hugetlb
	io small_deny write /dev/$disk 262144 262144 hugetlb
	io page_deny write /dev/$disk 4096 4096
	emit deny_full_lines $(($(dmesg_count 'swiotlb buffer is full') - full0))
	stop_trace
	emit deny_trace_exit $trc
	emit deny_trace_kind "$(tfield kind)"
	emit deny_trace_size "$(tfield size)"
	emit deny_trace_count "$(tfield count)"
	emit deny_trace_records "$(grep -c '"kind":"enforce-' /tmp/trace.out)"
	stop_enforce INT
	emit deny_stop_exit $erc
	emit deny_event_policy "$(field '"event":' policy)"
	emit deny_event_disk "$(field '"event":' disk)"
	emit deny_event_bytes "$(field '"event":' bytes)"
	emit deny_event_slots "$(field '"event":' slots_needed)"
	emit deny_event_pool "$(field '"event":' pool_slots)"
	emit deny_event_comm "$(field '"event":' comm)"
	emit deny_event_stack "$(grep -m 1 '"event":' /tmp/enf.out | grep -o 'submit_bio[a-z_]*' | head -n 1)"
	emit deny_events "$(grep -c '"event":"deny"' /tmp/enf.out)"
	emit deny_checked "$(field '"summary":' checked)"
	emit deny_queued "$(field '"summary":' queued)"
	emit deny_missed_warning "$(grep -c 'did not run for some' /tmp/enf.err)"
	emit deny_denied "$(field '"summary":' never-fit)"
else
	wait "$epid"
	emit deny_exit $?
	emit deny_err_lines "$(wc -l < /tmp/enf.err)"
fi
emit after_deny_progs "$(enf_progs)"

# ---- 2. a segment over the mapping limit (the lab module's disk) ----------
insmod /lab/dmawatch_lab.ko max_segment_size=4194304 on_map_error=ioerr
emit insmod_exit $?
lab=dmawlab0
emit lab_max_segment_size "$(cat /sys/block/$lab/queue/max_segment_size)"
emit lab_dev "$(cat /sys/block/$lab/dev)"
failures() { sed -n 's/.*map_failures=\([0-9]*\).*/\1/p' $ctl/stats; }
requests() { sed -n 's/.*requests=\([0-9]*\).*/\1/p' $ctl/stats; }
for mode in audit deny; do
	start_enforce --$mode --max-segment auto --device $lab
	emit seg_${mode}_running "$(running "$epid" && echo yes || echo no)"
	running "$epid" || { wait "$epid"; emit seg_${mode}_exit $?; continue; }
	f0=$(failures) r0=$(requests)
	io seg_big_$mode write /dev/$lab 1048576 1048576 hugetlb
	emit seg_${mode}_map_failures $(($(failures) - f0))
	emit seg_${mode}_requests $(($(requests) - r0))
	io seg_small_$mode write /dev/$lab 65536 65536
	stop_enforce INT
	emit seg_${mode}_policy "$(field '"event":' policy)"
	emit seg_${mode}_segment "$(field '"event":' segment_bytes)"
	emit seg_${mode}_hits "$(field '"summary":' max-segment)"
	emit seg_${mode}_checked "$(field '"summary":' checked)"
	emit seg_${mode}_queued "$(field '"summary":' queued)"
	# What enforce said, and the disk's dev_t: evidence when it saw no bio.
	emit seg_${mode}_err "$(tr '\n' '|' < /tmp/enf.err)"
	emit seg_${mode}_summary "$(grep '"summary":' /tmp/enf.out)"
done

# ---- 3. --apply-queue-limits: the write fits -------------------------------
start_enforce --audit --never-fit --device $disk --apply-queue-limits
emit limits_running "$(running "$epid" && echo yes || echo no)"
emit limits_set "$(cat /sys/block/$disk/queue/max_sectors_kb)"
emit limits_msg "$(grep -m 1 'max_sectors_kb' /tmp/enf.err)"
# Without the lowered limit this write would wedge vda: only with it.
[ "$(cat /sys/block/$disk/queue/max_sectors_kb)" -le 256 ] &&
	io big_limits write /dev/$disk 1048576 1048576 hugetlb
stop_enforce TERM
emit limits_stop_exit $erc
emit limits_audited "$(field '"summary":' never-fit)"
emit limits_restored "$(cat /sys/block/$disk/queue/max_sectors_kb)"

# ---- 4. lifecycle ------------------------------------------------------------
for sig in INT TERM KILL; do
	start_enforce --audit --never-fit --device $disk
	emit life_${sig}_progs "$(enf_progs)"
	stop_enforce $sig
	emit life_${sig}_exit $erc
	i=0
	while [ "$(enf_progs)" -gt 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	emit life_${sig}_after "$(enf_progs)"
done
dmawatch enforce --status > /tmp/st.out 2>&1
emit status_none_exit $?
emit status_none "$(head -n 1 /tmp/st.out)"
dmawatch enforce --audit --never-fit --device $disk --pin /sys/fs/bpf/dmaw-enf > /tmp/pin.out 2>&1
emit pin_exit $?
emit pin_progs "$(enf_progs)"
emit pin_files "$(ls /sys/fs/bpf/dmaw-enf | tr '\n' ' ')"
# The attached enforcer's counts in stat and export, against the kernel's
# own block_bio_queue events of the disk over the same writes.
echo 0 > "$tracing/tracing_on"
echo > "$tracing/trace"
echo 1 > "$tracing/events/block/block_bio_queue/enable"
echo 1 > "$tracing/tracing_on"
labio write /dev/$disk 262144 65536 > /dev/null 2>&1
emit pinned_write_exit $?
echo 0 > "$tracing/tracing_on"
echo 0 > "$tracing/events/block/block_bio_queue/enable"
devc=$(tr : , < /sys/block/$disk/dev)
emit trace_bios "$(grep -cE "block_bio_queue: $devc [WR]" "$tracing/trace")"
mkdir -p /tmp/prom
dmawatch -F enforce export --textfile-dir /tmp/prom --once > /tmp/export.out 2>&1
emit export_exit $?
emit export_checked "$(sed -n "s/^dmawatch_enforce_checked_total{device=\"$disk\"} //p" /tmp/prom/*.prom)"
emit export_audited "$(sed -n "s/^dmawatch_enforce_audited_total{device=\"$disk\",policy=\"never-fit\"} //p" /tmp/prom/*.prom)"
dmawatch -F enforce stat --json 1 1 > /tmp/stat.out 2>&1
emit stat_enforce "$(grep -o '"enforce":{"mode":"audit"[^]]*' /tmp/stat.out | head -n 1)"
dmawatch enforce --audit --never-fit --device $disk > /tmp/two.out 2>&1
emit second_exit $?
emit second_err "$(head -n 1 /tmp/two.out)"
dmawatch enforce --status > /tmp/st.out 2>&1
emit status_exit $?
emit status_line "$(head -n 1 /tmp/st.out)"
emit status_disk "$(grep -c "$disk" /tmp/st.out)"
dmawatch enforce --unpin /sys/fs/bpf/dmaw-enf > /tmp/unpin.out 2>&1
emit unpin_exit $?
i=0
while [ "$(enf_progs)" -gt 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
emit unpin_progs "$(enf_progs)"
emit unpin_dir "$([ -e /sys/fs/bpf/dmaw-enf ] && echo left || echo gone)"

# ---- 5. audit on vda: the write hangs, the would-deny counted ---------------
start_enforce --audit --never-fit --device $disk
emit audit_err "$(head -n 1 /tmp/enf.err)"
emit audit_running "$(running "$epid" && echo yes || echo no)"
full0=$(dmesg_count 'swiotlb buffer is full')
start_trace
labio write /dev/$disk 1048576 1048576 hugetlb > /tmp/hang.out 2>&1 &
wpid=$!
sleep 5
stop_trace
emit audit_trace_exit $trc
emit audit_trace_kind "$(tfield kind)"
emit audit_trace_policy "$(tfield policy)"
emit audit_trace_disk "$(tfield disk)"
emit audit_trace_size "$(tfield size)"
emit audit_trace_slots "$(tfield slots_needed)"
emit audit_trace_comm "$(tfield comm)"
emit audit_trace_count "$(tfield count)"
emit audit_trace_records "$(grep -c '"kind":"enforce-' /tmp/trace.out)"
emit hang_writer "$(running $wpid && awk '{ print $3 }' /proc/$wpid/stat || echo exited)"
emit hang_full_lines $(($(dmesg_count 'swiotlb buffer is full') - full0))
emit hang_used "$(cat "$swiotlb_dir/io_tlb_used")"
stop_enforce INT
emit audit_stop_exit $erc
emit audit_event "$(field '"event":' event)"
emit audit_event_slots "$(field '"event":' slots_needed)"
emit audit_hits "$(field '"summary":' never-fit)"
emit audit_after_progs "$(enf_progs)"
