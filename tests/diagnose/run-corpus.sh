#!/bin/sh
# run-corpus.sh BUILD: dmawatch diagnose on every real report of
# tests/diagnose/reports/ (one bundle each, written from a public bug
# report, its SOURCE naming where), against the report's expected.json:
# the verdict, the confidential-computing kind, the findings that must and
# must not be there, and the remedy's class and swiotlb= bounds. Then the
# safety of every remedy in the corpus: a swiotlb= is a power of two, never
# below the pool it replaces, never above 1 GiB (524288 slots). TAP.
set -u
build=${1:?usage: run-corpus.sh BUILD}
here=$(cd "$(dirname "$0")" && pwd)
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/#   /'; }

for dir in "$here"/reports/*/; do
	name=$(basename "$dir")
	exp=$dir/expected.json
	if ! head -n 1 "$dir/SOURCE" 2>/dev/null | grep -Eq '^https?://'; then
		not_ok "$name: SOURCE starts with the report's URL"
		continue
	fi
	if ! jq -e . "$exp" >/dev/null 2>&1; then
		not_ok "$name: expected.json parses"
		continue
	fi
	out=$("$build/dmawatch" diagnose --bundle "$dir" --json 2>/dev/null)
	rc=$?
	if [ -z "$out" ] || ! printf '%s' "$out" | jq -e .verdict >/dev/null 2>&1; then
		not_ok "$name: diagnose printed JSON (exit $rc)"
		continue
	fi
	# Every mismatch as one line; none: the report is judged as expected.
	why=$(jq -rn --argjson got "$out" --argjson exp "$(cat "$exp")" --argjson rc "$rc" '
		def ids: [$got.findings[].id];
		def sev($id): [$got.findings[] | select(.id == $id) | .severity];
		[
		 (if $exp.verdict and $got.verdict != $exp.verdict then
			"verdict \($got.verdict), expected \($exp.verdict)" else empty end),
		 (if ($exp.verdict // "") == "healthy" and $rc != 0 then "exit \($rc) for healthy" else empty end),
		 (if ($exp.verdict // "") == "problems" and $rc != 1 then "exit \($rc) for problems" else empty end),
		 (if $exp.cc and $got.environment.cc != $exp.cc then
			"cc \"\($got.environment.cc)\", expected \"\($exp.cc)\"" else empty end),
		 ($exp.findings // [] | .[] | (if type == "string" then {id: .} else . end) as $f |
			if (ids | index($f.id)) == null then "missing finding \($f.id)"
			elif $f.severity and (sev($f.id) | index($f.severity)) == null then
				"\($f.id) is \(sev($f.id) | join(",")), expected \($f.severity)"
			else empty end),
		 ($exp.absent // [] | .[] as $a | if (ids | index($a)) != null then "unexpected finding \($a)" else empty end),
		 (if $exp.remedy then
			($exp.remedy.finding // ($got.findings[0].id)) as $fid |
			([$got.findings[] | select(.id == $fid)][0]) as $f |
			if $f == null then "no finding \($fid) for the remedy"
			else
			 (if $exp.remedy.class and $f.remedy_class != $exp.remedy.class then
				"\($fid) remedy class \($f.remedy_class), expected \($exp.remedy.class)" else empty end),
			 (if $exp.remedy.swiotlb_min and (($f.swiotlb // 0) < $exp.remedy.swiotlb_min) then
				"\($fid) swiotlb=\($f.swiotlb // "none"), expected >= \($exp.remedy.swiotlb_min)" else empty end),
			 (if $exp.remedy.swiotlb_max and (($f.swiotlb // 0) > $exp.remedy.swiotlb_max) then
				"\($fid) swiotlb=\($f.swiotlb), expected <= \($exp.remedy.swiotlb_max)" else empty end)
			end
		  else empty end)
		] | join("\n")') || why="the comparison itself failed (jq exit $?)"
	if [ -z "$why" ]; then
		ok "$name: $(printf '%s' "$out" | jq -r '"\(.verdict): \([.findings[] | select(.severity != "info") | .id] | join(" ")) (cc \(.environment.cc))"')"
	else
		not_ok "$name" "$why"
	fi
	# Safe remedies, whatever the expectation says.
	unsafe=$(printf '%s' "$out" | jq -r '
		(.pool.slots_total // 0) as $pool |
		.findings[] | select(.swiotlb) |
		if (.swiotlb | . != 0 and (. as $v | [range(0; 63)] | map(pow(2; .)) | index($v)) == null) then
			"\(.id): swiotlb=\(.swiotlb) is not a power of two"
		elif .remedy_class == "grow-pool" and .swiotlb <= $pool then
			"\(.id): swiotlb=\(.swiotlb) does not grow the pool of \($pool)"
		elif .swiotlb > 524288 then "\(.id): swiotlb=\(.swiotlb) is over 1 GiB"
		else empty end')
	if [ -n "$unsafe" ]; then
		not_ok "$name: every swiotlb= is safe" "$unsafe"
	fi
done
[ "$n" -gt 0 ] || not_ok "the corpus has reports"
echo "1..$n"
[ "$fail" -eq 0 ]
