#!/bin/sh
# test-unprivileged.sh BUILD: dmawatch as a user without CAP_BPF and
# CAP_PERFMON (nobody, when run as root; else this user as it is): probe
# says tracing programs are refused and chooses no kprobe in their place
# (which would fail the same way); stat fails at once with the one line
# that names the capabilities. Prints TAP.
set -u
bin=${1:?usage: test-unprivileged.sh BUILD}/dmawatch
out=$(mktemp)
trap 'rm -f "$out" "$out.err"' EXIT
as_user() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"
	else
		"$@"
	fi
}
n=0
check() { # description command-status pattern file
	n=$((n + 1))
	if grep -qE -- "$3" "$4"; then
		echo "ok $n - unprivileged: $1"
	else
		echo "not ok $n - unprivileged: $1"
		echo "#   wanted /$3/ in: $(head -c 300 "$4" | tr '\n' '|')"
	fi
}
as_user "$bin" probe > "$out" 2>&1
echo "probe exit $?" >> "$out"
check "probe exits 0" "" "^probe exit 0$" "$out"
check "probe says tracing programs are refused, and the fix" "" \
	"BPF tracing programs REFUSED \(Operation not permitted: this process lacks CAP_BPF and CAP_PERFMON\)" "$out"
n=$((n + 1))
if grep -qE '^[a-z]+ +[a-z_]+ +(kprobe|fentry) ' "$out"; then
	echo "not ok $n - unprivileged: probe chose kprobe or fentry although neither loads"
	grep -E '^[a-z]+ +[a-z_]+ +(kprobe|fentry) ' "$out" | head -n 3 | sed 's/^/#   /'
else
	echo "ok $n - unprivileged: probe chooses no hook that cannot load"
fi
as_user "$bin" stat 1 1 > "$out" 2> "$out.err"
echo "stat exit $?" >> "$out.err"
check "stat exits 1" "" "^stat exit 1$" "$out.err"
check "with one line naming the capabilities" "" \
	"^dmawatch: loading BPF tracing programs is not permitted: this process lacks CAP_BPF and CAP_PERFMON \(run as root, or grant CAP_BPF and CAP_PERFMON\)$" "$out.err"
n=$((n + 1))
if [ "$(wc -l < "$out.err")" -eq 2 ]; then
	echo "ok $n - unprivileged: and only that line"
else
	echo "not ok $n - unprivileged: stat printed $(($(wc -l < "$out.err") - 1)) lines"
fi
# diagnose works degraded: says what it could not read and why.
as_user "$bin" diagnose > "$out" 2> "$out.err"
echo "diagnose exit $?" >> "$out"
if [ "$(cat /proc/sys/kernel/dmesg_restrict)" = 1 ]; then
	# No log, no pool: nothing to judge.
	check "diagnose: nothing readable, exit 2" "" "^diagnose exit 2$" "$out"
	check "diagnose names the kernel log as not read, and the fix" "" \
		"^  kernel log: Operation not permitted \(needs CAP_SYSLOG, or sysctl kernel.dmesg_restrict=0\)" "$out"
else
	check "diagnose judges the kernel log (exit 0 or 1)" "" "^diagnose exit [01]$" "$out"
fi
check "diagnose names debugfs as not read, and why" "" \
	"^  /sys/kernel/debug/swiotlb: (Permission denied|No such file or directory)" "$out"
check "diagnose says the live window did not run, and why" "" \
	"^live window: not run: the probes did not load \(Operation not permitted\)" "$out"
