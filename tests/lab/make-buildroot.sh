#!/bin/sh
# make-buildroot.sh DIST HEADERS VERSION
#
# Prints the path of a Debian DIST root (from the lab's cache, cache.sh)
# with make, the kernel's compiler and HEADERS=VERSION installed: the place
# to build the test module for a kernel whose kbuild tools and compiler
# cannot run on this host (trixie's kernels: gcc-14 and a glibc newer than
# bookworm's). Made once with mmdebstrap from Debian's archive, kept by
# content (the headers package and version), checked before each use.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cache.sh"
dist=${1:?usage: make-buildroot.sh DIST HEADERS VERSION}
headers=${2:?}
version=${3:?}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# What the root holds besides the headers (their Depends bring the
# compiler): the assembler and linker gcc calls, and make.
include="binutils,make,$headers=$version"
entry="$(cache_root)/buildroots/${headers}_$version-$(cache_key "$dist" "$include")"

if cache_valid "$entry"; then
	echo "$entry/root"
	exit 0
fi
command -v mmdebstrap > /dev/null || {
	echo "make-buildroot: mmdebstrap missing: run 'make deps' (apt-get install mmdebstrap)" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || {
	echo "make-buildroot: making a $dist build root for $headers needs root (chroot)" >&2
	exit 1
}
tmp=$(cache_tmp "$entry")
# mmdebstrap mounts /dev, /proc and /sys inside while it works and
# unmounts them on every way out; never follow a mount left behind.
trap 'rm -rf --one-file-system "$tmp"' EXIT
echo "make-buildroot: a $dist root with $headers $version (mmdebstrap, once)" >&2
start=$(date +%s)
# Only the build root's own apt runs here: the host's apt state is untouched.
mmdebstrap --quiet --mode=root --variant=essential --format=directory \
	--include="$include" \
	"$dist" "$tmp/root" \
	"deb [signed-by=$keyring] $mirror/debian $dist main" \
	"deb [signed-by=$keyring] $mirror/debian $dist-updates main" \
	"deb [signed-by=$keyring] $mirror/debian $dist-backports main" \
	"deb [signed-by=$keyring] $mirror/debian-security $dist-security main" >&2
[ -f "$tmp/root/usr/src/$headers/Makefile" ] || {
	echo "make-buildroot: $headers did not install into the $dist root" >&2
	exit 1
}
printf '%s\n' "$dist $include" > "$tmp/buildroot.id"
cache_commit "$tmp" "$entry" buildroot.id "root/usr/src/$headers/Makefile" root/usr/bin/make
trap - EXIT
echo "make-buildroot: ready in $(($(date +%s) - start)) s: $entry" >&2
echo "$entry/root"
