#!/bin/sh
# run.sh [BUILD [PROM_FILE...]]
#
# The Prometheus side of `dmawatch export`, on the host (no BPF): prints TAP.
#   - the text rendered from a fabricated snapshot (sample.c, built by make
#     as BUILD/tests/prom-sample) passes `promtool check metrics`;
#   - the alert rules pass `promtool check rules` and `promtool test rules`;
#   - the Grafana dashboard is valid JSON and queries only metrics that
#     dmawatch exports;
#   - the systemd unit passes `systemd-analyze verify`;
#   - dmawatch export's usage and directory errors (they come before any
#     BPF is loaded) and its clean-up of stale temporary files;
#   - the real prometheus-node-exporter, on 127.0.0.1, with its textfile
#     collector reading the sample and every PROM_FILE (default: the files
#     the lab's export scenario brought back, BUILD/lab/*/runs/export/*.prom):
#     every dmawatch family is served and node_textfile_scrape_error is 0.
# node_exporter is killed on every way out.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build}
[ $# -gt 0 ] && shift
. "$top/tests/lab/tap.sh"
tap_prefix="prometheus: "

work=$(mktemp -d)
ne_pid=
cleanup() {
	if [ -n "$ne_pid" ]; then
		kill "$ne_pid" 2>/dev/null
		wait "$ne_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() { echo "ok - $tap_prefix$1 # SKIP $2"; }
# Runs a command; passes when it exits 0, else fails with its output.
check_cmd() { # name command...
	name=$1
	shift
	if "$@" > "$work/cmd.out" 2>&1; then
		pass "$name"
	else
		fail "$name" "$(head -c 1500 "$work/cmd.out" | tr '\n' '|')"
	fi
}

# ---- the sample ---------------------------------------------------------------

sample=$build/tests/prom-sample
if [ -x "$sample" ]; then
	pass "sample renderer is built ($sample)"
else
	fail "sample renderer is built: no $sample (make $sample)"
	exit 0
fi
"$sample" > "$work/sample.prom"
expect_eq "sample renders" "$?" 0
check_cmd "promtool check metrics: sample" sh -c "promtool check metrics < '$work/sample.prom'"
# Families as dmawatch writes them (TYPE lines), for the checks below.
families=$(sed -n 's/^# TYPE \(dmawatch_[a-z0-9_]*\) .*/\1/p' "$work/sample.prom" | sort -u)
expect_ge "sample has every family" "$(echo "$families" | wc -l)" 40
expect_eq "sample: dmawatch_up is the last line" "$(tail -n 1 "$work/sample.prom")" "dmawatch_up 1"
expect_eq "sample: label values escaped" \
	"$(grep -cF 'dmawatch_map_failures_total{device="lab\"dev\\1\n",driver="dmawatch_lab"} 2' \
		"$work/sample.prom")" 1

# ---- alert rules --------------------------------------------------------------

rules=$top/docs/prometheus
check_cmd "promtool check rules" promtool check rules "$rules/dmawatch-alerts.yml"
check_cmd "promtool test rules" sh -c "cd '$rules' && promtool test rules dmawatch-alerts.test.yml"
# Every alert has a unit test.
untested=
for a in $(sed -n 's/^ *- alert: *//p' "$rules/dmawatch-alerts.yml"); do
	grep -q "alertname: $a\b" "$rules/dmawatch-alerts.test.yml" || untested="$untested $a"
done
expect_eq "every alert has a rule test" "$untested" ""
# Rules only use exported metrics (and node_exporter's textfile error).
unknown=
for m in $(grep -oE 'dmawatch_[a-z0-9_]+' "$rules/dmawatch-alerts.yml" | sort -u); do
	echo "$families" | grep -qx "$m" || unknown="$unknown $m"
done
expect_eq "alert rules use only exported metrics" "$unknown" ""

# ---- dashboard ----------------------------------------------------------------

dash=$rules/dmawatch-dashboard.json
check_cmd "dashboard is JSON" jq -e '.panels | length > 0' "$dash"
queries=$(jq -r '.. | objects | (.expr?, .definition?) // empty | strings' "$dash")
unknown=
for tok in $(printf '%s\n' "$queries" | grep -oE '[A-Za-z_:][A-Za-z0-9_:]*' | sort -u); do
	case $tok in
	*_*) ;;
	*) continue ;; # label names, keywords, functions without "_"
	esac
	case $tok in
	__*) continue ;; # $__rate_interval, $__range
	histogram_quantile | label_values) continue ;;
	dma_device) continue ;;
	esac
	base=$tok
	case $tok in
	*_bucket | *_sum | *_count)
		b=${tok%_*}
		grep -q "^# TYPE $b histogram" "$work/sample.prom" && base=$b
		;;
	esac
	echo "$families" | grep -qx "$base" || unknown="$unknown $tok"
