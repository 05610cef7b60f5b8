# shellcheck shell=sh disable=SC2154 # tap_prefix: set by run-scenarios.sh
# A guest that changes under dmawatch (guest/faults.sh): each change is
# first shown to have happened (the kernel's own files), then dmawatch's
# counts are held against tracefs swiotlb_bounced, window by window.
nvme=$(r nvme_pci)
vda=$(r vda_pci)
pci_re='^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$'
# A field of a device's row (live or gone) in a report: row KEY DEV GONE FIELD
row() {
	r "$1" | jq -r --arg d "$2" --argjson g "$3" \
		"[.devices[] | select(.device == \$d and .gone == \$g)] | if length == 1 then .[0].$4 else \"rows: \\(length)\" end"
}
# Field N (1-based) of a "EVENTS BYTES LARGEST HIST" trace sum.
tsum() { r "$1" | cut -d' ' -f"$2"; }
# A field summed over a report's virtqueues of one DMA device, live or gone.
vq_sum() { # report dma-device gone field
	r "$1" | jq --arg d "$2" --argjson g "$3" \
		"[.virtqueues[] | select(.dma_device == \$d and .gone == \$g) | .$4] | add // 0"
}

expect_eq "NVMe disk nvme0n1 appeared" "$(r nvme_disk)" yes
expect_match "NVMe: its PCI function" "$nvme" "$pci_re"
expect_match "virtio disk: its PCI function" "$vda" "$pci_re"
expect_eq "stat --json attached" "$(r watcher_attached)" 0
expect_eq "the exporter wrote its textfile" "$(r exporter_attached)" 0
expect_eq "dmatop -b attached" "$(r top_attached)" 0

# ---- cpu
expect_eq "cpu: cpu1 offline accepted" "$(r cpu_offline_exit)" 0
expect_eq "cpu: the kernel has cpu1 offline" "$(r cpu1_online_during)" 0
expect_eq "cpu: only cpu0 online meanwhile" "$(r cpus_online_during)" 0
expect_eq "cpu: cpu1 back online" "$(r cpus_online_after)" 0-1
for k in cpu_io1 cpu_io2 cpu_io3; do expect_eq "cpu: $k completed" "$(r $k)" 0; done
expect_gt "cpu: tracefs saw the disk bounce" "$(tsum cpu_trace 1)" 0
# While cpu1 was offline: what cpu1 had counted before is still summed.
expect_eq "cpu: with cpu1 offline, mappings = tracefs (cpu1's included)" \
	"$(row cpu_report_during "$vda" false maps)" "$(tsum cpu_trace_during 1)"
expect_eq "cpu: after, mappings = tracefs" "$(row cpu_report "$vda" false maps)" "$(tsum cpu_trace 1)"
expect_eq "cpu: after, bytes = tracefs" "$(row cpu_report "$vda" false bytes)" "$(tsum cpu_trace 2)"
expect_eq "cpu: stat --json kept running" "$(r cpu_watcher_running)" yes
expect_eq "cpu: the exporter kept running" "$(r cpu_exporter_running)" yes
expect_eq "cpu: dmatop kept running" "$(r cpu_top_running)" yes

# ---- NVMe removed (a write in flight) and found again at its address
expect_eq "nvme hotplug: IO before" "$(r hp_io_before)" 0
expect_gt "nvme hotplug: tracefs saw it bounce" "$(tsum hp_trace_before 1)" 0
expect_eq "nvme hotplug: removal accepted" "$(r hp_remove_exit)" 0
expect_eq "nvme hotplug: the PCI function and nvme0n1 are gone" "$(r hp_gone)" yes
expect_match "nvme hotplug: a write was in flight (block layer's inflight: $(r hp_inflight_at_remove))" \
	"$(r hp_inflight_at_remove)" '^ *[0-9]+ +[1-9][0-9]*$'
