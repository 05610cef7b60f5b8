#!/bin/sh
# test-build-deps.sh BUILD: a changed header rebuilds every object that
# includes it (the compiler's .d files), BPF objects included. Asks make
# what it would do (-n) if the header were new (-W); prints TAP.
set -u
build=${1:?usage: test-build-deps.sh BUILD}
cd "$(dirname "$0")/../.." || exit 1
n=0
check() { # description header target pattern
	n=$((n + 1))
	if make -n -W "$2" BUILD="$build" "$3" 2>/dev/null | grep -q -- "$4"; then
		echo "ok $n - build deps: $1"
	else
		echo "not ok $n - build deps: $1 ($3 not rebuilt after $2 changed)"
	fi
}
for b in bpf/*.bpf.c; do
	o=$build/bpf/$(basename "$b" .c).o
	# (enforce's object stands alone: it shares no maps with the families)
	grep -q '"common.bpf.h"' "$b" &&
		check "bpf/common.bpf.h rebuilds $(basename "$o")" bpf/common.bpf.h "$o" "clang"
	check "include/dmawatch.h rebuilds $(basename "$o")" include/dmawatch.h "$o" "clang"
done
check "include/pool.h rebuilds the pool skeleton" include/pool.h "$build/bpf/pool.skel.h" "gen skeleton"
check "user/engine.h rebuilds user/stat.o" user/engine.h "$build/user/stat.o" "stat.c"
check "user/snapshot.h rebuilds a unit test" user/snapshot.h "$build/tests/test_snapshot" "test_snapshot.c"
# And not more: a header nobody includes rebuilds nothing.
n=$((n + 1))
if make -n -W user/json.h BUILD="$build" "$build/user/ksyms.o" 2>/dev/null | grep -q 'ksyms\.c'; then
	echo "not ok $n - build deps: user/json.h rebuilt ksyms.o, which does not include it"
else
	echo "ok $n - build deps: user/json.h leaves ksyms.o alone"
fi