done
expect_eq "dashboard queries only exported metrics" "$unknown" ""
expect_eq "every dashboard panel queries the datasource variable" \
	"$(jq '[.panels[] | select(.type != "row") | select(.datasource.uid != "${datasource}"
		or (.targets | length) == 0)] | length' "$dash")" 0
# Panels must not overlap on the 24-column grid.
expect_eq "dashboard panels do not overlap" "$(jq '[.panels[].gridPos] as $g |
	[range(0; $g | length) as $i | range($i + 1; $g | length) as $j |
	 select($g[$i].x < $g[$j].x + $g[$j].w and $g[$j].x < $g[$i].x + $g[$i].w and
		$g[$i].y < $g[$j].y + $g[$j].h and $g[$j].y < $g[$i].y + $g[$i].h)] | length' "$dash")" 0

# ---- systemd unit -------------------------------------------------------------

unit=$rules/dmawatch-export.service
expect_match "unit writes to Debian's textfile directory" \
	"$(sed -n 's/^ExecStart=//p' "$unit")" \
	'export --textfile-dir /var/lib/prometheus/node-exporter( |$)'
if command -v systemd-analyze > /dev/null && [ -x "$build/dmawatch" ]; then
	# verify wants the binary to exist: point it at the build's.
	sed "s|^ExecStart=[^ ]*|ExecStart=$build/dmawatch|" "$unit" > "$work/dmawatch-export.service"
	check_cmd "systemd-analyze verify the unit" \
		systemd-analyze verify --man=no "$work/dmawatch-export.service"
	# Least privilege, scored: 7.2 MEDIUM before the unit was narrowed to
	# the capabilities dmawatch uses. --threshold is in tenths.
	systemd-analyze security --offline=true "$work/dmawatch-export.service" 2>&1 |
		sed -n 's/^→ /# /p'
	check_cmd "systemd-analyze security: exposure 2.5 or less" \
		systemd-analyze security --offline=true --threshold=25 "$work/dmawatch-export.service"
else
	skip "systemd-analyze verify the unit" "no systemd-analyze or no $build/dmawatch"
fi

# ---- dmawatch export: errors before any BPF ------------------------------------

dw=$build/dmawatch
export_rc() { # expected-status name args...
	want=$1 name=$2
	shift 2
	timeout 60 "$dw" export "$@" > "$work/ex.out" 2> "$work/ex.err"
	rc=$?
	if [ "$rc" = "$want" ] && [ "$(wc -l < "$work/ex.err")" -ge 1 ]; then
		pass "$name: exit $rc, '$(head -n 1 "$work/ex.err")'"
	else
		fail "$name" "exit $rc (expected $want): $(head -c 300 "$work/ex.err" | tr '\n' '|')"
	fi
}
if [ -x "$dw" ]; then
	export_rc 2 "export without a destination"
	export_rc 2 "export --listen with a bad port" --listen 127.0.0.1:99999
	export_rc 2 "export --listen with a name" --listen example.org:9435
	export_rc 2 "export --interval 0" --textfile-dir "$work" --interval 0
	export_rc 2 "export --once with a COUNT" --textfile-dir "$work" --once 1 3
	export_rc 1 "export to a missing directory" --textfile-dir "$work/missing"
	expect_eq "missing directory: one line" "$(wc -l < "$work/ex.err")" 1
	: > "$work/plainfile"
	export_rc 1 "export to a file, not a directory" --textfile-dir "$work/plainfile"
	if [ "$(id -u)" != 0 ]; then
		mkdir "$work/ro" && chmod 555 "$work/ro"
		export_rc 1 "export to a read-only directory" --textfile-dir "$work/ro"
	else
		skip "export to a read-only directory" "root writes anyway (the lab tests a ro mount)"
	fi
	# Stale temporary files: a dead pid's and an old one go; the rest stay.
	# (BPF cannot load here, so export stops after the directory work.)
	mkdir "$work/tf"
	dead=4194300
	while kill -0 "$dead" 2>/dev/null; do dead=$((dead - 1)); done
	: > "$work/tf/.dmawatch.prom.$dead.tmp"
	: > "$work/tf/.dmawatch.prom.$$.tmp"
	touch -d '-2 hours' "$work/tf/.dmawatch.prom.$$.tmp"
	: > "$work/tf/.dmawatch.prom.1.tmp" # pid 1 lives and the file is new
	: > "$work/tf/.dmawatch.prom.x.tmp"
	: > "$work/tf/other.prom"
	timeout 60 "$dw" export --textfile-dir "$work/tf" --once --interval 0.1 \
		> /dev/null 2> "$work/ex.err"
	# shellcheck disable=SC2010 # the test's own file names: no blanks
	expect_eq "stale temporary files removed, others kept" \
		"$(cd "$work/tf" && ls -A | grep -v '^dmawatch\.prom$' | sort | tr '\n' ' ')" \
		".dmawatch.prom.1.tmp .dmawatch.prom.x.tmp other.prom "
