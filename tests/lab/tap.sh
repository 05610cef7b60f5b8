# shellcheck shell=sh
# TAP assertions for the host side of the lab scenarios (sourced).
# Each check prints "ok - NAME" or "not ok - NAME" with the values it saw,
# so a failure names what the kernel reported.
#
# results FILE: the guest's "key value" lines; r KEY prints one value.

# shellcheck disable=SC2154 # tap_prefix and build: set by the sourcing script
tap_results=
results() { tap_results=$1; }
# The guest's serial port turns \n into \r\n.
r() { tr -d '\r' < "$tap_results" | sed -n "s/^$1 //p" | head -n 1; }

pass() { echo "ok - $tap_prefix$1"; }
fail() { echo "not ok - $tap_prefix$1"; shift; [ $# -gt 0 ] && echo "#   $*"; return 0; }

is_int() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac }

expect_eq() { # name actual expected
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected '$3'"; fi
}
expect_ne() { # name actual unexpected
	if [ "$2" != "$3" ]; then pass "$1"; else fail "$1" "got '$2'"; fi
}
expect_ge() { # name actual minimum (integers)
	if is_int "$2" && [ "$2" -ge "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected >= $3"; fi
}
expect_gt() { # name actual bound (integers)
	if is_int "$2" && [ "$2" -gt "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected > $3"; fi
}
expect_le() { # name actual maximum (integers)
	if is_int "$2" && [ "$2" -le "$3" ]; then pass "$1"; else fail "$1" "got '$2', expected <= $3"; fi
}
expect_match() { # name actual extended-regex
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then pass "$1"; else fail "$1" "got '$2', expected /$3/"; fi
}

# A scenario's results prove nothing if its guest kernel crashed or
# wedged on the way, even where the script went on to the end: any oops,
# BUG, panic, RCU stall, lockup or kernel warning in the console fails it.
console_crash_re='Oops|BUG:|Kernel panic|rcu_(sched|preempt|bh)? *(self-)?detected (stall|expedited)|rcu: INFO|soft lockup|hard LOCKUP|general protection fault|WARNING: CPU'
# Succeeds with no output on a clean console, so `bad=$(...)` is safe under
# set -e (bench.sh): grep's "no match" status is not a failure here.
console_crashes() { # console.log: the offending lines, at most 5
	tr -d '\r' < "$1" 2>/dev/null | grep -E -m 5 -- "$console_crash_re" || :
}
expect_clean_console() { # console.log
	if [ ! -s "$1" ]; then
		fail "guest console captured" "$1 is empty or missing"
		return 0
	fi
	bad=$(console_crashes "$1")
	if [ -z "$bad" ]; then
		pass "guest kernel did not oops, panic, stall or warn"
	else
		fail "guest kernel did not oops, panic, stall or warn" "$(echo "$bad" | head -n 3 | tr '\n' '|')"
	fi
}

# The bundle a guest saved (KEY: its tar.gz in base64), replayed by the
# host's dmawatch (no root, no BPF): exit status and JSON must be the
# guest's own (EXIT-KEY, JSON-KEY).
expect_same_replay() { # bundle-key exit-key json-key
	replay_dir=$(mktemp -d)
	if r "$1" | base64 -d 2> /dev/null | tar -C "$replay_dir" -xzf - 2> /dev/null; then
		replay_json=$("$build/dmawatch" diagnose --json --bundle "$replay_dir/bundle")
		replay_exit=$?
	else
		replay_json='' replay_exit="no bundle"
	fi
	expect_eq "diagnose --bundle on the host: the guest's exit status" "$replay_exit" "$(r "$2")"
	expect_eq "diagnose --bundle on the host: the guest's JSON" "$replay_json" "$(r "$3")"
	rm -rf "$replay_dir"
}
