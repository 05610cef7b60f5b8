# shellcheck shell=sh
# Pool fragmentation (guest/pool-frag.sh), swiotlb=force: dmawatch's pool
# view against debugfs swiotlb/ and the test module's mapping results.
pool() { # report-key jq-path
	r "$1" | jq -r ".pool.$2"
}
nslabs=$(r nslabs)
nseg=$(r segments)
held_slots=$((${nseg:-0} * 96))

expect_eq "test module loaded" "$(r insmod_exit)" 0
expect_eq "stat attached" "$(r stat_attached)" 0
expect_eq "pool scan ran" "$(pool quiet ok)" true
expect_eq "slots total = debugfs io_tlb_nslabs" "$(pool quiet slots_total)" "$nslabs"
expect_eq "quiet: used = debugfs io_tlb_used" "$(pool quiet slots_used)" "$(r quiet_used)"
expect_eq "quiet: slot scan agrees with used" "$(pool quiet slots_used_scan)" "$(r quiet_used)"
expect_eq "quiet: largest free run is a whole segment" "$(pool quiet largest_free_run)" 128

expect_eq "module holds one 192 KiB mapping per segment" "$(r hold_exit)" 0
expect_match "all $nseg mappings held" "$(r hold)" "held=$nseg "
expect_eq "fragmented: used = debugfs io_tlb_used" "$(pool frag slots_used)" "$(r frag_used)"
expect_eq "fragmented: used = 96 slots per segment" "$(pool frag slots_used)" "$held_slots"
expect_eq "fragmented: slot scan agrees with used" "$(pool frag slots_used_scan)" "$(r frag_used)"
expect_eq "fragmented: slots total = debugfs io_tlb_nslabs" "$(pool frag slots_total)" \
	"$(r frag_nslabs)"
expect_eq "fragmented: largest free run is the 32-slot tail" "$(pool frag largest_free_run)" 32
expect_eq "fragmented: no segment wholly free" "$(pool frag free_segments)" 0
expect_ne "fragmented: 256 KiB map_single refused" "$(r map_256k_exit)" 0
expect_gt "...although io_tlb_used < io_tlb_nslabs" "$nslabs" "$(r map_256k_used)"
expect_match "kernel said the pool was full at that used count" "$(r map_256k_line)" \
	"dmawatch-lab: swiotlb buffer is full \(sz: 262144 bytes\), total $nslabs \(slots\), used $(r map_256k_used) \(slots\)"
expect_eq "a mapping of largest_free_run slots fits" "$(r map_run_exit)" 0
expect_ne "one slot more does not" "$(r map_run_plus_exit)" 0

expect_eq "half released: used = debugfs io_tlb_used" "$(pool half slots_used)" "$(r half_used)"
expect_eq "half released: half the segments wholly free" "$(pool half free_segments)" \
	"$((${nseg:-0} / 2))"
expect_eq "half released: largest free run back to 128" "$(pool half largest_free_run)" 128

expect_eq "released: used = debugfs io_tlb_used" "$(pool released slots_used)" "$(r released_used)"
expect_eq "released: largest free run 128" "$(pool released largest_free_run)" 128
expect_eq "released: every segment free" "$(pool released free_segments)" "$nseg"

# The peak was the held mappings plus the largest_free_run mapping made
# while they were held. Where the kernel keeps used_hiwater dmawatch
# reports it; elsewhere dmawatch keeps its own after every swiotlb_map.
final=$(r stat_final)
hw=$(printf '%s' "$final" | jq -r .pool.slots_hiwater)
expect_eq "stat exits 0 on SIGTERM" "$(r stat_exit)" 0
run=$(r frag_run)
expect_ge "high-water covers the fragmenting load" "$hw" "$((held_slots + ${run:-0}))"
# The kernel's debugfs high-water file is a reference only where the
# kernel keeps it: while 96 slots a segment were held it must have read at
# least io_tlb_used (7.x keeps it only with swiotlb=...,track_hiwater).
if [ "$(r kernel_hiwater)" = none ]; then
	expect_eq "no kernel used_hiwater: dmawatch keeps its own" \
		"$(printf '%s' "$final" | jq -r .pool.hiwater_from_kernel)" false
	expect_eq "...after every mapping (-D): the high-water" \
		"$(printf '%s' "$final" | jq -r .pool.hiwater_source)" every-mapping
elif [ "$(r frag_kernel_hiwater)" -lt "$(r frag_used)" ]; then
	# shellcheck disable=SC2154 # tap_prefix: set by run-scenarios.sh
	echo "# $tap_prefix kernel's used_hiwater is not kept ($(r frag_kernel_hiwater) < io_tlb_used $(r frag_used))"
	expect_eq "kernel used_hiwater not kept: dmawatch keeps its own" \
		"$(printf '%s' "$final" | jq -r .pool.hiwater_from_kernel)" false
	expect_eq "...after every mapping (-D): the high-water" \
		"$(printf '%s' "$final" | jq -r .pool.hiwater_source)" every-mapping
else
	expect_eq "high-water = debugfs io_tlb_used_hiwater" "$hw" "$(r kernel_hiwater)"
	expect_eq "high-water is the kernel's" \
		"$(printf '%s' "$final" | jq -r .pool.hiwater_from_kernel)" true
fi
