#!/bin/sh
# dmatop in batch mode. Booted with swiotlb=512,force:
# a workload of 128 KiB O_DIRECT requests (66 slots each) fits the 512-slot
# pool, so the first part is an ordinary busy disk:
#   1. text frames (dmatop -b) during the workload: the disk's row, its
#      rates, the header; and dmatop's CPU time over the run;
#   2. JSON frames (dmatop -b --json) during the same workload: bytes
#      against what the workload moved;
#   3. a 1 MiB write from a hugetlb buffer (514 slots: can never fit, see
#      vq-never-fit.sh): the disk's NOFIT count and the never-fit event.
# Workloads run only while dmatop is attached, never while it attaches or
# detaches (see part 3).
# shellcheck disable=SC2154 # swiotlb_dir: set by lib.sh
. /lab/lib.sh
# The initramfs carries one binary; dmatop is its other name (argv[0]).
command -v dmatop > /dev/null || ln -s dmawatch /usr/bin/dmatop

# Waits until FILE has COUNT lines matching PATTERN; false after SECONDS.
wait_count() { # file pattern count seconds
	i=0
	while [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
		[ $i -ge $(($4 * 10)) ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# utime + stime of a process, in clock ticks (fields 14 and 15; comm has
# no spaces here).
cpu_ticks() { # pid
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# The known workload: 8 MiB written and 8 MiB read in 128 KiB blocks.
workload() { # prefix
	labio write /dev/vda 8388608 131072 > "/tmp/$1.w" 2>&1
	emit "${1}_write_exit" $?
	labio read /dev/vda 8388608 131072 > "/tmp/$1.r" 2>&1
	emit "${1}_read_exit" $?
	emit "${1}_write_bytes" "$(sed -n 's/^bytes //p' "/tmp/$1.w")"
	emit "${1}_read_bytes" "$(sed -n 's/^bytes //p' "/tmp/$1.r")"
}

dev=$(dma_dev_of vda)
emit vda_dma_dev "$dev"
emit nslabs "$(cat "$swiotlb_dir/io_tlb_nslabs")"
emit hz "$(getconf CLK_TCK 2>/dev/null || echo 100)"

# ---- 1. text frames ---------------------------------------------------------
t0=$(now_cs)
dmatop -D -b -d 1 > /tmp/top.txt 2> /tmp/top.err &
pid=$!
# The first frame comes one interval after the probes are attached.
wait_for /tmp/top.txt '^DEVICE' 120
emit text_attached $?
emit text_first_frame_cs $(($(now_cs) - t0))
ticks0=$(cpu_ticks $pid)
c0=$(now_cs)
workload text
# Two more frames after the workload, then an idle stretch: together the
# window CPU time is measured over (30 s at a 1 s refresh).
frames=$(grep -c '^DEVICE' /tmp/top.txt)
wait_count /tmp/top.txt '^DEVICE' $((frames + 2)) 10
while [ $(($(now_cs) - c0)) -lt 3000 ]; do sleep 0.5; done
emit text_cpu_ticks $(($(cpu_ticks $pid) - ticks0))
emit text_cpu_window_cs $(($(now_cs) - c0))
emit text_rss_kb "$(awk '$1 == "VmRSS:" { print $2 }' /proc/$pid/status)"
kill -TERM $pid
wait $pid
emit text_exit $?
emit text_stderr "$(head -c 300 /tmp/top.err)"
emit text_frames "$(grep -c '^DEVICE' /tmp/top.txt)"
# The disk's busiest row (MAPS/s, the 5th field, is a plain number below
# 100000), and the header of the frame it is in.
row=$(awk -v d="$dev" '$1 == d && $5 + 0 > best { best = $5 + 0; row = $0 } END { print row }' \
	/tmp/top.txt)
emit text_row "$row"
emit text_table_header "$(grep -m 1 '^DEVICE' /tmp/top.txt)"
emit text_kernel_line "$(grep -m 1 '^dmatop ' /tmp/top.txt)"
emit text_pool_line "$(grep -m 1 '^Pool ' /tmp/top.txt)"
emit text_free_line "$(grep -m 1 '^Free ' /tmp/top.txt)"
emit text_total_line "$(grep '^Total ' /tmp/top.txt | sort -t' ' -k3 | tail -n 1)"
emit text_labio_rows "$(grep -c ' labio ' /tmp/top.txt)"

# ---- 2. JSON frames ---------------------------------------------------------
dmatop -b --json -d 1 > /tmp/top.json 2> /tmp/top.jerr &
pid=$!
wait_for /tmp/top.json '"devices"' 120
emit json_attached $?
workload json
frames=$(wc -l < /tmp/top.json)
wait_count /tmp/top.json '"devices"' $((frames + 1)) 10
kill -TERM $pid
wait $pid
emit json_exit $?
emit json_stderr "$(head -c 300 /tmp/top.jerr)"
emit json_frames "$(wc -l < /tmp/top.json)"
emit json_final "$(tail -n 1 /tmp/top.json)"
# Highest per-interval rates the disk showed, from every frame: the
# "rates" object that follows the disk's "device" key.
disk_rates() { # field
	awk -v d="\"device\":\"$dev\"" '{
		i = index($0, d); if (!i) next
		s = substr($0, i); j = index(s, "\"rates\":{"); if (!j) next
		s = substr(s, j + 9); print substr(s, 1, index(s, "}") - 1)
	}' /tmp/top.json | sed -n "s/.*\"$1\":\([0-9.e+]*\).*/\1/p" |
		awk 'BEGIN { m = -1 } $1 + 0 > m { m = $1 + 0 } END { printf "%.0f\n", m }'
}
emit json_max_maps_per_s "$(disk_rates maps_per_s)"
emit json_max_to_device_Bps "$(disk_rates to_device_bytes_per_s)"
emit json_max_from_device_Bps "$(disk_rates from_device_bytes_per_s)"
emit json_first_interval "$(head -n 1 /tmp/top.json | sed -n 's/.*"interval_s":\([0-9.e+]*\).*/\1/p')"
# JITed programs show in kallsyms while loaded: none may outlive dmatop.
emit bpf_syms_after "$(bpf_progs)"

# ---- 3. a request that can never fit ----------------------------------------
dmatop -b -d 1 > /tmp/nf.txt 2> /tmp/nf.err &
pid=$!
wait_for /tmp/nf.txt '^DEVICE' 120
emit nf_attached $?
echo 4 > /proc/sys/vm/nr_hugepages
labio write /dev/vda 1048576 1048576 hugetlb > /tmp/nf.w 2>&1 &
wpid=$!
t0=$(now_cs)
# Seen on the disk's row (NOFIT, the 10th field) and as an event.
detect=none
while [ $(($(now_cs) - t0)) -lt 3000 ]; do
	if grep -q " never-fit  *$dev " /tmp/nf.txt &&
		awk -v d="$dev" '$1 == d && $10 + 0 > 0 { f = 1 } END { exit !f }' /tmp/nf.txt; then
		detect=$((($(now_cs) - t0) / 100))
		break
	fi
	sleep 0.2
done
emit nf_detect_s "$detect"
frames=$(grep -c '^DEVICE' /tmp/nf.txt)
wait_count /tmp/nf.txt '^DEVICE' $((frames + 1)) 10
# dmatop stays attached until the power goes: detaching unpatches
# dma_map_page_attrs while virtio-blk retries the request through it every
# few milliseconds, and under TCG a vCPU can then trap on the int3 that
# text_poke_bp leaves in passing ("Oops: int3"), which no real CPU does.
# Parts 1 and 2 checked the exit.
emit nf_running "$(running $pid && echo yes || echo no)"
emit nf_writer_state "$(awk '{ print $3 }' /proc/$wpid/stat 2>/dev/null || echo gone)"
emit nf_row "$(grep "^$dev " /tmp/nf.txt | tail -n 1)"
emit nf_event "$(grep -m 1 " never-fit  *$dev " /tmp/nf.txt)"
emit nf_events_line "$(grep '^EVENTS ' /tmp/nf.txt | tail -n 1)"
