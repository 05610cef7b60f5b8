#!/bin/sh
# Hostile environments: dmawatch where the kernel's interfaces
# are missing, hidden or locked down, run by users without root, killed at
# the worst moments, flooded with events, and writing to a directory that
# fills up and turns read-only. Every case records the exit status, what
# was said on stderr, and how many BPF programs the kernel still holds
# afterwards (kallsyms lists each JIT-ed program as bpf_prog_TAG_NAME
# [bpf]; a link cannot outlive its program, so no program means no link).
# The checks (checks/hostile.sh) judge; lockdown comes last: it cannot be
# lifted again.
# shellcheck disable=SC2154 # spawned, swiotlb_dir and tracing: set by lib.sh
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
dev=$(dma_dev_of vda)
emit vda_dma_dev "$dev"

one_line() { head -c 600 "$1" | tr '\n' '|'; }

# dmawatch stat with a 4 MiB write to the virtio disk once it reports (or
# until it gives up): KEY_exit, KEY_err (stderr, lines joined by |),
# KEY_json (the final report), KEY_progs (BPF programs left after it).
# With -D: every hook a family has, the most there is to go wrong.
stat_live() { # key [command prefix...]
	key=$1
	shift
	spawn "/tmp/$key.json" "/tmp/$key.err" "$@" dmawatch -D stat --json 1
	pid=$spawned
	wait_for "/tmp/$key.json" '"devices"' 150 "$pid"
	running "$pid" && labio write /dev/vda 4194304 1048576 > /dev/null
	kill -TERM "$pid" 2> /dev/null
	wait "$pid"
	emit "${key}_exit" $?
	emit "${key}_err" "$(one_line "/tmp/$key.err")"
	emit "${key}_json" "$(tail -n 1 "/tmp/$key.json")"
	emit "${key}_progs" "$(bpf_progs_settled)"
}

emit progs_at_start "$(bpf_progs)"

# ---- interfaces missing or hidden ---------------------------------------------------
# debugfs (and the tracefs automount beneath it) and tracefs gone.
umount /sys/kernel/debug/tracing 2> /dev/null
umount /sys/kernel/debug
umount /sys/kernel/tracing
emit debugfs_gone "$([ -e "$swiotlb_dir/io_tlb_nslabs" ] && echo no || echo yes)"
emit tracefs_gone "$([ -e "$tracing/events" ] && echo no || echo yes)"
stat_live nofs
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing

# The kernel's BTF hidden under an empty file.
: > /tmp/empty
mount -o bind /tmp/empty /sys/kernel/btf/vmlinux
emit btf_size "$(stat -c %s /sys/kernel/btf/vmlinux)"
stat_live nobtf
umount /sys/kernel/btf/vmlinux

# kallsyms addresses hidden even from root.
echo 2 > /proc/sys/kernel/kptr_restrict
emit kptr_addr "$(awk '$3 == "swiotlb_map" { print $1; exit }' /proc/kallsyms)"
stat_live kptr2
echo 0 > /proc/sys/kernel/kptr_restrict

# ---- users without root -------------------------------------------------------------
emit perf_event_paranoid "$(cat /proc/sys/kernel/perf_event_paranoid)"
# Where virtio_ring is a loadable module, its BTF is a module's: reading
# that needs CAP_SYS_ADMIN.
emit virtio_ring_module "$([ -e /sys/module/virtio_ring/initstate ] && echo yes || echo no)"
stat_live nobody labcaps 65534 none
labcaps 65534 none dmawatch probe > /tmp/nobody-probe.out 2>&1
emit nobody_probe_exit $?
emit nobody_probe "$(one_line /tmp/nobody-probe.out)"
stat_live bpfperf labcaps 65534 bpf,perfmon
labcaps 65534 bpf,perfmon dmawatch probe > /tmp/bpfperf-probe.out 2>&1
emit bpfperf_probe_exit $?
emit bpfperf_probe "$(one_line /tmp/bpfperf-probe.out)"

