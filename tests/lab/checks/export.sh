# shellcheck shell=sh
# The exporter (guest/export.sh): the exporter's file against
# `dmawatch stat --json` for the same quiet window, promtool on every text
# the guest produced, growth between two writes, /metrics, SIGTERM, the
# hammer and --once. The guest's .prom files are kept in the run directory
# (tests/prometheus/run.sh feeds them to node_exporter).
vda=$(r vda_dma_dev)
exp_dir=${out:-$(mktemp -d)}
unb64() { r "$1" | base64 -d > "$exp_dir/$2" 2> /dev/null; }
unb64 prom_a first.prom
unb64 prom_b quiet.prom
unb64 http_metrics http.prom
unb64 hammer_first hammer-first.prom
unb64 hammer_last hammer-last.prom

# The value of a series (exact name and labels) in a .prom file.
pv() { # file series
	awk -v s="$2" 'index($0, s " ") == 1 { print substr($0, length(s) + 2); exit }' "$1"
}
promtool_ok() { # name file
	if ! command -v promtool > /dev/null; then
		fail "$1" "promtool missing (make deps)"
	elif out_=$(promtool check metrics < "$2" 2>&1) && [ -s "$2" ]; then
		pass "$1"
	else
		fail "$1" "$(printf '%s' "$out_" | head -c 500 | tr '\n' '|') (empty: $([ -s "$2" ] || echo yes))"
	fi
}

expect_eq "missing directory: exit 1" "$(r err_missing_exit)" 1
expect_match "missing directory: says so" "$(r err_missing_msg)" "No such file or directory"
expect_eq "read-only directory: exit 1" "$(r err_ro_exit)" 1
expect_match "read-only directory: says so" "$(r err_ro_msg)" "Read-only file system"
expect_eq "bad address: exit 2" "$(r err_addr_exit)" 2

expect_eq "export wrote its first file on attaching" "$(r export_attached)" 0
expect_eq "stat attached" "$(r stat_attached)" 0
expect_eq "a dead exporter's temporary file removed on start" "$(r stale_tmp_left)" 0
expect_eq "a write before the workload" "$(r write_a)" 0
expect_eq "a write after it, in the quiet" "$(r write_b)" 0
expect_eq "stat exits 0 on SIGTERM" "$(r stat_exit)" 0
promtool_ok "promtool check metrics: first write" "$exp_dir/first.prom"
promtool_ok "promtool check metrics: quiet write" "$exp_dir/quiet.prom"

# ---- the quiet write equals stat's final report -----------------------------------
final=$(r stat_final)
q=$exp_dir/quiet.prom
j() { printf '%s' "$final" | jq -r "$1"; }
dev=".devices[] | select(.device == \"$vda\")"
drv=$(j "$dev | .driver")
dl="device=\"$vda\",driver=\"$drv\""
compared=0
mismatch=
same() { # what prom-series json-expression
	a=$(pv "$q" "$2")
	b=$(j "$3")
	compared=$((compared + 1))
	[ -n "$a" ] && [ "$a" = "$b" ] || mismatch="$mismatch $1=$a/$b"
}
for d in bidirectional to_device from_device; do
	same "bytes.$d" "dmawatch_bounce_bytes_total{$dl,direction=\"$d\"}" "$dev | .bytes_by_direction.$d"
	same "maps.$d" "dmawatch_bounce_mappings_total{$dl,direction=\"$d\"}" "$dev | .maps_by_direction.$d"
	same "sync.$d" "dmawatch_bounce_sync_bytes_total{$dl,direction=\"$d\"}" "$dev | .sync_bytes.$d"
done
same failures "dmawatch_map_failures_total{$dl}" "$dev | .failures"
same over_limit "dmawatch_over_limit_mappings_total{$dl}" "$dev | .over_limit"
same never_fit "dmawatch_never_fit_requests_total{$dl}" "$dev | .never_fit"
same unmaps "dmawatch_bounce_unmaps_total{$dl}" "$dev | .unmaps"
same unmap_bytes "dmawatch_bounce_unmapped_bytes_total{$dl}" "$dev | .unmap_bytes"
same max_size "dmawatch_mapping_largest_bytes{$dl}" "$dev | .max_size"
same limit "dmawatch_mapping_limit_bytes{$dl}" "$dev | .limit"
same page_maps "dmawatch_dma_api_calls_total{$dl,api=\"map_page\"}" "$dev | .dma_api.page_maps"
same page_bytes "dmawatch_dma_api_bytes_total{$dl,api=\"map_page\"}" "$dev | .dma_api.page_bytes"
same page_errors "dmawatch_dma_api_errors_total{$dl,api=\"map_page\"}" "$dev | .dma_api.page_errors"
same hist_sum "dmawatch_mapping_size_bytes_sum{$dl}" "$dev | .bytes"
same latency_sum "dmawatch_map_duration_seconds_count{$dl}" "$dev | [.latency_log2_hist[]] | add"
same hist_count "dmawatch_mapping_size_bytes_count{$dl}" "$dev | [.size_log2_hist[]] | add"
# Cumulative buckets: le=2^(i+1)-1 holds log2 slots 0..i.
for i in $(seq 0 30); do
	same "bucket.$i" "dmawatch_mapping_size_bytes_bucket{$dl,le=\"$(((2 << i) - 1))\"}" \
		"$dev | [.size_log2_hist[0:$((i + 1))][]] | add // 0"
