#!/bin/sh
# test-output.sh BUILD: what stat, stat --json and export print for a
# fabricated snapshot (BUILD/tests/prom-sample --all) is byte-identical to
# tests/fixtures/output/sample.txt. A change that means to change the
# output regenerates the file and shows the difference in its diff:
#   build/tests/prom-sample --all > tests/fixtures/output/sample.txt
# Prints TAP.
set -u
build=${1:?usage: test-output.sh BUILD}
cd "$(dirname "$0")/../.." || exit 1
want=tests/fixtures/output/sample.txt
got=$(mktemp)
trap 'rm -f "$got"' EXIT
if ! "$build/tests/prom-sample" --all > "$got" 2>&1; then
	echo "not ok 1 - output: prom-sample --all failed: $(head -c 300 "$got" | tr '\n' '|')"
elif ! grep -q '^==== export$' "$got" || [ "$(grep -c '^dmawatch_' "$got")" -lt 40 ]; then
	echo "not ok 1 - output: prom-sample --all printed too little to compare ($(wc -l < "$got") lines)"
elif cmp -s "$want" "$got"; then
	echo "ok 1 - output: stat text, stat --json and export of the sample are as in $want ($(wc -l < "$got") lines)"
else
	echo "not ok 1 - output: the sample's output differs from $want:"
	diff -u "$want" "$got" | head -n 40 | sed 's/^/#   /'
fi