# ---- SIGKILL at the worst moments ----------------------------------------------------
# DMAWATCH_TEST_STOP_AT makes dmawatch stop itself at the point (util.h);
# the programs it holds there are counted, then it is killed.
kill_at() { # point command...
	point=$1
	shift
	DMAWATCH_TEST_STOP_AT=$point "$@" > /dev/null 2> "/tmp/kill-$point.err" &
	pid=$!
	i=0
	while ! stopped $pid && running $pid && [ $i -lt 1500 ]; do sleep 0.1; i=$((i + 1)); done
	emit "kill_${point}_stopped" "$(stopped $pid && echo yes || echo no)"
	emit "kill_${point}_progs_held" "$(bpf_progs)"
	kill -9 $pid
	wait $pid
	emit "kill_${point}_status" $?
	emit "kill_${point}_progs" "$(bpf_progs_settled)"
}
kill_at load dmawatch stat 1
kill_at attach dmawatch stat 1
kill_at read dmawatch stat 1
mkdir -p /tmp/tf
kill_at textfile dmawatch export --textfile-dir /tmp/tf --interval 1
# shellcheck disable=SC2010 # ls -A: the dot files too; the names are the exporter's own
emit kill_textfile_tmp "$(ls -A /tmp/tf | grep -c '^\.dmawatch\.prom\.[0-9]*\.tmp$')"

# ---- the textfile directory fills up, then turns read-only ---------------------------
# The next exporter in that directory removes what the killed one left.
mkdir -p /tmp/small
mount -t tmpfs -o size=256k tmpfs /tmp/small
cp -a /tmp/tf/. /tmp/small/
# shellcheck disable=SC2010 # ls -A: the dot files too; the names are the exporter's own
emit small_tmp_before "$(ls -A /tmp/small | grep -c '^\.dmawatch\.prom\.[0-9]*\.tmp$')"
dmawatch export --textfile-dir /tmp/small --interval 1 > /dev/null 2> /tmp/exp.err &
exp=$!
# Waits for the exporter's next rename over the file (a new inode).
next_write() {
	old=$(stat -c %i /tmp/small/dmawatch.prom 2> /dev/null)
	i=0
	while [ "$(stat -c %i /tmp/small/dmawatch.prom 2> /dev/null)" = "$old" ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt 600 ]
}
i=0
while ! grep -q '^dmawatch_up 1' /tmp/small/dmawatch.prom 2> /dev/null && [ $i -lt 1500 ]; do
	sleep 0.1
	i=$((i + 1))
done
emit small_first_write "$(grep -c '^dmawatch_up 1' /tmp/small/dmawatch.prom)"
# shellcheck disable=SC2010 # ls -A: the dot files too; the names are the exporter's own
emit small_tmp_after "$(ls -A /tmp/small | grep -c '^\.dmawatch\.prom\.[0-9]*\.tmp$')"
# Full: every block taken by a filler.
next_write
dd if=/dev/zero of=/tmp/small/fill bs=4096 2> /dev/null
cp /tmp/small/dmawatch.prom /tmp/before-full.prom
sleep 2.5
emit full_running "$(running $exp && echo yes || echo no)"
emit full_unchanged "$(cmp -s /tmp/small/dmawatch.prom /tmp/before-full.prom && echo yes || echo no)"
# shellcheck disable=SC2010 # ls -A: the dot files too; the names are the exporter's own
emit full_tmp "$(ls -A /tmp/small | grep -c '^\.dmawatch\.prom\.')"
rm /tmp/small/fill
next_write
emit full_recovered $?
# Read-only.
next_write
mount -o remount,ro /tmp/small
cp /tmp/small/dmawatch.prom /tmp/before-ro.prom
sleep 2.5
emit ro_running "$(running $exp && echo yes || echo no)"
emit ro_unchanged "$(cmp -s /tmp/small/dmawatch.prom /tmp/before-ro.prom && echo yes || echo no)"
mount -o remount,rw /tmp/small
next_write
emit ro_recovered $?
kill -TERM $exp
wait $exp
emit exporter_exit $?
emit exporter_err "$(one_line /tmp/exp.err)"
emit exporter_progs "$(bpf_progs_settled)"
emit final_prom_down "$(grep -c '^dmawatch_up 0' /tmp/small/dmawatch.prom)"