done
same pool_slots dmawatch_pool_slots .pool.slots_total
same pool_used dmawatch_pool_slots_used .pool.slots_used
same pool_free_run dmawatch_pool_largest_free_run_slots .pool.largest_free_run
same event_drops dmawatch_events_dropped_total .event_drops
nvq=$(j '.virtqueues | length')
for k in $(seq 0 $((nvq - 1))); do
	v=".virtqueues[$k]"
	vl="device=\"$(j "$v.device")\",vq=\"$(j "$v.vq")\",driver=\"$(j "$v.driver")\",dma_device=\"$(j "$v.dma_device")\""
	same "vq$k.adds" "dmawatch_virtqueue_submissions_total{$vl}" "$v.adds"
	same "vq$k.bytes" "dmawatch_virtqueue_submitted_bytes_total{$vl}" "$v.bytes"
	same "vq$k.sg" "dmawatch_virtqueue_sg_entries_total{$vl}" "$v.sg_entries"
	same "vq$k.never_fit" "dmawatch_virtqueue_never_fit_failures_total{$vl}" "$v.never_fit"
	same "vq$k.never_fit_reqs" "dmawatch_virtqueue_never_fit_requests_total{$vl}" "$v.never_fit_requests"
	for reason in enospc enomem eio other; do
		same "vq$k.$reason" "dmawatch_virtqueue_failures_total{$vl,reason=\"$reason\"}" \
			"$v.failures.$reason"
	done
done
expect_gt "stat's final report has the virtio disk's virtqueue" "$nvq" 0
# --latency timed every attempt: as many durations as sizes, and some.
expect_gt "--latency: mappings were timed" \
	"$(pv "$q" "dmawatch_map_duration_seconds_count{$dl}")" 0
expect_eq "--latency: every mapping attempt timed" \
	"$(pv "$q" "dmawatch_map_duration_seconds_count{$dl}")" \
	"$(pv "$q" "dmawatch_mapping_size_bytes_count{$dl}")"
expect_eq "quiet write = stat's final report ($compared values)" "$mismatch" ""
expect_ge "the virtio disk bounced the workload" \
	"$(j "$dev | .bytes")" "$(r workload_bytes)"

