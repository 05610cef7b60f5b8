#!/bin/sh
# Counting, default pool: dmawatch stat's counts for a fixed
# O_DIRECT workload against tracefs swiotlb_bounced for the same window;
# dmawatch trace's over-limit event for the test module's 512 KiB
# dma_map_single; the scatterlist view of a driver ignoring the limit.
# shellcheck disable=SC2154 # spawned, swiotlb_dir and tracing: set by lib.sh
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
mib=16
echo 8 > /proc/sys/vm/nr_hugepages
emit vda_dma_dev "$(dma_dev_of vda)"

# One fixed workload under `dmawatch [OPTS] stat --json`, with tracefs
# counting the same window; results prefixed by MODE. Waits here are 180 s:
# attaching takes 5-10 s, but a loaded TCG host has been seen to take minutes.
count_window() { # mode dmawatch-options...
	mode=$1
	shift
	spawn /tmp/stat.json /tmp/stat.err dmawatch "$@" stat --json 1
	stat_pid=$spawned
	t0=$(cut -d' ' -f1 /proc/uptime)
	wait_for /tmp/stat.json '"devices"' 180
	emit "${mode}_stat_attached" $?
	emit "${mode}_attach_s" "$(awk -v t0="$t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime)"
	# Which programs count the mappings: swiotlb_map's, or the DMA
	# API's (kallsyms names a JIT-ed program bpf_prog_TAG_NAME, with
	# its whole name from BTF).
	emit "${mode}_map_progs" "$(grep -o 'bpf_prog_[0-9a-f]*_swiotlb_\(dma_\)\{0,1\}map_[a-z_]*' /proc/kallsyms |
		sed 's/^bpf_prog_[0-9a-f]*_//' | sort -u | tr '\n' ' ')"
	trace_swiotlb_start
	labio write /dev/vda $((mib << 20)) 1048576 > /tmp/w.out
	labio read /dev/vda $((mib << 20)) 65536 > /tmp/r.out
	trace_swiotlb_stop
	kill -TERM "$stat_pid"
	wait "$stat_pid"
	emit "${mode}_stat_exit" $?
	emit "${mode}_stat_stderr" "$(head -c 300 /tmp/stat.err)"
	emit "${mode}_workload_bytes" $(($(sed -n 's/^bytes //p' /tmp/w.out) + $(sed -n 's/^bytes //p' /tmp/r.out)))
	# shellcheck disable=SC2046 # the sum's four fields, an argument each
	set -- $(trace_swiotlb_sum "$(dma_dev_of vda)")
	emit "${mode}_trace_events" "$1"
	emit "${mode}_trace_bytes" "$2"
	emit "${mode}_trace_largest" "$3"
	emit "${mode}_trace_hist" "$4"
	emit "${mode}_stat_reports" "$(grep -c '"devices"' /tmp/stat.json)"
	emit "${mode}_stat_final" "$(tail -n 1 /tmp/stat.json)"
}

# The kernel traces the DMA API (6.12: dma_map_page, 7.x: dma_map_phys):
# the default counts mappings there, not on swiotlb_map.
dma_tp=no
[ -d "$tracing/events/dma/dma_map_page" ] || [ -d "$tracing/events/dma/dma_map_phys" ] && dma_tp=yes
emit dma_tp $dma_tp

# The default probes with fentry/fexit; every probe (-D) with kprobes.
count_window fentry
count_window kprobe -K -D
# The default probes where the kernel refuses a trampoline the default
# needs at attach (DMAWATCH_TEST_REFUSE_FENTRY stands in for 6.1's
# ENOTSUPP on 7 arguments): start-up took fentry on trust, tries it once
# refused, and opens the family again without it: kprobes on swiotlb_map,
# or, where the DMA API's list hook is refused, swiotlb_map's fexit.
if [ $dma_tp = yes ]; then
	export DMAWATCH_TEST_REFUSE_FENTRY=__dma_map_sg_attrs
else
	export DMAWATCH_TEST_REFUSE_FENTRY=swiotlb_map
fi
count_window refused
export DMAWATCH_TEST_REFUSE_FENTRY=swiotlb_map
# With -D the pool family hooks swiotlb_map too, where the kernel keeps no
# high-water mark of its own: each family must take kprobes there (the
# second to fail reuses the first one's trial).
mkdir -p /tmp/rfd
dmawatch -D -F swiotlb,pool export --once --textfile-dir /tmp/rfd > /dev/null 2> /tmp/rfd.err
emit refused_d_exit $?
emit refused_d_err "$(head -c 300 /tmp/rfd.err)"
emit refused_d_hooks "$(grep -c '^dmawatch_probe_attached{.*hook="swiotlb_map"' /tmp/rfd/dmawatch.prom)"
emit refused_d_kprobe "$(grep -c '^dmawatch_probe_attached{.*hook="swiotlb_map",attach="kprobe"} 1$' /tmp/rfd/dmawatch.prom)"
emit refused_d_pool "$(sed -n 's/^dmawatch_probe_family_attached{family="pool"} //p' /tmp/rfd/dmawatch.prom)"
emit hiwater_file "$([ -e "$swiotlb_dir/io_tlb_used_hiwater" ] && echo yes || echo no)"
unset DMAWATCH_TEST_REFUSE_FENTRY
dmawatch -K probe > /tmp/probe.txt
emit kprobe_choices "$(grep -c 'kprobe  fentry works; -K given' /tmp/probe.txt)"

