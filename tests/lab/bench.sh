#!/bin/sh
# bench.sh KERNEL_ENV INITRAMFS LABEL [FLOOR]: runs guest/bench.sh (its
# header names the modes) and prints, from that one interleaved run, per
# mode the median ns per 4 KiB map+unmap, the spread (lowest..highest),
# the ratio to no probes, and the added cost relative to the tracefs
# event's and to the floor's (the bare program on FLOOR, by default the
# hook dmawatch's default set counts mappings on, as the guest names it:
# the DMA API's raw tracepoint where the kernel has it, else swiotlb_map's
# fexit).
# The goals: default <= 0.33 of tracefs, <= 2 of the floor. Then the
# O_DIRECT throughput with and without dmawatch. Exits 1 when the guest
# failed, or when a mode could not run in some round (figures printed).
# BENCH_GUEST_ENV: the guest's settings (guest/bench.sh), passed on its
# kernel command line, e.g. 'BENCH_ROUNDS=27 BENCH_MODES="none default"'.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
. "$here/tap.sh"
floor=${4:-}
"$here/run-guest.sh" -s bench -t 3600 -a "${BENCH_GUEST_ENV:-}" -o "$out" "$1" "$2" || {
	echo "bench: guest $(cat "$out/status"); its last results and console lines:" >&2
	tail -n 5 "$out/results" "$out/console.log" >&2
	exit 1
}
# Figures from a guest whose kernel crashed or warned are worthless.
bad=$(console_crashes "$out/console.log")
[ -z "$bad" ] || {
	echo "bench: $3 guest kernel crashed or warned; no figures: $bad" >&2
	exit 1
}
tr -d '\r' < "$out/results" > "$out/r"
# A round where a mode could not run leaves that mode one sample short; the
# figures stand on the others, but the run is not a clean one.
incomplete=0
if grep '^error ' "$out/r" >&2; then
	echo "bench: $3: a mode could not run in some round (above)" >&2
	incomplete=1
fi
awk -v label="$3" -v floor="${floor:+floor-$floor}" '
	function median(key, n,   i, j, t, a) {
		for (i = 1; i <= n; i++) a[i] = v[key, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		lo = a[1]; hi = a[n]
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	$1 == "sample" { if (!($2 in n)) order[++nm] = $2; v[$2, ++n[$2]] = $3; v["mean_" $2, n[$2]] = $4 }
	$1 == "io" { io[$2, ++nio[$2]] = $3 * 1000 / $4 } # bytes/ns*1000 = MB/s
	$1 == "floor_hits" { hits[$2] = $3 }
	$1 == "count" { count = $2 }
	$1 == "floor" && floor == "" { floor = $2 }
	$1 == "progs" { m = $2; $1 = $2 = ""; sub(/^ +/, ""); progs[m] = $0 }
	$1 == "cpu" { cpu[++ncpu] = $2; ut[$2] = $3; st[$2] = $4; el[$2] = $5 }
	END {
		for (k = 1; k <= nm; k++) {
			m = order[k]; mean[m] = median("mean_" m, n[m])
			med[m] = median(m, n[m]); l[m] = lo; h[m] = hi
		}
		a = med["none"]; b = med["tracefs"]; f = med[floor]
		printf "%s: %d rounds of %d map+unmap pairs of 4 KiB, one interleaved run;\n", label, n["none"], count
		printf "  ns/pair: median over rounds of the fastest 1024-pair chunk (mean: of whole loops)\n"
		printf "  %-14s %8s %15s %8s %10s %10s %8s\n", "mode", "ns/pair", "spread", "x none", "/tracefs", "/" floor, "mean"
		for (k = 1; k <= nm; k++) {
			m = order[k]
			printf "  %-14s %8.0f %7.0f..%-7.0f %8.2f", m, med[m], l[m], h[m], med[m] / a
			if (m == "none") { printf " %10s %10s %8.0f\n", "", "", mean[m]; continue }
			if (b > a) printf " %10.2f", (med[m] - a) / (b - a); else printf " %10s", "-"
			if (f > a) printf " %10.2f", (med[m] - a) / (f - a); else printf " %10s", "-"
			printf " %8.0f\n", mean[m]
		}
		for (m in progs)
			printf "  %s counts mappings with: %s\n", m, progs[m]
		for (m in hits)
			if (hits[m] < count)
				printf "  WARNING: %s counted %d calls, fewer than the %d mappings of a loop\n", m, hits[m], count
		if (!(b > a) || !(f > a))
			printf "  added cost of tracefs or the floor not measurable in this run\n"
		else
			printf "  goal: default <= 0.33 of tracefs (%.2f), <= 2 of %s (%.2f)\n", (med["default"] - a) / (b - a), floor, (med["default"] - a) / (f - a)
		for (m in nio) {
			for (i = 1; i <= nio[m]; i++) v["io_" m, i] = io[m, i]
			mb[m] = median("io_" m, nio[m]); iol[m] = lo; ioh[m] = hi
		}
		if (("none" in mb) && ("default" in mb))
			printf "  O_DIRECT 4 KiB writes: %.1f MB/s (%.1f..%.1f) without dmawatch, %.1f MB/s (%.1f..%.1f) with: %.2f\n", mb["none"], iol["none"], ioh["none"], mb["default"], iol["default"], ioh["default"], mb["default"] / mb["none"]
		for (k = 1; k <= ncpu; k++) {
			m = cpu[k]
			if (el[m] > 0)
				printf "  user-space CPU at a 1 s refresh, under 4 KiB writes, %.0f s: %-7s %5.1f%% of a CPU (user %.1f%%, system %.1f%%)\n", el[m] / 100, m, 100 * (ut[m] + st[m]) / el[m], 100 * ut[m] / el[m], 100 * st[m] / el[m]
		}
	}' "$out/r"
exit $incomplete
