#!/bin/sh
# bench.sh KERNEL_ENV INITRAMFS LABEL: runs guest/bench.sh and prints the
# medians and their ratios to "no probes", measured in one run.
# Modes: A no probes, B tracefs swiotlb_bounced, C dmawatch (all families),
# D dmawatch -F swiotlb.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
. "$here/tap.sh"
"$here/run-guest.sh" -s bench -t 600 -o "$out" "$1" "$2" || {
	echo "bench: guest $(cat "$out/status")" >&2
	exit 1
}
# Figures from a guest whose kernel crashed or warned are worthless.
bad=$(console_crashes "$out/console.log")
[ -z "$bad" ] || {
	echo "bench: $3 guest kernel crashed or warned; no figures: $bad" >&2
	exit 1
}
tr -d '\r' < "$out/results" | awk -v label="$3" '
	$1 == "sample" { v[$2, ++n[$2]] = $3 }
	$1 == "count" { count = $2 }
	function median(m,   i, j, t, k, a) {
		k = n[m]
		for (i = 1; i <= k; i++) a[i] = v[m, i]
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	END {
		a = median("A"); b = median("B"); c = median("C"); d = median("D")
		printf "%s: %d rounds of %d map+unmap pairs of 4 KiB, medians (ns per pair)\n", label, n["A"], count
		printf "  A no probes            %8.0f  1.00\n", a
		printf "  B tracefs event        %8.0f  %.2f\n", b, b / a
		printf "  C dmawatch, all        %8.0f  %.2f\n", c, c / a
		printf "  D dmawatch -F swiotlb  %8.0f  %.2f\n", d, d / a
		if (b > a)
			printf "  overhead relative to the tracefs event: all %.2f, swiotlb only %.2f (goal <= 0.33)\n", (c - a) / (b - a), (d - a) / (b - a)
		else
			printf "  tracefs overhead not measurable in this run\n"
	}'
