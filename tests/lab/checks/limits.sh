# shellcheck shell=sh
# Per-device SWIOTLB limits (guest/limits.sh): dmawatch's limit, over-limit
# count and mapping count for an NVMe and a virtio disk against the
# kernel's own figures (queue limits, tracefs swiotlb_bounced).
nvme=$(r nvme_pci)
vda=$(r vda_pci)
final=$(r stat_final)
dev_field() { # device jq-filter
	printf '%s' "$final" | jq -r --arg d "$1" ".devices[] | select(.device == \$d) | $2"
}
pci_re='^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$'

# Which device is which, two ways each.
expect_eq "NVMe disk nvme0n1 appeared" "$(r nvme_disk)" yes
expect_match "NVMe: PCI function from nvme0n1's sysfs path" "$nvme" "$pci_re"
expect_eq "NVMe: the PCI function the nvme driver is bound to" "$(r nvme_driver_pci)" "$nvme"
expect_match "virtio disk: PCI function from vda's sysfs path" "$vda" "$pci_re"
expect_eq "virtio disk: virtio0's parent, the device virtio_ring maps with" "$(r vda_dma_dev)" "$vda"
expect_ne "the two disks are two PCI functions" "$nvme" "$vda"

expect_eq "test module loaded" "$(r insmod_exit)" 0
expect_eq "stat --json attached" "$(r stat_attached)" 0
expect_eq "stat (text) attached" "$(r text_attached)" 0
expect_eq "stat --json exits 0 on SIGTERM" "$(r stat_exit)" 0
expect_eq "stat (text) exits 0 on SIGTERM" "$(r text_exit)" 0
expect_eq "stat --json said nothing on stderr" "$(r stat_stderr)" ""
expect_eq "stat (text) said nothing on stderr" "$(r text_stderr)" ""
expect_eq "NVMe: 16 MiB O_DIRECT write" "$(r nvme_write_exit)" 0
expect_eq "NVMe: 16 MiB O_DIRECT read" "$(r nvme_read_exit)" 0
expect_eq "NVMe: 4 MiB O_DIRECT write from hugetlb pages" "$(r nvme_huge_exit)" 0
# 16 MiB written, 16 MiB read, 4 MiB written.
expect_eq "NVMe: the workload's bytes" "$(r nvme_io_bytes)" $((36 << 20))

# The limits. The kernel does not show swiotlb_max_mapping_size() itself;
# each driver derived a queue limit from it. nvme-pci sets min_align_mask
# 4095 (dma_set_min_align_mask(NVME_CTRL_PAGE_SIZE - 1)) and then
# ctrl.max_hw_sectors = min(NVME_MAX_KB_SZ << 1, dma_opt_mapping_size()
# >> 9); dma-direct has no opt_mapping_size, so that is
# dma_max_mapping_size() = swiotlb_max_mapping_size() = 128 * 2048 -
# roundup(4095, 2048) = 258048 (QEMU's MDTS, 512 KiB, is larger).
# virtio-blk sets max_segment_size = virtio_max_dma_size() =
# dma_max_mapping_size() of the PCI function (QEMU offers no size_max):
# 262144, no min_align_mask.
nvme_hw_kb=$(r nvme_max_hw_sectors_kb)
expect_eq "kernel: nvme0n1 max_hw_sectors_kb (dma_opt_mapping_size())" "$nvme_hw_kb" 252
expect_eq "kernel: vda max_segment_size (dma_max_mapping_size())" "$(r vda_max_segment_size)" 262144
expect_eq "NVMe: dmawatch's limit is 258048" "$(dev_field "$nvme" .limit)" 258048
expect_eq "NVMe: dmawatch's limit = nvme0n1 max_hw_sectors_kb * 1024" \
	"$(dev_field "$nvme" .limit)" $((${nvme_hw_kb:-0} * 1024))
expect_eq "virtio disk: dmawatch's limit is 262144" "$(dev_field "$vda" .limit)" 262144
expect_eq "virtio disk: dmawatch's limit = vda max_segment_size" \
	"$(dev_field "$vda" .limit)" "$(r vda_max_segment_size)"
expect_eq "NVMe: driver" "$(dev_field "$nvme" .driver)" nvme
expect_eq "virtio disk: driver" "$(dev_field "$vda" .driver)" virtio-pci

