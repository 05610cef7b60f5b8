#!/bin/sh
# build-kernel.sh BASE VARIANT OUT_ENV
#
# Builds one of the lab's own guest kernels from Debian's source package of
# the lab kernel BASE (6.12: linux-source-6.12 of the same version as the
# stock 6.12 guest). Every Debian kernel lacks what they are for:
#   fei  kernel/fei.config: CONFIG_FUNCTION_ERROR_INJECTION, so BPF fmod_ret
#        on should_fail_bio() (dmawatch enforce --deny) can be tested;
#   dyn  kernel/fei.config + kernel/dyn.config: CONFIG_SWIOTLB_DYNAMIC too,
#        a pool that grows at run time.
# The config is tinyconfig + kvm_guest.config + those: only what a lab
# guest needs, so each builds in minutes on 2 cores.
#
# Cache entry (cache.sh), keyed by the source version, the configs, this
# script and the host's compiler and pahole:
#   CACHE/kernels/VARIANT-BASE-KEY/   src/ (the built tree, objects dropped:
#                                 what building a module needs),
#                                 root/lib/modules/KVER, kernel.env
# OUT_ENV gets what fetch-kernel.sh writes for a stock kernel.
# shellcheck disable=SC2154 # apt_dir and apt_opts: set by apt_setup (apt.sh)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cache.sh"
. "$here/apt.sh"
base=${1:?usage: build-kernel.sh BASE VARIANT OUT_ENV}
variant=${2:?usage: build-kernel.sh BASE VARIANT OUT_ENV}
out_env=${3:?usage: build-kernel.sh BASE VARIANT OUT_ENV}
case "$variant" in
	fei) configs=$here/kernel/fei.config ;;
	dyn) configs="$here/kernel/fei.config $here/kernel/dyn.config" ;;
	*) echo "build-kernel: no variant '$variant' (fei or dyn)" >&2; exit 2 ;;
esac

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

# shellcheck disable=SC2086 # $configs: the files, a word each
key=$(cache_key "$version" $configs "$here/build-kernel.sh" "$(cc -dumpfullversion)" \
	"$(pahole --version)")
entry="$(cache_root)/kernels/$variant-$base-$key"
if cache_valid "$entry"; then
	cache_copy_out "$entry" kernel.env "$out_env"
	exit 0
fi

apt_setup "$dist"
echo "build-kernel: $source_pkg $version, variant $variant (a few minutes)" >&2
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
# shellcheck disable=SC2086 # $configs: the files, a word each
scripts/kconfig/merge_config.sh -m .config $configs >/dev/null
make -s olddefconfig
# A dependency kconfig could not meet drops an option silently: refuse.
# shellcheck disable=SC2086 # $configs: the files, a word each
missing=$(cat $configs | grep '^CONFIG_' | while read -r want; do
	grep -qx "$want" .config || echo "$want"
done)
[ -z "$missing" ] || {
	# shellcheck disable=SC2086 # unquoted: the options on one line
	echo "build-kernel: olddefconfig dropped:" $missing >&2
	exit 1
}
start=$(date +%s)
make -s -j"$(nproc)" LOCALVERSION=-dmawatch-$variant bzImage modules
kver=$(make -s LOCALVERSION=-dmawatch-$variant kernelrelease)
make -s LOCALVERSION=-dmawatch-$variant INSTALL_MOD_PATH="$tmp/root" modules_install
echo "build-kernel: built $kver in $(($(date +%s) - start)) s" >&2
# Modules are built against the tree (KDIR): keep its headers, scripts,
# config, symbols and vmlinux (module BTF is based on it), not its objects.
find . -name '*.o' -delete

cat > "$tmp/kernel.env" <<EOT
KVER=$kver
PKG_VERSION=$version+$variant
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
echo "build-kernel: $base-$variant ready in $entry" >&2
