# shellcheck shell=sh
# Hostile environments (guest/hostile.sh). Sourced by
# run-scenarios.sh with the guest's results loaded. Every case: a clear
# one-line error or a degraded run that says what it left out, and no BPF
# program left behind.
dev=$(r vda_dma_dev)
mib4=4194304
js() { printf '%s' "$(r "$1_json")" | jq -r "$2" 2> /dev/null; }
vda() { js "$1" ".devices[] | select(.device == \"$dev\") | $2"; }
# A run that worked: exit 0, the 4 MiB write counted, the DMA-API family
# ran too, no program left.
worked() { # key what
	expect_eq "$2: stat exits 0" "$(r "$1_exit")" 0
	expect_ge "$2: the 4 MiB write counted (to-device bytes)" \
		"$(vda "$1" .bytes_by_direction.to_device)" $mib4
	expect_gt "$2: the DMA-API family ran" "$(vda "$1" .dma_api.page_maps)" 0
	expect_eq "$2: no BPF program left" "$(r "$1_progs")" 0
}
# A run that could not start: exit 1, one line naming the cause, nothing left.
refused() { # key what regex
	expect_eq "$2: stat exits 1" "$(r "$1_exit")" 1
	expect_match "$2: one line naming the cause" "$(r "$1_err")" "^dmawatch: $3\|$"
	expect_eq "$2: no BPF program left" "$(r "$1_progs")" 0
}

expect_eq "no BPF program before the cases" "$(r progs_at_start)" 0

# ---- interfaces missing or hidden
expect_eq "debugfs unmounted (reference: the swiotlb files gone)" "$(r debugfs_gone)" yes
expect_eq "tracefs unmounted (reference: events/ gone)" "$(r tracefs_gone)" yes
worked nofs "no debugfs, no tracefs"
expect_eq "no debugfs, no tracefs: nothing to say (BPF reads the pool)" "$(r nofs_err)" ""
expect_eq "no debugfs, no tracefs: pool figures still there" "$(js nofs .pool.ok)" true

expect_eq "BTF hidden (reference: /sys/kernel/btf/vmlinux reads 0 bytes)" "$(r btf_size)" 0
refused nobtf "BTF hidden" "/sys/kernel/btf/vmlinux is there but is not the kernel's BTF \(.*\): is something mounted over it\?"

expect_eq "kptr_restrict=2 (reference: kallsyms shows root address 0)" "$(r kptr_addr)" 0000000000000000
worked kptr2 "kptr_restrict=2"
expect_match "kptr_restrict=2: says the pool is left out, why, and the fix" "$(r kptr2_err)" \
	'^dmawatch: the pool probes are left out: .* kernel.kptr_restrict=2 hides kernel addresses from every user, root too \(sysctl kernel.kptr_restrict=1\)\|$'
expect_eq "kptr_restrict=2: no pool figures claimed" "$(js kptr2 .pool.ok)" false

# ---- users without root
refused nobody "nobody" \
	'loading BPF tracing programs is not permitted: this process lacks CAP_BPF and CAP_PERFMON \(run as root, or grant CAP_BPF and CAP_PERFMON\)'
expect_eq "nobody: probe exits 0" "$(r nobody_probe_exit)" 0
expect_match "nobody: probe names the missing capabilities" "$(r nobody_probe)" \
	'BPF tracing programs REFUSED \(Operation not permitted: this process lacks CAP_BPF and CAP_PERFMON\)'
expect_match "CAP_BPF+CAP_PERFMON: reference: perf_event_paranoid hides addresses" \
	"$(r perf_event_paranoid)" '^[2-4]$'
# The virtqueue family where virtio_ring is a module: its BTF is the
# module's, and reading that needs CAP_SYS_ADMIN (said, and nothing else).
vq_line='dmawatch: the virtqueue probes are left out: loading the virtqueue probes: not permitted: virtio_ring is a module here, and reading a module.s BTF needs CAP_SYS_ADMIN\|'
vq_said=
[ "$(r virtio_ring_module)" = yes ] && vq_said=$vq_line
worked bpfperf "CAP_BPF+CAP_PERFMON"
expect_match "CAP_BPF+CAP_PERFMON: says the pool needs CAP_SYSLOG (and, virtio_ring a module: $(r virtio_ring_module), the virtqueue CAP_SYS_ADMIN), nothing else" \
	"$(r bpfperf_err)" "^${vq_said}dmawatch: the pool probes are left out: [^|]*needs CAP_SYSLOG \\(kernel.kptr_restrict=0\\)\\|\$"
expect_eq "CAP_BPF+CAP_PERFMON: probe exits 0" "$(r bpfperf_probe_exit)" 0

