#!/bin/sh
# Scenario: the shipped alert rules, seen by a real Prometheus on the host
# (tests/prometheus/alerts.sh). Booted with swiotlb=1024,force (eight
# 128-slot segments) and a network card whose port 9435 (dmawatch export
# --listen) and 9100 (node_exporter, reading the exporter's textfile) the
# host scrapes. The card's receive buffers bounce too: about 256 slots
# stay mapped while it is up. The guest goes through phases and says when
# each starts ("phase NAME" lines, stamped with the host's clock as they
# arrive); the host asks Prometheus what fired and when:
#   healthy     light traffic both ways: no alert
#   exhaust     the test module holds 2-slot mappings until 94 % of the
#               pool is used, while a writer of 256 KiB blocks (130 slots)
#               is refused again and again: the pool-full and failure
#               alerts go pending, then fire after their for:
#   calm        the module lets go, the write completes: they resolve
#   restart     the exporter is stopped (its last file says dmawatch_up 0)
#               and started again
#   never-fit   a 2 MiB write from one hugetlb page, in one request
#               (max_sectors_kb 2048): 8 x 256 KiB + header + status =
#               1026 slots, more than the pool: requeued forever; the
#               never-fit alert fires
# shellcheck disable=SC2154 # swiotlb_dir: set by lib.sh
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
prom=/run/prom
phase() { emit phase "$1"; }

emit vda_dma_dev "$(dma_dev_of vda)"
emit vda_virtio "$(basename "$(readlink -f /sys/block/vda/device)")"
emit nslabs "$(cat "$swiotlb_dir/io_tlb_nslabs")"
# Loaded first: the module's own disk is scanned now, not in a phase.
insmod /lab/dmawatch_lab.ko
emit insmod_exit $?
echo 8 > /proc/sys/vm/nr_hugepages

# QEMU's user network: the guest is 10.0.2.15/24.
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
emit eth0 "$(ip -o -4 addr show dev eth0 | awk '{ print $4 }')"
emit eth0_dma_dev "$(basename "$(dirname "$(readlink -f /sys/class/net/eth0/device)")")"

mkdir -p $prom
# Only the textfile collector: the others cost CPU the emulated guest has
# little of, and the rules read nothing else from node_exporter.
prometheus-node-exporter --collector.disable-defaults --collector.textfile \
	--collector.textfile.directory=$prom --web.listen-address=:9100 \
	> /tmp/ne.out 2>&1 &
ne_pid=$!

start_export() {
	spawn /tmp/exp.out /tmp/exp.err dmawatch --detail export --interval 1 \
		--textfile-dir $prom --listen 0.0.0.0:9435
	exp_pid=$spawned
	wait_for $prom/dmawatch.prom '^dmawatch_up 1' 120 $exp_pid
}
rm -f $prom/dmawatch.prom
start_export
emit export_attached $?
emit export_err "$(head -n 1 /tmp/exp.err)"
emit node_exporter_running "$(running $ne_pid && echo yes || echo no)"
emit node_exporter_err "$(grep -i -m 1 'level=error' /tmp/ne.out)"

# Light traffic both ways, a 64 KiB block a second.
light() { # seconds
	_end=$(($(now_cs) + $1 * 100))
	while [ "$(now_cs)" -lt $_end ]; do
		labio write /dev/vda 262144 65536 > /dev/null 2>&1
		labio read /dev/vda 262144 65536 > /dev/null 2>&1
		sleep 1
	done
}

phase healthy
light 25

phase exhaust
nslabs=$(cat "$swiotlb_dir/io_tlb_nslabs")
used=$(cat "$swiotlb_dir/io_tlb_used")
emit used_before_hold "$used"
echo "$(((nslabs * 94 / 100 - used + 1) / 2)) 4096" > $ctl/hold
emit hold "$(cat $ctl/hold)"
emit used_held "$(cat "$swiotlb_dir/io_tlb_used")"
full0=$(dmesg_count 'swiotlb buffer is full')
labio write /dev/vda 1048576 262144 > /tmp/w.out 2>&1 &
wpid=$!
sleep 45
emit writer_while_held "$(running $wpid && awk '{ print $3 }' /proc/$wpid/stat || echo exited)"
emit full_lines_held $(($(dmesg_count 'swiotlb buffer is full') - full0))
phase calm
echo "release all" > $ctl/hold
wait $wpid
emit writer_exit $?
emit used_released "$(cat "$swiotlb_dir/io_tlb_used")"
light 30

phase restart
kill -TERM $exp_pid
wait $exp_pid
emit export_stop_exit $?
emit last_file_up "$(grep '^dmawatch_up ' $prom/dmawatch.prom)"
phase restart-gap
sleep 5
start_export
emit export_restarted $?
phase restarted
light 12

phase never-fit
echo 2048 > /sys/block/vda/queue/max_sectors_kb
emit max_sectors_kb "$(cat /sys/block/vda/queue/max_sectors_kb)"
labio write /dev/vda 2097152 2097152 hugetlb > /tmp/nf.out 2>&1 &
nfpid=$!
sleep 30
emit never_fit_writer "$(running $nfpid && awk '{ print $3 }' /proc/$nfpid/stat || echo exited)"
phase end
emit export_running "$(running $exp_pid && echo yes || echo no)"
emit node_exporter_running_end "$(running $ne_pid && echo yes || echo no)"
emit used_end "$(cat "$swiotlb_dir/io_tlb_used")"
kill -TERM $exp_pid $ne_pid
true
