# shellcheck shell=sh
# shellcheck disable=SC2154 # kernel: set by run-scenarios.sh, which sources this
# Scenario: dmawatch enforce (guest/enforce.sh), swiotlb=512,force. On the
# lab's own kernel (KERNEL-fei, with CONFIG_FUNCTION_ERROR_INJECTION) deny
# must fail the never-fitting write at submission; on Debian's kernels it
# must refuse in one line, and audit must count the same decisions.
case $kernel in *-fei) fei=1 ;; *) fei=0 ;; esac
expect_eq "pool is 512 slots" "$(r nslabs)" 512
expect_eq "8 hugetlb pages for contiguous buffers" "$(r hugepages)" 8
expect_eq "vda: segments of 256 KiB (virtio_max_dma_size)" "$(r max_segment_size)" 262144
if [ $fei = 1 ]; then
	# The reference: the kernel lists the hook as one BPF may fail.
	expect_eq "kernel: error_injection/list has should_fail_bio" "$(r ei_list)" 1
	expect_eq "deny: enforce runs" "$(r deny_running)" yes
	expect_eq "deny: two enforce programs in kallsyms (the hook and its witness)" "$(r deny_progs)" 2
	expect_eq "deny: the 1 MiB contiguous write fails" "$(r big_deny_exit)" 1
	expect_eq "deny: with EIO" "$(r big_deny_error)" EIO
	expect_le "deny: within a second" "$(r big_deny_cs)" 100
	expect_eq "deny: a 256 KiB write on the same disk succeeds" "$(r small_deny_exit)" 0
	expect_eq "deny: all of it" "$(r small_deny_bytes)" 262144
	expect_eq "deny: a 4 KiB write succeeds" "$(r page_deny_exit)" 0
	expect_eq "deny: the kernel never tried to map the denied write" "$(r deny_full_lines)" 0
	expect_eq "deny: Ctrl-C ends it with 0" "$(r deny_stop_exit)" 0
	expect_eq "deny: one deny event" "$(r deny_events)" 1
	expect_eq "deny event: policy" "$(r deny_event_policy)" never-fit
	expect_eq "deny event: disk" "$(r deny_event_disk)" vda
	expect_eq "deny event: bytes" "$(r deny_event_bytes)" 1048576
	expect_eq "deny event: 4 x 128 slots + header + status" "$(r deny_event_slots)" 514
	expect_eq "deny event: the pool's slots" "$(r deny_event_pool)" 512
	expect_eq "deny event: the writer" "$(r deny_event_comm)" labio
	expect_match "deny event: a stack through submit_bio" "$(r deny_event_stack)" '^submit_bio'
	expect_eq "deny summary: one denied" "$(r deny_denied)" 1
	expect_eq "deny: trace exits 0" "$(r deny_trace_exit)" 0
	expect_eq "deny: trace shows it" "$(r deny_trace_kind)" enforce-deny
	expect_eq "deny: trace's record: the size" "$(r deny_trace_size)" 1048576
	expect_eq "deny: trace's record stands for one" "$(r deny_trace_count)" 1
	expect_eq "deny: one record in trace" "$(r deny_trace_records)" 1
	expect_ge "deny summary: the three writes checked" "$(r deny_checked)" 3
	# The witness on block_bio_queue: the two writes that passed reached
	# the queue, and the hook saw every bio that did.
	expect_ge "deny: the block layer queued the two that passed" "$(r deny_queued)" 2
	expect_ge "deny: should_fail_bio checked every queued bio" "$(r deny_checked)" "$(r deny_queued)"
	expect_eq "deny: no missed-bio warning" "$(r deny_missed_warning)" 0
else
	expect_eq "kernel: no error_injection/list" "$(r ei_list)" none
	expect_eq "deny refused: exit 1" "$(r deny_exit)" 1
	expect_match "deny refused: says why and what is left" "$(r deny_err)" \
		'--deny impossible: this kernel was built without CONFIG_FUNCTION_ERROR_INJECTION.*--audit.*--apply-queue-limits'
	expect_eq "deny refused: in one line" "$(r deny_err_lines)" 1
fi
expect_eq "no enforce program after the deny step" "$(r after_deny_progs)" 0

# A segment over the SWIOTLB limit on the lab module's disk (4 MiB
# segments; the module fails a request whose mapping fails).
expect_eq "test module loaded" "$(r insmod_exit)" 0
expect_eq "module disk: 4 MiB segments" "$(r lab_max_segment_size)" 4194304
expect_eq "audit max-segment: runs" "$(r seg_audit_running)" yes
expect_eq "audit max-segment: the write fails in the driver" "$(r seg_big_audit_exit)" 1
expect_gt "audit max-segment: the module's mapping failed (the reference)" \
	"$(r seg_audit_map_failures)" 0