expect_match "nvme hotplug: the write in flight failed with an error" "$(r hp_inflight_out)" 'error E[A-Z]+ .*writes_done [0-9]+'
expect_eq "nvme hotplug: no slot left held after the removal" "$(r hp_used_after_remove)" 0
removed=$(tsum hp_trace_removed 1)
expect_gt "nvme hotplug: the in-flight writes bounced" "$removed" "$(tsum hp_trace_before 1)"
expect_eq "nvme hotplug: gone row's mappings = tracefs until removal" \
	"$(row hp_report_gone "$nvme" true maps)" "$removed"
expect_eq "nvme hotplug: gone row's bytes = tracefs until removal" \
	"$(row hp_report_gone "$nvme" true bytes)" "$(tsum hp_trace_removed 2)"
expect_eq "nvme hotplug: gone row marked" "$(row hp_report_gone "$nvme" true departures)" 1
expect_eq "nvme hotplug: no live row while it is gone" "$(row hp_report_gone "$nvme" false maps)" "rows: 0"
expect_eq "nvme hotplug: found again by the rescan" "$(r hp_back)" yes
expect_eq "nvme hotplug: IO on the new device" "$(r hp_io_after)" 0
expect_eq "nvme hotplug: new device's row counts only its own mappings" \
	"$(row hp_report_after "$nvme" false maps)" $(($(tsum hp_trace_all 1) - removed))
expect_eq "nvme hotplug: new device's bytes, only its own" \
	"$(row hp_report_after "$nvme" false bytes)" $(($(tsum hp_trace_all 2) - $(tsum hp_trace_removed 2)))
expect_eq "nvme hotplug: the gone row did not move" "$(row hp_report_after "$nvme" true maps)" "$removed"

# ---- NVMe unplugged and plugged by QEMU's monitor
before=$(tsum hq_trace_gone 1)
expect_ge "qemu hotplug: (tracefs until then)" "$before" "$(tsum hq_trace_before 1)"
expect_eq "qemu hotplug: device_del took the NVMe function away" "$(r hq_gone)" yes
expect_eq "qemu hotplug: the gone row now holds both departed devices" \
	"$(row hq_report_gone "$nvme" true maps)" "$before"
expect_eq "qemu hotplug: two departures of that name" "$(row hq_report_gone "$nvme" true departures)" 2
expect_eq "qemu hotplug: no live row while it is gone" "$(row hq_report_gone "$nvme" false maps)" "rows: 0"
expect_eq "qemu hotplug: device_add put a new one in its slot" "$(r hq_back)" yes
expect_eq "qemu hotplug: IO on it" "$(r hq_io_after)" 0
expect_eq "qemu hotplug: the new device's row counts only its own mappings" \
	"$(row hq_report_after "$nvme" false maps)" $(($(tsum hq_trace_all 1) - before))
removed=$before

# ---- nvme unloaded and loaded: the same PCI function, the same row
expect_eq "module: rmmod nvme with dmawatch attached" "$(r mod_rmmod_nvme_exit)" 0
expect_eq "module: nvme is gone" "$(r mod_nvme_gone)" yes
expect_eq "module: nvme loaded again" "$(r mod_insmod_nvme_exit)" 0
expect_eq "module: nvme0n1 back" "$(r mod_nvme_back)" yes
expect_eq "module: IO after the reload" "$(r mod_io_after)" 0
expect_eq "module: the device's row goes on counting (its PCI function stayed)" \
	"$(row mod_report "$nvme" false maps)" $(($(tsum mod_trace_all 1) - removed))
expect_eq "module: the gone row did not move" "$(row mod_report "$nvme" true maps)" "$removed"

# ---- the virtio disk removed and found again
before=$(tsum hv_trace_before 1)
expect_eq "virtio hotplug: IO before" "$(r hv_io_before)" 0
expect_eq "virtio hotplug: removal accepted" "$(r hv_remove_exit)" 0
expect_eq "virtio hotplug: the PCI function and vda are gone" "$(r hv_gone)" yes
expect_eq "virtio hotplug: gone row's mappings = tracefs until removal" \
	"$(row hv_report_gone "$vda" true maps)" "$before"
