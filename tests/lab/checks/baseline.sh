# shellcheck shell=sh
# Forced bounce baseline (guest/baseline.sh). Sourced by
# run-scenarios.sh with the guest's results loaded.
mib16=16777216
expect_eq "write moved 16 MiB" "$(r write_bytes)" $mib16
expect_eq "read moved 16 MiB" "$(r read_bytes)" $mib16
expect_gt "swiotlb_bounced events for the virtio disk" "$(r trace_events)" 0
expect_ge "bounced bytes (tracefs) cover the dd bytes" "$(r trace_bytes)" $((2 * mib16))
expect_gt "io_tlb_used rose during the write" "$(r used_peak_write)" 0
expect_eq "io_tlb_used back to its start" "$(r used_after)" "$(r used_before)"
expect_eq "no swiotlb buffer is full lines" "$(r full_lines)" 0
expect_eq "dmawatch probe exits 0" "$(r probe_exit)" 0
if [ "$(r dma_tp)" = none ]; then
	expect_match "probe: swiotlb_map hooked by fentry or kprobe" "$(r probe_swiotlb_map)" '^(fentry|kprobe)$'
else
	expect_match "probe: the DMA API's tracepoint ($(r dma_tp)) counts mappings, raw_tp" \
		"$(r probe_swiotlb_dma)" '^raw_tp$'
	expect_eq "probe: swiotlb_map left to -D and -K" "$(r probe_swiotlb_map)" none
fi
expect_match "probe: says where the pool's high-water mark comes from" "$(r probe_hiwater)" 'hiwater: '

# A family that fails to load is left out; the others run.
deg=$(r degraded_final)
dev_field() { printf '%s' "$deg" | jq -r --arg d "$(r vda_dma_dev)" ".devices[] | select(.device == \$d) | $1"; }
expect_eq "a family failing to load: stat still exits 0" "$(r degraded_exit)" 0
expect_match "it says which family is left out and why" "$(r degraded_err)" \
	"the dmamap probes are left out: loading the dmamap probes: "
expect_gt "the swiotlb family ran" "$(dev_field .maps)" 0
expect_eq "the dmamap family did not" "$(dev_field .dma_api.page_maps)" 0
expect_eq "named by -F, its failure fails the command" "$(r degraded_named_exit)" 1
expect_match "and says so" "$(r degraded_named_err)" "the dmamap probes cannot run: loading the dmamap probes"
expect_eq "no BPF program left after the failed starts" "$(r bpf_syms_after)" 0

# dmawatch diagnose: healthy, with the kernel's figures, and its bundle
# replayed on the host (no root, no BPF) to the same JSON.
diag=$(r diag_json)
expect_eq "diagnose: exit 0, healthy" "$(r diag_exit)" 0
expect_eq "diagnose: nothing on stderr" "$(r diag_err)" ""
expect_eq "diagnose: verdict healthy" "$(printf '%s' "$diag" | jq -r .verdict)" healthy
expect_eq "diagnose: the only finding is 'healthy'" \
	"$(printf '%s' "$diag" | jq -r '[.findings[].id] | join(" ")')" healthy
expect_eq "diagnose: the live window ran" "$(printf '%s' "$diag" | jq -r .window.ran)" true
expect_eq "diagnose: pool = debugfs io_tlb_nslabs" \
	"$(printf '%s' "$diag" | jq -r .pool.slots_total)" "$(r nslabs)"
expect_match "diagnose: evidence quotes the pool" \
	"$(printf '%s' "$diag" | jq -r '.findings[0].evidence[0]')" "^pool: $(r nslabs) slots "
expect_eq "diagnose: vda's limit = sysfs max_sectors_kb" \
	"$(printf '%s' "$diag" | jq -r '.devices[] | select(.disk == "vda") | .max_sectors_kb')" \
	"$(r sysfs_max_sectors_kb)"
expect_eq "diagnose: vda's DMA device" \
	"$(printf '%s' "$diag" | jq -r '.devices[] | select(.disk == "vda") | .device')" "$(r vda_dma_dev)"
expect_eq "diagnose: swiotlb=force seen" "$(printf '%s' "$diag" | jq -r .environment.swiotlb_forced)" true
expect_eq "diagnose: no confidential computing in the lab" \
	"$(printf '%s' "$diag" | jq -r .environment.cc)" none
expect_eq "diagnose: kernel = uname -r" "$(printf '%s' "$diag" | jq -r .environment.kernel)" "$(r kernel)"
expect_eq "diagnose: the bundle is in place, no partial one left" "$(r diag_partial)" 0
expect_same_replay diag_bundle diag_exit diag_json
