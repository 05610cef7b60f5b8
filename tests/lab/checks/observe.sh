# shellcheck shell=sh
# Counting (guest/observe.sh): dmawatch's numbers against what
# the kernel itself reported (tracefs swiotlb_bounced, the workload's bytes).
vda=$(r vda_dma_dev)
expect_match "the kernel's DMA-API tracepoints checked" "$(r dma_tp)" '^(yes|no)$'
for mode in fentry kprobe refused; do
	final=$(r ${mode}_stat_final)
	dev_field() { # field
		printf '%s' "$final" | jq -r --arg d "$vda" ".devices[] | select(.device == \$d) | .$1"
	}
	tap_prefix="$tap_prefix$mode: "
	echo "# $tap_prefix attached in $(r ${mode}_attach_s) s"
	expect_eq "stat attached" "$(r ${mode}_stat_attached)" 0
	expect_eq "stat exits 0 on SIGTERM" "$(r ${mode}_stat_exit)" 0
	expect_ge "stat printed a first and a final report" "$(r ${mode}_stat_reports)" 2
	maps=$(dev_field maps)
	fails=$(dev_field failures)
	expect_gt "virtio disk bounced" "$maps" 0
	expect_eq "virtio disk: maps + failures = swiotlb_bounced events" \
		"$((${maps:-0} + ${fails:-0}))" "$(r ${mode}_trace_events)"
	expect_eq "virtio disk: bounced bytes = sum of swiotlb_bounced sizes" \
		"$(dev_field bytes)" "$(r ${mode}_trace_bytes)"
	expect_ge "virtio disk: bounced bytes cover the workload" \
		"$(dev_field bytes)" "$(r ${mode}_workload_bytes)"
	# The sizes too, bucket by bucket: the common case counts them on
	# its own path (count_fast()).
	expect_match "tracefs saw sizes in more than one log2 bucket" \
		"$(r ${mode}_trace_hist)" '^[0-9]+:[0-9]+(,[0-9]+:[0-9]+)+$'
	expect_eq "virtio disk: size histogram = swiotlb_bounced sizes' log2 buckets" \
		"$(dev_field 'size_log2_hist | to_entries | map(select(.value > 0) | "\(.key):\(.value)") | join(",")')" \
		"$(r ${mode}_trace_hist)"
	expect_eq "virtio disk: largest mapping = largest swiotlb_bounced size" \
		"$(dev_field max_size)" "$(r ${mode}_trace_largest)"
	expect_eq "virtio disk driver" "$(dev_field driver)" virtio-pci
	expect_eq "virtio disk limit" "$(dev_field limit)" 262144
	expect_eq "no events dropped" "$(printf '%s' "$final" | jq .event_drops)" 0
	case $mode-$(r dma_tp) in
	fentry-yes) expect_eq "the DMA API's raw tracepoint and list fexit count mappings" \
		"$(r ${mode}_map_progs)" "swiotlb_dma_map_raw_tp swiotlb_map_sg_fexit " ;;
	fentry-no | refused-yes) expect_eq "swiotlb_map: the fexit program" \
		"$(r ${mode}_map_progs)" "swiotlb_map_fexit " ;;
	*) expect_eq "swiotlb_map: the kprobe programs" "$(r ${mode}_map_progs)" \
		"swiotlb_map_kprobe swiotlb_map_kretprobe " ;;
	esac
	[ $mode = refused ] && expect_eq "refused: stat said nothing on stderr" \
		"$(r ${mode}_stat_stderr)" ""
	if [ $mode = kprobe ]; then # with -D
		expect_match "labio is a top bouncing process" \
			"$(printf '%s' "$final" | jq -r '.top_processes[].comm' | tr '\n' ' ')" "labio"
		expect_gt "releases counted" "$(dev_field unmaps)" 0
	else
		expect_eq "default: no process table, left out" \
			"$(printf '%s' "$final" | jq 'has("top_processes")')" false
		expect_eq "default: no releases, left out" "$(dev_field unmaps)" null
	fi
	tap_prefix=${tap_prefix%"$mode: "}
