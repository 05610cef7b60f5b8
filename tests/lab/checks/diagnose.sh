# shellcheck shell=sh
# dmawatch diagnose, step by step (guest/diagnose.sh): each step's verdict
# and the evidence it quotes against the kernel's own lines and figures.
nslabs=$(r nslabs)
vda=$(r vda_dev)
vdb=$(r vdb_dev)
# A finding of step KEY by id (and device), as JSON; "" if none.
finding() { # key id [device]
	r "$1_json" | jq -c --arg id "$2" --arg dev "${3:-}" \
		'[.findings[] | select(.id == $id and ($dev == "" or .device == $dev))][0] // empty'
}
ids() { r "$1_json" | jq -r '[.findings[].id] | join(" ")'; }

# The references themselves: the pool diagnose judges, the two disks.
expect_eq "pool of swiotlb=4096" "$nslabs" 4096
expect_eq "vda has VIRTIO_F_ACCESS_PLATFORM (sysfs bit 33)" "$(r vda_bit33)" 1
expect_eq "vdb has not" "$(r vdb_bit33)" 0
expect_ne "vda and vdb are different devices" "$vda" "$vdb"

tap_prefix="${tap_prefix}bypass: "
f=$(finding bypass dma-api-bypass "$vdb")
expect_eq "exit 1: problems" "$(r bypass_exit)" 1
expect_eq "stderr is empty" "$(r bypass_err)" ""
expect_eq "verdict" "$(r bypass_json | jq -r .verdict)" problems
expect_eq "the pool diagnose read = debugfs io_tlb_nslabs" \
	"$(r bypass_json | jq -r .pool.slots_total)" "$nslabs"
expect_eq "vdb's device bypasses the DMA API (a warning: no CC here)" \
	"$(printf '%s' "$f" | jq -r .severity)" warning
expect_match "evidence: its features bit 33" "$(printf '%s' "$f" | jq -r '.evidence[0]')" \
	"features: bit 33 \(VIRTIO_F_ACCESS_PLATFORM\) is 0"
expect_eq "vda's device is not named" "$(finding bypass dma-api-bypass "$vda")" ""
expect_eq "the only finding" "$(ids bypass)" dma-api-bypass
expect_eq "vda: access_platform true in devices[]" \
	"$(r bypass_json | jq -r --arg d "$vda" '.devices[] | select(.device == $d) | .access_platform')" true
tap_prefix=${tap_prefix%"bypass: "}

tap_prefix="${tap_prefix}transient: "
f=$(finding transient pool-exhausted)
expect_eq "module held 31 segments" "$(r hold_exit)" 0
expect_ge "the hold filled the pool" "$(r held_used)" $((nslabs - 128))
expect_match "the kernel refused vda for lack of room" "$(r transient_first)" \
	"$vda: swiotlb buffer is full"
expect_eq "the write completed after the release" "$(r write_exit)" 0
expect_eq "all 1 MiB written" "$(r write_bytes)" 1048576
expect_eq "exit 1" "$(r transient_exit)" 1
expect_eq "pool exhausted, recovered: a warning" "$(printf '%s' "$f" | jq -r .severity)" warning
expect_eq "evidence: the kernel's first line" "$(printf '%s' "$f" | jq -r '.evidence[0]')" \
	"$(r transient_first)"
expect_match "evidence: the used count now" "$(printf '%s' "$f" | jq -r '.evidence[]')" \
	"io_tlb_used = [0-9]+ of io_tlb_nslabs = $nslabs now"
expect_match "remedy: twice the pool" "$(printf '%s' "$f" | jq -r .remedy)" "swiotlb=8192 "
expect_eq "never the hang verdict" "$(finding transient never-fits)" ""
expect_eq "not fragmentation" "$(finding transient fragmented)" ""
tap_prefix=${tap_prefix%"transient: "}

tap_prefix="${tap_prefix}over-limit: "
f=$(finding over over-limit dmawatch-lab)
expect_ne "512 KiB map_single refused" "$(r map_512k_exit)" 0
expect_match "the kernel's line" "$(r over_first)" "sz: 524288 bytes"
expect_eq "over-limit is an error" "$(printf '%s' "$f" | jq -r .severity)" error
expect_eq "it is the verdict" "$(r over_json | jq -r '.findings[0].id')" over-limit
expect_match "title: the size and 'a bigger pool cannot help'" \
	"$(printf '%s' "$f" | jq -r .title)" "524288 bytes at once.*a bigger pool cannot help"
