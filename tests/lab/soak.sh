#!/bin/sh
# soak.sh BUILD BOOTS KERNEL...
#
# Boots the soak scenario (guest/soak.sh: tracefs, kprobes and dmawatch
# switched on and off under bounce traffic) BOOTS times per kernel and
# counts the guests that crashed: an oops, BUG, panic, RCU stall, lockup or
# warning on the console (tap.sh's console_crash_re), or a guest that never
# finished. Prints one line per boot and a table; exits 1 if any crashed.
#
#   LAB_TCG_THREAD=single|multi  TCG threading (run-guest.sh; default single)
#   SOAK_JOBS=N                  guests at once (default 1; each guest
#                                takes one host CPU with thread=single)
set -u
build=${1:?usage: soak.sh BUILD BOOTS KERNEL...}
boots=${2:?usage: soak.sh BUILD BOOTS KERNEL...}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
jobs=${SOAK_JOBS:-1}
mode=${LAB_TCG_THREAD:-single}
root=$build/lab/soak-$mode

one() { # kernel n: boots once, prints "KERNEL N VERDICT SECONDS DETAIL"
	out=$root/$1/$2
	rm -rf "$out"
	"$here/run-guest.sh" -s soak -p force -t 300 -o "$out" \
		"$build/lab/$1/kernel.env" "$build/lab/$1/initramfs.gz" 2> "$out.err"
	status=$(cat "$out/status" 2> /dev/null || echo missing)
	bad=$(console_crashes "$out/console.log" | head -n 1)
	results "$out/results"
	if [ -n "$bad" ]; then
		verdict=crash detail=$bad
	elif [ "$status" != ok ]; then
		verdict=$status detail="no crash line; see $out/console.log"
	elif [ "$(r tracefs_cycles)" != 6 ] || [ "$(r attach_cycles)" != 2 ] ||
		[ "$(r bpf_left)" != 0 ] || [ "$(r traffic_errors)" != 0 ]; then
		verdict=incomplete detail="tracefs $(r tracefs_cycles)/6 attach $(r attach_cycles)/2 bpf_left $(r bpf_left) io_errors $(r traffic_errors)"
	else
		verdict=clean detail="bounced $(r bounced_events) events while switching"
	fi
	echo "$1 $2 $verdict $(cat "$out/seconds" 2> /dev/null || echo -) $detail"
}

mkdir -p "$root"
log=$root/boots.log
: > "$log"
start=$(date +%s)
for kernel in "$@"; do
	mkdir -p "$root/$kernel"
	n=0
	while [ $n -lt "$boots" ]; do
		j=0
		while [ $j -lt "$jobs" ] && [ $n -lt "$boots" ]; do
			n=$((n + 1))
			j=$((j + 1))
			one "$kernel" "$n" >> "$log" &
		done
		wait
		tail -n "$j" "$log"
	done
done
echo "soak: TCG thread=$mode, $boots boots per kernel, $jobs at a time, $(($(date +%s) - start)) s"
printf '%-8s %6s %7s %6s %6s %9s\n' kernel boots crashed hung other "median s"
for kernel in "$@"; do
	awk -v k="$kernel" '$1 == k {
		n++; t[n] = $4
		if ($3 == "crash") c++; else if ($3 == "hung") h++; else if ($3 != "clean") o++
	} END {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && t[j - 1] > t[j]; j--) { x = t[j]; t[j] = t[j - 1]; t[j - 1] = x }
		printf "%-8s %6d %7d %6d %6d %9s\n", k, n, c, h, o, n ? t[int((n + 1) / 2)] : "-"
	}' "$log"
done
! grep -qv ' clean ' "$log"