done
expect_gt "-K switched hooks that take fentry to kprobes" "$(r kprobe_choices)" 2
expect_eq "refused, -D: export --once exits 0" "$(r refused_d_exit)" 0
expect_eq "refused, -D: nothing on stderr" "$(r refused_d_err)" ""
expect_ge "refused, -D: swiotlb_map hooked" "$(r refused_d_hooks)" 1
expect_eq "refused, -D: every swiotlb_map hook a kprobe, attached" \
	"$(r refused_d_kprobe)" "$(r refused_d_hooks)"
expect_eq "refused, -D: the pool family attached" "$(r refused_d_pool)" 1
if [ "$(r hiwater_file)" = no ]; then
	expect_eq "refused, -D, no kernel high-water: swiotlb and pool both on swiotlb_map" \
		"$(r refused_d_hooks)" 2
fi

# A mapping in softirq while another is in flight on the same CPU (a nested
# call, keyed apart by call_key()): 200 outer 4 KiB and 200 inner 2 KiB
# mappings, each counted once, against tracefs.
for mode in fentry kprobe; do
	tap_prefix="${tap_prefix}nested $mode: "
	final=$(r ${mode}_nested_final)
	lab_field() { printf '%s' "$final" | jq -r ".devices[] | select(.device == \"dmawatch-lab\") | $1"; }
	expect_eq "stat attached before the module mapped" "$(r ${mode}_nested_attached)" 0
	expect_eq "module mapped 200 + 200 in softirq" "$(r ${mode}_nested_counts)" \
		"outer=200 inner=200 failures=0"
	expect_eq "tracefs saw 400 bounces" "$(r ${mode}_nested_trace_events)" 400
	expect_eq "bounces = tracefs events" "$(lab_field .maps)" "$(r ${mode}_nested_trace_events)"
	expect_eq "bytes = tracefs bytes" "$(lab_field .bytes)" "$(r ${mode}_nested_trace_bytes)"
	expect_eq "the 200 outer 4 KiB mappings" "$(lab_field '.size_log2_hist[12]')" 200
	expect_eq "the 200 inner 2 KiB mappings" "$(lab_field '.size_log2_hist[11]')" 200
	expect_eq "dma_map_page_attrs calls" "$(lab_field .dma_api.page_maps)" 400
	tap_prefix=${tap_prefix%"nested $mode: "}
done

ev=$(r over_limit_event)
expect_eq "trace attached" "$(r trace_attached)" 0
expect_eq "trace exits 0 on SIGTERM" "$(r trace_exit)" 0
expect_ne "512 KiB dma_map_single refused" "$(r map_512k_exit)" 0
expect_eq "over-limit event size" "$(printf '%s' "$ev" | jq .size)" 524288
expect_eq "over-limit event limit" "$(printf '%s' "$ev" | jq .limit)" 262144
expect_eq "over-limit event device" "$(printf '%s' "$ev" | jq -r .device)" dmawatch-lab
expect_match "over-limit event stack has the module's function" \
	"$(printf '%s' "$ev" | jq -r '.stack[]' | tr '\n' ' ')" "dmawatch_lab_map_single"
# The shell's echo builtin wrote to map_single: the script is the process.
expect_eq "over-limit event process" "$(printf '%s' "$ev" | jq -r .comm)" observe.sh

# Over-limit events are sampled: 101 over-limit mappings on the module's
# device (100 refusals of 512 KiB, one 2 MiB segment), events for
# occurrence 1, 2, 4, ..., 64 on each CPU that saw some: 7 if one CPU saw
# them all, 14 at most on two. The counters keep all (stat_lab below).
expect_eq "100 over-limit map_single refused" "$(r map_512k_refused)" 100
expect_ge "over-limit events: at least the sample of one CPU" "$(r over_limit_events)" 7
expect_le "over-limit events sampled, not one per refusal" "$(r over_limit_events)" 14

