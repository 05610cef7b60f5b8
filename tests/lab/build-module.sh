#!/bin/sh
# build-module.sh KERNEL_ENV OUT
#
# Builds the lab's test module (tests/lab/module) for one guest kernel and
# copies it to OUT. Built out of tree in a scratch copy of the sources
# (Kbuild writes its objects next to them): on the host against the
# unpacked headers, or inside a Debian root of the kernel's release
# (BUILDROOT_FOR, see make-buildroot.sh) where the host cannot run that
# kernel's tools.
# The result is cached by the hash of the sources and the kernel (cache.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cache.sh"
kernel_env=${1:?usage: build-module.sh KERNEL_ENV OUT}
out=${2:?usage: build-module.sh KERNEL_ENV OUT}
# shellcheck disable=SC1090
. "$kernel_env"
src=$here/module

# The image too: two builds of the lab's own kernel share a release and a
# version but not their BTF, and a module whose BTF was based on another
# build's is refused at load.
key=$(cache_key "$KVER" "$PKG_VERSION" "${BUILDROOT_FOR:-host $(cc -dumpfullversion)}" \
	"$src/Kbuild" "$src"/*.c "$VMLINUZ")
entry="$(cache_root)/modules/$KVER-$key"
if ! cache_valid "$entry"; then
	tmp=$(cache_tmp "$entry")
	trap 'rm -rf "$tmp" ${scratch:+"$scratch"}' EXIT
	if [ -n "${BUILDROOT_FOR:-}" ]; then
		# shellcheck disable=SC2086
		BUILDROOT=$("$here/make-buildroot.sh" $BUILDROOT_FOR)
		scratch=$(mktemp -d "$BUILDROOT/tmp/dmawatch-lab.XXXXXX")
		cp "$src/Kbuild" "$src"/*.c "$scratch/"
		# objtool reads /proc: mount it in a private mount namespace,
		# so it goes away with the build whatever happens.
		unshare -m sh -c 'mount -t proc proc "$1/proc" && exec chroot "$1" make -s -C "$2" M="$3" modules' \
			sh "$BUILDROOT" "$KDIR" "${scratch#"$BUILDROOT"}"
	else
		scratch=$(mktemp -d)
		cp "$src/Kbuild" "$src"/*.c "$scratch/"
		make -s -C "$KDIR" M="$scratch" modules
	fi
	cp "$scratch/dmawatch_lab.ko" "$tmp/"
	cache_commit "$tmp" "$entry" dmawatch_lab.ko
	trap - EXIT
	rm -rf "$scratch"
fi
cp "$entry/dmawatch_lab.ko" "$out.tmp"
mv "$out.tmp" "$out"
