#!/bin/sh
# run.sh BUILD SECONDS TARGET...: runs each libFuzzer target for SECONDS
# from a copy of its seed corpus (tests/fuzz/corpus/TARGET) in
# BUILD/fuzz/corpus-TARGET; prints TAP with executions and coverage. A
# crash fails the target and keeps its input in BUILD/fuzz/ (to add to the
# seed corpus once fixed).
set -u
build=${1:?usage: run.sh BUILD SECONDS TARGET...}
secs=${2:?}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
for t in "$@"; do
	corpus=$build/fuzz/corpus-$t
	mkdir -p "$corpus"
	cp -n "$here/corpus/$t/"* "$corpus/" 2>/dev/null
	log=$build/fuzz/$t.log
	(cd "$build/fuzz" && ./fuzz_"$t" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$build/fuzz/crash-$t-" "$corpus") > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	if [ $rc -eq 0 ] && [ -n "$execs" ]; then
		echo "ok - fuzz $t: ${execs} runs in ${secs} s, coverage ${cov:-?} edges, no crash"
	else
		echo "not ok - fuzz $t: exit $rc after ${execs:-?} runs"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 8 | sed 's/^/#   /'
	fi
done
