#!/bin/sh
# Over the SWIOTLB limit: the test module maps 512 KiB with
# dma_map_single (as a GPU driver would) and the kernel refuses it; its block
# device, told to ignore dma_max_mapping_size() (max_segment_size 4 MiB, as
# virtio-blk before Linux 5.1), fails a 2 MiB O_DIRECT write from a
# physically contiguous (hugetlb) buffer with an I/O error, or, when it
# requeues on mapping failure, stalls it.
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
echo 8 > /proc/sys/vm/nr_hugepages
emit hugepages "$(cat /proc/sys/vm/nr_hugepages)"

insmod /lab/dmawatch_lab.ko
emit insmod_exit $?
echo 131072 > $ctl/map_single
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit map_128k_exit $?
echo 524288 > $ctl/map_single
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit map_512k_exit $?
emit map_512k_result "$(cat $ctl/map_single)"
emit lab_full_lines "$(dmesg | grep 'dmawatch-lab' | grep -cF 'swiotlb buffer is full')"
emit lab_full_line "$(dmesg | grep 'dmawatch-lab' | grep -m 1 -F 'swiotlb buffer is full')"

# Control: the module honouring dma_max_mapping_size() moves the same IO.
labio write /dev/dmawlab0 2097152 2097152 hugetlb > /tmp/c.out
emit honoured_write_exit $?
emit honoured_write_bytes "$(sed -n 's/^bytes //p' /tmp/c.out)"
rmmod dmawatch_lab

insmod /lab/dmawatch_lab.ko max_segment_size=4194304 max_sectors_kb=4096 on_map_error=ioerr
labio write /dev/dmawlab0 2097152 2097152 hugetlb > /tmp/e.out
emit ioerr_write_exit $?
emit ioerr_write_error "$(sed -n 's/^error //p' /tmp/e.out)"
emit ioerr_stats "$(cat $ctl/stats)"
emit ioerr_full_line "$(dmesg | grep 'dmawatch-lab' | grep -F 'swiotlb buffer is full' | grep -v 'sz: 524288' | tail -n 1)"
rmmod dmawatch_lab

insmod /lab/dmawatch_lab.ko max_segment_size=4194304 max_sectors_kb=4096 on_map_error=requeue
labio write /dev/dmawlab0 2097152 2097152 hugetlb > /tmp/q.out 2>&1 &
pid=$!
# Stalled means: the module keeps failing the mapping and requeueing the
# same request (100 failures) while the writer never returns (60 s at most).
i=0
while [ $i -lt 600 ] && running $pid; do
	f=$(sed -n 's/.*map_failures=\([0-9]*\).*/\1/p' $ctl/stats)
	[ "${f:-0}" -ge 100 ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ -d /proc/$pid ]; then
	emit requeue_writer_state "$(awk '{ print $3 }' /proc/$pid/stat)"
else
	emit requeue_writer_state exited
fi
emit requeue_stats "$(cat $ctl/stats)"