expect_eq "audit max-segment: event policy" "$(r seg_audit_policy)" max-segment
expect_eq "audit max-segment: a 1 MiB segment" "$(r seg_audit_segment)" 1048576
expect_eq "audit max-segment: one would-deny" "$(r seg_audit_hits)" 1
expect_eq "audit max-segment: a 64 KiB write passes" "$(r seg_small_audit_exit)" 0
if [ $fei = 1 ]; then
	expect_eq "deny max-segment: runs" "$(r seg_deny_running)" yes
	expect_eq "deny max-segment: EIO" "$(r seg_big_deny_error)" EIO
	expect_le "deny max-segment: within a second" "$(r seg_big_deny_cs)" 100
	expect_eq "deny max-segment: the driver never saw it" "$(r seg_deny_requests)" 0
	expect_eq "deny max-segment: no mapping failed" "$(r seg_deny_map_failures)" 0
	expect_eq "deny max-segment: event policy" "$(r seg_deny_policy)" max-segment
	expect_ge "deny max-segment: the hook checked every queued bio" \
		"$(r seg_deny_checked)" "$(r seg_deny_queued)"
	expect_eq "deny = audit: the same decisions" "$(r seg_deny_hits)" "$(r seg_audit_hits)"
	expect_eq "deny max-segment: a 64 KiB write passes" "$(r seg_small_deny_exit)" 0
else
	expect_eq "deny max-segment refused" "$(r seg_deny_exit)" 1
fi

# --apply-queue-limits: requests of 256 KiB (130 slots) fit the pool.
expect_eq "limits: enforce runs" "$(r limits_running)" yes
expect_eq "limits: max_sectors_kb lowered to 256" "$(r limits_set)" 256
expect_match "limits: it says what it changed" "$(r limits_msg)" \
	"vda: max_sectors_kb $(r max_sectors_kb) -> 256"
expect_eq "limits: the 1 MiB write completes" "$(r big_limits_exit)" 0
expect_eq "limits: all of it" "$(r big_limits_bytes)" 1048576
expect_eq "limits: no would-deny once split" "$(r limits_audited)" 0
expect_eq "limits: SIGTERM ends it with 0" "$(r limits_stop_exit)" 0
expect_eq "limits: restored on exit" "$(r limits_restored)" "$(r max_sectors_kb)"

# Nothing outlives the process, whatever ends it.
for sig in INT TERM KILL; do
	expect_eq "lifecycle $sig: attached while running" "$(r life_${sig}_progs)" 1
	expect_eq "lifecycle $sig: no enforce program after" "$(r life_${sig}_after)" 0
done
expect_eq "lifecycle: SIGKILL is SIGKILL" "$(r life_KILL_exit)" 137
expect_eq "status with none: exit 1" "$(r status_none_exit)" 1
expect_eq "status with none: says so" "$(r status_none)" "enforce: no enforcer attached"
expect_eq "pin: exits 0" "$(r pin_exit)" 0
expect_eq "pin: the program stays after exit" "$(r pin_progs)" 1
expect_eq "pin: link and maps pinned" "$(r pin_files)" "link rules stats "
# A pinned enforcer seen by export and stat, against the kernel's events.
expect_eq "pinned: the writes succeed" "$(r pinned_write_exit)" 0
expect_eq "kernel: block_bio_queue saw 4 bios of 64 KiB" "$(r trace_bios)" 4
expect_eq "export: exits 0" "$(r export_exit)" 0
expect_eq "export: checked_total = the kernel's block_bio_queue events" \
	"$(r export_checked)" "$(r trace_bios)"
expect_eq "export: audited_total{policy=never-fit} 0" "$(r export_audited)" 0
expect_match "stat --json: the enforce object" "$(r stat_enforce)" \
	'"program":"enforce_tp","disks":\[\{"disk":"vda","dev":"[0-9]+:[0-9]+","checked":4,'
expect_eq "a second enforcer is refused" "$(r second_exit)" 1
expect_match "it names the first" "$(r second_err)" 'another enforcer is attached \(program enforce_'
expect_eq "status: exit 0" "$(r status_exit)" 0
expect_match "status: names the program" "$(r status_line)" '^enforce: audit attached \(program enforce_'
expect_ge "status: lists the disk" "$(r status_disk)" 1
expect_eq "unpin: exits 0" "$(r unpin_exit)" 0
expect_eq "unpin: the program is gone" "$(r unpin_progs)" 0
expect_eq "unpin: the directory is gone" "$(r unpin_dir)" gone

# Audit on vda: the IO is what it is without enforce: it hangs.
expect_eq "audit: runs" "$(r audit_running)" yes
expect_eq "audit: the write hangs (D, requeued)" "$(r hang_writer)" D
expect_gt "audit: the kernel says the buffer is full (the reference)" "$(r hang_full_lines)" 0
expect_eq "audit: the would-deny is an event" "$(r audit_event)" audit
expect_eq "audit: 514 slots" "$(r audit_event_slots)" 514
expect_eq "audit: counted once" "$(r audit_hits)" 1
expect_eq "audit: trace exits 0" "$(r audit_trace_exit)" 0
expect_eq "audit: trace shows it" "$(r audit_trace_kind)" enforce-audit
expect_eq "audit: trace: never-fit" "$(r audit_trace_policy)" never-fit
expect_eq "audit: trace: vda" "$(r audit_trace_disk)" vda
expect_eq "audit: trace: 1 MiB" "$(r audit_trace_size)" 1048576
expect_eq "audit: trace: 514 slots" "$(r audit_trace_slots)" 514
expect_eq "audit: trace: the writer" "$(r audit_trace_comm)" labio
expect_eq "audit: trace: one decision" "$(r audit_trace_count)" 1
expect_eq "audit: one record in trace" "$(r audit_trace_records)" 1
expect_eq "audit: Ctrl-C ends it with 0" "$(r audit_stop_exit)" 0
expect_eq "audit: no enforce program after" "$(r audit_after_progs)" 0
