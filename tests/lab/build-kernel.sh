#!/bin/sh
# build-kernel.sh BASE OUT_ENV
#
# Builds the lab's own guest kernel from Debian's source package of the lab
# kernel BASE (6.12: linux-source-6.12 of the same version as the stock
# 6.12 guest), with kernel/fei.config: every Debian kernel lacks
# CONFIG_FUNCTION_ERROR_INJECTION, so BPF fmod_ret on should_fail_bio()
# (dmawatch enforce --deny) can only be tested on a kernel of our own. The
# config is tinyconfig + kvm_guest.config + kernel/fei.config: only what a
# lab guest needs, so it builds in minutes on 2 cores.
#
# Cache entry (cache.sh), keyed by the source version, the config, this
# script and the host's compiler and pahole:
#   CACHE/kernels/fei-BASE-KEY/   src/ (the built tree, objects dropped:
#                                 what building a module needs),
#                                 root/lib/modules/KVER, kernel.env
# OUT_ENV gets what fetch-kernel.sh writes for a stock kernel.
# shellcheck disable=SC2154 # apt_dir and apt_opts: set by apt_setup (apt.sh)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cache.sh"
. "$here/apt.sh"
base=${1:?usage: build-kernel.sh BASE OUT_ENV}
out_env=${2:?usage: build-kernel.sh BASE OUT_ENV}
config=$here/kernel/fei.config

case "$base" in
	6.12) dist=bookworm ;;
	*) echo "build-kernel: no source for '$base' (6.12)" >&2; exit 2 ;;
esac
for tool in flex bison bc pahole; do
	command -v $tool >/dev/null || {
		echo "build-kernel: $tool missing: make deps (or apt-get install flex bison bc dwarves)" >&2
		exit 1
	}
done

# The stock kernel's version names the source to build.
stock_env=$(mktemp)
trap 'rm -f "$stock_env"' EXIT
"$here/fetch-kernel.sh" "$base" "$stock_env" >&2
version=$(sed -n 's/^PKG_VERSION=//p' "$stock_env")
source_pkg=linux-source-$base

key=$(cache_key "$version" "$config" "$here/build-kernel.sh" "$(cc -dumpfullversion)" \
	"$(pahole --version)")
entry="$(cache_root)/kernels/fei-$base-$key"
if cache_valid "$entry"; then
	cache_copy_out "$entry" kernel.env "$out_env"
	exit 0
fi

apt_setup "$dist"
echo "build-kernel: $source_pkg $version with kernel/fei.config (a few minutes)" >&2
# shellcheck disable=SC2086 # $apt_opts is a list of apt-get options (apt.sh)
(cd "$apt_dir/archives" &&
	apt-get $apt_opts -qq download "$source_pkg=$version")
deb=$(ls "$apt_dir/archives/${source_pkg}_$(echo "$version" | sed 's/:/%3a/')"_*.deb)

tmp=$(cache_tmp "$entry")
trap 'rm -f "$stock_env"; rm -rf "$tmp"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards '*.tar.xz'
mkdir "$tmp/src"
tar -x -J -C "$tmp/src" --strip-components=1 -f "$tmp"/usr/src/"$source_pkg".tar.xz
rm -rf "${tmp:?}/usr"

cd "$tmp/src"
make -s tinyconfig
make -s kvm_guest.config
scripts/kconfig/merge_config.sh -m .config "$config" >/dev/null
make -s olddefconfig
# A dependency kconfig could not meet drops an option silently: refuse.
missing=$(grep '^CONFIG_' "$config" | while read -r want; do
	grep -qx "$want" .config || echo "$want"
done)
[ -z "$missing" ] || {
	# shellcheck disable=SC2086 # unquoted: the options on one line
	echo "build-kernel: olddefconfig dropped:" $missing >&2
	exit 1
}
start=$(date +%s)
make -s -j"$(nproc)" LOCALVERSION=-dmawatch-fei bzImage modules
kver=$(make -s LOCALVERSION=-dmawatch-fei kernelrelease)
make -s LOCALVERSION=-dmawatch-fei INSTALL_MOD_PATH="$tmp/root" modules_install
echo "build-kernel: built $kver in $(($(date +%s) - start)) s" >&2
# Modules are built against the tree (KDIR): keep its headers, scripts,
# config, symbols and vmlinux (module BTF is based on it), not its objects.
find . -name '*.o' -delete

cat > "$tmp/kernel.env" <<EOT
KVER=$kver
PKG_VERSION=$version+fei
IMAGE_PACKAGE=$source_pkg
VMLINUZ=$entry/src/arch/x86/boot/bzImage
MODULES=$entry/root/lib/modules/$kver
KDIR=$entry/src
BUILDROOT_FOR=""
EOT
cd /
cache_commit "$tmp" "$entry" kernel.env src/arch/x86/boot/bzImage src/.config \
	src/Module.symvers "root/lib/modules/$kver/modules.dep"
trap 'rm -f "$stock_env"' EXIT
cache_copy_out "$entry" kernel.env "$out_env"
echo "build-kernel: $base-fei ready in $entry" >&2
