# shellcheck shell=sh
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

diag=$(r diag_json)
nf=$(printf '%s' "$diag" | jq -c '[.findings[] | select(.id == "never-fits")][0] // empty')
if [ "$(r mode)" = never-fit ]; then
	expect_eq "pool is 512 slots" "$(r nslabs)" 512
	# dmawatch diagnose, while the write hangs.
	expect_eq "diagnose: exit 1" "$(r diag_exit)" 1
	expect_eq "diagnose: the verdict is never-fits" \
		"$(printf '%s' "$diag" | jq -r '.findings[0].id')" never-fits
	expect_eq "diagnose: an error, on the disk's DMA device" \
		"$(printf '%s' "$nf" | jq -r '.severity + " " + .device')" "error $(r vda_dma_dev)"
	expect_eq "diagnose: evidence quotes sysfs max_sectors_kb" \
		"$(printf '%s' "$nf" | jq -r '.evidence[0]' | sed -n 's/.*max_sectors_kb = \([0-9]*\) .*/\1/p')" \
		"$(r sysfs_max_sectors_kb)"
	expect_eq "diagnose: evidence quotes the pool = io_tlb_nslabs" \
		"$(printf '%s' "$nf" | jq -r '.evidence[1]')" "the pool has $(r nslabs) slots (1 MiB)"
	expect_eq "diagnose: evidence quotes the kernel's first full line" \
		"$(printf '%s' "$nf" | jq -r '.evidence[2]')" "$(r diag_full_first)"
	expect_match "diagnose: the live window saw the never-fitting request" \
		"$(printf '%s' "$nf" | jq -r '.evidence[]')" "^live: [1-9][0-9]* submissions of [1-9][0-9]* requests failed: [0-9]+ bytes need more slots"
	expect_match "diagnose: remedy: a max_sectors_kb that fits" "$(printf '%s' "$nf" | jq -r .remedy)" \
		"^echo 256 > /sys/block/vda/queue/max_sectors_kb"
	expect_same_replay diag_bundle diag_exit diag_json
	expect_eq "diagnose: not 'pool exhausted'" \
		"$(printf '%s' "$diag" | jq -r '[.findings[] | select(.id == "pool-exhausted")] | length')" 0
	expect_eq "1 MiB write from hugetlb still blocked" "$(r writer_state)" D
	# The high-water covers the most slots the kernel said were in use
	# when a mapping failed, also where the kernel keeps none of its own.
	expect_gt "the kernel printed the pool's used slots at a failure" \
		"$(r full_used_max)" 0
	# shellcheck disable=SC2154 # tap_prefix: set by run-scenarios.sh
	echo "# $tap_prefix high-water $(r stat_hiwater) (from the kernel: $(r stat_hiwater_kernel)), kernel printed used up to $(r full_used_max)"
	expect_ge "stat's high-water covers the most the kernel printed in use" \
		"$(r stat_hiwater)" "$(r full_used_max)"
	# Named for what it is: without -D and without the kernel's own, the
	# most seen at reads and failures is a lower bound (slots_most_seen).
	if [ "$(r stat_hiwater_kernel)" = true ]; then
		expect_eq "the kernel's high-water: source kernel" "$(r stat_hiwater_source)" kernel
	else
		expect_eq "no kernel high-water, no -D: sampled, as slots_most_seen" \
			"$(r stat_hiwater_source)" sampled
	fi
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
	expect_eq "diagnose: no never-fits verdict" "$nf" ""
fi
expect_eq "dmawatch trace exited 0 on SIGTERM" "$(r trace_exit)" 0
expect_eq "dmawatch stat exited 0 on SIGTERM" "$(r stat_exit)" 0
