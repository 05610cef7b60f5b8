#!/bin/sh
# run-scenarios.sh BUILD KERNEL...
#
# Boots one guest per (kernel, scenario), then checks what the guest's
# kernel reported (checks/SCENARIO.sh) and prints TAP. Guests run one at a
# time: TCG on 2 cores has no room for two. Each boot's console log and
# results stay in BUILD/lab/KERNEL/runs/SCENARIO/ for a post-mortem.
# SCENARIOS="NAME..." runs only those (top-keys is the tmux-driven one);
# without it, every scenario but those run only when named (named_only).
set -u
build=${1:?usage: run-scenarios.sh BUILD KERNEL...}
shift
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"

# name         swiotlb=      time limit (s)  run-guest options
scenarios="
baseline       force         150             -
pool-small     512,force     120             -
over-limit     force         150             -
observe        force         420             -
pool-frag      force         150             -
vq-never-fit   512,force     180             -
requeue        512,force     180             -
export         force         240             -
top-batch      512,force     240             -
diagnose       4096,force    150             -b
hostile        force         480             -
enforce        512,force     240             -
pool-grow      512,force     240             -
limits         force         180             -n
faults         force         600             -n
"

# Run only when SCENARIOS names them: pool-grow needs a kernel whose pool
# grows (the lab's own 6.12-dyn; make test names it in DYN_SCENARIOS).
named_only=" pool-grow "

selected() { # name
	if [ -z "${SCENARIOS:-}" ]; then
		case "$named_only" in *" $1 "*) return 1 ;; esac
		return 0
	fi
	case " $SCENARIOS " in *" $1 "*) ;; *) return 1 ;; esac
}

for kernel in "$@"; do
	env=$build/lab/$kernel/kernel.env
	initrd=$build/lab/$kernel/initramfs.gz
	echo "$scenarios" | while read -r name pool limit opts; do
		[ -n "$name" ] || continue
		selected "$name" || continue
		out=$build/lab/$kernel/runs/$name
		rm -rf "$out"
		# shellcheck disable=SC2034 # tap_prefix: read by tap.sh's pass and fail
		tap_prefix="$kernel $name: "
		# The options by printf, not echo: echo takes -n for its own.
		# shellcheck disable=SC2086,SC2046 # the options are words
		"$here/run-guest.sh" -s "$name" -p "$pool" -t "$limit" -o "$out" \
			$([ "$opts" = - ] || printf %s "$opts") "$env" "$initrd"
		status=$(cat "$out/status")
		echo "# $kernel $name: guest $status after $(cat "$out/seconds") s"
		expect_eq "guest ran the scenario and powered off" "$status" ok
		expect_clean_console "$out/console.log"
		results "$out/results"
		expect_eq "scenario script exited 0" "$(r scenario_exit)" 0
		# shellcheck source=/dev/null # checks/NAME.sh: linted on its own
		. "$here/checks/$name.sh"
	done
done

# Where the time went: seconds per guest boot, kernel by kernel.
printf '# %-14s' "boot seconds"
for kernel in "$@"; do printf ' %6s' "$kernel"; done
echo
echo "$scenarios" | while read -r name pool limit opts; do
	[ -n "$name" ] && selected "$name" || continue
	printf '# %-14s' "$name"
	for kernel in "$@"; do
		printf ' %6s' "$(cat "$build/lab/$kernel/runs/$name/seconds" 2> /dev/null || echo -)"
	done
	echo
done

# The live view through the guest's serial console, driven under tmux.
# (An if, not &&: a run without it must not end with a failing status.)
if selected top-keys; then
	for kernel in "$@"; do
		"$here/top-keys.sh" "$build/lab/$kernel/kernel.env" "$build/lab/$kernel/initramfs.gz" "$kernel"
	done
fi
