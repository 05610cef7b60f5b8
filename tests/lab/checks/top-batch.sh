# shellcheck shell=sh
# dmatop -b (guest/top-batch.sh), booted with
# swiotlb=512,force: the disk's row against the workload that ran, and the
# request that can never fit the 512-slot pool on the same row and as an event.
dev=$(r vda_dma_dev)
expect_eq "pool is 512 slots" "$(r nslabs)" 512

# 1. text frames. Fields of a row: DEVICE DRIVER TO/s FROM/s MAPS/s AVG MAX
#    FAIL/s OVER NOFIT POOL%.
row=$(r text_row)
field() { printf '%s\n' "$row" | awk -v n="$1" '{ print $n }'; }
expect_eq "text: first frame after attaching" "$(r text_attached)" 0
expect_eq "text: workload wrote 8 MiB" "$(r text_write_bytes)" 8388608
expect_eq "text: workload read 8 MiB" "$(r text_read_bytes)" 8388608
expect_eq "text: dmatop -b exits 0 on SIGTERM" "$(r text_exit)" 0
expect_eq "text: nothing on stderr" "$(r text_stderr)" ""
expect_ge "text: a frame per second" "$(r text_frames)" 25
expect_match "text: table header" "$(r text_table_header)" \
	'^DEVICE +DRIVER +TO/s\* +FROM/s\* +MAPS/s +AVG +MAX +FAIL/s +OVER +NOFIT +POOL%$'
expect_eq "text: the virtio disk has a row" "$(field 1)" "$dev"
expect_eq "text: the disk's driver" "$(field 2)" virtio-pci
expect_match "text: bytes bounced toward the disk" "$(field 3)" '^[0-9.]+[KMG]$'
expect_match "text: bytes bounced from the disk" "$(field 4)" '^[0-9.]+[KMG]$'
expect_gt "text: mappings per second" "$(field 5)" 0
# Segments are as large as the buffer's pages are contiguous: 4K to 128K.
expect_match "text: average mapping" "$(field 6)" '^[0-9.]+K$'
expect_match "text: largest mapping" "$(field 7)" '^[0-9.]+K$'
expect_eq "text: no failures" "$(field 8)" 0
expect_eq "text: nothing over the limit" "$(field 9)" 0
expect_eq "text: nothing that can never fit yet" "$(field 10)" 0
expect_match "text: header names kernel, CC state and forced bouncing" "$(r text_kernel_line)" \
	"^dmatop $(r kernel | sed 's/[].+*?()[]/\\&/g') +CC: none +bounce: forced \(swiotlb=512,force\)"
expect_match "text: pool gauge of 512 slots" "$(r text_pool_line)" \
	'^Pool +\[[#.|]{20}\] [0-9]+/512 slots [0-9]+% +high-water [0-9]+'
expect_match "text: largest free run against 128 slots" "$(r text_free_line)" \
	'^Free +largest run [0-9]+/128'
expect_match "text: totals per second and event drops" "$(r text_total_line)" \
	'^Total to-dev [0-9.]+[KMG]/s +from-dev [0-9.]+[KMG]/s +maps [0-9]+/s +fail 0/s +event drops 0$'
expect_gt "text: labio among the top processes" "$(r text_labio_rows)" 0
# dmatop's own CPU time over a 30 s window with the workload in it, at a 1 s
# refresh, under TCG emulation (many times slower than a real CPU).
ticks=$(r text_cpu_ticks)
window=$(r text_cpu_window_cs)
# shellcheck disable=SC2154 # tap_prefix: set by run-scenarios.sh
echo "# $tap_prefix dmatop -b -d 1: $ticks ticks of $(r hz) Hz in $window cs; RSS $(r text_rss_kb) kB; first frame $(r text_first_frame_cs) cs after start"
expect_le "text: dmatop used under 2% of a CPU (TCG)" "$((${ticks:-999} * 10000 / $(r hz) / ${window:-1}))" 2

# 2. JSON frames: the same schema as dmawatch stat --json.
final=$(r json_final)
jdev() { printf '%s' "$final" | jq -r --arg d "$dev" ".devices[] | select(.device == \$d) | $1"; }
moved=$(($(r json_write_bytes) + $(r json_read_bytes)))
expect_eq "json: first frame after attaching" "$(r json_attached)" 0
expect_eq "json: dmatop -b --json exits 0 on SIGTERM" "$(r json_exit)" 0
expect_eq "json: nothing on stderr" "$(r json_stderr)" ""
expect_eq "json: workload moved 16 MiB" "$moved" 16777216
expect_ge "json: bounced bytes cover the workload" "$(jdev .bytes)" "$moved"
# ... plus virtio's own mappings, for each of the 128 requests: the 16-byte
# header, the status byte and the indirect descriptor table (16 bytes for
# each of at most 32 + 2 entries: a 128 KiB block of 4 KiB pages).
expect_le "json: bounced bytes are the workload's and virtio's" "$(jdev .bytes)" \
	$((moved + 128 * (16 + 1 + 34 * 16)))
expect_ge "json: bytes toward the disk cover the writes" "$(jdev .bytes_by_direction.to_device)" \
	"$(r json_write_bytes)"
expect_ge "json: bytes from the disk cover the reads" "$(jdev .bytes_by_direction.from_device)" \
	"$(r json_read_bytes)"
expect_ge "json: one mapping per 128 KiB block at least" "$(jdev .maps)" 128
expect_le "json: no mapping larger than a block" "$(jdev .max_size)" 131072
expect_eq "json: driver" "$(jdev .driver)" virtio-pci
expect_eq "json: limit" "$(jdev .limit)" 262144
expect_gt "json: mappings per second in some interval" "$(r json_max_maps_per_s)" 0
expect_gt "json: bytes toward the disk per second" "$(r json_max_to_device_Bps)" 0
expect_gt "json: bytes from the disk per second" "$(r json_max_from_device_Bps)" 0
expect_match "json: every frame is an interval (no zero frame)" "$(r json_first_interval)" \
	'^(0\.9[0-9]*|1(\.[0-9]+)?)$'
expect_eq "json: pool size" "$(printf '%s' "$final" | jq .pool.slots_total)" 512
expect_eq "json: no events dropped" "$(printf '%s' "$final" | jq .event_drops)" 0
expect_eq "no BPF program left after dmatop exits" "$(r bpf_syms_after)" 0

# 3. never fits: NOFIT on the disk's row, the event in the lower pane.
row=$(r nf_row)
ev=$(r nf_event)
expect_eq "never-fit: dmatop attached" "$(r nf_attached)" 0
expect_eq "never-fit: the 1 MiB write is still blocked" "$(r nf_writer_state)" D
expect_le "never-fit: shown within 5 s of the write" "$(r nf_detect_s)" 5
expect_gt "never-fit: NOFIT count on the disk's row" "$(field 10)" 0
expect_match "never-fit: event on the disk" "$ev" \
	"^[0-9:]{8} never-fit +$dev +size=[0-9]+ limit=[0-9]+ slots=[0-9]+/512 "
expect_gt "never-fit: event needs more slots than the pool" \
	"$(printf '%s\n' "$ev" | sed -n 's/.* slots=\([0-9]*\)\/.*/\1/p')" 512
expect_match "never-fit: event names the queue" "$ev" ' vq=req\.[0-9]+ err=-12 '
expect_match "never-fit: events summary counts it" "$(r nf_events_line)" 'never-fit [1-9]'
expect_eq "never-fit: dmatop still running beside the stuck request" "$(r nf_running)" yes
