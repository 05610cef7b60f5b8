#!/bin/sh
# deb-test.sh BUILD DEB: installs the package in a fresh Debian 12 root
# (mmdebstrap, apt resolving its Depends from the archive), runs it there
# (--version, man, the unit through systemd-analyze verify, not enabled,
# bash completion), purges it and looks for anything left; copies the
# installed binary and the libraries it loads to BUILD/deb/pkgroot for the
# lab (tests/pkg/deb-lab.sh). Prints TAP.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/lab/tap.sh"
build=${1:?usage: deb-test.sh BUILD DEB}
deb=${2:?}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
res=$build/deb/results
pkgroot=$build/deb/pkgroot
rm -rf "$res" "$pkgroot"
mkdir -p "$res" "$pkgroot"
unit=/lib/systemd/system/dmawatch-export.service
start=$(date +%s)
# Everything runs in mmdebstrap's hooks, which mount and unmount what the
# root needs; the root itself is thrown away (/dev/null).
mmdebstrap --quiet --mode=root --variant=apt --include=man-db,systemd,bash-completion \
	--customize-hook="copy-in $deb /tmp" \
	--customize-hook="chroot \"\$1\" sh -c 'apt-get install -y --no-install-recommends /tmp/$(basename "$deb")' > $res/install.log 2>&1; echo \$? > $res/install_exit" \
	--customize-hook="chroot \"\$1\" dpkg -L dmawatch > $res/files" \
	--customize-hook="chroot \"\$1\" dmawatch --version > $res/version 2>&1; echo \$? > $res/version_exit" \
	--customize-hook="chroot \"\$1\" dmatop --help > $res/dmatop_help 2>&1; echo \$? > $res/dmatop_exit" \
	--customize-hook="chroot \"\$1\" sh -c 'MANWIDTH=80 man -P cat dmawatch 2>&1 | head -n 5' > $res/man" \
	--customize-hook="chroot \"\$1\" systemd-analyze verify $unit > $res/verify 2>&1; echo \$? > $res/verify_exit" \
	--customize-hook="chroot \"\$1\" systemctl is-enabled dmawatch-export > $res/enabled 2>&1 || true" \
	--customize-hook="chroot \"\$1\" bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader dmawatch; complete -p dmawatch' > $res/completion 2>&1" \
	--customize-hook="chroot \"\$1\" sh -c 'ldd /usr/sbin/dmawatch' > $res/ldd 2>&1" \
	--customize-hook="for f in /usr/sbin/dmawatch \$(awk '/=> \\// { print \$3 } /^[[:space:]]*\\/lib/ { print \$1 }' $res/ldd); do cp -L \"\$1\$f\" $pkgroot/; done" \
	--customize-hook="chroot \"\$1\" apt-get purge -y dmawatch > $res/purge.log 2>&1; echo \$? > $res/purge_exit" \
	--customize-hook="while read -r f; do [ -e \"\$1\$f\" ] && [ ! -d \"\$1\$f\" ] && echo \$f; done < $res/files > $res/left; true" \
	bookworm /dev/null \
	"deb [signed-by=$keyring] $mirror/debian bookworm main" \
	"deb [signed-by=$keyring] $mirror/debian bookworm-updates main" \
	"deb [signed-by=$keyring] $mirror/debian-security bookworm-security main" \
	> "$res/mmdebstrap.log" 2>&1
echo "# package test root: $(($(date +%s) - start)) s"
rd() { cat "$res/$1" 2>/dev/null; }
# shellcheck disable=SC2034 # tap_prefix: read by tap.sh's pass and fail
tap_prefix="deb: "
expect_eq "mmdebstrap ran every step" "$(tail -n 1 "$res/mmdebstrap.log" | grep -c 'error')" 0
expect_eq "apt installs the package and its Depends" "$(rd install_exit)" 0
expect_match "apt pulled the libraries from Depends" "$(rd install.log)" "libbpf1"
expect_eq "dmawatch --version runs" "$(rd version_exit)" 0
expect_match "it names the build and its BPF programs" "$(rd version)" \
	"^dmawatch [^ ]+ \(bpf [0-9a-f]{12}\)$"
expect_eq "dmatop (the link) runs" "$(rd dmatop_exit)" 0
expect_match "man dmawatch" "$(rd man)" "DMAWATCH\(8\)"
expect_eq "systemd-analyze verify accepts the unit" "$(rd verify_exit)" 0
expect_eq "systemd-analyze has no complaint" "$(rd verify)" ""
expect_match "the unit is installed, not enabled" "$(rd enabled)" "^disabled"
expect_match "bash completion loads for dmawatch" "$(rd completion)" "complete -F _dmawatch"
expect_match "the package ships the dashboard" "$(rd files)" "/usr/share/dmawatch/prometheus/dmawatch-dashboard.json"
expect_eq "apt purges it" "$(rd purge_exit)" 0
expect_eq "nothing of it left after the purge" "$(rd left | tr '\n' ' ')" ""
expect_gt "binary and libraries copied for the lab" "$(ls "$pkgroot" | wc -l)" 4
