#!/bin/sh
# `make bench`: ns per 4 KiB bounced mapping (dma_map_single + unmap in the
# test module's loop) with no probes (A), with the kernel's own
# swiotlb:swiotlb_bounced tracepoint enabled in tracefs (B), with dmawatch
# attached, all probe families (C), and with only its swiotlb family (D). Interleaved A B C A B C ... so
# TCG's drift hits every mode alike; the host takes medians.
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
rounds=${BENCH_ROUNDS:-15}
count=${BENCH_COUNT:-20000}
insmod /lab/dmawatch_lab.ko
echo 0 > $tracing/tracing_on
echo 4096 > $tracing/buffer_size_kb

run() { # mode
	echo "$count 4096" > $ctl/bench
	emit sample "$1 $(sed -n 's/.*ns_per_op=\([0-9]*\).*/\1/p' $ctl/bench)"
}

with_dmawatch() { # mode dmawatch-options...
	mode=$1
	shift
	dmawatch "$@" stat 3600 > /tmp/stat.out 2> /tmp/stat.err &
	pid=$!
	# The first report means every family is attached.
	j=0
	while ! grep -q DEVICE /tmp/stat.out && [ $j -lt 600 ]; do sleep 0.1; j=$((j + 1)); done
	run "$mode"
	kill -TERM $pid
	wait $pid
}

echo "$count 4096" > $ctl/bench # warm-up
i=0
while [ $i -lt "$rounds" ]; do
	run A
	echo > $tracing/trace
	echo 1 > $tracing/events/swiotlb/swiotlb_bounced/enable
	echo 1 > $tracing/tracing_on
	run B
	echo 0 > $tracing/tracing_on
	echo 0 > $tracing/events/swiotlb/swiotlb_bounced/enable
	with_dmawatch C
	with_dmawatch D -F swiotlb
	i=$((i + 1))
done
emit rounds "$rounds"
emit count "$count"
