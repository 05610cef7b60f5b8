#!/bin/sh
# Scenario: pool fragmentation (default pool, swiotlb=force). While
# `dmawatch stat --json 1` runs, the test module holds one 192 KiB mapping
# per 128-slot segment: 96 slots used in every segment, 32 free at its end,
# so a quarter of the pool is free yet no 256 KiB (128-slot) mapping fits.
# Each step is followed by a dmawatch report taken after it, and by what
# the kernel itself says (debugfs swiotlb/, map_single's result, dmesg).
# shellcheck disable=SC2154 # swiotlb_dir: set by lib.sh
. /lab/lib.sh
ctl=/sys/kernel/debug/dmawatch_lab
hold_size=196608 # 96 slots

reports() { grep -c '"pool"' /tmp/pool.json; }

# Emits, under KEY, the first report begun after the call: waits for two
# more (the one in progress may have scanned before the step), then the
# kernel's own count, read right after.
report() { # key
	want=$(($(reports) + 2))
	i=0
	while [ "$(reports)" -lt $want ] && [ $i -lt 300 ] && running $stat_pid; do
		sleep 0.1
		i=$((i + 1))
	done
	emit "$1" "$(grep '"pool"' /tmp/pool.json | tail -n 1)"
	emit "$1_used" "$(cat "$swiotlb_dir/io_tlb_used")"
}

# A field of the last report (no jq in the guest).
pool_field() { # field
	grep '"pool"' /tmp/pool.json | tail -n 1 | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

nslabs=$(cat "$swiotlb_dir/io_tlb_nslabs")
nseg=$((nslabs / 128))
emit nslabs "$nslabs"
emit segments "$nseg"

insmod /lab/dmawatch_lab.ko
emit insmod_exit $?

dmawatch -D stat --json 1 > /tmp/pool.json 2> /tmp/pool.err &
stat_pid=$!
wait_for /tmp/pool.json '"pool"' 60 $stat_pid
emit stat_attached $?

# Quiet: nothing maps; dmawatch's count against debugfs.
emit quiet_used_before "$(cat "$swiotlb_dir/io_tlb_used")"
report quiet

# Fragment: one 96-slot mapping per segment.
echo "$nseg $hold_size" > $ctl/hold
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit hold_exit $?
emit hold "$(cat $ctl/hold)"
report frag
# Is the kernel's own high-water mark live? (7.x keeps it only when booted
# with swiotlb=...,track_hiwater: then it can never be below io_tlb_used.)
[ -r "$swiotlb_dir/io_tlb_used_hiwater" ] &&
	emit frag_kernel_hiwater "$(cat "$swiotlb_dir/io_tlb_used_hiwater")"
emit frag_nslabs "$(cat "$swiotlb_dir/io_tlb_nslabs")"
# 256 KiB needs a whole free segment: refused although slots are free.
echo 262144 > $ctl/map_single
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit map_256k_exit $?
emit map_256k_used "$(cat "$swiotlb_dir/io_tlb_used")"
emit map_256k_line "$(dmesg | grep 'dmawatch-lab' | grep -F 'swiotlb buffer is full (sz: 262144 bytes)' | tail -n 1)"
# dmawatch's largest free run predicts the largest mapping that still fits.
run=$(pool_field largest_free_run)
emit frag_run "$run"
if [ -n "$run" ] && [ "$run" -gt 0 ]; then
	echo $((run * 2048)) > $ctl/map_single
	# shellcheck disable=SC2320 # $? of the echo: the write's own status
	emit map_run_exit $?
	echo $(((run + 1) * 2048)) > $ctl/map_single
	# shellcheck disable=SC2320 # $? of the echo: the write's own status
	emit map_run_plus_exit $?
fi

# Every other mapping released: half the segments wholly free again.
echo "release 2" > $ctl/hold
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit release_half_exit $?
report half

echo "release all" > $ctl/hold
# shellcheck disable=SC2320 # $? of the echo: the write's own status
emit release_all_exit $?
report released

# The kernel's high-water mark, where it keeps one (0600, root reads it).
if [ -r "$swiotlb_dir/io_tlb_used_hiwater" ]; then
	emit kernel_hiwater "$(cat "$swiotlb_dir/io_tlb_used_hiwater")"
else
	emit kernel_hiwater none
fi
kill -TERM $stat_pid
wait $stat_pid
emit stat_exit $?
emit stat_stderr "$(head -c 300 /tmp/pool.err)"
emit stat_final "$(grep '"pool"' /tmp/pool.json | tail -n 1)"
rmmod dmawatch_lab