else
	fail "export errors: $dw missing (run make)"
fi

# ---- node_exporter --------------------------------------------------------------

ne=$(command -v prometheus-node-exporter || command -v node_exporter)
if [ -z "$ne" ]; then
	fail "prometheus-node-exporter installed (make deps)"
	exit 0
fi
# A free port: node_exporter exits at once when its port is taken, so try
# random ones until one serves.
mkdir "$work/textfile"
port=
for _ in 1 2 3 4 5 6 7 8; do
	p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
	"$ne" --web.listen-address="127.0.0.1:$p" --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$work/textfile" \
		> "$work/ne.log" 2>&1 &
	ne_pid=$!
	i=0
	while kill -0 "$ne_pid" 2>/dev/null && [ $i -lt 100 ]; do
		curl -sf "http://127.0.0.1:$p/metrics" > /dev/null 2>&1 && break
		sleep 0.1
		i=$((i + 1))
	done
	# (Alive a moment after answering: not someone else on that port.)
	if [ $i -lt 100 ] && sleep 0.3 && kill -0 "$ne_pid" 2>/dev/null; then
		port=$p
		break
	fi
	kill "$ne_pid" 2>/dev/null
	wait "$ne_pid" 2>/dev/null
	ne_pid=
done
if [ -z "$port" ]; then
	fail "node_exporter serves on 127.0.0.1" "$(head -c 500 "$work/ne.log" | tr '\n' '|')"
	exit 0
fi
pass "node_exporter serves on 127.0.0.1:$port ($($ne --version 2>&1 | head -n 1))"

# One file at a time in the textfile directory (two dmawatch files would
# be two copies of the same series), swapped in atomically.
scrape_check() { # name prom-file
	name=$1
	cp "$2" "$work/textfile/.next" && mv "$work/textfile/.next" "$work/textfile/dmawatch.prom"
	curl -sf "http://127.0.0.1:$port/metrics" > "$work/scrape.txt"
	expect_eq "$name: node_textfile_scrape_error" \
		"$(sed -n 's/^node_textfile_scrape_error //p' "$work/scrape.txt")" 0
	missing=
	for f in $(sed -n 's/^# TYPE \(dmawatch_[a-z0-9_]*\) .*/\1/p' "$2"); do
		grep -q "^# TYPE $f " "$work/scrape.txt" || missing="$missing $f"
	done
	expect_eq "$name: every dmawatch family served" "$missing" ""
	expect_eq "$name: as many dmawatch samples served as written" \
		"$(grep -c '^dmawatch_' "$work/scrape.txt")" "$(grep -c '^dmawatch_' "$2")"
}
if [ -x "$dw" ]; then
	export_rc 1 "export --listen on node_exporter's port" --listen "127.0.0.1:$port"
	expect_match "export --listen on a taken port: says why" "$(cat "$work/ex.err")" "Address already in use"
fi
scrape_check "sample" "$work/sample.prom"
expect_eq "sample: escaped label survives node_exporter" \
	"$(grep -cF 'device="lab\"dev\\1\n"' "$work/scrape.txt")" \
	"$(grep -cF 'device="lab\"dev\\1\n"' "$work/sample.prom")"
# The check can fail: a file cut mid-line is an error.
head -c 2000 "$work/sample.prom" > "$work/cut.prom"
cp "$work/cut.prom" "$work/textfile/.next" && mv "$work/textfile/.next" "$work/textfile/dmawatch.prom"
expect_eq "a truncated file makes node_textfile_scrape_error 1" \
	"$(curl -sf "http://127.0.0.1:$port/metrics" | sed -n 's/^node_textfile_scrape_error //p')" 1

if [ $# -eq 0 ]; then
	set -- "$build"/lab/*/runs/export/*.prom
	[ -e "$1" ] || set --
	[ $# -gt 0 ] || echo "# no lab export files in $build/lab/*/runs/export (make lab-test)"
fi
for f in "$@"; do
	label=$(echo "$f" | sed -n 's|.*/lab/\([^/]*\)/runs/export/\(.*\)\.prom$|guest \1 \2|p')
	[ -n "$label" ] || label=$f
	check_cmd "promtool check metrics: $label" sh -c "promtool check metrics < '$f'"
	scrape_check "$label" "$f"
done
exit 0