expect_eq "evidence: the kernel's line" "$(printf '%s' "$f" | jq -r '.evidence[0]')" \
	"$(r over_first)"
expect_eq "still a warning about the pool, not more" \
	"$(finding over pool-exhausted | jq -r .severity)" warning
tap_prefix=${tap_prefix%"over-limit: "}

tap_prefix="${tap_prefix}fragmented: "
f=$(finding frag fragmented dmawatch-lab)
line=$(r frag_line)
used=$(printf '%s' "$line" | sed -n 's/.*used \([0-9]*\) (slots).*/\1/p')
expect_eq "96 slots held in each segment" "$(r frag_hold_exit)" 0
expect_ne "256 KiB refused" "$(r map_256k_exit)" 0
expect_match "the kernel's line" "$line" "total $nslabs \(slots\), used [0-9]+ \(slots\)"
expect_eq "fragmented: a warning" "$(printf '%s' "$f" | jq -r .severity)" warning
expect_eq "evidence: the kernel's line" "$(printf '%s' "$f" | jq -r '.evidence[0]')" "$line"
expect_eq "evidence: free slots from the kernel's figures" \
	"$(printf '%s' "$f" | jq -r '.evidence[1]')" \
	"needed 128 slots, $((nslabs - ${used:-0})) of $nslabs free"
expect_eq "the 512 KiB line is not fragmentation" \
	"$(finding frag over-limit dmawatch-lab | jq -r .severity)" error
tap_prefix=${tap_prefix%"fragmented: "}

tap_prefix="${tap_prefix}leak: "
f=$(finding leak mapping-leak dmawatch-lab)
held=$(r leak_held | sed -n 's/^held=\([0-9]*\) .*/\1/p')
mapped=$(printf '%s' "$f" | jq -r '.evidence[1]' | sed -n 's/.* mapped \([0-9]*\) times and unmapped \([0-9]*\)$/\1 \2/p')
expect_eq "diagnose exit 1" "$(r leak_exit)" 1
expect_eq "nothing on stderr" "$(r leak_err)" ""
expect_eq "the live window ran" "$(r leak_json | jq -r .window.ran)" true
expect_eq "the module's device keeps its mappings: a warning" \
	"$(printf '%s' "$f" | jq -r .severity)" warning
expect_match "evidence: the pool only climbed" "$(printf '%s' "$f" | jq -r '.evidence[0]')" \
	"^live: pool use [0-9]+ -> [0-9]+ slots over 3.0 s, never falling"
expect_ge "evidence: mapped at least 5 times in the window" "${mapped%% *}" 5
expect_le "...no more than the module holds" "${mapped%% *}" "${held:-0}"
expect_eq "...and unmapped none" "${mapped#* }" 0
tap_prefix=${tap_prefix%"leak: "}

tap_prefix="${tap_prefix}aligned: "
limit=$(r aligned_kernel_limit)
dev=$(r aligned_json | jq -c '[.devices[] | select(.device == "dmawatch-lab")][0] // empty')
expect_eq "the module loaded with min_align_mask=4095" "$(r aligned_insmod_exit)" 0
# The reference: the kernel's swiotlb_max_mapping_size(), 128 slots of
# 2 KiB less the mask rounded up to a slot; not the 262144 of no mask.
expect_eq "the kernel's dma_max_mapping_size() for the device" "$limit" 258048
expect_eq "nothing on stderr" "$(r aligned_err)" ""
expect_eq "the live window ran" "$(r aligned_json | jq -r .window.ran)" true
expect_eq "diagnose's limit for the device = the kernel's" \
	"$(printf '%s' "$dev" | jq -r .mapping_limit)" "$limit"
expect_eq "...read from the device, not guessed from a driver's name" \
	"$(printf '%s' "$dev" | jq -r .mapping_limit_why)" "min_align_mask read from the device"
tap_prefix=${tap_prefix%"aligned: "}
