#!/bin/sh
# test-cli.sh BUILD: the command line without a kernel: every misuse exits 2
# with one line that names the cause (and where there is one, the fix);
# help and version exit 0. Prints TAP. BIN_WRAPPER runs the binary under
# a checker (make valgrind: memcheck, whose errors change the exit code).
set -u
bin=${1:?usage: test-cli.sh BUILD}/dmawatch
out=$(mktemp)
trap 'rm -f "$out" "$out.err"' EXIT
n=0
# expect RC STDERR-PATTERN ARGS...: exit code and a line on stderr.
expect() {
	rc=$1 pat=$2
	shift 2
	n=$((n + 1))
	${BIN_WRAPPER:-} "$bin" "$@" > "$out" 2> "$out.err"
	got=$?
	if [ "$got" -ne "$rc" ]; then
		echo "not ok $n - cli: dmawatch $* exits $got, want $rc"
	elif [ -n "$pat" ] && ! grep -q -- "$pat" "$out.err"; then
		echo "not ok $n - cli: dmawatch $*: stderr lacks '$pat': $(head -n 1 "$out.err")"
	elif [ "$rc" -ne 0 ] && [ ! -s "$out.err" ]; then
		echo "not ok $n - cli: dmawatch $* fails silently"
	elif [ "$rc" -eq 2 ] && [ "$(wc -l < "$out.err")" -ne 1 ]; then
		echo "not ok $n - cli: dmawatch $*: $(wc -l < "$out.err") lines on stderr, want one: $(head -n 2 "$out.err" | tr '\n' '|')"
	else
		echo "ok $n - cli: dmawatch $* exits $rc${pat:+ naming '$pat'}"
	fi
}
# In table order, as family/families.h lists them.
families=$(sed -n 's/^FAMILY(\(.*\))$/\1/p' "$(dirname "$0")/../../family/families.h" | paste -sd, | sed 's/,/, /g')
expect 2 "needs a list of probe families.*families: $families" -F
expect 2 "needs a list of probe families" --families
expect 2 "empty list" -F ''
expect 2 "unknown probe family 'bogus'.*families: $families" -F bogus stat
expect 2 "unknown probe family ''" -F swiotlb,,pool stat
expect 2 "unknown option '--bogus'" --bogus stat
expect 2 "no command given" -v
expect 2 "unknown command 'nosuch'" nosuch
expect 2 "stat: unknown option '--bogus' (see 'dmawatch stat --help')" -v stat --bogus
expect 2 "stat: unknown option '-1'" stat -1
expect 2 "trace: unknown option '--bogus'" trace --bogus
expect 2 "top: unknown option '-x'" top -bx
expect 2 "export: option '--interval' needs a value" export --interval
expect 2 "probe: option '--json' takes no value" probe --json=yes
expect 2 "enforce: no policy given: --never-fit, --max-segment BYTES|auto or --max-bytes" enforce
expect 2 "enforce: --deny and --audit exclude each other" enforce --never-fit --deny --audit
expect 2 "enforce: --max-segment takes 'auto' or a size of at least 4096" enforce --max-segment 12
expect 2 "enforce: --max-bytes takes a size of at least 512 bytes" enforce --max-bytes 1Q
expect 2 "enforce: --status and --unpin take no policy" enforce --status --never-fit
expect 2 "enforce: --keep-limits goes with --apply-queue-limits" enforce --never-fit --keep-limits
expect 2 "enforce: unexpected argument 'vda'" enforce --never-fit vda
expect 2 "enforce: unknown option '--bogus'" enforce --bogus
expect 0 "" enforce --help
expect 2 "diagnose: option '--window' needs a value" diagnose --window
expect 2 "bad interval '0'" stat 0
expect 2 "say where to" export --once
expect 0 "" --version
bad_bundle=$(mktemp -d)
echo 'something else' > "$bad_bundle/format"
expect 2 "bad --window '0'" diagnose --window 0
expect 2 "exclude each other" diagnose --bundle "$bad_bundle" --save-bundle "$bad_bundle.new"
expect 2 "a bundle is a directory written by 'dmawatch diagnose --save-bundle'" \
	diagnose --bundle "$bad_bundle/nonexistent"
expect 2 "format says 'something else'" diagnose --bundle "$bad_bundle"
expect 2 "it exists; name a new directory" diagnose --no-bpf --save-bundle "$bad_bundle"
expect 2 "could not diagnose: neither the kernel log nor the pool" \
	diagnose --bundle tests/fixtures/bundles/empty
# With --json, a run that cannot diagnose still prints one object naming why.
for args in "--bundle $bad_bundle/nonexistent --json" "--json --bundle $bad_bundle" \
	"--json --window 0" "--json --bogus"; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # the words of args are the arguments
	${BIN_WRAPPER:-} "$bin" diagnose $args > "$out" 2> "$out.err"
	got=$?
	if [ $got -eq 2 ] && [ "$(jq -r .verdict "$out" 2>/dev/null)" = error ] &&
		[ -n "$(jq -r '.error // empty' "$out" 2>/dev/null)" ] && [ -s "$out.err" ]; then
		echo "ok $n - cli: diagnose $args: exit 2, JSON with the error"
	else
		echo "not ok $n - cli: diagnose $args: exit $got, stdout '$(head -c 200 "$out")'"
	fi
done
rm -rf "$bad_bundle"
# A saved bundle judged anywhere: exit 1 for problems, the verdict first.
n=$((n + 1))
${BIN_WRAPPER:-} "$bin" diagnose --bundle tests/fixtures/bundles/over-limit-busy > "$out" 2> "$out.err"
got=$?
if [ $got -eq 1 ] && [ ! -s "$out.err" ] &&
	head -n 1 "$out" | grep -q '^verdict: problems: 0000:01:00.0 (nvidia) maps 2097152 bytes'; then
	echo "ok $n - cli: diagnose --bundle: exit 1, the verdict line first"
else
	echo "not ok $n - cli: diagnose --bundle: exit $got: $(head -n 1 "$out") $(head -n 1 "$out.err")"
fi
expect 0 "" -K -F swiotlb stat --help
n=$((n + 1))
if ${BIN_WRAPPER:-} "$bin" --help | grep -q -- "-F, --families" &&
	${BIN_WRAPPER:-} "$bin" --version | grep -q '^dmawatch '; then
	echo "ok $n - cli: --help lists the options, --version the version"
else
	echo "not ok $n - cli: --help or --version output"
fi
