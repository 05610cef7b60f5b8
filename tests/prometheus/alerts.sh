#!/bin/sh
# alerts.sh BUILD KERNEL
#
# The shipped alert rules, proven end to end: a real Prometheus (Debian's,
# on 127.0.0.1, data in a temporary directory) scrapes a lab guest's
# `dmawatch export --listen` and, through the guest's real node_exporter,
# its textfile, over QEMU's user network (restrict=on, host forwards to
# 127.0.0.1 only). The guest (tests/lab/guest/alerts.sh) goes through
# phases: healthy, a transient exhaustion, calm, an exporter restart, a
# never-fitting request; this script stamps each phase with the host's
# clock as its line arrives, then asks Prometheus (HTTP API) what was
# pending and firing when. Prints TAP.
#
# Time is compressed: the rules are loaded with every duration divided by
# 30 (for: 15m -> 30s, [10m] -> [20s], the 300 s staleness bound -> 10 s),
# scraped and evaluated every second; the expressions are otherwise the
# shipped ones (checked below). One uncompressed run would take an hour.
#
# Latency: a change in the guest reaches an alert's state through the
# exporter's tick (1 s), a scrape (1 s) and an evaluation (1 s), each at
# its own phase, plus the emulated guest's slowness: LAT seconds at most.
set -u
build=${1:?usage: alerts.sh BUILD KERNEL}
kernel=${2:?usage: alerts.sh BUILD KERNEL}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/lab/tap.sh"
# shellcheck disable=SC2034 # tap_prefix: read by tap.sh's pass and fail
tap_prefix="alerts $kernel: "
SCALE=30
LAT=8

