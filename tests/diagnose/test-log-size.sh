#!/bin/sh
# test-log-size.sh BUILD: a 100 MiB kernel log is judged whole, in under a
# second, in bounded memory. The log is unrelated chatter with one refused
# mapping as its very last line (the newest: the one a head-only reader
# drops). diagnose runs under an address-space limit below the log's size,
# so a reader that held the log would fail. TAP.
set -u
build=${1:?usage: test-log-size.sh BUILD}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo 'dmawatch-bundle 1' > "$dir/format"
# 100 MiB: 1.6 million lines of 64 bytes, then the refusal.
yes '[ 4242.424242] usb 1-1: reset high-speed USB device number 2 abc' |
	head -c $((100 << 20)) > "$dir/dmesg"
echo '[ 9999.999999] virtio-pci 0000:00:01.0: swiotlb buffer is full (sz: 65536 bytes), total 32768 (slots), used 32740 (slots)' >> "$dir/dmesg"
size=$(wc -c < "$dir/dmesg")
# The address space dmawatch needs for nothing (its libraries), plus 32 MiB.
limit_kb=98304
start=$(date +%s%N)
# shellcheck disable=SC3045 # ulimit -v: dash, bash and busybox sh all have it
out=$(ulimit -v $limit_kb; "$build/dmawatch" diagnose --bundle "$dir" --json 2>"$dir/err")
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
lines=$(printf '%s' "$out" | jq -r '.log.lines // 0' 2>/dev/null)
id=$(printf '%s' "$out" | jq -r '.findings[0].id // "none"' 2>/dev/null)
if [ "$rc" -eq 1 ] && [ "$id" = pool-exhausted ] && [ "$lines" -eq "$(wc -l < "$dir/dmesg")" ]; then
	echo "ok 1 - diagnose: a $((size >> 20)) MiB log read whole ($lines lines): its last line found"
else
	echo "not ok 1 - diagnose: $((size >> 20)) MiB log: exit $rc, first finding $id, $lines lines read: $(head -c 300 "$dir/err")"
fi
if [ "$rc" -le 1 ]; then
	echo "ok 2 - diagnose: ran within $((limit_kb >> 10)) MiB of address space (less than the log)"
else
	echo "not ok 2 - diagnose: exit $rc under a $((limit_kb >> 10)) MiB address-space limit"
fi
if [ "$ms" -lt 1000 ]; then
	echo "ok 3 - diagnose: $((size >> 20)) MiB judged in $ms ms (under 1 s)"
else
	echo "not ok 3 - diagnose: $((size >> 20)) MiB took $ms ms (1 s at most)"
fi
echo "1..3"
