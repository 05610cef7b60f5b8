#!/bin/sh
# fetch-kernel.sh CACHE FLAVOUR
#
# Fetches a stock Debian guest kernel (image + modules) and the headers to
# build modules against it, using a private apt configuration under
# CACHE/apt: the system's sources, lists and status are never touched and
# nothing is installed into /boot or /lib/modules.
#
# FLAVOUR names the Debian suite the kernel comes from:
#   6.1   linux-image-amd64 from bookworm (with bookworm-security updates)
#   6.12  linux-image-amd64 from bookworm-backports
#
# Result (written atomically: a half-finished fetch never looks done):
#   CACHE/kernels/FLAVOUR/kernel.env   KVER, PKG_VERSION, VMLINUZ, MODULES, KDIR
#   CACHE/kernels/FLAVOUR/root/        the unpacked packages
set -eu

cache=${1:?usage: fetch-kernel.sh CACHE FLAVOUR}
flavour=${2:?usage: fetch-kernel.sh CACHE FLAVOUR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

case "$flavour" in
	6.1)  meta=linux-image-amd64 ;;
	6.12) meta=linux-image-amd64/bookworm-backports ;;
	*) echo "fetch-kernel: unknown flavour '$flavour' (6.1 or 6.12)" >&2; exit 2 ;;
esac

dest="$cache/kernels/$flavour"
if [ -f "$dest/kernel.env" ]; then
	exit 0
fi

[ -r "$keyring" ] || {
	echo "fetch-kernel: $keyring missing: apt-get install debian-archive-keyring" >&2
	exit 1
}

apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$cache/kernels"
cat > "$apt_dir/sources.list.new" <<EOF
deb [signed-by=$keyring] $mirror/debian bookworm main
deb [signed-by=$keyring] $mirror/debian bookworm-updates main
deb [signed-by=$keyring] $mirror/debian-security bookworm-security main
deb [signed-by=$keyring] $mirror/debian bookworm-backports main
EOF
mv "$apt_dir/sources.list.new" "$apt_dir/sources.list"
: > "$apt_dir/status"

apt_opts="-o Dir::Etc::SourceList=$apt_dir/sources.list
	-o Dir::Etc::SourceParts=/dev/null
	-o Dir::Etc::Preferences=/dev/null
	-o Dir::Etc::PreferencesParts=/dev/null
	-o Dir::State::Lists=$apt_dir/lists
	-o Dir::State::Status=$apt_dir/status
	-o Dir::Cache=$apt_dir
	-o Dir::Cache::Archives=$apt_dir/archives
	-o APT::Architecture=amd64 -o APT::Architectures=amd64
	-o APT::Sandbox::User=root
	-o Acquire::Retries=3"

# Lists older than a day are refreshed; otherwise reuse them.
if [ -z "$(find "$apt_dir/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
	# shellcheck disable=SC2086
	apt-get $apt_opts -qq update
fi

# The first Depends of a package's candidate (or of NAME/SUITE) that matches a
# pattern, e.g. the versioned image behind linux-image-amd64.
depends_on() {
	# shellcheck disable=SC2086
	apt-cache $apt_opts show "$1" 2>/dev/null |
		sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n' |
		sed 's/^ *//; s/ .*//; s/|.*//' | grep -E "$2" | head -n 1
}

# apt-cache show lists every version; ask for the candidate explicitly.
case "$meta" in
	*/*) ;;
	*)
		# shellcheck disable=SC2086
		candidate=$(apt-cache $apt_opts policy "$meta" | sed -n 's/^ *Candidate: //p')
		meta="$meta=$candidate" ;;
esac
image=$(depends_on "$meta" '^linux-image-[0-9]')
[ -n "$image" ] || { echo "fetch-kernel: cannot resolve $meta" >&2; exit 1; }
kver=${image#linux-image-}
headers=linux-headers-$kver
common=$(depends_on "$headers" '^linux-headers-.*-common$')
kbuild=$(depends_on "$headers" '^linux-kbuild-')
[ -n "$common" ] && [ -n "$kbuild" ] || {
	echo "fetch-kernel: cannot resolve the headers of $image" >&2
	exit 1
}

echo "fetch-kernel: $flavour -> $image ($common, $kbuild)"
cd "$apt_dir/archives"
# shellcheck disable=SC2086
apt-get $apt_opts -qq download "$image" "$headers" "$common" "$kbuild"

tmp="$cache/kernels/.$flavour.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/root"
for pkg in "$image" "$headers" "$common" "$kbuild"; do
	deb=$(ls -t "${pkg}"_*.deb | head -n 1)
	dpkg-deb -x "$deb" "$tmp/root"
done
pkg_version=$(dpkg-deb -f "$(ls -t "${image}"_*.deb | head -n 1)" Version)

# Debian's per-flavour headers Makefile includes the common tree by its
# absolute /usr/src path; point it at our unpacked copy instead.
kdir="$tmp/root/usr/src/linux-headers-$kver"
sed -i "s|/usr/src/|$dest/root/usr/src/|g" "$kdir/Makefile"

depmod -b "$tmp/root" "$kver"

cat > "$tmp/kernel.env" <<EOF
KVER=$kver
PKG_VERSION=$pkg_version
IMAGE_PACKAGE=$image
VMLINUZ=$dest/root/boot/vmlinuz-$kver
MODULES=$dest/root/lib/modules/$kver
KDIR=$dest/root/usr/src/linux-headers-$kver
EOF
rm -rf "$dest"
mv "$tmp" "$dest"
echo "fetch-kernel: $flavour ready in $dest"
