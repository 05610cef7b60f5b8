#!/bin/sh
# dmatop, the interactive view: typed at the lab shell (make lab)
# by the host's tests/lab/top-keys.sh, which watches the serial console in a
# tmux pane and sends the keys. Runs dmatop on the console three times:
#   keys  TERM=screen (colours): the host checks the screen under traffic,
#         pauses, sorts, selects, opens the histogram, filters, opens the
#         help, then quits with q;
#   intr  TERM=vt100 (monochrome): the host quits with Ctrl-C;
#   term  TERM=linux, in the background: CPU time under traffic, a resize
#         to 70x20 (stty: SIGWINCH), then SIGTERM.
# After each, "@@ KEY VALUE" lines on the console: dmatop's exit status,
# whether the terminal's settings are the ones from before, how many BPF
# programs are left. Then the guest powers off.
#
# Traffic runs only while dmatop is attached, never while it attaches or
# detaches: under TCG a vCPU running a function whose fentry site is being
# patched can trap on the int3 text_poke_bp leaves there after the patch
# is done ("Oops: int3" at dma_map_page_attrs+0x5), which no real CPU does.
. /lab/lib.sh
command -v dmatop > /dev/null || ln -s dmawatch /usr/bin/dmatop

res() { printf '\n@@ %s %s\n' "$1" "$2"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# A trap, not an ignore: dmatop starts with default signal dispositions, and
# this script survives the Ctrl-C meant for dmatop.
trap 'interrupted=1' INT

# ---- traffic, switched by a flag file
ctl=/sys/kernel/debug/dmawatch_lab
# make lab's background load runs whenever it likes: end it, and its IO.
# shellcheck disable=SC2046 # every pid
kill $(pidof load.sh) 2> /dev/null
i=0
while pidof labio dd > /dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
# A second device for the table (selection, sorting by name, filtering):
# the test module's, with a 512 KiB dma_map_single over the SWIOTLB limit
# in each round for the events pane.
insmod /lab/dmawatch_lab.ko
(while :; do
	if [ -e /tmp/traffic ]; then
		labio write /dev/vda $((4 << 20)) 131072
		labio read /dev/vda $((4 << 20)) 65536
		labio write /dev/dmawlab0 $((4 << 20)) 262144
		labio read /dev/dmawlab0 $((4 << 20)) 65536
		echo 524288 > $ctl/map_single
	fi
	sleep 0.2
done) > /dev/null 2>&1 &
traffic_on() { touch /tmp/traffic; }
# Off, and no IO of it left in flight.
traffic_off() {
	rm -f /tmp/traffic
	i=0
	while pidof labio > /dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 0.5
}
# dmatop starts curses (the console leaves canonical mode) only once every
# probe is attached.
wait_attached() {
	i=0
	until stty -a < /dev/tty | grep -q -- '-icanon'; do
		[ $i -ge 1200 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

stty rows 24 cols 80
saved=$(stty -g)

after() { # phase exit-status
	res "${1}_exit" "$2"
	res "${1}_stty" "$([ "$(stty -g)" = "$saved" ] && echo same || echo changed)"
	res "${1}_bpf_after" "$(bpf_progs)"
	res "${1}_left" "$(pidof dmatop dmawatch | wc -w)"
	res "${1}_stderr" "$(grep -v 'attaching probes' "/tmp/$1.err" | head -c 200 | tr '\n' ' ')"
}

# Each phase clears the screen before its marker: the host looks for
# dmatop's screen only after the marker, so never at an old one.
clear
res vda_dma_dev "$(dma_dev_of vda)"
res bpf_before "$(bpf_progs)"
res phase keys
# The host checks what needs traffic in its first 30 s.
(wait_attached && sleep 1 && traffic_on && sleep 30 && traffic_off) &
window=$!
TERM=screen dmatop -d 1 2> /tmp/keys.err
rc=$?
kill $window 2> /dev/null
traffic_off
after keys $rc

clear
res phase intr
TERM=vt100 dmatop -d 1 2> /tmp/intr.err
after intr $?

clear
res phase term
# An asynchronous command's stdin is /dev/null unless redirected.
TERM=linux dmatop -d 1 < /dev/tty > /dev/tty 2> /tmp/term.err &
pid=$!
wait_attached
sleep 2
# dmatop's CPU time at a 1 s refresh, drawing on the console under traffic.
traffic_on
ticks0=$(cpu_ticks $pid)
c0=$(now_cs)
sleep 20
ticks=$(($(cpu_ticks $pid) - ticks0))
window=$(($(now_cs) - c0))
traffic_off
# The kernel sends SIGWINCH to the foreground process group, dmatop's.
stty rows 20 cols 70
sleep 8
kill -TERM $pid
wait $pid
rc=$?
stty rows 24 cols 80
after term $rc
res term_cpu_ticks "$ticks"
res term_cpu_window_cs "$window"
res hz "$(getconf CLK_TCK 2> /dev/null || echo 100)"
res 'done' 1
sync
poweroff -f
