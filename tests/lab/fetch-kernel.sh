#!/bin/sh
# fetch-kernel.sh FLAVOUR OUT_ENV
#
# Makes a stock Debian guest kernel (image + modules) and a way to build
# modules against it ready in the lab's cache (cache.sh), and writes its
# description to OUT_ENV. Packages come through a private apt configuration
# per Debian release under CACHE/apt/: the system's sources, lists and status
# are never touched and nothing is installed into /boot or /lib/modules.
# apt verifies every download against the release's signed index.
#
# FLAVOUR names the Debian suite the kernel comes from; the kernel is the
# candidate of linux-image-amd64 there:
#   6.1   bookworm (with bookworm-security updates)
#   6.12  bookworm-backports
#   7.3   trixie-backports
#   6.12-fei  built here from Debian's linux-source-6.12 (build-kernel.sh)
#   6.12-dyn  the same with CONFIG_SWIOTLB_DYNAMIC
#
# Cache entry (named by content, reused by every clone):
#   CACHE/kernels/IMAGE_VERSION/     the unpacked packages and kernel.env
#
# OUT_ENV gets KVER, PKG_VERSION, IMAGE_PACKAGE, VMLINUZ, MODULES, KDIR
# and BUILDROOT_FOR: empty when the kernel's headers build modules on this
# host; else "DIST HEADERS VERSION" for make-buildroot.sh, because the
# kernel's kbuild tools cannot run here (trixie's need a newer glibc than
# bookworm's), and KDIR is a path inside that root.
# shellcheck disable=SC2154 # apt_dir and apt_opts: set by apt_setup (apt.sh)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cache.sh"
. "$here/apt.sh"

flavour=${1:?usage: fetch-kernel.sh FLAVOUR OUT_ENV}
out_env=${2:?usage: fetch-kernel.sh FLAVOUR OUT_ENV}
cache=$(cache_root)

case "$flavour" in
	6.1)  dist=bookworm meta=linux-image-amd64 ;;
	6.12) dist=bookworm meta=linux-image-amd64/bookworm-backports ;;
	7.3)  dist=trixie meta=linux-image-amd64/trixie-backports ;;
	# Not Debian's build: Debian's source with the lab's config.
	*-fei | *-dyn) exec "$here/build-kernel.sh" "${flavour%-*}" "${flavour##*-}" "$out_env" ;;
	*) echo "fetch-kernel: unknown flavour '$flavour' (6.1, 6.12, 7.3, 6.12-fei or 6.12-dyn)" >&2; exit 2 ;;
esac

apt_setup "$dist"

# apt-cache show lists every version; ask for the candidate explicitly.
case "$meta" in
	*/*) ;;
	*) meta="$meta=$(candidate "$meta")" ;;
esac
image=$(depends_on "$meta" '^linux-image-[0-9]' | head -n 1)
[ -n "$image" ] || { echo "fetch-kernel: cannot resolve $meta" >&2; exit 1; }
kver=${image#linux-image-}
version=$(candidate "$image")
[ -n "$version" ] || { echo "fetch-kernel: no candidate for $image" >&2; exit 1; }
# .2: the layout of kernel.env (BUILDROOT_FOR since 7.3 joined the lab).
entry="$cache/kernels/${image}_$version.2"

if cache_valid "$entry"; then
	cache_copy_out "$entry" kernel.env "$out_env"
	exit 0
fi
[ ! -e "$entry" ] || echo "fetch-kernel: $entry is incomplete or damaged: fetching it again"

# Since 7.x the image package is a metapackage over linux-binary-KVER (the
# vmlinuz), linux-modules-KVER and linux-base-KVER; before, one package.
kver_re=$(printf '%s' "$kver" | sed 's/[.+]/\\&/g')
packages="$image $(depends_on "$image=$version" "^linux-(binary|modules|base)-$kver_re\$" | tr '\n' ' ')"

headers=linux-headers-$kver
common=$(depends_on "$headers=$version" '^linux-headers-.*-common$' | head -n 1)
kbuild=$(depends_on "$headers=$version" '^linux-kbuild-' | head -n 1)
[ -n "$common" ] && [ -n "$kbuild" ] || {
	echo "fetch-kernel: cannot resolve the headers of $image" >&2
	exit 1
}
# The kbuild tools (fixdep, modpost) are programs of the kernel's release:
# they run here only if this host's C library is as new as they need.
need_libc=$(field "$kbuild=$version" Depends | tr ',' '\n' | sed -n 's/^ *libc6 (>= \(.*\))$/\1/p')
host_libc=$(dpkg-query -W -f='${Version}' libc6)
host_headers=1
if [ -n "$need_libc" ] && ! dpkg --compare-versions "$host_libc" ge "$need_libc"; then
	host_headers=0
else
	packages="$packages $headers $common $kbuild"
fi

echo "fetch-kernel: $flavour -> $image $version ($packages)"
cd "$apt_dir/archives"
# shellcheck disable=SC2086,SC2046 # lists of words: apt options, PACKAGE=VERSION
apt-get $apt_opts -qq download $(for p in $packages; do echo "$p=$version"; done)

tmp=$(cache_tmp "$entry")
trap 'rm -rf "$tmp"' EXIT
for pkg in $packages; do
	dpkg-deb -x "$(ls "${pkg}_$(echo "$version" | sed 's/:/%3a/')"_*.deb)" "$tmp/root"
done

# Where this layout keeps the kernel and its modules.
if [ -d "$tmp/root/usr/lib/modules/$kver/kernel" ]; then
	mod_base=usr
else
	mod_base=
fi
mods=${mod_base:+$mod_base/}lib/modules/$kver
for v in boot/vmlinuz-$kver usr/lib/modules/$kver/vmlinuz usr/lib/modules/$kver/vmlinuz.unsigned; do
	[ -f "$tmp/root/$v" ] && { vmlinuz=$v; break; }
done
[ -n "${vmlinuz:-}" ] || { echo "fetch-kernel: no vmlinuz in $packages" >&2; exit 1; }
depmod -b "$tmp/root${mod_base:+/$mod_base}" "$kver"

buildroot_for='' kdir=$entry/root/usr/src/linux-headers-$kver
if [ "$host_headers" = 1 ]; then
	# Debian's per-flavour headers Makefile includes the common tree by
	# its absolute /usr/src path; point it at our unpacked copy instead.
	sed -i "s|/usr/src/|$entry/root/usr/src/|g" "$tmp/root/usr/src/linux-headers-$kver/Makefile"
else
	# build-module.sh builds in a root of the kernel's own release.
	buildroot_for="$dist $headers $version"
	kdir=/usr/src/linux-headers-$kver
fi

cat > "$tmp/kernel.env" <<EOT
KVER=$kver
PKG_VERSION=$version
IMAGE_PACKAGE=$image
VMLINUZ=$entry/root/$vmlinuz
MODULES=$entry/root/$mods
KDIR=$kdir
BUILDROOT_FOR="$buildroot_for"
EOT
cache_commit "$tmp" "$entry" kernel.env "root/$vmlinuz" "root/$mods/modules.dep"
trap - EXIT
cache_copy_out "$entry" kernel.env "$out_env"
echo "fetch-kernel: $flavour ready in $entry"
