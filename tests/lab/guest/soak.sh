#!/bin/sh
# Soak scenario (make lab-soak): live-patches kernel text again and again
# while bounce traffic runs, the way tracing and dmawatch do in the field,
# and leaves the verdict to the console log. Under O_DIRECT traffic on the
# virtio disk (every map through swiotlb_map):
#  - SOAK_TRACEFS cycles: the function tracer on the swiotlb, DMA-API and
#    virtqueue functions, then kprobe events on the same, then the
#    swiotlb_bounced event, each switched on and off (ftrace and kprobes
#    rewrite those functions' entries with text_poke_bp());
#  - SOAK_ATTACH cycles: dmawatch attached (all families: fentry/fexit
#    trampolines, kprobes) until its first report, then stopped.
# shellcheck disable=SC2154 # tracing: set by lib.sh
. /lab/lib.sh
cycles_tracefs=6
cycles_attach=2

# The functions the lab's tracing touches, as this kernel names them.
funcs=
for f in swiotlb_map swiotlb_tbl_map_single __swiotlb_tbl_unmap_single \
	swiotlb_tbl_unmap_single swiotlb_sync_single_for_device swiotlb_sync_single_for_cpu \
	__swiotlb_sync_single_for_device __swiotlb_sync_single_for_cpu \
	dma_map_page_attrs dma_unmap_page_attrs dma_map_phys dma_unmap_phys virtqueue_add_sgs; do
	grep -qE "^$f( |\$)" "$tracing/available_filter_functions" && funcs="$funcs $f"
done
emit funcs "$funcs"

traffic() {
	while :; do
		labio write /dev/vda $((4 << 20)) 1048576 > /dev/null || echo write-error
		dd if=/dev/vda of=/dev/null bs=4k count=256 iflag=direct 2> /dev/null
	done
}
traffic > /tmp/traffic.err &
traffic_pid=$!

trace_count0=$(grep -c swiotlb_bounced "$tracing/trace")
i=0
while [ $i -lt $cycles_tracefs ]; do
	i=$((i + 1))
	echo "$funcs" | tr ' ' '\n' | sed '/^$/d' > "$tracing/set_ftrace_filter"
	echo function > "$tracing/current_tracer"
	sleep 0.2
	echo nop > "$tracing/current_tracer"
	echo > "$tracing/set_ftrace_filter"
	n=0
	for f in $funcs; do
		n=$((n + 1))
		echo "p:soak/k$n $f" >> "$tracing/kprobe_events"
	done
	echo 1 > "$tracing/events/soak/enable"
	sleep 0.2
	echo 0 > "$tracing/events/soak/enable"
	echo > "$tracing/kprobe_events"
	echo 1 > "$tracing/events/swiotlb/swiotlb_bounced/enable"
	sleep 0.2
	echo 0 > "$tracing/events/swiotlb/swiotlb_bounced/enable"
done
emit tracefs_cycles $i
emit bounced_events "$(($(grep -c swiotlb_bounced "$tracing/trace") - trace_count0))"

i=0
while [ $i -lt $cycles_attach ]; do
	# The child opens the file after the fork: drop the last run's first.
	rm -f /tmp/stat.out
	dmawatch -D stat --json 1 > /tmp/stat.out 2> /tmp/stat.err &
	stat_pid=$!
	j=0
	while ! grep -q '"pool"' /tmp/stat.out && running $stat_pid && [ $j -lt 1200 ]; do
		sleep 0.1
		j=$((j + 1))
	done
	if ! grep -q '"pool"' /tmp/stat.out; then
		kill $stat_pid 2> /dev/null
		wait $stat_pid
		emit attach_failed "exit $? after $j: $(head -c 300 /tmp/stat.err | tr '\n' ' ')"
		emit attach_out "$(head -c 300 /tmp/stat.out | tr '\n' ' ')"
		break
	fi
	kill -TERM $stat_pid
	wait $stat_pid
	i=$((i + 1))
done
emit attach_cycles $i
kill $traffic_pid
emit traffic_errors "$(grep -c . /tmp/traffic.err)"
emit bpf_left "$(grep -c '\[bpf\]' /proc/kallsyms)"