expect_eq "virtio hotplug: no live row while it is gone" "$(row hv_report_gone "$vda" false maps)" "rows: 0"
expect_eq "virtio hotplug: found again" "$(r hv_back)" yes
expect_eq "virtio hotplug: IO on the new device" "$(r hv_io_after)" 0
expect_eq "virtio hotplug: new device's row counts only its own mappings" \
	"$(row hv_report_after "$vda" false maps)" $(($(tsum hv_trace_all 1) - before))
# Its virtqueues (virtio0's req.N, deleted with it) too: the deleted ones
# in gone rows, the new device's queues of the same names from zero. A
# queue's bytes are its sg entries', all bounced (the indirect tables,
# bounced too, are not submitted bytes): at most the device's bytes.
vq_bytes() { vq_sum "$1" "$vda" "$2" bytes; } # report gone
expect_gt "virtio hotplug: its deleted virtqueues have gone rows" "$(vq_bytes hv_report_gone true)" 0
expect_eq "virtio hotplug: and no live ones while it is gone" "$(vq_bytes hv_report_gone false)" 0
expect_eq "virtio hotplug: the gone queues did not move" \
	"$(vq_bytes hv_report_after true)" "$(vq_bytes hv_report_gone true)"
new_vq=$(vq_bytes hv_report_after false)
expect_gt "virtio hotplug: the new device's queues counted" "$new_vq" 0
expect_le "virtio hotplug: the new queues' bytes are the new device's only" \
	"$new_vq" $(($(tsum hv_trace_all 2) - $(tsum hv_trace_before 2)))

# ---- a virtio disk plugged, unplugged and plugged again by QEMU's monitor
hot=$(r hx_pci)
before=$(tsum hx_trace_before 1)
expect_match "qemu virtio: device_add gave a virtio disk, vdb" "$hot" "$pci_re"
expect_ne "qemu virtio: a PCI function of its own" "$hot" "$vda"
expect_eq "qemu virtio: IO on it" "$(r hx_io_before)" 0
expect_gt "qemu virtio: tracefs saw it bounce" "$before" 0
expect_eq "qemu virtio: device_del took it away" "$(r hx_gone)" yes
expect_eq "qemu virtio: gone row's mappings = tracefs until then" \
	"$(row hx_report_gone "$hot" true maps)" "$before"
expect_eq "qemu virtio: no live row while it is gone" "$(row hx_report_gone "$hot" false maps)" "rows: 0"
expect_eq "qemu virtio: device_add again, at the same address" "$(r hx_back)" yes
expect_eq "qemu virtio: IO on the new one" "$(r hx_io_after)" 0
expect_eq "qemu virtio: the new device's row counts only its own mappings" \
	"$(row hx_report_after "$hot" false maps)" $(($(tsum hx_trace_all 1) - before))
hot_vq() { vq_sum "$1" "$hot" "$2" adds; } # report gone
expect_gt "qemu virtio: its queues' gone rows" "$(hot_vq hx_report_gone true)" 0
expect_eq "qemu virtio: the gone queues did not move" "$(hot_vq hx_report_after true)" "$(hot_vq hx_report_gone true)"
expect_gt "qemu virtio: the new device's queues counted from zero" "$(hot_vq hx_report_after false)" 0
echo "# $tap_prefix qemu virtio: $(r hx_virtio) before, $(r hx_virtio_after) after"

# ---- clock jumps
expect_eq "clock: set back an hour" "$(r clock_back_exit)" 0
expect_eq "clock: set forward two hours" "$(r clock_fwd_exit)" 0
ts=$(r clock_textfile_ts)
wall=$(r clock_wall_now)
expect_match "clock: the textfile has a collection timestamp" "$ts" '^[0-9]+(\.[0-9]+)?$'
expect_le "clock: collection timestamp follows the wall clock (within 5 s)" \
	"$(awk -v a="${ts:-0}" -v b="$wall" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%d\n", d }')" 5
# Every interval under 3 s (1 s asked; the last one, at SIGTERM, shorter)
# and not below LEAST: an hour back or two forward would show in them.
in_range() { # "MIN MAX" least
	awk -v lo="${1%% *}" -v hi="${1##* }" -v least="$2" \
		'BEGIN { print (lo >= least && hi < 3) ? "yes" : "no" }'
}
expect_eq "clock: dmatop's intervals positive, under 3 s ($(r top_interval_range))" \
	"$(in_range "$(r top_interval_range)" 0.01)" yes
