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
for b in family/*.bpf.c; do
	o=$build/bpf/$(basename "$b" .c).o
	# (enforce's object stands alone: it shares no maps with the families)
	grep -q '"common.bpf.h"' "$b" &&
		check "family/common.bpf.h rebuilds $(basename "$o")" family/common.bpf.h "$o" "clang"
	check "family/dmawatch.h rebuilds $(basename "$o")" family/dmawatch.h "$o" "clang"
done
check "family/pool.h rebuilds the pool skeleton" family/pool.h "$build/bpf/pool.skel.h" "gen skeleton"
check "user/engine/engine.h rebuilds stat.o" user/engine/engine.h "$build/obj/user/cmd/stat.o" "stat.c"
check "user/engine/snapshot.h rebuilds a unit test" user/engine/snapshot.h "$build/tests/test_snapshot" "test_snapshot.c"
# And not more: a header nobody includes rebuilds nothing.
n=$((n + 1))
if make -n -W user/out/json.h BUILD="$build" "$build/obj/user/engine/ksyms.o" 2>/dev/null | grep -q 'ksyms\.c'; then
	echo "not ok $n - build deps: user/out/json.h rebuilt ksyms.o, which does not include it"
else
	echo "ok $n - build deps: user/out/json.h leaves ksyms.o alone"
fi
