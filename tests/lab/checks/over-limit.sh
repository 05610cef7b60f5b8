# shellcheck shell=sh
# Over the SWIOTLB limit (guest/over-limit.sh).
expect_eq "test module loaded" "$(r insmod_exit)" 0
expect_eq "128 KiB dma_map_single maps" "$(r map_128k_exit)" 0
expect_ne "512 KiB dma_map_single is refused" "$(r map_512k_exit)" 0
expect_match "module saw the refusal" "$(r map_512k_result)" "size=524288 result=fail"
expect_match "kernel printed the refusal for dmawatch-lab" "$(r lab_full_line)" \
	"dmawatch-lab: swiotlb buffer is full \(sz: 524288 bytes\)"
expect_eq "honouring dma_max_mapping_size, a 2 MiB write succeeds" "$(r honoured_write_exit)" 0
expect_eq "honouring dma_max_mapping_size, 2 MiB moved" "$(r honoured_write_bytes)" 2097152
expect_ne "max_segment_size 4 MiB: the 2 MiB write fails" "$(r ioerr_write_exit)" 0
expect_eq "max_segment_size 4 MiB: the error is EIO" "$(r ioerr_write_error)" EIO
expect_match "module counted the mapping failure" "$(r ioerr_stats)" "map_failures=[1-9]"
expect_match "kernel refused a segment over 256 KiB" "$(r ioerr_full_line)" \
	"dmawatch-lab: swiotlb buffer is full \(sz: ([3-9][0-9]{5}|[1-9][0-9]{6,}) bytes\)"
expect_eq "requeue on failure: the write stalls" "$(r requeue_writer_state)" D
expect_match "requeue on failure: retried mapping keeps failing" "$(r requeue_stats)" "map_failures=[1-9]"