out=$build/lab/$kernel/runs/alerts
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
prom_pid='' guest_pid=''
cleanup() {
	[ -z "$guest_pid" ] || kill "$guest_pid" 2>/dev/null
	if [ -n "$prom_pid" ]; then
		kill "$prom_pid" 2>/dev/null
		wait "$prom_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in prometheus promtool prometheus-node-exporter curl jq cpio; do
	command -v $t > /dev/null || {
		fail "$t is installed" "missing: run 'make deps'"
		exit 0
	}
done

# ---- the rules, time-compressed -------------------------------------------------

rules=$top/docs/prometheus/dmawatch-alerts.yml
perl -pe 's/(for: |\[|offset )(\d+)m\b/$1 . ($2 * 60 \/ '$SCALE') . "s"/ge;
	s/(- dmawatch_last_collection_timestamp_seconds > )(\d+)$/$1 . ($2 \/ '$SCALE')/e' \
	"$rules" > "$work/rules.yml"
# What changed is durations and nothing else: each changed line, with its
# numbers and units taken out, reads as before.
strip() { sed -E 's/[0-9]+[ms]?//g' "$1"; }
strip "$work/rules.yml" > "$work/rules.yml.stripped"
expect_eq "compressed rules differ from the shipped ones only in durations" \
	"$(strip "$rules" | diff - "$work/rules.yml.stripped" | head -n 5 | tr '\n' '|')" ""
expect_eq "every duration was compressed" \
	"$(grep -cE '(for: |\[|offset )[0-9]+m\b|> 300$' "$work/rules.yml")" 0
expect_ge "durations compressed" "$(diff "$rules" "$work/rules.yml" | grep -c '^>')" 10
if promtool check rules "$work/rules.yml" > "$work/check.out" 2>&1; then
	pass "promtool check rules: the compressed copy"
else
	fail "promtool check rules: the compressed copy" "$(tr '\n' '|' < "$work/check.out")"
fi
# for: of each alert, in seconds after compression ("" when none).
for_s() { # alertname
	awk -v a="$1" '$0 ~ "- alert: " a "$" { on = 1; next } on && /- alert:/ { exit }
		on && /^ *for: / { sub(/s$/, "", $2); print $2; exit }' "$work/rules.yml"
}

# ---- the guest's initramfs, with node_exporter ---------------------------------------

initrd=$build/lab/$kernel/initramfs.gz
env=$build/lab/$kernel/kernel.env
[ -e "$initrd" ] || { fail "initramfs for $kernel exists" "no $initrd: make initramfs"; exit 0; }
# A second cpio archive after the first (the kernel unpacks both): the
# Debian node_exporter and the libraries it is linked with.
mkdir -p "$work/extra/usr/bin"
cp /usr/bin/prometheus-node-exporter "$work/extra/usr/bin/"
for lib in $(ldd /usr/bin/prometheus-node-exporter | grep -oE '/[^ ]+'); do
	mkdir -p "$work/extra$(dirname "$lib")"
	cp -L "$lib" "$work/extra$lib"
done
(cd "$work/extra" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$work/extra.gz"
cat "$initrd" "$work/extra.gz" > "$work/initrd.gz"

# ---- Prometheus ------------------------------------------------------------------

# A port nobody listens on (curl: 7, connection refused).
free_port() { # from
	p=$1
	while curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; [ $? -ne 7 ]; do
		p=$((p + 1))
	done
	echo $p
}
base=$((20000 + $$ % 20000))
p_prom=$(free_port $base)
p_exp=$(free_port $((p_prom + 1)))
p_ne=$(free_port $((p_exp + 1)))
cat > "$work/prometheus.yml" << EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $work/rules.yml
scrape_configs:
  - job_name: dmawatch
    static_configs:
      - targets: ['127.0.0.1:$p_exp']
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$p_ne']
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
	--web.listen-address="127.0.0.1:$p_prom" > "$out/prometheus.log" 2>&1 &
prom_pid=$!
api=http://127.0.0.1:$p_prom/api/v1
i=0
until curl -sf "http://127.0.0.1:$p_prom/-/ready" > /dev/null; do
	i=$((i + 1))
	if [ $i -ge 60 ] || ! kill -0 $prom_pid 2>/dev/null; then
		fail "prometheus starts" "$(tail -n 5 "$out/prometheus.log" | tr '\n' '|')"
		exit 0
	fi
	sleep 0.5
done
pass "prometheus serves on 127.0.0.1:$p_prom"
expect_eq "prometheus loaded the rules" \
	"$(curl -s "$api/rules" | jq '[.data.groups[].rules[]] | length')" \
	"$(grep -c -- '- alert:' "$rules")"

# ---- the guest, its phases stamped ------------------------------------------------

"$top/tests/lab/run-guest.sh" -s alerts -p 1024,force -t 480 -o "$out" \
	-f "$p_exp:9435,$p_ne:9100" "$env" "$work/initrd.gz" &
guest_pid=$!
: > "$out/phases"
seen=0
stamp() {
	n=$(grep -c '^phase ' "$out/results" 2> /dev/null)
	while [ "${n:-0}" -gt $seen ]; do
		seen=$((seen + 1))
		name=$(grep '^phase ' "$out/results" | sed -n "${seen}p" | tr -d '\r' | cut -d' ' -f2)
		echo "$name $(date +%s)" >> "$out/phases"
	done
}
while kill -0 $guest_pid 2>/dev/null; do
	stamp
	sleep 0.25
done
stamp
wait $guest_pid
guest_pid=
echo "# alerts $kernel: guest $(cat "$out/status") after $(cat "$out/seconds") s"
expect_eq "guest ran the scenario and powered off" "$(cat "$out/status")" ok
expect_clean_console "$out/console.log"
results "$out/results"
expect_eq "scenario script exited 0" "$(r scenario_exit)" 0
expect_eq "guest network is up" "$(r eth0)" 10.0.2.15/24
expect_eq "exporter attached" "$(r export_attached)" 0
expect_eq "node_exporter runs in the guest" "$(r node_exporter_running)" yes
expect_eq "phases, in order" "$(cut -d' ' -f1 "$out/phases" | tr '\n' ' ')" \
	"healthy exhaust calm restart restart-gap restarted never-fit end "
T() { awk -v p="$1" '$1 == p { print $2 }' "$out/phases"; }
for p in healthy exhaust calm restart restart-gap restarted never-fit end; do
	is_int "$(T $p)" || { fail "phase $p was stamped"; exit 0; }
done

# The reference: what the guest's kernel showed in each phase.
expect_ge "exhaust: the module filled 94 % of the pool (io_tlb_used)" "$(r used_held)" $(($(r nslabs) * 94 / 100))
expect_gt "exhaust: the kernel refused the writer (swiotlb buffer is full lines)" \
	"$(r full_lines_held)" 0
expect_eq "exhaust: the writer was blocked while the slots were held" "$(r writer_while_held)" D
expect_eq "calm: the writer completed once they were let go" "$(r writer_exit)" 0
expect_eq "restart: the stopped exporter's last file says dmawatch_up 0" "$(r last_file_up)" "dmawatch_up 0"
expect_eq "restart: the exporter attached again" "$(r export_restarted)" 0
expect_eq "never-fit: the 2 MiB writer is still blocked" "$(r never_fit_writer)" D

# ---- what Prometheus saw ----------------------------------------------------------

# Every ALERTS sample of the run: "alertname state time device/dma_device"
# lines. Asked once t_end has passed: a range that reaches into the future
# repeats the last samples.
t0=$(T healthy)
t_end=$(($(T end) + LAT))
while [ "$(date +%s)" -le $t_end ]; do sleep 1; done
curl -s "$api/query_range" --data-urlencode query=ALERTS \
	--data-urlencode "start=$((t0 - 120))" --data-urlencode "end=$t_end" \
	--data-urlencode step=1 > "$out/alerts.json"
jq -r '.data.result[] | .metric as $m | .values[] |
	"\($m.alertname) \($m.alertstate) \(.[0]) \($m.device // "-")/\($m.dma_device // "-")"' \
	"$out/alerts.json" | sort -k3,3n > "$out/alerts.txt"
expect_gt "prometheus has ALERTS samples" "$(wc -l < "$out/alerts.txt")" 0
# First or last time ALERT was in STATE between FROM and TO ("" if never).
first() { # alert state from to
	awk -v a="$1" -v s="$2" -v f="$3" -v t="$4" \
		'$1 == a && $2 == s && $3 >= f && $3 <= t { print $3; exit }' "$out/alerts.txt"
}
last() { # alert state from to
	awk -v a="$1" -v s="$2" -v f="$3" -v t="$4" \
		'$1 == a && $2 == s && $3 >= f && $3 <= t { l = $3 } END { print l }' "$out/alerts.txt"
}
# Alerts firing between FROM and TO, each name once.
firing() { # from to
	awk -v f="$1" -v t="$2" '$2 == "firing" && $3 >= f && $3 <= t { print $1 }' \
		"$out/alerts.txt" | sort -u | tr '\n' ' '
}
# An instant query's value (the first series), "" when it has none.
value() { # time query
	curl -s "$api/query" --data-urlencode "query=$2" --data-urlencode "time=$1" |
		jq -r '.data.result[0].value[1] // ""'
}

# Scraped at all, both ways, once the exporter ran.
t=$(($(T healthy) + 3))
expect_eq "healthy: the /metrics target is up" "$(value $t 'up{job="dmawatch"}')" 1
expect_eq "healthy: the node_exporter target is up" "$(value $t 'up{job="node"}')" 1
expect_eq "healthy: dmawatch_up 1 through /metrics" "$(value $t 'dmawatch_up{job="dmawatch"}')" 1
expect_eq "healthy: dmawatch_up 1 through the textfile" "$(value $t 'dmawatch_up{job="node"}')" 1
expect_eq "healthy: node_textfile_scrape_error 0" "$(value $t 'node_textfile_scrape_error')" 0

# Healthy: nothing pending or firing once the exporter's first scrapes
# are in (DmawatchMissing may be firing from before, while the guest
# booted; it must have resolved).
expect_eq "healthy: no alert pending or firing" \
	"$(awk -v f="$(($(T healthy) + LAT))" -v t="$(T exhaust)" '$3 >= f && $3 <= t { print $1, $2 }' \
		"$out/alerts.txt" | sort -u | tr '\n' ' ')" ""

# Exhaustion: pending, then firing after the rule's for:, then resolved.
for a in DmawatchSwiotlbPoolNearFull DmawatchSustainedMapFailures DmawatchSustainedVirtqueueFailures; do
	f=$(for_s $a)
	p=$(first $a pending "$(T exhaust)" "$(T calm)")
	fi=$(first $a firing "$(T exhaust)" "$(($(T calm) + LAT))")
	if ! is_int "$p" || ! is_int "$fi"; then
		fail "exhaust: $a pending then firing" "pending at ${p:-never}, firing at ${fi:-never} (phase from $(T exhaust) to $(T calm))"
		continue
	fi
	pass "exhaust: $a pending $((p - $(T exhaust))) s into the phase, firing $((fi - p)) s later"
	expect_le "exhaust: $a pending within ${LAT} s of the exhaustion" $((p - $(T exhaust))) $LAT
	# Evaluations are 1 s apart: firing at the first evaluation >= for.
	expect_ge "exhaust: $a fired no sooner than its for: ${f}s" $((fi - p)) "$f"
	expect_le "exhaust: $a fired within 2 s of its for: ${f}s" $((fi - p)) $((f + 2))
	l=$(last $a firing "$(T exhaust)" "$(T never-fit)")
	# Resolved within its expression's window (rate over [10s]: 10 s after
	# the last failure) and LAT.
	window=$(grep -A2 -- "- alert: $a\$" "$work/rules.yml" | grep -oE '\[[0-9]+s\]' | tr -d '[]s')
	expect_le "calm: $a resolved within ${window:-0} s + ${LAT} s of the release" \
		$((l - $(T calm))) $((${window:-0} + LAT))
done

# The restart: in the gap, the /metrics target is down and its series
# stale; the textfile still answers, with the stopped exporter's last
# file (dmawatch_up 0). DmawatchDown goes pending (it fires only after its
# for:, which a restart is not meant to reach unless it is slow).
t=$(($(T restart-gap) + 3))
expect_eq "restart: the /metrics target is down in the gap" "$(value $t 'up{job="dmawatch"}')" 0
expect_eq "restart: its series are stale in the gap" "$(value $t 'dmawatch_up{job="dmawatch"}')" ""
expect_eq "restart: the textfile says dmawatch_up 0 in the gap" "$(value $t 'dmawatch_up{job="node"}')" 0
gap=$(($(T restarted) - $(T restart-gap)))
p=$(first DmawatchDown pending "$(T restart)" "$(T restarted)")
fi=$(first DmawatchDown firing "$(T restart)" "$(($(T restarted) + LAT))")
expect_match "restart: DmawatchDown pending in the ${gap} s gap" "$p" '^[0-9]+$'
f=$(for_s DmawatchDown)
if is_int "$fi" && is_int "$p"; then
	expect_ge "restart: DmawatchDown fired no sooner than its for: ${f}s" $((fi - p)) "$f"
else
	pass "restart: DmawatchDown did not fire (pending for less than its for: ${f}s)"
fi
t=$(($(T restarted) + LAT))
expect_eq "restart: the /metrics target is up again" "$(value $t 'up{job="dmawatch"}')" 1
expect_eq "restart: dmawatch_up 1 again through /metrics" "$(value $t 'dmawatch_up{job="dmawatch"}')" 1
expect_eq "restart: dmawatch_up 1 again through the textfile" "$(value $t 'dmawatch_up{job="node"}')" 1
expect_eq "restart: DmawatchDown resolved" \
	"$(last DmawatchDown pending "$t" "$(T never-fit)")$(last DmawatchDown firing "$t" "$(T never-fit)")" ""
expect_eq "restart: rate() across the counter reset is never negative" \
	"$(value "$t" 'min(rate(dmawatch_bounce_bytes_total{job="dmawatch"}[20s])) < 0')" ""

# The never-fitting request: no for:, so firing at once, for the disk.
fi=$(first DmawatchNeverFitRequest firing "$(T never-fit)" "$t_end")
expect_match "never-fit: DmawatchNeverFitRequest firing" "$fi" '^[0-9]+$'
is_int "$fi" && expect_le "never-fit: firing within ${LAT} s" $((fi - $(T never-fit))) $LAT
expect_eq "never-fit: DmawatchNeverFitRequest not before the phase" \
	"$(last DmawatchNeverFitRequest firing 0 "$(T never-fit)")" ""
devs=$(awk -v f="$(T never-fit)" '$1 == "DmawatchNeverFitRequest" && $3 >= f { print $4 }' \
	"$out/alerts.txt" | sort -u | tr '\n' ' ')
expect_eq "never-fit: the alert names the disk" "$devs" "$(r vda_virtio)/$(r vda_dma_dev) "

# Nothing else fired in the whole run.
expect_eq "no other alert fired" \
	"$(firing "$(T healthy)" "$t_end" | tr ' ' '\n' | grep -vxE 'DmawatchSwiotlbPoolNearFull|DmawatchSustainedMapFailures|DmawatchSustainedVirtqueueFailures|DmawatchNeverFitRequest|DmawatchDown|' | tr '\n' ' ')" ""

# ---- the dashboard's queries -----------------------------------------------------

# Each panel's query at the end of the exhaustion (a busy guest: every
# family has counted), with Grafana's variables as it would fill them:
# all instances and devices, $__rate_interval four scrapes.
dash=$top/docs/prometheus/dmawatch-dashboard.json
t=$(T calm)
jq -r '.. | objects | .expr? // empty' "$dash" > "$work/exprs"
expect_gt "dashboard has queries" "$(wc -l < "$work/exprs")" 10
empty=
while read -r e; do
	q=$(printf '%s' "$e" | sed -e 's/\$instance/.*/g; s/\$device/.*/g' \
		-e 's/\$__rate_interval/4s/g' -e "s/\\\$__range/$((t - t0 + 1))s/g")
	n=$(curl -s "$api/query" --data-urlencode "query=$q" --data-urlencode "time=$t" |
		jq '.data.result | length')
	[ "${n:-0}" -gt 0 ] || empty="$empty [$q]"
done < "$work/exprs"
expect_eq "every dashboard query returns data" "$empty" ""
