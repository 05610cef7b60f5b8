#!/bin/sh
# `make bench`: the cost of watching, in one interleaved run.
#
# Per round, every mode in BENCH_MODES in turn (so TCG's drift hits all
# alike), each measuring ns per 4 KiB bounced mapping (dma_map_single +
# unmap, BENCH_COUNT of them in the test module's loop):
#   none       nothing attached
#   tracefs    the kernel's own swiotlb:swiotlb_bounced event, to tracefs
#   floor-H    one bare program that counts in a per-CPU array, on hook H
#              (fentry, fexit, kprobe on swiotlb_map; tp_btf, raw_tp on
#              swiotlb_bounced; raw_tp_dma on dma:dma_map_page or
#              dma_map_phys): the least a program there can cost. The
#              floor of the ratios is the hook the default counts on:
#              raw_tp_dma where the kernel has it, else fexit ("floor").
#              BENCH_MODES may name it "floor".
#   default    dmawatch stat, the probes dmatop, stat and export load
#   default-fexit  the same, counting on swiotlb_map's fexit as before the
#              DMA API's tracepoint was used (a refused trampoline on
#              __dma_map_sg_attrs, DMAWATCH_TEST_REFUSE_FENTRY, makes the
#              swiotlb family fall back to it); where that tracepoint exists
#   swiotlb    dmawatch -F swiotlb
#   latency    dmawatch --latency (the opt-in timing and release accounting)
#   hiwater    dmawatch -D -F pool: the pool family alone with its own
#              high-water after every mapping, where the kernel keeps none
#   F-NAME     dmawatch -F NAME: one probe family alone
# and, for none and default, the user-visible figure: O_DIRECT 4 KiB
# writes to the bouncing disk (BENCH_IO_BYTES), as "io MODE BYTES NS".
# After the rounds, the user-space CPU of the two programs that stay
# running, at a 1 s refresh: dmawatch export and dmatop -b, each for
# BENCH_CPU_SECONDS while 4 KiB O_DIRECT writes keep the maps changing,
# as "cpu NAME UTIME STIME ELAPSED" (all in 1/100 s).
# The host (tests/lab/bench.sh) takes medians and ratios.
# shellcheck disable=SC2154 # spawned and tracing: set by lib.sh
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
rounds=${BENCH_ROUNDS:-9}
count=${BENCH_COUNT:-100000}
io_bytes=${BENCH_IO_BYTES:-8388608}
cpu_s=${BENCH_CPU_SECONDS:-30}
if [ -d "$tracing/events/dma/dma_map_page" ] || [ -d "$tracing/events/dma/dma_map_phys" ]; then
	floor="floor-raw_tp_dma"
	modes=${BENCH_MODES:-none tracefs floor-fexit floor-tp_btf floor-raw_tp_dma default default-fexit swiotlb latency F-dmamap}
else
	floor="floor-fexit"
	modes=${BENCH_MODES:-none tracefs floor-fexit floor-tp_btf default swiotlb latency F-dmamap}
fi
# "floor" in BENCH_MODES: this kernel's floor, whichever hook that is.
modes=$(echo " $modes " | sed "s/ floor / $floor /; s/^ //; s/ \$//")
emit floor $floor
insmod /lab/dmawatch_lab.ko
echo 0 > "$tracing/tracing_on"
echo 4096 > "$tracing/buffer_size_kb"

# "sample MODE MIN MEAN": ns per pair over the fastest chunk of the loop
# (the steady figure: TCG and the host only add time) and over all of it.
# On CPU 0, so every sample sees the same CPU.
loop() { # mode
	taskset -c 0 sh -c "echo '$count 4096' > $ctl/bench"
	emit sample "$1 $(sed -n 's/.* ns_per_op=\([0-9]*\).* min_chunk_ns_per_op=\([0-9]*\).*/\2 \1/p' $ctl/bench)"
}

io() { # mode
	labio write /dev/vda "$io_bytes" 4096 > /tmp/io.out
	emit io "$1 $(sed -n 's/^bytes //p' /tmp/io.out) $(sed -n 's/^ns //p' /tmp/io.out)"
}

# Runs CMD in the background until its stdout has a line matching READY
# (READY empty: the caller waits its own way).
start() { # ready-regex cmd...
	ready=$1
	shift
	spawn /tmp/bg.out /tmp/bg.err "$@"
	bg=$spawned
	[ -n "$ready" ] || return 0
	j=0
	while ! grep -q "$ready" /tmp/bg.out && [ $j -lt 600 ]; do
		running "$bg" || break
		sleep 0.1
		j=$((j + 1))
	done
	grep -q "$ready" /tmp/bg.out || {
		st=running
		running "$bg" || { wait "$bg"; st="exit $?"; }
		emit error "$mode: $* not ready after $j polls ($st): $(head -c 300 /tmp/bg.err | tr '\n' '|')"
		kill -TERM "$bg" 2> /dev/null
		wait "$bg"
		return 1
	}
}