# ---- growth between the two writes --------------------------------------------------
# Every counter (and histogram series) of the first write is in the second,
# no lower; the virtio disk's bytes grew by the workload. The awk prints the
# number of counter series of the first write, then those that went down or
# vanished in the second.
growth=$(awk '
	FNR == 1 { f++ }
	/^# TYPE / { type[$3] = $4; next }
	/^#/ { next }
	{
		series = $1
		name = series; sub(/\{.*/, "", name)
		base = name; sub(/_(bucket|sum|count)$/, "", base)
		if (type[name] != "counter" && type[base] != "histogram")
			next
		if (f == 1)
			first[series] = $2
		else
			second[series] = $2
	}
	END {
		for (s in first) {
			n++
			if (!(s in second) || second[s] + 0 < first[s] + 0)
				bad = bad s " " first[s] "->" second[s] " "
		}
		print n + 0
		print bad
	}' "$exp_dir/first.prom" "$q")
expect_ge "the first write has the disk's counters" "$(echo "$growth" | sed -n 1p)" 50
expect_eq "no counter went down or vanished between writes" "$(echo "$growth" | sed -n 2p)" ""
grew() { # series (absent: 0)
	a=$(pv "$q" "$1" | cut -d. -f1)
	b=$(pv "$exp_dir/first.prom" "$1" | cut -d. -f1)
	echo $((${a:-0} - ${b:-0}))
}
expect_ge "to_device bytes grew by the 16 MiB write" \
	"$(grew "dmawatch_bounce_bytes_total{$dl,direction=\"to_device\"}")" $((16 << 20))
expect_ge "from_device bytes grew by the 16 MiB read" \
	"$(grew "dmawatch_bounce_bytes_total{$dl,direction=\"from_device\"}")" $((16 << 20))
expect_gt "mapping-size count grew" "$(grew "dmawatch_mapping_size_bytes_count{$dl}")" 0
expect_gt "collection time advanced" \
	"$(grew dmawatch_last_collection_timestamp_seconds)" 0

# ---- /metrics ---------------------------------------------------------------------------
expect_eq "wget /metrics" "$(r http_exit)" 0
expect_match "/metrics answered within 3 s beside 5 silent clients" "$(r http_seconds)" \
	'^[0-2]\.[0-9]$'
promtool_ok "promtool check metrics: /metrics" "$exp_dir/http.prom"
expect_eq "/metrics ends with dmawatch_up 1" "$(tail -n 1 "$exp_dir/http.prom")" "dmawatch_up 1"
expect_ne "wget /nope fails" "$(r http_404_exit)" 0
expect_match "/nope is 404" "$(r http_404_msg)" "404"
expect_eq "HTTP/1.0 GET" "$(r http_10)" "HTTP/1.0 200 OK"
expect_eq "HEAD: 200, no body" "$(r http_head)" "HTTP/1.0 200 OK|0"
expect_match "POST is 405" "$(r http_post)" "^HTTP/1.0 405"
expect_match "garbage is 400" "$(r http_garbage)" "^HTTP/1.0 400"
expect_match "8 KiB without an end of headers is 400" "$(r http_huge)" "^HTTP/1.0 400"
expect_eq "/metrics still served after the abuse" "$(r http_after_abuse)" 0
expect_eq "exporter survived the clients" "$(r export_alive)" 0

# ---- SIGTERM -------------------------------------------------------------------------------
expect_eq "export exits 0 on SIGTERM" "$(r export_exit)" 0
expect_eq "export printed nothing on stderr" "$(r export_stderr)" ""
expect_eq "the file left behind says dmawatch_up 0" "$(r final_last_line)" "dmawatch_up 0"
expect_eq "only dmawatch.prom left in the directory" "$(r tf_files)" "dmawatch.prom "

# ---- hammer --------------------------------------------------------------------------------
# "reads bad distinct-collection-times first-bad..."
read -r h_reads h_bad h_writes h_first <<EOF
$(r hammer_check)
EOF
expect_eq "hammer: exporter attached" "$(r hammer_attached)" 0
expect_ge "hammer: 600 reads at least" "$(r hammer_reads)" 600
expect_eq "hammer: every read checked" "$h_reads" "$(r hammer_reads)"
expect_eq "hammer: every read complete (whole lines, dmawatch_up last)" "$h_bad" 0
[ "$h_bad" = 0 ] || echo "#   first bad read: $h_first"
expect_ge "hammer: the reads saw many rewrites" "$h_writes" 20
echo "# hammer: $h_reads reads in $(r hammer_seconds) s saw $h_writes distinct writes"
promtool_ok "promtool check metrics: a hammer read" "$exp_dir/hammer-last.prom"
# The hammer's exporter runs the default set: the opt-in figures are left
# out rather than exported as zeros; the mappings are there.
expect_eq "default set: no duration histogram (that is --latency)" \
	"$(grep -c '^dmawatch_map_duration_seconds' "$exp_dir/hammer-last.prom")" 0
expect_eq "default set: no sync bytes (that is --latency)" \
	"$(grep -c '^dmawatch_bounce_sync_bytes_total' "$exp_dir/hammer-last.prom")" 0
expect_gt "default set: mappings counted" \
	"$(pv "$exp_dir/hammer-last.prom" "dmawatch_mapping_size_bytes_count{$dl}")" 0
expect_eq "hammer: export exits 0" "$(r hammer_export_exit)" 0
expect_eq "hammer: export printed nothing on stderr" "$(r hammer_export_stderr)" ""
expect_eq "hammer: no temporary file left" "$(r hammer_tmp_left)" 0

# ---- --once ---------------------------------------------------------------------------------
expect_eq "--once exits 0" "$(r once_exit)" 0
expect_eq "--once: nothing on stderr" "$(r once_stderr)" ""
expect_eq "--once: the file, and the stale temporary file gone" "$(r once_files)" "dmawatch.prom "
expect_eq "--once: dmawatch_up 1" "$(r once_last_line)" "dmawatch_up 1"
expect_eq "no BPF program left after the exporters exit" "$(r bpf_syms_after)" 0