# stat's first report comes at once, with no interval (0).
expect_eq "clock: stat's intervals not negative, under 3 s ($(r watcher_interval_range))" \
	"$(in_range "$(r watcher_interval_range)" 0)" yes
# shellcheck disable=SC2046
set -- $(r rate_range)
expect_match "clock: no rate negative ($1 .. $2)" "$1" '^[0-9]'
expect_eq "clock: no rate absurd (under 1e9 per second)" \
	"$(awk -v h="${2:-0}" 'BEGIN { print (h < 1e9) ? "yes" : "no" }')" yes
for p in exporter top watcher; do
	expect_eq "clock: $p kept running" "$(r clock_${p}_running)" yes
done

# ---- the readers end
expect_eq "stat --json exits 0" "$(r watcher_exit)" 0
expect_eq "the exporter exits 0" "$(r exporter_exit)" 0
expect_eq "dmatop exits 0" "$(r top_exit)" 0
expect_eq "stat --json said nothing" "$(r watcher_err)" ""
expect_eq "the exporter said nothing" "$(r exporter_err)" ""
expect_eq "dmatop said nothing" "$(r top_err)" ""
expect_ge "dmatop printed frames throughout" "$(r top_frames)" 20
# The exporter ran beside stat from the start: its last file has, per
# name, what stat's rows of that name (gone and live) have together.
final_maps() { # device
	r final_report | jq --arg d "$1" '[.devices[] | select(.device == $d) | .maps] | add'
}
expect_eq "exporter's last file: dmawatch_up 0" "$(r exporter_final_up)" 0
expect_eq "exporter's last file: virtio disk's series = stat's gone + live rows" \
	"$(r exporter_final_vda_maps)" "$(final_maps "$vda")"
expect_eq "exporter's last file: NVMe's series = stat's gone + live rows" \
	"$(r exporter_final_nvme_maps)" "$(final_maps "$nvme")"
expect_eq "no BPF program left after the readers" "$(r progs_after_readers)" 0

# ---- other tracers on swiotlb_map
expect_eq "tracers: a tracefs kprobe on swiotlb_map" "$(r tr_kprobe_added)" 0
expect_eq "tracers: the function tracer on" "$(r tr_function_tracer)" function
expect_eq "tracers: another loader's fentry attached first" "$(r tr_floor_attached)" 0
expect_eq "tracers: dmawatch attached beside them" "$(r tr_watcher_attached)" 0
expect_eq "tracers: a second exporter serves /metrics" "$(r tr_exporter2_up)" 1
expect_eq "tracers: IO, all attached" "$(r tr_io1)" 0
expect_eq "tracers: IO after dmawatch detached" "$(r tr_io2)" 0
# shellcheck disable=SC2046 # "BOUNCES KPROBES FUNCTION", a word each
set -- $(r tr_window1) $(r tr_window2)
expect_gt "tracers: window 1 bounced" "${1:-0}" 0
expect_eq "tracers: window 1, kprobe lines = bounces" "${2:-}" "${1:-}"
expect_eq "tracers: window 1, function-tracer lines = bounces" "${3:-}" "${1:-}"
expect_gt "tracers: window 2 bounced" "${4:-0}" 0
expect_eq "tracers: window 2, kprobe lines = bounces" "${5:-}" "${4:-}"
expect_eq "tracers: window 2, function-tracer lines = bounces" "${6:-}" "${4:-}"
all=$((${1:-0} + ${4:-0}))
expect_eq "tracers: dmawatch counted window 1 exactly" \
	"$(row tr_watcher_report "$vda" false maps)" "$(r tr_trace_vda_both)"
expect_eq "tracers: the exporter beside it too" "$(r tr_exporter2_vda_maps)" "$(r tr_trace_vda_both)"
expect_eq "tracers: the other fentry counted both windows (not detached by dmawatch)" \
	"$(r tr_floor_hits)" "$all"
