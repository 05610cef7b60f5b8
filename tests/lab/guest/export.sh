#!/bin/sh
# The exporter, default pool: `dmawatch export` against `dmawatch stat
# --json` for the same window; its file growing between writes; /metrics
# over HTTP (busybox wget and nc, including clients that misbehave); its
# last file on SIGTERM; a reader hammering the file while the exporter
# rewrites it every 50 ms; --once; the errors that come before any BPF.
# Metric files go to the host base64-encoded (promtool runs there).
. /lab/lib.sh
mib=16
port=9435
ip link set lo up
emit vda_dma_dev "$(dma_dev_of vda)"

b64() { base64 "$1" | tr -d '\n'; }

# Waits for the exporter's next rename over DIR/dmawatch.prom (a new inode),
# then copies the new file to DEST (at most 30 s).
next_write() { # dir dest
	old=$(stat -c %i "$1/dmawatch.prom")
	i=0
	while [ "$(stat -c %i "$1/dmawatch.prom")" = "$old" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	cp "$1/dmawatch.prom" "$2"
	[ $i -lt 300 ]
}

# ---- errors before any BPF ------------------------------------------------------
dmawatch export --textfile-dir /nonexistent 2> /tmp/e.err
emit err_missing_exit $?
emit err_missing_msg "$(cat /tmp/e.err)"
mkdir -p /tmp/ro && mount -t tmpfs -o ro tmpfs /tmp/ro
dmawatch export --textfile-dir /tmp/ro 2> /tmp/e.err
emit err_ro_exit $?
emit err_ro_msg "$(cat /tmp/e.err)"
dmawatch export --listen 127.0.0.1:http 2> /tmp/e.err
emit err_addr_exit $?

# ---- the exporter and stat, same window ------------------------------------------
mkdir -p /tmp/tf
# A temporary file a killed exporter left (its pid is gone).
: > /tmp/tf/.dmawatch.prom.4000000.tmp
# Both with --latency, so the opt-in figures (sync bytes, durations) are
# compared too; the hammer below runs the default set, which leaves them out.
dmawatch --latency export --textfile-dir /tmp/tf --interval 1 --listen 127.0.0.1:$port \
	> /tmp/exp.out 2> /tmp/exp.err &
exp_pid=$!
dmawatch --latency stat --json 1 > /tmp/stat.json 2> /tmp/stat.err &
stat_pid=$!
wait_for /tmp/tf/dmawatch.prom '^dmawatch_up 1' 60
emit export_attached $?
wait_for /tmp/stat.json '"devices"' 60
emit stat_attached $?
# shellcheck disable=SC2010 # ls -A: the dot files too; the names are the exporter's own
emit stale_tmp_left "$(ls -A /tmp/tf | grep -c '^\.dmawatch\.prom\.4000000\.tmp$')"

# A little traffic first, so the disk has series in both writes.
labio read /dev/vda 1048576 65536 > /dev/null
next_write /tmp/tf /tmp/a.prom
emit write_a $?
labio write /dev/vda $((mib << 20)) 1048576 > /tmp/w.out
labio read /dev/vda $((mib << 20)) 65536 > /tmp/r.out
emit workload_bytes $(($(sed -n 's/^bytes //p' /tmp/w.out) + $(sed -n 's/^bytes //p' /tmp/r.out)))
# Quiet from here on: nothing else in the guest does DMA.
sleep 2
next_write /tmp/tf /tmp/b.prom
emit write_b $?
kill -TERM $stat_pid
wait $stat_pid
emit stat_exit $?
emit stat_final "$(tail -n 1 /tmp/stat.json)"
emit prom_a "$(b64 /tmp/a.prom)"
emit prom_b "$(b64 /tmp/b.prom)"

# ---- /metrics ----------------------------------------------------------------------
url=http://127.0.0.1:$port
# Five clients that connect and say nothing hold five slots (until the
# server's 10 s timeout), not the server.
for i in 1 2 3 4 5; do
	sleep 20 | nc 127.0.0.1 $port > /dev/null 2>&1 &
done
sleep 0.5
t0=$(cut -d' ' -f1 /proc/uptime)
wget -q -O /tmp/m.txt "$url/metrics"
emit http_exit $?
emit http_seconds "$(awk -v t0="$t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime)"
emit http_metrics "$(b64 /tmp/m.txt)"
wget -q -O /tmp/nf.txt "$url/nope" 2> /tmp/nf.err
emit http_404_exit $?
emit http_404_msg "$(cat /tmp/nf.err)"
emit http_10 "$({ printf 'GET /metrics HTTP/1.0\r\n\r\n'; sleep 2; } | nc 127.0.0.1 $port | head -n 1 | tr -d '\r')"
# HEAD: the status and headers, no metrics ("status|metric lines").
emit http_head "$({ printf 'HEAD /metrics HTTP/1.0\r\n\r\n'; sleep 2; } | nc 127.0.0.1 $port |
	tr -d '\r' | awk 'NR == 1 { s = $0 } /^dmawatch_/ { n++ } END { print s "|" n + 0 }')"
