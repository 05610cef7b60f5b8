#!/bin/sh
# Host test of the guest console check (tap.sh: expect_clean_console): the
# crash lines the lab has seen must fail a scenario, a clean boot must not.
# Prints TAP about the check's own verdicts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

verdict() { # console text: prints the check's first word (ok / not)
	printf '%s\r\n' "$1" > "$dir/console.log"
	tap_prefix=
	expect_clean_console "$dir/console.log" | head -n 1 | cut -d' ' -f1
}
clean='[    3.1] virtio_blk virtio0: [vda] 524288 512-byte logical blocks
[    5.4] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 262144 bytes), total 512 (slots), used 385 (slots)
[   37.1] reboot: Power down'
tap_prefix="console: "
expect_eq "a clean boot passes" "$(verdict "$clean")" ok
for line in \
	'[    2.7] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI' \
	'[    2.7] Kernel panic - not syncing: Fatal exception in interrupt' \
	'[    9.0] BUG: kernel NULL pointer dereference, address: 0000000000000008' \
	'[   30.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:' \
	'[   30.0] rcu: INFO: rcu_sched self-detected stall on CPU' \
	'[   40.0] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [dd:90]' \
	'[   12.0] WARNING: CPU: 0 PID: 1 at kernel/dma/swiotlb.c:1234 swiotlb_map+0x1/0x2' \
	'[   12.0] general protection fault, probably for non-canonical address 0xdead: 0000 [#1]'; do
	tap_prefix="console: "
	expect_eq "fails on: ${line#*] }" "$(verdict "$clean
$line")" not
done
# shellcheck disable=SC2034 # tap_prefix: read by tap.sh's pass and fail
tap_prefix="console: "
: > "$dir/console.log"
expect_eq "an empty console log fails" "$(expect_clean_console "$dir/console.log" | head -n 1 | cut -d' ' -f1)" not