lab=$(r stat_lab)
lab_dev() { printf '%s' "$lab" | jq -r ".devices[] | select(.device == \"dmawatch-lab\") | $1"; }
expect_ne "2 MiB write with 4 MiB segments fails" "$(r sg_write_exit)" 0
expect_gt "dma_map_sg saw segments over the limit" "$(lab_dev .dma_api.sg_segments_over_limit)" 0
expect_gt "largest sg segment exceeds 256 KiB" "$(lab_dev .dma_api.sg_largest_segment)" 262144
expect_gt "dma_map_sg errors counted" "$(lab_dev .dma_api.sg_errors)" 0
expect_ge "every over-limit refusal counted" "$(lab_dev .over_limit)" 99

# Top processes from the whole table (not the first rows in hash order): the process
# that mapped 8 MiB first, though 600 short ones came after it.
procs=$(r stat_procs)
echo "# 600 short mappers took $(r small_mappers_s) s"
expect_match "module's bench mapped 2048 x 4 KiB" "$(r big_mapper_bench)" "count=2048 size=4096 .*failures=0"
expect_eq "top process is the 8 MiB mapper" \
	"$(printf '%s' "$procs" | jq '.top_processes[0].pid')" "$(r big_mapper_pid)"
expect_eq "its bytes are the 8 MiB" \
	"$(printf '%s' "$procs" | jq '.top_processes[0].bytes')" 8388608
expect_eq "ten top processes" "$(printf '%s' "$procs" | jq '.top_processes | length')" 10
expect_gt "every process row read, not the first 512" \
	"$(printf '%s' "$procs" | jq '.processes')" 600
expect_eq "no rows cut" "$(printf '%s' "$procs" | jq '.rows_cut')" 0
expect_gt "BPF programs visible in kallsyms while tracing" "$(r bpf_syms_running)" 0
expect_eq "no BPF program left after dmawatch exits" "$(r bpf_syms_after)" 0

# Scatterlists through the default probes, against tracefs (guest/observe.sh).
sgf=$(r sg_window_final)
sg_field() { printf '%s' "$sgf" | jq -r ".devices[] | select(.device == \"dmawatch-lab\") | .$1"; }
expect_eq "sg window: stat attached" "$(r sg_window_attached)" 0
expect_eq "sg window: 1 MiB in 64 KiB writes through the lab disk" "$(r sg_window_write_exit)" 0
expect_match "sg window: 2 MiB segment refused" "$(r sg_window_over_exit)" '^[1-9][0-9]*$'
expect_eq "sg window: stat exits 0 on SIGTERM" "$(r sg_window_exit)" 0
expect_gt "sg window: tracefs saw the entries bounce" "$(r sg_window_trace_events)" 1
sg_maps=$(sg_field maps)
sg_fails=$(sg_field failures)
sg_bytes=$(sg_field bytes)
expect_eq "sg window: maps + failures = swiotlb_bounced events" \
	"$((${sg_maps:-0} + ${sg_fails:-0}))" "$(r sg_window_trace_events)"
expect_eq "sg window: the failure is the over-limit segment" "$(sg_field failures)" 1
expect_eq "sg window: ...counted over the limit" "$(sg_field over_limit)" 1
expect_eq "sg window: bounced bytes + the refused 2 MiB = swiotlb_bounced sizes" \
	"$((${sg_bytes:-0} + 2097152))" "$(r sg_window_trace_bytes)"
expect_eq "sg window: largest attempt 2 MiB" "$(sg_field max_size)" 2097152
# The entries (4 to 64 KiB: pages, merged where adjacent) in log2 buckets
# 12-16, the 2 MiB attempt in bucket 21, nothing else.
expect_eq "sg window: size histogram: entries in 4-64 KiB, the 2 MiB attempt, no other" \
	"$(sg_field 'size_log2_hist | "\(.[12:17] | add) \(.[21]) \(add)"')" \
	"${sg_maps:-0} 1 $((${sg_maps:-0} + 1))"