# ---- SIGKILL at the worst moments
for point in load attach read textfile; do
	expect_eq "SIGKILL at $point: it stopped there" "$(r "kill_${point}_stopped")" yes
	expect_gt "SIGKILL at $point: it held programs then" "$(r "kill_${point}_progs_held")" 0
	expect_eq "SIGKILL at $point: killed" "$(r "kill_${point}_status")" 137
	expect_eq "SIGKILL at $point: no BPF program left" "$(r "kill_${point}_progs")" 0
done
expect_gt "SIGKILL at read: all families held, more than at load" \
	"$(r kill_read_progs_held)" "$(r kill_load_progs_held)"
expect_eq "SIGKILL at textfile: its temporary file is there" "$(r kill_textfile_tmp)" 1

# ---- the textfile directory fills up, then turns read-only
expect_eq "the next exporter found the temporary file" "$(r small_tmp_before)" 1
expect_eq "the next exporter wrote its file" "$(r small_first_write)" 1
expect_eq "and removed the killed one's temporary file" "$(r small_tmp_after)" 0
expect_eq "full: the exporter keeps running" "$(r full_running)" yes
expect_eq "full: the previous file stays whole" "$(r full_unchanged)" yes
expect_eq "full: no temporary file left" "$(r full_tmp)" 0
expect_eq "full: recovers once there is room" "$(r full_recovered)" 0
expect_eq "read-only: the exporter keeps running" "$(r ro_running)" yes
expect_eq "read-only: the previous file stays whole" "$(r ro_unchanged)" yes
expect_eq "read-only: recovers once writable" "$(r ro_recovered)" 0
expect_eq "the exporter exits 0 on SIGTERM" "$(r exporter_exit)" 0
expect_eq "each state change said once, and only those" "$(r exporter_err)" \
	"dmawatch: cannot write /tmp/small/dmawatch.prom: No space left on device (keeps trying every interval)|dmawatch: writing /tmp/small/dmawatch.prom works again|dmawatch: cannot write /tmp/small/dmawatch.prom: Read-only file system (keeps trying every interval)|dmawatch: writing /tmp/small/dmawatch.prom works again|"
expect_eq "its last file says it stopped" "$(r final_prom_down)" 1
expect_eq "the exporter left no BPF program" "$(r exporter_progs)" 0

# ---- a storm of failures, and a ring buffer that overflows
storm=5000
sampled=13 # floor(log2(5000)) + 1: the 1st, 2nd, 4th, ... 4096th
expect_eq "storm: trace held once attached" "$(r storm_trace_held)" yes
expect_match "storm: the module mapped $storm times over the limit, all failed" "$(r storm_bench)" \
	"^count=$storm size=524288 .*failures=$storm( |\$)"
expect_eq "storm: reference: tracefs saw every attempt" "$(r storm_trace_events)" $storm
final=$(r storm_stat_final)
lab() { printf '%s' "$final" | jq ".devices[] | select(.device == \"dmawatch-lab\") | $1"; }
expect_eq "storm: stat counted every one over the limit" "$(lab .over_limit)" $storm
expect_eq "storm: and every failure" "$(lab .failures)" $storm
expect_eq "storm: events sampled at the source: stat's ring buffer kept up" \
	"$(printf '%s' "$final" | jq .event_drops)" 0
expect_eq "storm: stat exits 0" "$(r storm_stat_exit)" 0
expect_eq "storm: stat said nothing" "$(r storm_stat_err)" ""
lines=$(r storm_trace_lines)
drops=$(r storm_trace_drops)
expect_gt "overflow: trace showed events" "$lines" 0
expect_gt "overflow: trace said it dropped events" "$drops" 0
expect_eq "overflow: shown + dropped = every sampled event ($sampled)" \
	"$(is_int "$lines" && is_int "$drops" && echo $((lines + drops)))" $sampled
expect_eq "overflow: no other event" "$(r storm_trace_other)" 0
expect_eq "overflow: trace said nothing else" "$(r storm_trace_err)" ""
expect_eq "overflow: trace exits 0" "$(r storm_trace_exit)" 0
expect_eq "storm: no BPF program left" "$(r storm_progs)" 0

# ---- lockdown, raised at run time
expect_match "lockdown: the LSM is there" "$(r lockdown_modes)" 'integrity'
expect_eq "lockdown: integrity in force" "$(r lockdown_now)" "none [integrity] confidentiality"
unit="the unit's capabilities (CAP_BPF CAP_PERFMON CAP_SYSLOG) under lockdown=integrity"
worked integrity "$unit"
expect_match "$unit: nothing to say (virtio_ring a module: $(r virtio_ring_module), the virtqueue CAP_SYS_ADMIN)" \
	"$(r integrity_err)" "^${vq_said}\$"
expect_eq "$unit: pool figures there" "$(js integrity .pool.ok)" true
expect_eq "lockdown: confidentiality in force" "$(r lockdown_now2)" "none integrity [confidentiality]"
refused confidentiality "lockdown=confidentiality" \
	"kernel lockdown is 'confidentiality': it forbids BPF to read kernel memory, which every probe needs \(boot with lockdown=integrity or none\)"
