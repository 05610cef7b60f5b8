#!/bin/sh
# A guest that changes under dmawatch (run-guest.sh -n: an NVMe disk beside
# the virtio one). One `dmawatch stat --json` (the watcher), one exporter
# and one dmatop -b run through the first phases; tracefs swiotlb_bounced
# is the reference throughout, with a trace_marker line between phases.
#
#   cpu      cpu1 goes offline and comes back during traffic
#   hotplug  the NVMe function is removed (sysfs remove: the kernel's
#            hot-unplug path, pci_stop_and_remove_bus_device()) with a
#            write in flight, then found again by a rescan at the same
#            address and name; then QEMU's monitor unplugs it (device_del)
#            and plugs a new one into its slot (device_add); then the
#            virtio disk's function is removed and found again; then QEMU
#            plugs a second virtio disk, unplugs it and plugs it again
#   module   nvme unloaded and loaded again under the watcher; where
#            virtio_ring is a module and hooked (6.1), rmmod while
#            attached and after
#   tracers  a kprobe (tracefs), the function tracer and another loader's
#            fentry program (labfloor) on swiotlb_map, attached before
#            dmawatch and kept after it; two dmawatch at once (stat and an
#            exporter)
#   clock    date -s back an hour and forward two during export and dmatop
#   memory   dmawatch in a cgroup with a small memory.max: the smallest
#            that works, the one line below it, an OOM kill
# shellcheck disable=SC2154 # spawned and tracing: set by lib.sh
. /lab/lib.sh
insmod /lab/dmawatch_lab.ko
ip link set lo up
mkdir -p /tmp/tf
mark() { echo "dmawatch-lab phase $1" > $tracing/trace_marker; }
# Until the test holds, SECONDS at most.
wait_until() { # seconds test...
	_t=$(($1 * 10))
	shift
	until "$@"; do
		[ $_t -gt 0 ] || return 1
		sleep 0.1
		_t=$((_t - 1))
	done
}
wait_until 30 test -b /dev/nvme0n1
emit nvme_disk "$([ -b /dev/nvme0n1 ] && echo yes || echo no)"
nvme=
for f in /sys/bus/pci/drivers/nvme/[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:*; do
	[ -e "$f" ] && nvme=${f##*/}
done
vda=$(dma_dev_of vda)
emit nvme_pci "$nvme"
emit vda_pci "$vda"
# The watcher's last complete report.
last_report() { grep '"devices"' /tmp/w.json | tail -n 1; }
# Waits until the watcher has written a report after now (1 s interval).
next_report() {
	_n=$(grep -c '"devices"' /tmp/w.json)
	_i=0
	while [ "$(grep -c '"devices"' /tmp/w.json)" -le $((_n + 1)) ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# A removed device back (DISK its block device, DEV its PCI function):
# waited for, 1 MiB written to it, then what stat and tracefs say, under
# PREFIX_back, _io_after, _report_after and _trace_all.
replugged() { # prefix disk dev
	wait_until 60 test -b "/dev/$2"
	emit "$1_back" "$([ -b "/dev/$2" ] && [ -e "/sys/bus/pci/devices/$3" ] && echo yes)"
	labio write "/dev/$2" 1048576 65536 > /dev/null
	emit "$1_io_after" $?
	next_report
	emit "$1_report_after" "$(last_report)"
	emit "$1_trace_all" "$(trace_swiotlb_sum "$3")"
}

spawn /tmp/w.json /tmp/w.err dmawatch stat --json 1
watcher=$spawned
spawn /tmp/e.out /tmp/e.err dmawatch export --textfile-dir /tmp/tf --interval 1
exporter=$spawned
spawn /tmp/top.json /tmp/top.err dmatop -b --json -d 1
top=$spawned
wait_for /tmp/w.json '"devices"' 180 "$watcher"
emit watcher_attached $?
wait_for /tmp/tf/dmawatch.prom 'dmawatch_up 1' 180 "$exporter"
emit exporter_attached $?
wait_for /tmp/top.json '"devices"' 180 "$top"
emit top_attached $?
trace_swiotlb_start

# ---- cpu ----------------------------------------------------------------
mark cpu
taskset -c 1 labio write /dev/vda 4194304 65536 > /dev/null
emit cpu_io1 $?
echo 0 > /sys/devices/system/cpu/cpu1/online
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit cpu_offline_exit $?
emit cpu1_online_during "$(cat /sys/devices/system/cpu/cpu1/online)"
emit cpus_online_during "$(cat /sys/devices/system/cpu/online)"
labio write /dev/vda 4194304 65536 > /dev/null
emit cpu_io2 $?
next_report
emit cpu_report_during "$(last_report)"
emit cpu_trace_during "$(trace_swiotlb_sum "$vda")"
echo 1 > /sys/devices/system/cpu/cpu1/online
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit cpu_online_exit $?
emit cpus_online_after "$(cat /sys/devices/system/cpu/online)"
taskset -c 1 labio read /dev/vda 4194304 65536 > /dev/null
emit cpu_io3 $?
next_report
emit cpu_report "$(last_report)"
emit cpu_trace "$(trace_swiotlb_sum "$vda")"
emit cpu_watcher_running "$(running "$watcher" && echo yes)"
emit cpu_exporter_running "$(running "$exporter" && echo yes)"
emit cpu_top_running "$(running "$top" && echo yes)"

# ---- hotplug --------------------------------------------------------------
mark hotplug
labio write /dev/nvme0n1 4194304 65536 > /dev/null
emit hp_io_before $?
next_report
emit hp_report_before "$(last_report)"
emit hp_trace_before "$(trace_swiotlb_sum "$nvme")"
# Writes in flight when the function goes: one after another until one
# fails; the function goes while the disk has a write in flight (the
# block layer's own count, queue inflight).
(
	n=0
	while labio write /dev/nvme0n1 8388608 65536 > /tmp/inflight.out 2>&1; do
		n=$((n + 1))
	done
	echo "writes_done $n" >> /tmp/inflight.out
) &
inflight=$!
# The reading that showed the write is the one reported (a second read
# can find it done).
writing() {
	inflight=$(cat /sys/block/nvme0n1/inflight 2> /dev/null)
	[ "$(echo "$inflight" | awk '{ print $2 }')" -gt 0 ] 2> /dev/null
}
wait_until 30 writing
emit hp_inflight_at_remove "$inflight"
echo 1 > "/sys/bus/pci/devices/$nvme/remove"
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit hp_remove_exit $?
wait $inflight
emit hp_inflight_out "$(tr '\n' ' ' < /tmp/inflight.out)"
emit hp_gone "$([ -e "/sys/bus/pci/devices/$nvme" ] || [ -b /dev/nvme0n1 ] || echo yes)"
emit hp_used_after_remove "$(cat $swiotlb_dir/io_tlb_used)"
emit hp_trace_removed "$(trace_swiotlb_sum "$nvme")"
next_report
emit hp_report_gone "$(last_report)"
echo 1 > /sys/bus/pci/rescan
replugged hp nvme0n1 "$nvme"

# ---- NVMe unplugged and plugged by QEMU's monitor ----------------------------
# run-guest.sh -n carries out "host unplug-nvme" (device_del) and "host
# plug-nvme" (device_add of a new device in the same slot).
mark hotplug-qemu
emit hq_trace_before "$(trace_swiotlb_sum "$nvme")"
echo "host unplug-nvme" >&3
wait_until 60 test ! -e "/sys/bus/pci/devices/$nvme"
emit hq_gone "$([ -e "/sys/bus/pci/devices/$nvme" ] || [ -b /dev/nvme0n1 ] || echo yes)"
next_report
emit hq_report_gone "$(last_report)"
emit hq_trace_gone "$(trace_swiotlb_sum "$nvme")"
echo "host plug-nvme" >&3
replugged hq nvme0n1 "$nvme"

# ---- module ---------------------------------------------------------------
mark module
rmmod nvme 2> /tmp/rm.err
emit mod_rmmod_nvme_exit $?
emit mod_rmmod_nvme_err "$(cat /tmp/rm.err)"
emit mod_nvme_gone "$([ -e /sys/module/nvme ] || echo yes)"
insmod "/modules/$(tail -n 1 /modules/load-order-nvme)" 2> /tmp/mp.err
emit mod_insmod_nvme_exit $?
wait_until 30 test -b /dev/nvme0n1
emit mod_nvme_back "$([ -b /dev/nvme0n1 ] && echo yes)"
labio write /dev/nvme0n1 2097152 65536 > /dev/null
emit mod_io_after $?
next_report
emit mod_report "$(last_report)"
emit mod_trace_all "$(trace_swiotlb_sum "$nvme")"
emit mod_virtio_ring_module "$([ -e /sys/module/virtio_ring/refcnt ] && echo yes || echo no)"

# ---- hotplug of the virtio disk ---------------------------------------------
mark hotplug-virtio
labio write /dev/vda 2097152 65536 > /dev/null
emit hv_io_before $?
emit hv_trace_before "$(trace_swiotlb_sum "$vda")"
echo 1 > "/sys/bus/pci/devices/$vda/remove"
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit hv_remove_exit $?
emit hv_gone "$([ -e "/sys/bus/pci/devices/$vda" ] || [ -b /dev/vda ] || echo yes)"
next_report
emit hv_report_gone "$(last_report)"
echo 1 > /sys/bus/pci/rescan
replugged hv vda "$vda"

# ---- a virtio disk plugged and unplugged by QEMU's monitor ------------------
# run-guest.sh -n carries out "host plug-virtio" (device_add of a bouncing
# virtio disk into an empty root port) and "host unplug-virtio".
mark hotplug-virtio-qemu
echo "host plug-virtio" >&3
wait_until 60 test -b /dev/vdb
hot=$(dma_dev_of vdb)
emit hx_pci "$hot"
emit hx_virtio "$(basename "$(readlink -f /sys/block/vdb/device)")"
labio write /dev/vdb 2097152 65536 > /dev/null
emit hx_io_before $?
emit hx_trace_before "$(trace_swiotlb_sum "$hot")"
echo "host unplug-virtio" >&3
wait_until 60 test ! -e "/sys/bus/pci/devices/$hot"
emit hx_gone "$([ -e "/sys/bus/pci/devices/$hot" ] || [ -b /dev/vdb ] || echo yes)"
next_report
emit hx_report_gone "$(last_report)"
echo "host plug-virtio" >&3
replugged hx vdb "$hot"
emit hx_virtio_after "$(basename "$(readlink -f /sys/block/vdb/device)")"

# ---- clock ----------------------------------------------------------------
mark clock
before=$(date +%s)
labio write /dev/vda 2097152 65536 > /dev/null &
io=$!
date -s "@$((before - 3600))" > /dev/null
emit clock_back_exit $?
sleep 3
date -s "@$((before + 7200))" > /dev/null
emit clock_fwd_exit $?
wait $io
sleep 3
emit clock_wall_now "$(date +%s)"
emit clock_textfile_ts "$(sed -n 's/^dmawatch_last_collection_timestamp_seconds //p' /tmp/tf/dmawatch.prom)"
date -s "@$((before + 6))" > /dev/null
next_report
emit clock_exporter_running "$(running "$exporter" && echo yes)"
emit clock_top_running "$(running "$top" && echo yes)"
emit clock_watcher_running "$(running "$watcher" && echo yes)"

# The first phases' readers end here.
trace_swiotlb_stop
kill -TERM "$watcher" "$exporter" "$top"
wait "$watcher"
emit watcher_exit $?
wait "$exporter"
emit exporter_exit $?
wait "$top"
emit top_exit $?
emit watcher_err "$(head -c 300 /tmp/w.err)"
emit exporter_err "$(head -c 300 /tmp/e.err)"
emit top_err "$(head -c 300 /tmp/top.err)"
emit final_report "$(last_report)"
# The exporter's last file: one series per name (a removed device's counts
# added to its namesake's), summed over the directions.
prom_maps() { # file device
	awk -v d="device=\"$2\"" 'index($0, "dmawatch_bounce_mappings_total{") == 1 && index($0, d) { s += $2 }
		END { print s + 0 }' "$1"
}
emit exporter_final_vda_maps "$(prom_maps /tmp/tf/dmawatch.prom "$vda")"
emit exporter_final_nvme_maps "$(prom_maps /tmp/tf/dmawatch.prom "$nvme")"
emit exporter_final_up "$(sed -n 's/^dmawatch_up //p' /tmp/tf/dmawatch.prom)"
# Every frame of dmatop and every report of the watcher: rates and
# timestamps as the clock went back and forth.
emit top_frames "$(grep -c '"devices"' /tmp/top.json)"
# Every rate and interval dmatop and the watcher printed: "MIN MAX".
range_of() { # key files...
	_k=$1
	shift
	cat "$@" | grep -o "\"$_k\":[-0-9.e+]*" | sed 's/.*://' |
		awk 'NR == 1 { lo = $1; hi = $1 } $1 < lo { lo = $1 } $1 > hi { hi = $1 }
			END { printf "%s %s\n", lo + 0, hi + 0 }'
}
emit top_interval_range "$(range_of interval_s /tmp/top.json)"
emit watcher_interval_range "$(range_of interval_s /tmp/w.json)"
emit rate_range "$(cat /tmp/top.json /tmp/w.json | grep -o '"[a-z_]*_per_s":[-0-9.e+]*' | sed 's/.*://' |
	awk 'NR == 1 { lo = $1; hi = $1 } $1 < lo { lo = $1 } $1 > hi { hi = $1 } END { printf "%s %s\n", lo + 0, hi + 0 }')"
emit progs_after_readers "$(bpf_progs_settled)"

# ---- tracers ----------------------------------------------------------------
trace_swiotlb_start
echo 'p:dmawlab swiotlb_map' >> $tracing/kprobe_events
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit tr_kprobe_added $?
echo 1 > $tracing/events/kprobes/dmawlab/enable
echo swiotlb_map > $tracing/set_ftrace_filter
echo function > $tracing/current_tracer
emit tr_function_tracer "$(cat $tracing/current_tracer)"
spawn /tmp/floor.out /tmp/floor.err labfloor fentry
floor=$spawned
wait_for /tmp/floor.out '^attached' 120 "$floor"
emit tr_floor_attached $?
spawn /tmp/w2.json /tmp/w2.err dmawatch stat --json 1
w2=$spawned
spawn /tmp/e2.out /tmp/e2.err dmawatch export --listen 127.0.0.1:9917 --interval 1
e2=$spawned
wait_for /tmp/w2.json '"devices"' 180 "$w2"
emit tr_watcher_attached $?
i=0
until wget -q -O /tmp/e2.scrape http://127.0.0.1:9917/metrics 2> /dev/null || [ $i -ge 1800 ] || ! running "$e2"; do
	sleep 0.1
	i=$((i + 1))
done
emit tr_exporter2_up "$(grep -c '^dmawatch_up 1' /tmp/e2.scrape 2> /dev/null)"
mark tracers-both
labio write /dev/vda 4194304 65536 > /dev/null
emit tr_io1 $?
sleep 2
wget -q -O /tmp/e2.scrape http://127.0.0.1:9917/metrics
emit tr_exporter2_vda_maps "$(prom_maps /tmp/e2.scrape "$vda")"
kill -TERM "$w2"
wait "$w2"
emit tr_watcher_exit $?
emit tr_watcher_report "$(grep '"devices"' /tmp/w2.json | tail -n 1)"
emit tr_watcher_err "$(head -c 300 /tmp/w2.err)"
mark tracers-after
labio write /dev/vda 2097152 65536 > /dev/null
emit tr_io2 $?
kill -TERM "$floor"
wait "$floor"
emit tr_floor_exit $?
emit tr_floor_hits "$(sed -n 's/^hits //p' /tmp/floor.out)"
kill -TERM "$e2"
wait "$e2"
emit tr_exporter2_exit $?
echo 0 > $tracing/events/kprobes/dmawlab/enable
emit tr_kprobe_hits "$(awk '$1 == "dmawlab" { print $2 }' $tracing/kprobe_profile)"
trace_swiotlb_stop
# Read before the tracer goes back to nop, which empties the buffer.
cat $tracing/trace > /tmp/trace.txt
echo nop > $tracing/current_tracer
# Per window: bounces (one event per swiotlb_map), kprobe hits and
# function-tracer lines.
awk '/dmawatch-lab phase tracers-both/ { w = 1 } /dmawatch-lab phase tracers-after/ { w = 2 }
	w && /swiotlb_bounced:/ { b[w]++ } w && / dmawlab: / { k[w]++ } w && /swiotlb_map <-/ { f[w]++ }
	END { printf "tr_window1 %d %d %d\ntr_window2 %d %d %d\n", b[1], k[1], f[1], b[2], k[2], f[2] }' /tmp/trace.txt >&3
emit tr_trace_vda_both "$(sed -n '/dmawatch-lab phase tracers-both/,/dmawatch-lab phase tracers-after/p' /tmp/trace.txt |
	grep -cE "swiotlb_bounced: dev_name(: |=)$vda ")"
emit tr_trace_lines "$(wc -l < /tmp/trace.txt)"
echo '-:dmawlab' >> $tracing/kprobe_events
echo > $tracing/set_ftrace_filter
emit progs_after_tracers "$(bpf_progs_settled)"

# ---- memory -----------------------------------------------------------------
mkdir -p /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup 2> /dev/null
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/dmaw
emit mem_cgroup "$([ -e /sys/fs/cgroup/dmaw/memory.max ] && echo yes)"
# What one start costs, unlimited: a fresh cgroup's peak (memory.peak,
# where the kernel has it), dmawatch's own (VmHWM) and the kernel's BTF.
mkdir /sys/fs/cgroup/dmawfree
sh -c 'echo $$ > /sys/fs/cgroup/dmawfree/cgroup.procs; exec dmawatch stat --json 1' > /tmp/m.out 2> /tmp/m.err &
free=$!
wait_for /tmp/m.out '"devices"' 180 "$free"
emit mem_free_attached $?
emit mem_free_hwm_kb "$(awk '$1 == "VmHWM:" { print $2 }' /proc/$free/status)"
emit mem_free_current "$(cat /sys/fs/cgroup/dmawfree/memory.current)"
emit mem_free_stat "$(grep -E '^(anon|file|kernel|percpu|slab|vmalloc) ' /sys/fs/cgroup/dmawfree/memory.stat | tr '\n' ' ')"
kill -TERM "$free"
wait "$free"
emit mem_free_exit $?
emit mem_free_peak "$(cat /sys/fs/cgroup/dmawfree/memory.peak 2> /dev/null)"
emit mem_btf_bytes "$(wc -c < /sys/kernel/btf/vmlinux)"
# dmawatch stat for one report in the cgroup at memory.max = $1 MiB.
in_cgroup() { # mib out err
	echo $(($1 << 20)) > /sys/fs/cgroup/dmaw/memory.max
	sh -c 'echo $$ > /sys/fs/cgroup/dmaw/cgroup.procs; exec dmawatch stat --json 1 1' > "$2" 2> "$3"
}
smallest=
for mib in 8 10 12 14 16 18 20 24 28 32 40 48; do
	kills=$(sed -n 's/^oom_kill //p' /sys/fs/cgroup/dmaw/memory.events)
	in_cgroup $mib /tmp/m.out /tmp/m.err
	rc=$?
	emit "mem_${mib}_exit" $rc
	emit "mem_${mib}_err" "$(head -c 300 /tmp/m.err)"
	emit "mem_${mib}_oom_kills" $(($(sed -n 's/^oom_kill //p' /sys/fs/cgroup/dmaw/memory.events) - kills))
	if [ $rc -eq 0 ] && grep -q '"devices"' /tmp/m.out; then
		smallest=$mib
		break
	fi
	emit "mem_${mib}_progs_left" "$(bpf_progs_settled)"
done
emit mem_smallest "$smallest"
# An OOM kill: attached at twice the smallest, then the limit drops below
# what the maps hold (kernel memory no reclaim can free).
echo $((${smallest:-64} * 2 << 20)) > /sys/fs/cgroup/dmaw/memory.max
oom_before=$(sed -n 's/^oom_kill //p' /sys/fs/cgroup/dmaw/memory.events)
sh -c 'echo $$ > /sys/fs/cgroup/dmaw/cgroup.procs; exec dmawatch stat --json 1' > /tmp/o.out 2> /tmp/o.err &
oomed=$!
wait_for /tmp/o.out '"devices"' 180 "$oomed"
emit oom_attached $?
emit oom_progs_attached "$(bpf_progs)"
echo $((1 << 20)) > /sys/fs/cgroup/dmaw/memory.max
labio write /dev/vda 1048576 65536 > /dev/null
i=0
while running $oomed && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
wait $oomed
emit oom_exit $?
emit oom_kills "$(($(sed -n 's/^oom_kill //p' /sys/fs/cgroup/dmaw/memory.events) - oom_before))"
emit oom_progs_left "$(bpf_progs_settled)"

# ---- module holds (where virtio_ring is a module) ---------------------------
if [ -e /sys/module/virtio_ring/refcnt ]; then
	emit vr_refcnt_idle "$(cat /sys/module/virtio_ring/refcnt)"
	spawn /tmp/h.json /tmp/h.err dmawatch stat --json 1
	held=$spawned
	wait_for /tmp/h.json '"devices"' 180 "$held"
	emit vr_attached $?
	emit vr_refcnt_attached "$(cat /sys/module/virtio_ring/refcnt)"
	dmawatch probe > /tmp/probe.txt 2>&1
	emit vr_probe_line "$(grep -m1 'virtio_ring' /tmp/probe.txt)"
	kill -TERM "$held"
	wait "$held"
	emit vr_progs_left "$(bpf_progs_settled)"
	emit vr_refcnt_after "$(cat /sys/module/virtio_ring/refcnt)"
fi