# Calls in flight keyed apart: the module maps 4 KiB 200 times and, while
# each is in swiotlb_map(), maps 2 KiB from a tasklet (softirq) on the same
# CPU. Counted against tracefs, with fexit (no entry state) and kprobes
# (entry state keyed per call).
insmod /lab/dmawatch_lab.ko
for mode in fentry kprobe; do
	opts=
	[ $mode = kprobe ] && opts=-K
	spawn /tmp/n.json /tmp/n.err dmawatch $opts -D -F swiotlb,dmamap stat --json 1
	pid=$spawned
	wait_for /tmp/n.json '"devices"' 180
	emit ${mode}_nested_attached $?
	trace_swiotlb_start
	echo 200 > $ctl/nested
	# shellcheck disable=SC2320 # $? of the echo: the write's own status
	emit ${mode}_nested_exit $?
	trace_swiotlb_stop
	kill -TERM "$pid"
	wait "$pid"
	emit ${mode}_nested_counts "$(cat $ctl/nested)"
	# shellcheck disable=SC2046 # the sum's four fields, an argument each
	set -- $(trace_swiotlb_sum dmawatch-lab)
	emit ${mode}_nested_trace_events "$1"
	emit ${mode}_nested_trace_bytes "$2"
	emit ${mode}_nested_final "$(tail -n 1 /tmp/n.json)"
done
rmmod dmawatch_lab

insmod /lab/dmawatch_lab.ko max_segment_size=4194304 max_sectors_kb=4096 on_map_error=ioerr
dmawatch trace --json > /tmp/trace.json 2> /tmp/trace.err &
trace_pid=$!
wait_for /tmp/trace.err 'tracing' 180
emit trace_attached $?
emit bpf_syms_running "$(bpf_progs)"
echo 524288 > $ctl/map_single
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit map_512k_exit $?
labio write /dev/dmawlab0 2097152 2097152 hugetlb > /tmp/e.out
emit sg_write_exit $?
# The over-limit event of the 512 KiB map_single is what the checks read.
wait_for /tmp/trace.json '"size":524288' 180
# A driver that retries an over-limit mapping: 99 more refusals, which the
# events sample (occurrence 1, 2, 4, ... per device and CPU), not repeat.
# With the first one and the 2 MiB segment above: 101 on the device.
refused=1
for i in $(seq 99); do
	echo 524288 > $ctl/map_single 2> /dev/null || refused=$((refused + 1))
done
emit map_512k_refused $refused
# Occurrence 64 on one CPU at least ends the sample: 7 events or more.
i=0
while [ "$(grep '"over-limit"' /tmp/trace.json | grep -c '"device":"dmawatch-lab"')" -lt 7 ] &&
	[ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 1
kill -TERM $trace_pid
wait $trace_pid
emit trace_exit $?
emit over_limit_event "$(grep '"over-limit"' /tmp/trace.json | grep '"size":524288' | head -n 1)"
emit over_limit_events "$(grep '"over-limit"' /tmp/trace.json | grep -c '"device":"dmawatch-lab"')"
emit trace_stderr "$(head -c 300 /tmp/trace.err)"

# Scatterlists with the default probes (where the kernel traces the DMA
# API they are counted at __dma_map_sg_attrs's return, entry by entry),
# against tracefs: 1 MiB in 64 KiB writes whose entries all bounce, then a
# 2 MiB hugetlb segment over the limit that fails.
spawn /tmp/sg.json /tmp/sg.err dmawatch stat --json 3600
pid=$spawned
wait_for /tmp/sg.json '"devices"' 180
emit sg_window_attached $?
trace_swiotlb_start
labio write /dev/dmawlab0 1048576 65536 > /tmp/sg1.out
emit sg_window_write_exit $?
labio write /dev/dmawlab0 2097152 2097152 hugetlb > /dev/null
emit sg_window_over_exit $?
trace_swiotlb_stop
kill -TERM "$pid"
wait "$pid"
emit sg_window_exit $?
# shellcheck disable=SC2046 # the sum's four fields, an argument each
set -- $(trace_swiotlb_sum dmawatch-lab)
emit sg_window_trace_events "$1"
emit sg_window_trace_bytes "$2"
emit sg_window_final "$(tail -n 1 /tmp/sg.json)"

dmawatch stat --json 1 2 > /tmp/stat2.json 2>&1 &
pid=$!
wait_for /tmp/stat2.json '"devices"' 180
labio write /dev/dmawlab0 2097152 2097152 hugetlb > /dev/null
for i in $(seq 99); do echo 524288 > $ctl/map_single 2> /dev/null; done
wait $pid
emit stat_lab "$(tail -n 1 /tmp/stat2.json)"

# Top processes come from the whole table: one process maps 8 MiB (2048 x
# 4 KiB through the module's bench), then 600 short-lived processes map
# 4 KiB each, in their own syscall: more than the snapshot used to keep.
dmawatch -D -F swiotlb stat --json 3600 > /tmp/stat3.json 2>&1 &
pid=$!
wait_for /tmp/stat3.json '"devices"' 180
sh -c "echo '2048 4096' > $ctl/bench" &
big=$!
wait $big
emit big_mapper_pid $big
emit big_mapper_bench "$(cat $ctl/bench)"
t0=$(now_cs)
for i in $(seq 600); do sh -c "echo 4096 > $ctl/map_single"; done
emit small_mappers_s $((($(now_cs) - t0) / 100))
kill -TERM $pid
wait $pid
emit stat_procs "$(tail -n 1 /tmp/stat3.json)"
rmmod dmawatch_lab
# JITed programs show in kallsyms while loaded: none may outlive dmawatch.
emit bpf_syms_after "$(bpf_progs)"
