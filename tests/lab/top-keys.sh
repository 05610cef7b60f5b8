#!/bin/sh
# top-keys.sh KERNEL_ENV INITRAMFS [LABEL]
#
# dmatop, the interactive view, driven for real: boots a lab
# guest (make lab's shell) with its serial console in a detached 80x24 tmux
# pane, types /lab/top-keys.sh at the prompt and drives dmatop with
# send-keys, asserting on capture-pane after every key. The guest script
# (guest/top-keys.sh) runs the traffic and reports exit statuses, terminal
# state and leftover BPF programs on the console ("@@ KEY VALUE"), which the
# pane's log keeps. Prints TAP; exits non-zero when a check failed.
# Everything runs under a hard time limit (TOP_KEYS_LIMIT, default 420 s);
# tmux and QEMU are killed on every way out. TOP_KEYS_KEEP=DIR keeps the
# console log and the captured screens.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
kernel_env=${1:?usage: top-keys.sh KERNEL_ENV INITRAMFS [LABEL]}
initrd=${2:?usage: top-keys.sh KERNEL_ENV INITRAMFS [LABEL]}
label=${3:-$(basename "$(dirname "$kernel_env")")}
limit=${TOP_KEYS_LIMIT:-420}
tap_prefix="$label top-keys: "
# tap.sh's fail, counted for the exit status.
failed=0
fail() { failed=$((failed + 1)); echo "not ok - $tap_prefix$1"; shift; [ $# -gt 0 ] && echo "#   $*"; return 0; }

command -v tmux > /dev/null || {
	fail "tmux installed" "tmux missing: run 'make deps'"
	exit 1
}

work=$(mktemp -d)
started=$(date +%s)
sock=dmatop-keys-$$
qemu_pid='' watchdog='' socket=''
tm() { tmux -L "$sock" "$@"; }
cleanup() {
	rc=$?
	[ -n "$watchdog" ] && kill "$watchdog" 2> /dev/null
	[ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2> /dev/null
	tm kill-server 2> /dev/null
	[ -n "$socket" ] && rm -f "$socket"
	if [ -n "${TOP_KEYS_KEEP:-}" ]; then
		mkdir -p "$TOP_KEYS_KEEP" && cp "$work"/* "$TOP_KEYS_KEEP"/ 2> /dev/null
	fi
	rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The pane runs run-guest.sh in shell mode, which execs QEMU: the pane's
# process is QEMU.
: > "$work/console.log"
tm new-session -d -s keys -x 80 -y 24 \
	"exec '$here/run-guest.sh' -p force '$kernel_env' '$initrd'" || {
	fail "tmux session started"
	exit 1
}
tm set-option -t keys remain-on-exit on > /dev/null
tm pipe-pane -t keys -o "cat >> '$work/console.log'"
qemu_pid=$(tm display-message -p -t keys '#{pane_pid}')
socket=$(tm display-message -p -t keys '#{socket_path}')
(
	# In steps, so that no sleep outlives the test when it ends first.
	end=$(($(date +%s) + limit))
	while [ "$(date +%s)" -lt "$end" ]; do sleep 1; done
	echo "# ${tap_prefix}time limit of $limit s reached: killing the guest" >&2
	kill -9 "$qemu_pid" 2> /dev/null
	tmux -L "$sock" kill-server 2> /dev/null
) &
watchdog=$!

# Is QEMU still there? Every wait gives up at once when it is not (the
# watchdog killed it, or the guest died), so the limit bounds the test.
guest_up() { kill -0 "$qemu_pid" 2> /dev/null; }
screen() { guest_up && tm capture-pane -p -t keys > "$work/screen" 2> /dev/null; }
# The screen with attributes as escape sequences.
screen_sgr() { tm capture-pane -p -e -t keys 2> /dev/null; }
# Waits until the screen has a line matching an extended regex.
wait_screen() { # regex seconds
	end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt "$end" ]; do
		screen || return 1
		grep -Eq -- "$1" "$work/screen" && return 0
		sleep 0.3
	done
	return 1
}
# Until two captures 0.3 s apart agree (at most 10 s): a frame crossing the
# serial line is then not half-drawn (the view redraws once a second).
settled() {
	end=$(($(date +%s) + 10))
	screen || return 1
	while [ "$(date +%s)" -lt "$end" ]; do
		cp "$work/screen" "$work/screen.prev"
		sleep 0.3
		screen || return 1
		cmp -s "$work/screen" "$work/screen.prev" && return 0
	done
	return 0
}
# Waits until no line of the screen matches.
wait_screen_gone() { # regex seconds
	end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt "$end" ]; do
		screen || return 1
		grep -Eq -- "$1" "$work/screen" || return 0
		sleep 0.3
	done
	return 1
}
# The console log without carriage returns.
log() { tr -d '\r' < "$work/console.log"; }
wait_log() { # regex seconds
	end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt "$end" ]; do
		log | grep -Eq -- "$1" && return 0
		guest_up || return 1
		sleep 0.3
	done
	return 1
}
# A "@@ KEY VALUE" result of the guest script.
res() { log | sed -n "s/.*@@ $1 //p" | head -n 1; }
send() { tm send-keys -t keys "$@"; }
keep_screen() { cp "$work/screen" "$work/screen-$1.txt"; }
check() { # name command...: ok when the command succeeds, else the screen
	name=$1
	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name" "screen:"
		sed 's/^/#   | /' "$work/screen"
	fi
}
has() { grep -Eq -- "$1" "$work/screen"; }
hasnt() { ! grep -Eq -- "$1" "$work/screen"; }
# True when the screen contains colour escape sequences (SGR 30-47).
coloured() {
	esc=$(printf '\033')
	screen_sgr | grep -Eq "$esc\\[([0-9]*;)*(3[0-7]|4[0-7])(;[0-9]*)*m"
}
line() { sed -n "${1}p" "$work/screen"; }

# ---- boot to the lab shell, start the guest script
if ! wait_log "poweroff -f' to leave" 150; then
	fail "guest booted to the lab shell" "last console lines: $(log | tail -n 3 | tr '\n' '|')"
	exit 1
fi
pass "guest booted to the lab shell"
sleep 2
send -l "/lab/top-keys.sh"
send Enter

# ---- phase keys: TERM=screen
wait_log '@@ phase keys' 30
dev=$(res vda_dma_dev)
lab=dmawatch-lab
t0=$(date +%s)
check "live view drawn" wait_screen '^DEVICE .*TO/s\* +FROM/s\*' 150
echo "# ${tap_prefix}start to first screen: $(($(date +%s) - t0)) s (TCG)"
wait_screen "^$lab " 20
settled
keep_screen start
check "header: kernel, CC state, forced bouncing" \
	has '^dmatop [^ ]+ +CC: none +bounce: forced \(swiotlb=force\)'
check "header: pool gauge" has '^Pool +\[[#.|]{20}\] [0-9]+/[0-9]+ slots'
check "header: largest free run" has '^Free +largest run [0-9]+/128'
check "header: totals" has '^Total to-dev .* event drops [0-9]+'
check "the virtio disk's row" has "^$dev +virtio-pci +[0-9.]+[KMG]? +[0-9.]+[KMG]? +[0-9]+"
check "the test module's row" has "^$lab +[^ ]+ +[0-9.]+[KMG]? +[0-9.]+[KMG]? +[0-9]+"
check "lower pane: events and processes" has '^EVENTS .* PID PROCESS +B/s TOTAL'
check "status line shows the sort column" eval 'line 24 | grep -q "sort:TO+FROM"'
check "fits 80x24" eval '[ "$(wc -l < "$work/screen")" -eq 24 ] && [ "$(awk "length > 80" "$work/screen" | wc -l)" -eq 0 ]'
check "colours with TERM=screen" coloured
check "events pane: the module's 512 KiB mapping over the limit" \
	wait_screen "^[0-9:]{8} over-limit +$lab +512K>256K" 30

# While the traffic runs: the screen moves, and stops moving when paused
# (everything but the clock in the first line).
moving() { sed 1d "$work/screen"; }
screen
moving > "$work/running-1"
sleep 3.5
screen
moving > "$work/running-2"
check "the view refreshes while running" eval '! cmp -s "$work/running-1" "$work/running-2"'
send p
check "p: PAUSED shown" wait_screen 'PAUSED' 10
# The frame crosses an emulated serial line top to bottom: the header's
# PAUSED can be on the screen before the status line's. The frame is whole
# once the status line (drawn last) says PAUSED.
check "p: PAUSED in the status line" wait_screen 'sort:[^ ]+ PAUSED *$' 10
moving > "$work/paused-1"
sleep 3.5
screen
moving > "$work/paused-2"
keep_screen paused
check "p: the view stays still while paused" cmp -s "$work/paused-1" "$work/paused-2"
send p
check "p: resumed" wait_screen_gone 'PAUSED' 10

send s
check "s: sort by TO/s" wait_screen 'sort:TO/s( |$)' 10
check "s: marker on TO/s only" eval 'has "TO/s\\* +FROM/s " && hasnt "FROM/s\\*"'
send s
check "s: sort by FROM/s" wait_screen 'sort:FROM/s( |$)' 10
check "s: marker on FROM/s only" eval 'has "TO/s +FROM/s\\* " && hasnt "TO/s\\*"'
send S
check "S: back to TO/s" wait_screen 'sort:TO/s( |$)' 10
send S
send S
check "S: sort by DEVICE" wait_screen 'sort:DEVICE( |$)' 10
check "S: marker on DEVICE" has '^DEVICE\* '
line_of() { grep -n "^$1 " "$work/screen" | cut -d: -f1; }
check "S: rows in name order" eval '[ "$(line_of "$dev")" -lt "$(line_of "$lab")" ]'

# Selection, seen through the histogram of the selected device. The
# selection follows a device, not a line: k first puts it on the top row.
send k
send d
check "d: mapping-size histogram of the first row" wait_screen "^MAPPING SIZES +$dev " 10
keep_screen hist
# The histogram's rows come after its title over the serial line: wait
# for them, not just the title (7.3 once caught the title alone).
check "d: log2 buckets with stars" wait_screen '^ *[0-9]+ -> [0-9]+ +: [0-9]+ +\|\*+ *\|' 10
send j
check "j: selection moves to the next device" wait_screen "^MAPPING SIZES +$lab " 10
send k
check "k: and back" wait_screen "^MAPPING SIZES +$dev " 10
send d
check "d: back to the events" wait_screen '^EVENTS ' 10

send /
check "/: filter prompt" wait_screen '^Filter devices:' 10
send -l zzz
send Enter
check "filter applied" wait_screen 'filter:zzz' 10
check "filter hides every device" \
	eval 'has "no device matches the filter" && hasnt "^$dev " && hasnt "^$lab "'
send /
send C-u
send -l "$dev"
send Enter
check "filter on the disk's name" wait_screen "filter:$dev" 10
check "filter shows the disk only" eval 'wait_screen "^$dev " 5 && hasnt "^$lab "'
send /
send C-u
send Enter
check "empty filter shows all again" wait_screen "^$lab " 10

send h
check "h: help shown" wait_screen 'dmatop keys' 10
keep_screen help
check "h: help lists the keys" eval 'wait_screen "next / previous sort column" 10 && wait_screen "pause / resume" 10'
send x
check "any key closes the help" wait_screen_gone 'dmatop keys' 10

# dmatop detaches on q: only once the guest's traffic window has closed.
check "traffic over before quitting" wait_screen '^Total to-dev 0/s +from-dev 0/s +maps 0/s' 90
send q
check "q: dmatop exited" wait_log '@@ keys_exit ' 30
# The rest of the phase's results follow; stderr comes last.
wait_log '@@ keys_stderr' 10
check "q: the screen is restored" wait_screen_gone '^DEVICE ' 5
expect_eq "q: exit status 0" "$(res keys_exit)" 0
expect_eq "q: terminal settings restored" "$(res keys_stty)" same
expect_eq "q: no BPF program left" "$(res keys_bpf_after)" 0
expect_eq "q: no dmatop process left" "$(res keys_left)" 0
expect_eq "q: nothing on stderr" "$(res keys_stderr)" ""

# ---- phase intr: TERM=vt100, Ctrl-C
wait_log '@@ phase intr' 30
check "vt100: live view drawn" wait_screen '^DEVICE .*TO/s\*' 150
keep_screen vt100
check "vt100: no colours" eval '! coloured'
check "vt100: the sort marker is text" has 'TO/s\* +FROM/s\*'
send C-c
check "Ctrl-C: dmatop exited" wait_log '@@ intr_exit ' 30
# The rest of the phase's results follow; stderr comes last.
wait_log '@@ intr_stderr' 10
expect_eq "Ctrl-C: exit status 0" "$(res intr_exit)" 0
expect_eq "Ctrl-C: terminal settings restored" "$(res intr_stty)" same
expect_eq "Ctrl-C: no BPF program left" "$(res intr_bpf_after)" 0
expect_eq "Ctrl-C: no dmatop process left" "$(res intr_left)" 0

# ---- phase term: TERM=linux, resize, SIGTERM
wait_log '@@ phase term' 30
check "linux: live view drawn" wait_screen '^DEVICE .*TO/s\*' 150
# After stty rows 20 cols 70: the status line on row 20, nothing past 70.
resized() {
	screen &&
		sed -n 20p "$work/screen" | grep -q 'h help' &&
		[ "$(awk 'length > 70' "$work/screen" | wc -l)" -eq 0 ] &&
		grep -q '^DEVICE' "$work/screen"
}
wait_resized() {
	end=$(($(date +%s) + 90))
	while [ "$(date +%s)" -lt "$end" ]; do
		resized && return 0
		guest_up || return 1
		sleep 0.5
	done
	return 1
}
check "resize: redrawn for 70x20" wait_resized
keep_screen resized
check "SIGTERM: dmatop exited" wait_log '@@ term_exit ' 60
# The rest of the phase's results follow; stderr comes last.
wait_log '@@ term_stderr' 10
expect_eq "SIGTERM: exit status 0" "$(res term_exit)" 0
expect_eq "SIGTERM: terminal settings restored" "$(res term_stty)" same
expect_eq "SIGTERM: no BPF program left" "$(res term_bpf_after)" 0
expect_eq "SIGTERM: no dmatop process left" "$(res term_left)" 0
wait_log '@@ done 1' 30
ticks=$(res term_cpu_ticks)
window=$(res term_cpu_window_cs)
hz=$(res hz)
echo "# ${tap_prefix}dmatop -d 1 on the console: ${ticks:-?} ticks of ${hz:-?} Hz in ${window:-?} cs (TCG)"
# A guard against busy loops, not the < 1% goal: TCG runs the guest many
# times slower than a CPU would, and other guests on the host add noise.
expect_le "dmatop used under 5% of a CPU (TCG)" \
	"$((${ticks:-999} * 10000 / ${hz:-100} / ${window:-1}))" 5

check "guest script finished" wait_log '@@ done 1' 30
powered_off() { [ "$(tm display-message -p -t keys '#{pane_dead}' 2> /dev/null)" != 0 ]; }
wait_off() {
	end=$(($(date +%s) + 30))
	while [ "$(date +%s)" -lt "$end" ]; do
		powered_off && return 0
		sleep 0.5
	done
	return 1
}
check "guest powered off" wait_off
expect_clean_console "$work/console.log"
echo "# ${tap_prefix}guest took $(($(date +%s) - started)) s"
[ "$failed" -eq 0 ]
