# Issue 3 acceptance (guest/observe.sh): dmawatch's numbers against what
# the kernel itself reported (tracefs swiotlb_bounced, the workload's bytes).
vda=$(r vda_dma_dev)
for mode in fentry kprobe; do
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
	expect_eq "virtio disk driver" "$(dev_field driver)" virtio-pci
	expect_eq "virtio disk limit" "$(dev_field limit)" 262144
	expect_eq "no events dropped" "$(printf '%s' "$final" | jq .event_drops)" 0
	expect_match "labio is a top bouncing process" \
		"$(printf '%s' "$final" | jq -r '.top_processes[].comm' | tr '\n' ' ')" "labio"
	tap_prefix=${tap_prefix%"$mode: "}
done
expect_gt "-K switched hooks that take fentry to kprobes" "$(r kprobe_choices)" 2

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

lab=$(r stat_lab)
lab_dev() { printf '%s' "$lab" | jq -r ".devices[] | select(.device == \"dmawatch-lab\") | $1"; }
expect_ne "2 MiB write with 4 MiB segments fails" "$(r sg_write_exit)" 0
expect_gt "dma_map_sg saw segments over the limit" "$(lab_dev .dma_api.sg_segments_over_limit)" 0
expect_gt "largest sg segment exceeds 256 KiB" "$(lab_dev .dma_api.sg_largest_segment)" 262144
expect_gt "dma_map_sg errors counted" "$(lab_dev .dma_api.sg_errors)" 0
expect_gt "BPF programs visible in kallsyms while tracing" "$(r bpf_syms_running)" 0
expect_eq "no BPF program left after dmawatch exits" "$(r bpf_syms_after)" 0
