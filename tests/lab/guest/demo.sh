#!/bin/sh
# `make demo`: real bounce traffic on the virtio disk and the test module's
# disk, under dmatop's batch view. Output goes to fd 3, which the host shows
# as it comes. Traffic starts after dmatop attached and stops before it
# detaches: under TCG, patching a function's entry while another vCPU runs
# it has oopsed the guest (int3 at dma_map_page_attrs+0x5).
# shellcheck disable=SC2154 # swiotlb_dir: set by lib.sh
. /lab/lib.sh
seconds=${DEMO_SECONDS:-20}
insmod /lab/dmawatch_lab.ko 2>/dev/null
echo 8 > /proc/sys/vm/nr_hugepages
echo "demo: $(uname -r), swiotlb pool $(cat "$swiotlb_dir/io_tlb_nslabs") slots, $seconds s of traffic" >&3
dmatop -D -b -d 1 > /tmp/top.out 2>&1 &
top_pid=$!
i=0
while ! grep -q DEVICE /tmp/top.out && [ $i -lt 1800 ]; do sleep 0.1; i=$((i + 1)); done
tail -f /tmp/top.out >&3 &
tail_pid=$!
/lab/load.sh > /dev/null 2>&1 &
load_pid=$!
(while :; do
	labio write /dev/dmawlab0 $((4 << 20)) 262144 > /dev/null
	labio read /dev/dmawlab0 $((4 << 20)) 16384 > /dev/null
	echo 524288 > /sys/kernel/debug/dmawatch_lab/map_single 2>/dev/null
	sleep 1
done) &
lab_pid=$!
sleep "$seconds"
kill $load_pid $lab_pid 2>/dev/null
wait $load_pid $lab_pid 2>/dev/null
sleep 2
kill -TERM $top_pid
wait $top_pid
sleep 0.5
kill $tail_pid 2>/dev/null
