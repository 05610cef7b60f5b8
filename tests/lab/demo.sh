#!/bin/sh
# demo.sh KERNEL_ENV INITRAMFS: boots the demo scenario and shows its output
# live (the guest writes it to the results port; we follow that file).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
guest='' follower=''
cleanup() {
	rc=$?
	[ -n "$guest" ] && kill "$guest" 2>/dev/null
	[ -n "$follower" ] && kill "$follower" 2>/dev/null
	rm -rf "$out"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: > "$out/results"
"$here/run-guest.sh" -s demo -t 150 -o "$out" "$1" "$2" &
guest=$!
echo "demo: booting the lab guest (QEMU/TCG, swiotlb=force)..."
tail -n +1 -f "$out/results" | sed -u -e 's/\r$//' -e '/^end 1$/d' -e '/^scenario/d' &
follower=$!
wait "$guest" || true
guest=
sleep 0.5
status=$(cat "$out/status" 2>/dev/null || echo missing)
echo "demo: guest $status"
[ "$status" = ok ]