emit http_post "$({ printf 'POST /metrics HTTP/1.0\r\n\r\n'; sleep 2; } | nc 127.0.0.1 $port | head -n 1 | tr -d '\r')"
emit http_garbage "$({ printf 'GARBAGE\r\n\r\n'; sleep 2; } | nc 127.0.0.1 $port | head -n 1 | tr -d '\r')"
# Hangs up in the middle of its request.
{ printf 'GET /met'; } | nc 127.0.0.1 $port > /dev/null 2>&1
# 8 KiB of headers and no end.
emit http_huge "$({ head -c 8192 /dev/zero | tr '\0' 'x'; sleep 2; } | nc 127.0.0.1 $port | head -n 1 | tr -d '\r')"
wget -q -O /dev/null "$url/metrics"
emit http_after_abuse $?
running $exp_pid
emit export_alive $?

kill -TERM $exp_pid
wait $exp_pid
emit export_exit $?
emit export_stderr "$(head -c 300 /tmp/exp.err)"
emit final_last_line "$(tail -n 1 /tmp/tf/dmawatch.prom)"
emit tf_files "$(ls -A /tmp/tf | tr '\n' ' ')"

# ---- hammer: reads while the exporter rewrites every 50 ms ---------------------
mkdir -p /tmp/hf /tmp/h
dmawatch export --textfile-dir /tmp/hf --interval 0.05 2> /tmp/hexp.err &
hexp_pid=$!
wait_for /tmp/hf/dmawatch.prom '^dmawatch_up 1' 60
emit hammer_attached $?
# Traffic, so the numbers (and the file's length) change between writes.
(while :; do labio read /dev/vda $((4 << 20)) 65536 > /dev/null; done) &
load_pid=$!
start=$(cut -d' ' -f1 /proc/uptime)
# At least 600 reads, and on until the reads have seen 25 collections: a
# fixed count of reads saw 19 on a loaded host, where one collection takes
# longer than the 50 ms asked. 6000 reads at most: an exporter that stops
# rewriting ends it, and the check on the writes seen says so.
i=0 seen=0 last_ts=
while { [ $i -lt 600 ] || [ $seen -lt 25 ]; } && [ $i -lt 6000 ]; do
	cat /tmp/hf/dmawatch.prom > /tmp/h/$i
	ts=$(sed -n 's/^dmawatch_last_collection_timestamp_seconds //p' /tmp/h/$i)
	[ "$ts" = "$last_ts" ] || { seen=$((seen + 1)); last_ts=$ts; }
	i=$((i + 1))
done
emit hammer_seconds "$(awk -v t0="$start" '{ printf "%.1f", $1 - t0 }' /proc/uptime)"
kill $load_pid
wait $load_pid 2> /dev/null
kill -TERM $hexp_pid
wait $hexp_pid
emit hammer_export_exit $?
emit hammer_export_stderr "$(head -c 300 /tmp/hexp.err)"
# shellcheck disable=SC2010 # ls -A: the dot files too; the names are the exporter's own
emit hammer_tmp_left "$(ls -A /tmp/hf | grep -c 'tmp')"
emit hammer_reads "$(ls /tmp/h | wc -l)"
# Each read complete: only well-formed lines, the byte count of whole lines
# (so the last line has its newline), dmawatch_up last. Prints "reads bad
# distinct-collection-times first-bad".
wc -c /tmp/h/* | awk '$2 != "total" { print $2, $1 }' > /tmp/h.sizes
emit hammer_check "$(awk '
	function finish() {
		if (file == "")
			return
		n++
		if (bad || last !~ /^dmawatch_up 1$/ || bytes != size[file]) {
			nbad++
			if (first == "")
				first = file ": bad=" bad " last=" last " bytes=" bytes "/" size[file]
		}
	}
	FILENAME == "/tmp/h.sizes" { size[$1] = $2; next }
	FNR == 1 { finish(); file = FILENAME; bad = 0; bytes = 0 }
	{
		bytes += length($0) + 1
		if ($0 !~ /^# (HELP|TYPE) [a-z_]+ / &&
		    $0 !~ /^[a-z_]+(\{[^}]*\})? [-+0-9.eInf]+$/)
			bad++
		if ($1 == "dmawatch_last_collection_timestamp_seconds")
			ts[$2] = 1
		last = $0
	}
	END {
		finish()
		for (t in ts)
			nts++
		print n + 0, nbad + 0, nts + 0, first
	}' /tmp/h.sizes /tmp/h/*)"
emit hammer_first "$(b64 /tmp/h/0)"
emit hammer_last "$(b64 /tmp/h/$((i - 1)))"

# ---- --once -------------------------------------------------------------------------
mkdir -p /tmp/of
: > /tmp/of/.dmawatch.prom.4000001.tmp
dmawatch export --textfile-dir /tmp/of --once --interval 1 2> /tmp/once.err
emit once_exit $?
emit once_stderr "$(head -c 300 /tmp/once.err)"
emit once_files "$(ls -A /tmp/of | tr '\n' ' ')"
emit once_last_line "$(tail -n 1 /tmp/of/dmawatch.prom)"
emit bpf_syms_after "$(bpf_progs)"
