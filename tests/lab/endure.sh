#!/bin/sh
# endure.sh BUILD MINUTES KERNEL...
#
# The endurance run (`make lab-endure`): per kernel, one guest
# (guest/endure.sh) runs the exporter and dmatop -b for MINUTES under mixed
# traffic. Passes when both ran to the end and exited 0, their RSS and open
# files stayed flat after the first two minutes (RSS growth at most 1 MiB
# or 5 %), the tracked processes and devices stayed within the maps'
# bounds, every counter the exporter wrote and every cumulative counter
# of dmatop's frames only grew, and no BPF program was left. Prints the
# per-minute table.
set -u
build=${1:?usage: endure.sh BUILD MINUTES KERNEL...}
minutes=${2:?usage: endure.sh BUILD MINUTES KERNEL...}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
# family/dmawatch.h: DMAW_MAX_PROCS, DMAW_MAX_DEVS
max_procs=$(sed -n 's/^#define DMAW_MAX_PROCS \([0-9]*\).*/\1/p' "$here/../../family/dmawatch.h")
max_devs=$(sed -n 's/^#define DMAW_MAX_DEVS \([0-9]*\).*/\1/p' "$here/../../family/dmawatch.h")

for kernel in "$@"; do
	out=$build/lab/$kernel/runs/endure
	rm -rf "$out"
	# shellcheck disable=SC2034 # tap_prefix: read by tap.sh's pass and fail
	tap_prefix="$kernel endure: "
	"$here/run-guest.sh" -s endure -p force -t $((minutes * 60 + 400)) -o "$out" \
		-a "dmawatch.minutes=$minutes" "$build/lab/$kernel/kernel.env" \
		"$build/lab/$kernel/initramfs.gz"
	status=$(cat "$out/status")
	echo "# $kernel endure: guest $status after $(cat "$out/seconds") s"
	expect_eq "guest ran the scenario and powered off" "$status" ok
	expect_clean_console "$out/console.log"
	results "$out/results"
	expect_eq "scenario script exited 0" "$(r scenario_exit)" 0
	expect_eq "ran for $minutes minutes" "$(r minutes)" "$minutes"
	expect_eq "the exporter ran to the end" "$(r exp_running)" yes
	expect_eq "dmatop -b ran to the end" "$(r top_running)" yes
	expect_eq "the exporter exits 0" "$(r exp_exit)" 0
	expect_eq "dmatop exits 0" "$(r top_exit)" 0
	expect_eq "the exporter said nothing" "$(r exp_err)" ""
	expect_eq "dmatop said nothing" "$(r top_err)" ""
	expect_eq "no BPF program left" "$(r progs_after)" 0

	echo "# minute  exporter RSS KiB  fds   dmatop RSS KiB  fds   processes  devices"
	m=1
	while [ $m -le "$minutes" ]; do
		frame=$(r "top_frame_$m")
		printf '# %6d  %16s  %3s   %14s  %3s   %9s  %7s\n' $m \
			"$(r "exp_rss_kb_$m")" "$(r "exp_fds_$m")" "$(r "top_rss_kb_$m")" "$(r "top_fds_$m")" \
			"$(printf '%s' "$frame" | jq .processes)" "$(printf '%s' "$frame" | jq '.devices | length')"
		m=$((m + 1))
	done
	for p in exp top; do
		name=$([ $p = exp ] && echo "the exporter" || echo dmatop)
		base=$(r "${p}_rss_kb_2")
		last=$(r "${p}_rss_kb_$minutes")
		slack=$((base / 20 > 1024 ? base / 20 : 1024))
		expect_le "$name: RSS flat from minute 2 ($base KiB) to $minutes ($last KiB)" \
			"$last" $((base + slack))
		fds=$(m=1; while [ $m -le "$minutes" ]; do r "${p}_fds_$m"; m=$((m + 1)); done | sort -u | tr '\n' ' ')
		expect_match "$name: open files the same every minute ($fds)" "$fds" '^[0-9]+ $'
	done
	procs=0 devs=0 frames_ok=yes
	m=1
	while [ $m -le "$minutes" ]; do
		frame=$(r "top_frame_$m")
		p=$(printf '%s' "$frame" | jq .processes) || frames_ok=no
		d=$(printf '%s' "$frame" | jq '.devices | length') || frames_ok=no
		[ "${p:-0}" -gt "$procs" ] 2> /dev/null && procs=$p
		[ "${d:-0}" -gt "$devs" ] 2> /dev/null && devs=$d
		m=$((m + 1))
	done
	expect_eq "every minute had a dmatop frame" "$frames_ok" yes
	expect_gt "processes tracked (the churn reached the table)" "$procs" 10
	expect_le "processes tracked within the map's bound" "$procs" "$max_procs"
	expect_le "devices within the map's bound" "$devs" "$max_devs"

	# Every counter series, minute by minute: never down.
	down=$(m=1; while [ $m -le "$minutes" ]; do
		r "prom_$m" | tr '|' '\n' | sed "s/^/$m /"
		m=$((m + 1))
	done | awk 'NF == 3 { if (($2 in last) && $3 + 0 < last[$2] + 0) print $2 " " last[$2] " -> " $3; last[$2] = $3 }' | head -n 3)
	expect_eq "the exporter's counters only grew" "$down" ""
	series=$(r "prom_$minutes" | tr '|' '\n' | grep -c .)
	expect_gt "counter series checked" "$series" 3
	down=$(m=1; while [ $m -le "$minutes" ]; do
		r "top_frame_$m" | jq -r '.devices[] | "\(.device) \(.maps) \(.bytes) \(.failures) \(.over_limit)"' |
			sed "s/^/$m /"
		m=$((m + 1))
	done | awk '{ k = $2; if ((k in maps) && ($3 < maps[k] || $4 < bytes[k] || $5 < fail[k] || $6 < over[k])) print "minute " $1 " " k; maps[k] = $3; bytes[k] = $4; fail[k] = $5; over[k] = $6 }' | head -n 3)
	expect_eq "dmatop's cumulative counters only grew" "$down" ""
	grow=$(r "top_frame_$minutes" | jq --arg d "$(r vda_dma_dev)" '.devices[] | select(.device == $d) | .maps')
	expect_gt "the virtio disk's mappings counted" "${grow:-0}" 0
done
