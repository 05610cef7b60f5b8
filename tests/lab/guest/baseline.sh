#!/bin/sh
# Forced-bounce baseline: a known O_DIRECT workload on the
# virtio disk must move io_tlb_used and produce swiotlb_bounced events.
# shellcheck disable=SC2154 # swiotlb_dir and tracing: set by lib.sh
. /lab/lib.sh
mib=16
dev=$(dma_dev_of vda)
emit vda_dma_dev "$dev"
emit nslabs "$(cat "$swiotlb_dir/io_tlb_nslabs")"
emit used_before "$(cat "$swiotlb_dir/io_tlb_used")"

trace_swiotlb_start
labio write /dev/vda $((mib << 20)) 1048576 > /tmp/w.out &
pid=$!
emit used_peak_write "$(sample_used_while $pid)"
wait $pid
emit write_exit $?
emit write_bytes "$(sed -n 's/^bytes //p' /tmp/w.out)"
labio read /dev/vda $((mib << 20)) 1048576 > /tmp/r.out
emit read_exit $?
emit read_bytes "$(sed -n 's/^bytes //p' /tmp/r.out)"
trace_swiotlb_stop

# shellcheck disable=SC2046 # the sum's four fields, an argument each
set -- $(trace_swiotlb_sum "$dev")
emit trace_events "$1"
emit trace_bytes "$2"
emit used_after "$(cat "$swiotlb_dir/io_tlb_used")"
[ -f "$swiotlb_dir/io_tlb_used_hiwater" ] &&
	emit used_hiwater "$(cat "$swiotlb_dir/io_tlb_used_hiwater")"
emit full_lines "$(dmesg_count 'swiotlb buffer is full')"
# What this kernel offers and which hook each probe family chose, and why
# (kept in the console log; the checks read the hook that counts bounced
# mappings: the DMA API's tracepoint where tracefs has it, else swiotlb_map).
dmawatch probe > /tmp/probe.txt 2>&1
emit probe_exit $?
cat /tmp/probe.txt
dma_tp=$(ls -d "$tracing/events/dma/dma_map_page" "$tracing/events/dma/dma_map_phys" 2> /dev/null |
	sed 's,.*/events/,,' | head -n 1)
emit dma_tp "${dma_tp:-none}"
emit probe_swiotlb_map "$(awk '$1 == "swiotlb" && $2 == "swiotlb_map" { print $3; exit }' /tmp/probe.txt)"
emit probe_swiotlb_dma "$(awk -v tp="$dma_tp" '$1 == "swiotlb" && $2 == tp { print $3; exit }' /tmp/probe.txt)"
emit probe_hiwater "$(awk '$1 == "pool" && $2 == "used_hiwater" { $1 = $2 = ""; print; exit }' /tmp/probe.txt | sed 's/^ *//')"

# One family that fails to load leaves the others running. The fault is
# real: DMAWATCH_TEST_FAIL_LOAD retargets one of the family's programs at
# a function no kernel has, so the kernel refuses the load.
DMAWATCH_TEST_FAIL_LOAD=dmamap dmawatch -D stat --json 2 1 > /tmp/deg.json 2> /tmp/deg.err &
pid=$!
i=0
while ! grep -q '"devices"' /tmp/deg.json && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
labio write /dev/vda 4194304 1048576 > /dev/null
wait $pid
emit degraded_exit $?
emit degraded_err "$(head -c 400 /tmp/deg.err | tr '\n' ' ')"
emit degraded_final "$(tail -n 1 /tmp/deg.json)"
# Asked for by name, its failure is the command's.
DMAWATCH_TEST_FAIL_LOAD=dmamap dmawatch -F swiotlb,dmamap stat --json 1 1 > /dev/null 2> /tmp/deg2.err
emit degraded_named_exit $?
emit degraded_named_err "$(head -c 400 /tmp/deg2.err | tr '\n' ' ')"
emit bpf_syms_after "$(bpf_progs)"

# dmawatch diagnose on this healthy guest, with its live window: the
# verdict, the figures it quotes, and the bundle it saves, which the host
# replays (checks/baseline.sh) to the same JSON.
emit sysfs_max_sectors_kb "$(cat /sys/block/vda/queue/max_sectors_kb)"
emit diag_used_hiwater "$(cat "$swiotlb_dir/io_tlb_used_hiwater" 2> /dev/null || echo none)"
dmawatch diagnose --json --save-bundle /tmp/bundle > /tmp/diag.json 2> /tmp/diag.err
emit diag_exit $?
emit diag_json "$(cat /tmp/diag.json)"
emit diag_err "$(head -c 300 /tmp/diag.err)"
emit diag_partial "$(ls -d /tmp/bundle.partial-* 2> /dev/null | wc -l)"
emit diag_bundle "$(tar -C /tmp -czf - bundle | base64 -w 0)"