expect_eq "tracers: the kprobe's own count, both windows" "$(r tr_kprobe_hits)" "$all"
expect_eq "tracers: dmawatch exits 0" "$(r tr_watcher_exit)" 0
expect_eq "tracers: dmawatch said nothing" "$(r tr_watcher_err)" ""
expect_eq "tracers: the other loader exits 0" "$(r tr_floor_exit)" 0
expect_eq "tracers: the second exporter exits 0" "$(r tr_exporter2_exit)" 0
expect_eq "tracers: no BPF program left" "$(r progs_after_tracers)" 0

# ---- memory.max
expect_eq "memory: a cgroup with the memory controller" "$(r mem_cgroup)" yes
expect_eq "memory: unlimited, stat attached" "$(r mem_free_attached)" 0
expect_eq "memory: unlimited, stat exits 0" "$(r mem_free_exit)" 0
echo "# $tap_prefix one start, unlimited: cgroup peak $(r mem_free_peak) B, VmHWM $(r mem_free_hwm_kb) KiB, attached $(r mem_free_current) B ($(r mem_free_stat)); vmlinux BTF $(r mem_btf_bytes) B"
smallest=$(r mem_smallest)
expect_match "memory: a smallest memory.max that works" "$smallest" '^[0-9]+$'
echo "# $tap_prefix smallest memory.max tried that works: ${smallest:-none} MiB"
# Below the floor dmawatch documents (the kernel's BTF + 8 MiB: libbpf's
# copy of the BTF, and kallsyms) it refuses with one line, and is never
# killed; from the floor to the smallest that works, the OOM killer may end
# the start. Either way nothing stays attached.
floor=$(($(r mem_btf_bytes) + (8 << 20)))
expect_le "memory: the smallest that works is at most what the refusal asks for (BTF + 32 MiB)" \
	$((${smallest:-1000} << 20)) $(($(r mem_btf_bytes) + (32 << 20)))
refused=0
for mib in 8 10 12 14 16 18 20 24 28 32 40 48; do
	[ "$mib" = "$smallest" ] && break
	expect_ne "memory: $mib MiB fails" "$(r mem_${mib}_exit)" 0
	expect_eq "memory: $mib MiB: no BPF program left" "$(r mem_${mib}_progs_left)" 0
	[ $((mib << 20)) -lt "$floor" ] || continue
	refused=$((refused + 1))
	expect_eq "memory: $mib MiB (under the floor): exits 1" "$(r mem_${mib}_exit)" 1
	expect_match "memory: $mib MiB: one line naming memory.max" "$(r mem_${mib}_err)" \
		'^dmawatch: cgroup /dmaw leaves [0-9]+ MiB under its memory\.max \([0-9]+ MiB\); .* raise memory\.max by [0-9]+ MiB or more$'
	expect_eq "memory: $mib MiB: nothing killed" "$(r mem_${mib}_oom_kills)" 0
done
expect_gt "memory: some limits tried were under the floor" "$refused" 0
expect_eq "memory: attached at twice that" "$(r oom_attached)" 0
expect_gt "memory: its programs were in" "$(r oom_progs_attached)" 0
expect_eq "memory: the OOM killer killed it" "$(r oom_kills)" 1
expect_eq "memory: killed by SIGKILL" "$(r oom_exit)" 137
expect_eq "memory: the kill left no BPF program" "$(r oom_progs_left)" 0

# ---- a module function held (virtio_ring, where it is a module)
if [ "$(r mod_virtio_ring_module)" = yes ]; then
	expect_eq "virtio_ring: attached" "$(r vr_attached)" 0
	expect_gt "virtio_ring: the module's references rose while attached" \
		"$(r vr_refcnt_attached)" "$(r vr_refcnt_idle)"
	expect_eq "virtio_ring: and fell back after" "$(r vr_refcnt_after)" "$(r vr_refcnt_idle)"
	expect_match "virtio_ring: probe says it holds the module" "$(r vr_probe_line)" 'virtio_ring.*rmmod'
	expect_eq "virtio_ring: no BPF program left" "$(r vr_progs_left)" 0
fi
