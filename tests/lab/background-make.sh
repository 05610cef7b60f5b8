#!/bin/sh
# background-make.sh start STATE MAKE-ARGS...
# background-make.sh wait STATE
#
# make test builds the lab's own kernels (6.12-fei, 6.12-dyn: minutes of CPU on a
# fresh machine) while the stock kernels' scenarios run: a lab guest keeps
# one core busy (single-threaded TCG), the build takes the other at nice
# 19. start runs make in the background, its output to STATE.log and its
# exit status to STATE.rc; wait waits for that status and prints it as
# one TAP line (with the log's tail when the build failed), exiting 1
# then, so that nothing is run on a kernel that is not there.
set -u
cmd=${1:?usage: background-make.sh start|wait STATE [MAKE-ARGS...]}
state=${2:?usage: background-make.sh start|wait STATE [MAKE-ARGS...]}
shift 2
case $cmd in
start)
	mkdir -p "$(dirname "$state")"
	rm -f "$state.rc" "$state.log"
	date +%s > "$state.start"
	(nice -n 19 make "$@" > "$state.log" 2>&1; echo $? > "$state.rc") < /dev/null &
	;;
wait)
	# A build that cannot have started is not waited for.
	[ -e "$state.start" ] || { echo "not ok - background build: never started ($state)"; exit 1; }
	waited=0
	while [ ! -s "$state.rc" ] && [ $waited -lt 3600 ]; do
		sleep 5
		waited=$((waited + 5))
	done
	rc=$(cat "$state.rc" 2>/dev/null || echo timeout)
	took=$(($(date +%s) - $(cat "$state.start")))
	if [ "$rc" = 0 ]; then
		echo "ok - background build: $(basename "$state") done ($took s after it started, waited $waited s here)"
		exit 0
	fi
	echo "not ok - background build: $(basename "$state") failed (status $rc); the end of $state.log:"
	tail -n 20 "$state.log" 2>/dev/null | sed 's/^/#   /'
	exit 1
	;;
*) echo "background-make.sh: start or wait, not '$cmd'" >&2; exit 2 ;;
esac
