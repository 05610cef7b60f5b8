#!/bin/sh
# mkinitramfs.sh KERNEL_ENV OUT [FILE=DEST ...]
#
# Builds the lab guest's initramfs: static busybox, the kernel's virtio-blk
# modules (with their dependencies, in load order), its NVMe modules where
# it has them (run-guest.sh -n), the guest scripts from
# tests/lab/guest/, and any extra FILE=DEST pairs (the static dmawatch, the
# test module). Written to OUT.tmp and renamed, so a failed build never
# leaves a usable-looking image behind.
set -eu
kernel_env=${1:?usage: mkinitramfs.sh KERNEL_ENV OUT [FILE=DEST ...]}
out=${2:?}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1090
. "$kernel_env"

busybox=/bin/busybox
file "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$busybox" 2>&1 | grep -q 'not a dynamic' || {
	echo "mkinitramfs: $busybox is not static: apt-get install busybox-static" >&2
	exit 1
}

root=$(mktemp -d)
# mktemp made it 0700: the guest's / must let every user in.
chmod 755 "$root"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run" \
	"$root/modules" "$root/lab"
cp "$busybox" "$root/bin/busybox"

# modprobe resolves dependencies against the unpacked tree's modules.dep;
# built-in modules (virtio_pci on 6.12) print "builtin" and are skipped.
# add_modules LIST MODULE...: the modules and their dependencies, in load
# order, unpacked into /modules and named in /modules/LIST, each once.
add_modules() {
	list=$root/modules/$1
	shift
	: >> "$list"
	for mod in "$@"; do
		modprobe -d "${MODULES%/lib/modules/*}" -S "$KVER" --show-depends "$mod" |
			awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r ko; do
		name=$(basename "$ko")
		name=${name%.xz}
		name=${name%.zst}
		# Already unpacked for another list: loaded with that one.
		[ ! -e "$root/modules/$name" ] || continue
		case "$ko" in
		*.ko.xz) xz -dc "$ko" > "$root/modules/$name" ;;
		*.ko.zst) zstd -qdc "$ko" > "$root/modules/$name" ;;
		*) cp "$ko" "$root/modules/$name" ;;
		esac
		echo "$name" >> "$list"
	done
}
add_modules load-order virtio_pci virtio_blk
# NVMe (nvme-core, and nvme-auth, nvme-keyring... as the kernel has them),
# which init loads only when the guest has an NVMe controller. Optional:
# a kernel without the module (the lab's own, tinyconfig) has no NVMe disk,
# and a built-in one needs nothing here.
if modprobe -d "${MODULES%/lib/modules/*}" -S "$KVER" --show-depends nvme > /dev/null 2>&1; then
	add_modules load-order-nvme nvme
else
	: > "$root/modules/load-order-nvme"
fi

# virtio-net (and its failover modules), which init loads only when the
# guest has a network card (run-guest.sh -f).
add_modules load-order-net virtio_net

cp "$here/guest/"* "$root/lab/"
mv "$root/lab/init" "$root/init"
chmod +x "$root/init" "$root/lab/"*.sh
echo "$KVER" > "$root/lab/kernel-release"

# dmatop is ncurses linked statically: it reads terminal descriptions from
# /usr/share/terminfo (or /lib, /etc). These cover the serial console's own
# (linux, vt100...) and the terminals a lab guest is watched through (tmux,
# screen, xterm). A missing one only costs that TERM.
for term in ansi dumb linux vt100 vt102 vt220 screen screen-256color tmux tmux-256color \
	xterm xterm-256color xterm-color; do
	sub=$(printf %.1s "$term")
	for dir in /usr/share/terminfo /lib/terminfo /etc/terminfo; do
		if [ -e "$dir/$sub/$term" ]; then
			mkdir -p "$root/usr/share/terminfo/$sub"
			cp -L "$dir/$sub/$term" "$root/usr/share/terminfo/$sub/$term"
			break
		fi
	done
	[ -e "$root/usr/share/terminfo/$sub/$term" ] ||
		echo "mkinitramfs: no terminfo entry for $term (apt-get install ncurses-base)" >&2
done

for pair in "$@"; do
	src=${pair%%=*}
	dst=$root/${pair#*=}
	mkdir -p "$(dirname "$dst")"
	cp "$src" "$dst"
done

# dmatop is dmawatch by another name (main.c dispatches on argv[0]).
[ -e "$root/usr/bin/dmawatch" ] && ln -sf dmawatch "$root/usr/bin/dmatop"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
