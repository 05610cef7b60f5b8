#!/bin/sh
# `make lab-endure`: the exporter and dmatop -b run for
# dmawatch.minutes= (kernel command line; default 30) under mixed traffic:
# O_DIRECT writes and reads of the virtio disk, the test module's mappings
# of every size (over the limit too), held and released mappings, and a
# stream of short-lived processes that churns the process table. Once a
# minute: RSS and open files of both, the tracked devices and processes,
# the exporter's counters. The host (tests/lab/endure.sh) judges.
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
minutes=$(sed -n 's/.*dmawatch\.minutes=\([0-9]*\).*/\1/p' /proc/cmdline)
minutes=${minutes:-30}
emit minutes "$minutes"
dev=$(dma_dev_of vda)
emit vda_dma_dev "$dev"
insmod /lab/dmawatch_lab.ko

mkdir -p /tmp/tf
dmawatch export --textfile-dir /tmp/tf --interval 1 > /dev/null 2> /tmp/exp.err &
exp=$!
dmatop -D -b --json -d 5 > /tmp/top.json 2> /tmp/top.err &
top=$!
i=0
while ! { grep -q '^dmawatch_up 1' /tmp/tf/dmawatch.prom 2> /dev/null &&
	grep -q '"devices"' /tmp/top.json; } && [ $i -lt 3000 ]; do
	sleep 0.1
	i=$((i + 1))
done
emit attached "$i"

# The traffic, until /tmp/stop appears.
traffic() {
	n=0
	while [ ! -e /tmp/stop ]; do
		n=$((n + 1))
		labio write /dev/vda $((1 << 20 << (n % 4))) $((4096 << (n % 6))) > /dev/null
		labio read /dev/vda $((1 << 20)) $((65536 << (n % 3))) > /dev/null
		for size in 1 4096 65536 262144 524288; do
			echo $size > $ctl/map_single 2> /dev/null
		done
		echo "16 8192" > $ctl/hold
		[ $((n % 3)) -eq 0 ] && echo "release 2" > $ctl/hold
		[ $((n % 7)) -eq 0 ] && echo "release all" > $ctl/hold
		# Short-lived processes, each its own entry in the process table.
		for _ in 1 2 3 4 5 6 7 8; do
			sh -c "echo 4096 > $ctl/map_single" &
		done
		wait
	done
	echo "release all" > $ctl/hold
}
traffic &
load=$!

sample() { # minute
	for p in "exp $exp" "top $top"; do
		# shellcheck disable=SC2086 # $p is "NAME PID": two words
		set -- "$1" $p
		emit "${2}_rss_kb_$1" "$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$3/status")"
		emit "${2}_fds_$1" "$(ls "/proc/$3/fd" | wc -l)"
	done
	frame=$(tail -n 1 /tmp/top.json)
	emit "top_frame_$1" "$frame"
	emit "prom_$1" "$(grep -E '^dmawatch_(bounce_bytes_total|bounce_mappings_total|map_failures_total|over_limit_mappings_total|events_dropped_total)' /tmp/tf/dmawatch.prom | tr '\n' '|')"
}
m=0
while [ $m -lt "$minutes" ]; do
	sleep 60
	m=$((m + 1))
	sample $m
done
: > /tmp/stop
wait $load
emit exp_running "$(running $exp && echo yes || echo no)"
emit top_running "$(running $top && echo yes || echo no)"
kill -TERM $exp $top
wait $exp
emit exp_exit $?
wait $top
emit top_exit $?
emit exp_err "$(head -c 600 /tmp/exp.err | tr '\n' '|')"
emit top_err "$(head -c 600 /tmp/top.err | tr '\n' '|')"
emit top_frames "$(grep -c '"devices"' /tmp/top.json)"
emit progs_after "$(bpf_progs_settled)"
