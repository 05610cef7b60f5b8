#!/bin/sh
# `make demo`: real bounce traffic on the virtio disk (and the test module's
# disk), watched live. Output goes to fd 3, which the host shows as it comes.
. /lab/lib.sh
seconds=${DEMO_SECONDS:-20}
insmod /lab/dmawatch_lab.ko 2>/dev/null
/lab/load.sh > /dev/null 2>&1 &
(while :; do
	labio write /dev/dmawlab0 $((4 << 20)) 262144 > /dev/null
	labio read /dev/dmawlab0 $((4 << 20)) 16384 > /dev/null
done) &
echo "demo: $(uname -r), swiotlb pool $(cat $swiotlb_dir/io_tlb_nslabs) slots, $seconds s of traffic" >&3
if dmawatch top --help > /dev/null 2>&1; then
	dmawatch top -b -d 1 -n "$seconds" >&3 2>&1
else
	# Until dmatop exists: what the kernel itself reports, once a second.
	trace_swiotlb_start
	i=0
	while [ $i -lt "$seconds" ]; do
		sleep 1
		echo 0 > $tracing/tracing_on
		counts=$(grep -o 'dev_name[:=] *[^ ]*' $tracing/trace | awk '{ print $NF }' |
			sort | uniq -c | awk '{ printf "%s %s/s  ", $2, $1 }')
		echo > $tracing/trace
		echo 1 > $tracing/tracing_on
		echo "t=$i io_tlb_used=$(cat $swiotlb_dir/io_tlb_used) bounces: $counts" >&3
		i=$((i + 1))
	done
	trace_swiotlb_stop
fi
