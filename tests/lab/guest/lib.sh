# shellcheck shell=sh
# Shared helpers for the lab guest scripts (busybox sh).
#
# Results go to fd 3 (/dev/ttyS1 -> a file on the host) as "key value" lines;
# the host-side tests assert on them. Nothing here judges a result.

emit() { # key value...
	k=$1
	shift
	echo "$k $*" >&3
}

swiotlb_dir=/sys/kernel/debug/swiotlb
tracing=/sys/kernel/tracing

# The struct device the DMA API sees for a block device: for virtio-pci that
# is the PCI function (virtio_ring maps with vdev->dev.parent), which is the
# name in swiotlb_bounced events and in "swiotlb buffer is full" lines.
dma_dev_of() { # blockdev-name
	d=$(readlink -f "/sys/block/$1/device")
	case "$(basename "$d")" in
	virtio*) d=$(dirname "$d") ;;
	esac
	basename "$d"
}

trace_swiotlb_start() {
	echo 0 > $tracing/tracing_on
	echo > $tracing/trace
	echo 8192 > $tracing/buffer_size_kb
	echo 1 > $tracing/events/swiotlb/swiotlb_bounced/enable
	echo 1 > $tracing/tracing_on
}

trace_swiotlb_stop() {
	echo 0 > $tracing/tracing_on
	echo 0 > $tracing/events/swiotlb/swiotlb_bounced/enable
}

# "EVENTS BYTES LARGEST HIST" of the swiotlb_bounced lines in the trace
# buffer for one device: HIST the sizes' log2 buckets as dmawatch keeps
# them (floor(log2(size)), 0 for 0), "bucket:count,...".
trace_swiotlb_sum() { # dev_name
	grep -E "swiotlb_bounced: dev_name(: |=)$1 " $tracing/trace |
		sed -n 's/.* size=\([0-9]*\).*/\1/p' |
		awk '{ n++; b += $1; if ($1 > m) m = $1
			k = 0
			for (p = 2; p <= $1; p *= 2) k++
			h[k]++ }
		END { printf "%d %d %d ", n, b, m
			for (k = 0; k < 64; k++) if (h[k]) { printf "%s%d:%d", s, k, h[k]; s = "," }
			printf "\n" }'
}

# CMD in the background, stdout to OUT and stderr to ERR; its pid in
# $spawned. Both files are emptied here, before the fork: the child's own
# redirection truncates them only once it runs, and a caller polling them
# at once can find the last run's "attached" first (seen: observe's kprobe
# windows that never attached; enforce counting none of the lab disk's bios
# because the IO ran before the enforcer had attached).
spawn() { # out err cmd...
	: > "$1"
	: > "$2"
	_spawn_out=$1 _spawn_err=$2
	shift 2
	"$@" > "$_spawn_out" 2> "$_spawn_err" &
	# shellcheck disable=SC2034 # spawned: read by the caller
	spawned=$!
}

# Until FILE has a line matching PATTERN, SECONDS at most, or until PID (if
# given) has ended; fails if the line never came.
wait_for() { # file pattern seconds [pid]
	_wait=0
	until grep -q -e "$2" "$1" 2> /dev/null; do
		[ $_wait -lt $(($3 * 10)) ] || return 1
		[ -z "$4" ] || running "$4" || { grep -q -e "$2" "$1" 2> /dev/null; return; }
		sleep 0.1
		_wait=$((_wait + 1))
	done
}

# Is a child still running? (kill -0 also succeeds on an unreaped zombie.)
running() { # pid
	[ -r "/proc/$1/stat" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat")" != Z ]
}

# Is a process stopped (SIGSTOP, state T)?
stopped() { # pid
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null)" = T ]
}

# BPF programs the kernel holds: kallsyms lists each JIT-ed one as
# bpf_prog_TAG_NAME [bpf]; a link cannot outlive its program.
bpf_progs() { grep -c 'bpf_prog_.*\[bpf\]' /proc/kallsyms; }
# The same once freeing has had its chance: programs go after an RCU grace
# period and a workqueue, so wait up to 10 s for the count to reach 0.
bpf_progs_settled() {
	i=0
	while [ "$(bpf_progs)" -gt 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	bpf_progs
}

# Highest io_tlb_used seen while a PID runs (6.1 has no io_tlb_used_hiwater),
# read without a fork between reads (labio peak).
sample_used_while() { # pid
	labio peak $swiotlb_dir/io_tlb_used "$1"
}

dmesg_count() { # fixed string
	dmesg | grep -cF "$1"
}

# Uptime in hundredths of a second.
now_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