# The module's 260096 bytes (127 slots) on each. Over NVMe's limit, and
# bounced all the same on 6.1, 6.12 and 7.3 (seen; kernel/dma/swiotlb.c of
# 6.12): the buffer is page-aligned (alloc_pages), so
# swiotlb_align_offset() is 0 and swiotlb_search_pool_area() wants a slot
# with bit 11 clear (iotlb_align_mask = 4095 & ~2047), as the first of a
# free 128-slot segment is: 127 slots fit. A buffer at offset o in its
# 4 KiB page fits while o + size <= 262144 (o >= 2048 needs an odd slot,
# 127 left in the segment, and o - 2048 bytes of padding), so 258048
# (126 slots) is what fits whatever o: the limit is the worst case.
expect_eq "NVMe: the module's 260096-byte mapping succeeded" "$(r nvme_map_exit)" 0
expect_eq "NVMe: ...as the module saw it" "$(r nvme_map_result)" "size=260096 result=ok"
expect_eq "NVMe: no 'swiotlb buffer is full' for it" "$(r nvme_full_lines)" 0
expect_eq "virtio disk: the module's 260096-byte mapping succeeded" "$(r vda_map_exit)" 0
expect_eq "virtio disk: ...as the module saw it" "$(r vda_map_result)" "size=260096 result=ok"
expect_eq "no 'swiotlb buffer is full' at all" "$(r full_lines)" 0
expect_eq "NVMe: over_limit is the module's mapping" "$(dev_field "$nvme" .over_limit)" 1
expect_eq "virtio disk: the same size is within its limit" "$(dev_field "$vda" .over_limit)" 0
expect_eq "NVMe: largest mapping the module's" "$(dev_field "$nvme" .max_size)" 260096
expect_eq "NVMe: largest mapping = largest swiotlb_bounced size" \
	"$(dev_field "$nvme" .max_size)" "$(r nvme_trace_largest)"
expect_eq "virtio disk: largest mapping the module's" "$(dev_field "$vda" .max_size)" 260096

# The IO on its own stays within the limit: the block layer splits at
# max_hw_sectors_kb, and a hugetlb page makes segments that large.
expect_gt "tracefs: the NVMe IO bounced" "$(r nvme_io_trace | cut -d' ' -f1)" 0
expect_eq "tracefs: the NVMe IO's largest mapping is the limit" \
	"$(r nvme_io_trace | cut -d' ' -f3)" 258048

# Counts against tracefs for the same window.
maps=$(dev_field "$nvme" .maps)
fails=$(dev_field "$nvme" .failures)
expect_gt "tracefs: NVMe mappings" "$(r nvme_trace_events)" 0
expect_eq "NVMe: no failures" "$fails" 0
expect_eq "NVMe: maps + failures = swiotlb_bounced events" \
	"$((${maps:-0} + ${fails:-0}))" "$(r nvme_trace_events)"
expect_eq "NVMe: bounced bytes = sum of swiotlb_bounced sizes" \
	"$(dev_field "$nvme" .bytes)" "$(r nvme_trace_bytes)"
expect_ge "NVMe: bounced bytes cover the workload" "$(dev_field "$nvme" .bytes)" "$(r nvme_io_bytes)"
expect_eq "tracefs: the virtio disk bounced the module's mapping alone" "$(r vda_trace_events)" 1
expect_eq "virtio disk: maps = swiotlb_bounced events" "$(dev_field "$vda" .maps)" "$(r vda_trace_events)"
expect_eq "virtio disk: bytes = swiotlb_bounced sizes" "$(dev_field "$vda" .bytes)" "$(r vda_trace_bytes)"

# map_single's other forms.
expect_eq "\"SIZE\" alone maps on the module's device" "$(r own_map_exit)" 0
expect_eq "...as the module saw it" "$(r own_map_result)" "size=4096 result=ok"
expect_eq "...counted on dmawatch-lab" "$(dev_field dmawatch-lab .maps)" 1
expect_eq "...one swiotlb_bounced event for dmawatch-lab" "$(r lab_trace_events)" 1
expect_ne "a PCI name no device has is refused" "$(r nodev_map_exit)" 0
expect_match "...with ENODEV" "$(r nodev_map_err)" "No such device"
expect_eq "...and maps nothing" "$(r nodev_map_result)" "size=4096 result=ok"

# stat's text: the LIMIT column (fmt_bytes: 258048 is 252K exactly).
limit_col() { # row
	printf '%s\n%s\n' "$(r text_header)" "$1" |
		awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "LIMIT") c = i }
			NR == 2 { print c ? $c : "no LIMIT column" }'
}
expect_eq "stat text: NVMe LIMIT" "$(limit_col "$(r text_nvme_row)")" 252K
expect_eq "stat text: virtio disk LIMIT" "$(limit_col "$(r text_vda_row)")" 256K
