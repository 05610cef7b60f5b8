#!/bin/sh
# Pool too small: booted with swiotlb=512,force. A 1 MiB
# O_DIRECT write needs more slots than the whole pool holds; virtio-blk turns
# the mapping failure into a resource status and the block layer retries it
# forever (virtio_queue_rq -> BLK_STS_DEV_RESOURCE), so the IO never ends.
# The buffer is a hugetlb page: physically contiguous, the write is always
# one request of 4 x 256 KiB + header + status = 514 slots. From scattered
# 4 KiB pages the block layer may split it at max_segments (254) into
# requests that fit, and then it completes (seen once in a CI run on 6.1).
# shellcheck disable=SC2154 # swiotlb_dir: set by lib.sh
. /lab/lib.sh
wait_s=60
echo 8 > /proc/sys/vm/nr_hugepages
emit vda_dma_dev "$(dma_dev_of vda)"
emit nslabs "$(cat "$swiotlb_dir/io_tlb_nslabs")"
labio write /dev/vda 1048576 1048576 hugetlb > /tmp/w.out 2>&1 &
pid=$!
# Never finishing is shown by the kernel failing the same request again and
# again: wait for its third "buffer is full" line (rate-limited), at most
# $wait_s s, then the writer must still be blocked.
t0=$(now_cs)
while [ "$(dmesg_count 'swiotlb buffer is full')" -lt 3 ] && [ $(($(now_cs) - t0)) -lt $((wait_s * 100)) ] &&
	running $pid; do
	sleep 0.1
done
if [ -d /proc/$pid ]; then
	emit writer_state "$(awk '{ print $3 }' /proc/$pid/stat)"
else
	emit writer_state exited
fi
emit waited_s $((($(now_cs) - t0) / 100))
emit used_now "$(cat "$swiotlb_dir/io_tlb_used")"
emit full_lines "$(dmesg_count 'swiotlb buffer is full')"
emit full_line "$(dmesg | grep -m 1 -F 'swiotlb buffer is full')"
