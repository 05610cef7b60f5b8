# shellcheck shell=sh
# A pool that grows (guest/pool-grow.sh): at each quiescent point dmawatch's
# pool figures against debugfs' own, the growth and the transient pools
# against what debugfs says they left, every bounce against tracefs.
vda=$(r vda_dma_dev)
pool() { r "$1_report" | jq -r ".pool.$2"; }

# The references first: this kernel grows its pool, and the scenario made
# it grow and hold transient pools.
expect_eq "debugfs has io_tlb_transient_nslabs (CONFIG_SWIOTLB_DYNAMIC)" "$(r transient_file)" yes
expect_eq "stat attached" "$(r stat_attached)" 0
expect_eq "at boot: the 512 slots of swiotlb=512" "$(r boot_nslabs)" 512
expect_gt "the write made the pool grow (debugfs io_tlb_nslabs)" "$(r write_nslabs)" 512
expect_gt "while held: transient slots (debugfs)" "$(r held_transient)" 0
expect_eq "released: no transient slots left (debugfs)" "$(r released_transient)" 0

for s in boot write held released toolarge; do
	tap_prefix="$tap_prefix$s: "
	expect_eq "the pool was read" "$(pool $s ok)" true
	expect_eq "dynamic, and it can grow" "$(pool $s dynamic) $(pool $s can_grow)" "true true"
	expect_eq "slots_total = io_tlb_nslabs" "$(pool $s slots_total)" "$(r ${s}_nslabs)"
	expect_eq "slots_used = io_tlb_used" "$(pool $s slots_used)" "$(r ${s}_used)"
	expect_eq "transient_slots = io_tlb_transient_nslabs" \
		"$(pool $s transient_slots)" "$(r ${s}_transient)"
	# The scan walks every pool on the allocator's list, not the
	# transient ones (each on its device's list, and full: one
	# mapping each): what it finds in use plus the transient slots is
	# the kernel's count.
	expect_eq "slots in use in the pools it walked + transient slots = io_tlb_used" \
		"$(($(pool $s slots_used_scan) + $(pool $s transient_slots)))" "$(r ${s}_used)"
	expect_eq "slots at boot: 512" "$(pool $s slots_boot)" 512
	# Two counts of one thing: the pools the scan walked, and the
	# worker's pools the allocation hook saw (dmawatch attached before
	# any growth: boot has one pool).
	expect_eq "pools walked = 1 + pools the worker added" \
		"$(pool $s pools)" "$((1 + $(pool $s grows)))"
	expect_eq "no pool past the scan's limit" "$(pool $s pools_unscanned)" 0
	expect_eq "slots the worker added (add_mem_pool) = io_tlb_nslabs - 512" \
		"$(pool $s grown_slots)" "$(($(r ${s}_nslabs) - 512))"
	expect_ge "the worker ran at least once per pool it added" \
		"$(pool $s grow_attempts)" "$(pool $s grows)"
	tap_prefix=${tap_prefix%"$s: "}
done

expect_eq "boot: one pool" "$(pool boot pools)" 1
expect_eq "the 1 MiB write completed (it never does on a fixed 512-slot pool)" \
	"$(r write_state)" "exited 0"
expect_eq "the write moved 1 MiB" "$(r write_bytes)" 1048576
expect_ge "the write made the worker add a pool" "$(pool write grows)" 1
expect_eq "the module held its 24 mappings" "$(r hold_exit)" 0
# The held transient pools (64 slots each: one 128 KiB mapping) are freed
# at the release: their count and slots against what debugfs held.
expect_eq "released: the held transient pools freed (swiotlb_dyn_free), in slots" \
	"$(($(pool released transient_slots_freed) - $(pool held transient_slots_freed)))" \
	"$(r held_transient)"
expect_eq "released: the held transient pools freed, one per 64 slots" \
	"$(($(pool released transient_pools_freed) - $(pool held transient_pools_freed)))" \
	"$(($(r held_transient) / 64))"
expect_eq "released: the added pools stay" "$(pool released slots_total)" "$(r held_nslabs)"
expect_eq "no growth failed (dmesg)" "$(r grow_fail_lines)" 0
expect_eq "no growth failed (dmawatch)" "$(pool toolarge grow_failures)" 0

# Larger than any pool can be: refused at once, growth or not.
expect_eq "512 KiB dma_map_single refused" "$(r map_512k_result)" "size=524288 result=fail"
expect_match "the kernel said so" "$(r full_line)" "dmawatch-lab: swiotlb buffer is full \(sz: 524288 bytes\)"
expect_eq "the kernel's own total in that line = dmawatch's slots_total" \
	"$(r full_line | sed -n 's/.*total \([0-9]*\) (slots).*/\1/p')" "$(pool toolarge slots_total)"
expect_eq "no pool added for it" "$(r toolarge_nslabs)" "$(r released_nslabs)"
expect_eq "no transient pool for it" "$(r toolarge_transient) $(pool toolarge transient_pools_freed)" \
	"0 $(pool released transient_pools_freed)"

final=$(r stat_final)
dev_field() { # device field
	printf '%s' "$final" | jq -r --arg d "$1" ".devices[] | select(.device == \$d) | .$2"
}
expect_eq "stat exits 0 on SIGTERM" "$(r stat_exit)" 0
expect_eq "stat said nothing on stderr" "$(r stat_stderr)" ""
expect_gt "vda bounced (tracefs)" "$(r vda_trace_events)" 0
expect_eq "vda: maps + failures = swiotlb_bounced events" \
	"$(($(dev_field "$vda" maps) + $(dev_field "$vda" failures)))" "$(r vda_trace_events)"
expect_eq "vda: bytes = swiotlb_bounced sizes" "$(dev_field "$vda" bytes)" "$(r vda_trace_bytes)"
expect_gt "the module bounced (tracefs)" "$(r lab_trace_events)" 0
expect_eq "module: maps + failures = swiotlb_bounced events" \
	"$(($(dev_field dmawatch-lab maps) + $(dev_field dmawatch-lab failures)))" \
	"$(r lab_trace_events)"
expect_eq "module: its 512 KiB mapping over the limit" "$(dev_field dmawatch-lab over_limit)" 1
expect_eq "vda: no request counted as never fitting (the pool grows)" \
	"$(printf '%s' "$final" | jq '[.virtqueues[] | .never_fit] | add')" 0

tap_prefix="${tap_prefix}diagnose: "
diag=$(r diagnose_json)
expect_eq "stderr is empty" "$(r diagnose_err)" ""
expect_eq "the pool grows" "$(printf '%s' "$diag" | jq -r .pool.grows)" true
expect_eq "no never-fits finding: the pool grows" \
	"$(printf '%s' "$diag" | jq -r '[.findings[] | select(.id == "never-fits")] | length')" 0
expect_eq "the module's 512 KiB mapping: over-limit" \
	"$(printf '%s' "$diag" | jq -r '[.findings[] | select(.id == "over-limit")][0].device')" dmawatch-lab
tap_prefix=${tap_prefix%"diagnose: "}
