#!/bin/sh
# run-tap.sh LABEL [UNIT_BIN ...] [-- COMMAND ARGS...]
#
# Runs the cmocka unit-test binaries (as TAP) and then COMMAND, which prints
# TAP itself (the lab), echoing everything, and ends with the one summary
# line CI reads: "LABEL: N passed, N failed" (", N skipped" when some were:
# a skip is never a pass). A binary that crashes or a run with no test at
# all counts as a failure, never as a pass.
label=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
crashed=0
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	CMOCKA_MESSAGE_OUTPUT=TAP "$1" > "$log.one" 2>&1
	rc=$?
	cat "$log.one" | tee -a "$log"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$log.one"; then
		echo "not ok - $1 exited $rc without reporting a failure" | tee -a "$log"
		crashed=$((crashed + 1))
	fi
	shift
done
rm -f "$log.one"
if [ "${1:-}" = -- ]; then
	shift
	"$@" 2>&1 | tee -a "$log"
fi
# A skipped check ("ok ... # SKIP why") proved nothing: counted apart.
skipped=$(grep '^ok ' "$log" | grep -c ' # SKIP')
passed=$(($(grep -c '^ok ' "$log") - skipped))
failed=$(grep -c '^not ok' "$log")
if [ $((passed + failed)) -eq 0 ]; then
	echo "$label: no test ran" >&2
	failed=1
fi
note=
[ "$skipped" -gt 0 ] && note=", $skipped skipped (not passed)"
echo "$label: $passed passed, $failed failed$note"
[ "$failed" -eq 0 ]