# ---- a storm of failures, and a ring buffer that overflows ----------------------
# 5000 mappings over the limit in one kernel loop on CPU 0. Events of
# repeating failures are sampled at the source (the 1st, 2nd, 4th... per
# device and CPU: event_sampled() in bpf/common.bpf.h), so a storm alone
# does not fill the ring buffer: stat's counters must count every failure
# and its ring keep up. trace runs with a one-page ring buffer (about a
# dozen events) and is held (SIGSTOP) while the storm runs: what it shows
# plus what it says it dropped must be every sampled event,
# floor(log2(5000)) + 1 = 13.
insmod /lab/dmawatch_lab.ko
storm=5000
dmawatch stat --json 1 > /tmp/storm-stat.json 2> /tmp/storm-stat.err &
st=$!
DMAWATCH_TEST_RING_BYTES=4096 DMAWATCH_TEST_STOP_AT=running \
	dmawatch trace --json --no-stack > /tmp/storm-trace.json 2> /tmp/storm-trace.err &
tr=$!
i=0
while ! { grep -q '"devices"' /tmp/storm-stat.json && stopped $tr; } && [ $i -lt 3000 ]; do
	sleep 0.1
	i=$((i + 1))
done
emit storm_trace_held "$(stopped $tr && echo yes || echo no)"
trace_swiotlb_start
taskset -c 0 sh -c "echo '$storm 524288' > $ctl/bench"
emit storm_bench "$(cat $ctl/bench)"
trace_swiotlb_stop
# shellcheck disable=SC2046 # the sum's four fields, an argument each
set -- $(trace_swiotlb_sum dmawatch-lab)
emit storm_trace_events "$1"
kill -CONT $tr
# trace reports drops at its next tick (1 s).
sleep 3
kill -TERM $tr $st
wait $tr
emit storm_trace_exit $?
wait $st
emit storm_stat_exit $?
emit storm_stat_err "$(one_line /tmp/storm-stat.err)"
emit storm_stat_final "$(tail -n 1 /tmp/storm-stat.json)"
emit storm_trace_lines "$(grep -c '"kind":"over-limit"' /tmp/storm-trace.json)"
emit storm_trace_other "$(grep -vc '"kind":"over-limit"' /tmp/storm-trace.json)"
emit storm_trace_drops "$(sed -n 's/^dmawatch: \([0-9]*\) events dropped (ring buffer full)$/\1/p' /tmp/storm-trace.err |
	awk '{ n += $1 } END { print n + 0 }')"
emit storm_trace_err "$(grep -v ' events dropped (ring buffer full)$' /tmp/storm-trace.err | one_line /dev/stdin)"
emit storm_progs "$(bpf_progs_settled)"
rmmod dmawatch_lab

# ---- lockdown, raised at run time (it cannot be lowered) -----------------------------
mount -t securityfs securityfs /sys/kernel/security 2> /dev/null
emit lockdown_modes "$(cat /sys/kernel/security/lockdown 2> /dev/null || echo none)"
echo integrity > /sys/kernel/security/lockdown
emit lockdown_now "$(cat /sys/kernel/security/lockdown)"
# The systemd unit's capabilities (root's uid, CapabilityBoundingSet=
# CAP_BPF CAP_PERFMON CAP_SYSLOG) under integrity lockdown, the default of
# Secure Boot: all of dmawatch, nothing said.
stat_live integrity labcaps 0 bpf,perfmon,syslog
echo confidentiality > /sys/kernel/security/lockdown
emit lockdown_now2 "$(cat /sys/kernel/security/lockdown)"
stat_live confidentiality
