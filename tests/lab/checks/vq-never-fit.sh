# Scenario: a virtqueue request that can never fit the pool
# (guest/vq-never-fit.sh), booted with swiotlb=512,force; booted with a pool
# that holds the request (swiotlb=force) the same checks turn into the
# negative control.
expect_eq "dmawatch trace attached" "$(r trace_running)" yes
expect_eq "dmawatch stat attached" "$(r stat_running)" yes
expect_le "attached within 60 s" "$(r attach_s)" 60

# Submissions and bytes of the req queues cover a workload that fits.
expect_eq "8 MiB O_DIRECT write in 128 KiB blocks completed" "$(r cov_bytes)" 8388608
expect_ge "req queues counted a submission per 128 KiB block" "$(r cov_adds)" 64
expect_ge "req queue bytes cover the written bytes" "$(r cov_vq_bytes)" 8388608
# ... and only add the 16-byte header and 1-byte status of each request.
expect_le "req queue bytes exceed them by at most the headers" "$(r cov_vq_bytes)" \
	$((8388608 + 17 * $(r cov_adds)))
expect_match "req queue row names the DMA device and driver" "$(r cov_row)" \
	"\"device\":\"$(r vda_virtio)\",\"vq\":\"req\.[0-9]+\",\"dma_device\":\"$(r vda_dma_dev)\",\"driver\":\"virtio_blk\""

if [ "$(r mode)" = never-fit ]; then
	expect_eq "pool is 512 slots" "$(r nslabs)" 512
	expect_eq "1 MiB write from hugetlb still blocked" "$(r writer_state)" D
	expect_le "never-fit seen within 5 s of the write" "$(r detect_s)" 5
	expect_gt "req queue failed with ENOMEM" "$(r enomem)" 0
	expect_gt "req queue counted never-fit failures" "$(r never_fit)" 0
	expect_eq "every ENOMEM failure was a never-fit one" "$(r never_fit)" "$(r enomem)"
	expect_match "failing queue is a req queue" "$(r fail_vq)" '^req\.[0-9]+$'
	expect_eq "failing queue's DMA device is the disk's" "$(r fail_dma_device)" "$(r vda_dma_dev)"
	expect_eq "failing queue's driver" "$(r fail_driver)" virtio_blk
	expect_gt "kernel printed swiotlb buffer is full" "$(r full_lines)" 0
	expect_eq "never-fit event names the device of the full line" "$(r nf_device)" \
		"$(r full_dev)"
	expect_eq "never-fit event comes from virtqueue_add" "$(r nf_source)" virtqueue_add
	expect_eq "never-fit event driver" "$(r nf_driver)" virtio_blk
	expect_eq "never-fit event queue" "$(r nf_vq)" "$(r fail_vq)"
	expect_eq "never-fit event errno is -ENOMEM" "$(r nf_err)" -12
	expect_eq "never-fit slots_total is the pool (io_tlb_nslabs)" "$(r nf_slots_total)" \
		"$(r nslabs)"
	expect_gt "never-fit slots_needed exceeds the pool" "$(r nf_slots_needed)" \
		"$(r nslabs)"
	expect_ge "never-fit size covers the 1 MiB write" "$(r nf_size)" 1048576
	# The kernel's own count, from its message, is the reference; on
	# every kernel it must show the request's earlier segments held.
	expect_gt "kernel's full line says slots were in use" "$(r full_first_used)" 0
	expect_eq "first map-failed event: slots_used = the kernel's 'used N'" \
		"$(r mf_first_used)" "$(r full_first_used)"
	expect_eq "first map-failed event: slots_total = the pool" "$(r mf_first_total)" "$(r nslabs)"
	expect_gt "kernel stack names virtio_queue_rq" "$(r nf_stack_has_queue_rq)" 0
	# The requeue loop: one request, retried; events only for its failure
	# number 1, 2, 4, 8, ... (retries 0, 1, 3, 7, ...).
	expect_eq "first report is the request's first failure" "$(r nf_retries_first)" 0
	expect_gt "later reports count the retries" "$(r nf_retries_max)" 1
	expect_eq "reports only at failure 1, 2, 4, 8, ... of the request" "$(r nf_retries_not_pow2)" 0
	expect_le "rate limit: one report per doubling" "$(r nf_events)" \
		$((2 + $(echo "$(r enomem)" | awk '{ n = 0; for (v = $1; v > 1; v /= 2) n++; print n }')))
	expect_eq "no events dropped" "$(r event_drops)" 0
else
	expect_gt "pool holds a 1 MiB request" "$(r nslabs)" 513
	expect_eq "1 MiB write from hugetlb completed" "$(r writer_state)" "exited 0"
	expect_eq "no ENOMEM failures" "$(r enomem)" 0
	expect_eq "nothing counted as never fitting" "$(r never_fit)" 0
	expect_eq "no never-fit events" "$(r nf_events)" 0
	expect_eq "no swiotlb buffer is full lines" "$(r full_lines)" 0
fi
expect_eq "dmawatch trace exited 0 on SIGTERM" "$(r trace_exit)" 0
expect_eq "dmawatch stat exited 0 on SIGTERM" "$(r stat_exit)" 0