# Stops the background program and waits for the kernel to free its BPF
# programs (RCU, a workqueue, trampoline text pokes), which would
# otherwise run during the next mode's loop.
stop() {
	kill -TERM "$bg"
	wait "$bg"
	bpf_progs_settled > /dev/null
}

measure() { # mode
	mode=$1
	case $mode in
	none)
		loop none
		io none
		;;
	tracefs)
		echo > "$tracing/trace"
		echo 1 > "$tracing/events/swiotlb/swiotlb_bounced/enable"
		echo 1 > "$tracing/tracing_on"
		loop tracefs
		echo 0 > "$tracing/tracing_on"
		echo 0 > "$tracing/events/swiotlb/swiotlb_bounced/enable"
		;;
	floor-*)
		start '^attached' labfloor "${mode#floor-}" || return 0
		loop "$mode"
		stop
		# The floor must have run on every mapping, or it measured nothing.
		emit floor_hits "$mode $(sed -n 's/^hits //p' /tmp/bg.out)"
		;;
	default | default-fexit | swiotlb | latency | hiwater | F-*)
		# The first report (at once) means every family is attached.
		case $mode in
		default | default-fexit) set -- ;;
		swiotlb) set -- -F swiotlb ;;
		latency) set -- --latency ;;
		hiwater) set -- -D -F pool ;;
		F-*) set -- -F "${mode#F-}" ;;
		esac
		[ "$mode" = default-fexit ] && export DMAWATCH_TEST_REFUSE_FENTRY=__dma_map_sg_attrs
		started=0
		start '^{' dmawatch "$@" stat --json 3600 || started=1
		unset DMAWATCH_TEST_REFUSE_FENTRY
		[ $started = 0 ] || return 0
		# What counts the mappings (kallsyms: bpf_prog_TAG_NAME), once.
		[ $round -gt 0 ] || emit progs "$mode $(grep -o 'bpf_prog_[0-9a-f]*_swiotlb_\(dma_\)\{0,1\}map_[a-z_]*' /proc/kallsyms |
			sed 's/^bpf_prog_[0-9a-f]*_//' | sort -u | tr '\n' ' ')"
		loop "$mode"
		[ "$mode" = default ] && io default
		stop
		;;
	esac
}

echo "$count 4096" > $ctl/bench # warm-up
# Not i: lib.sh's bpf_progs_settled counts with i, which kept resetting
# the rounds and made the bench run until the guest's time ran out.
round=0
while [ $round -lt "$rounds" ]; do
	for m in $modes; do
		measure "$m"
	done
	round=$((round + 1))
done
emit rounds "$rounds"
emit count "$count"

# utime and stime of a process, in clock ticks (USER_HZ, 100 on x86: the
# unit of now_cs). The pool scan runs in the kernel on the reader's
# behalf (BPF_PROG_TEST_RUN), so it shows as stime.
ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }

# Runs the background program (started and ready) for cpu_s seconds under
# a steady write load, then emits its CPU time.
cpu() { # name
	# shellcheck disable=SC2046 # utime and stime, an argument each
	set -- "$1" $(ticks "$bg")
	t0=$(now_cs)
	(while :; do labio write /dev/vda 8388608 4096 > /dev/null; done) &
	load=$!
	sleep "$cpu_s"
	# shellcheck disable=SC2046 # utime and stime, an argument each
	set -- "$@" $(ticks "$bg")
	t1=$(now_cs)
	kill $load
	wait $load 2> /dev/null
	emit cpu "$1 $(($4 - $2)) $(($5 - $3)) $((t1 - t0))"
	stop
}

mode=cpu-export
mkdir -p /tmp/tf
rm -f /tmp/tf/dmawatch.prom
start '' dmawatch export --textfile-dir /tmp/tf --interval 1
j=0
while [ ! -s /tmp/tf/dmawatch.prom ] && [ $j -lt 600 ] && running "$bg"; do
	sleep 0.1
	j=$((j + 1))
done
if [ -s /tmp/tf/dmawatch.prom ]; then
	cpu export
else
	emit error "cpu-export: no textfile after $j polls: $(head -c 300 /tmp/bg.err | tr '\n' '|')"
	kill -TERM "$bg" 2> /dev/null
	wait "$bg"
fi
mode=cpu-dmatop
start '^dmatop' dmatop -b -d 1 && cpu dmatop
