#!/bin/sh
# deb-lab.sh BUILD KERNEL: boots a lab guest (KERNEL, e.g. 6.12) with the
# package's binary and the libraries it loaded in the Debian 12 root
# (BUILD/deb/pkgroot, from deb-test.sh) beside the lab's static build, and
# checks both are the same build and run there (guest/package.sh). TAP.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/lab/tap.sh"
build=${1:?usage: deb-lab.sh BUILD KERNEL}
kernel=${2:?}
env=$build/lab/$kernel/kernel.env
pkgroot=$build/deb/pkgroot
out=$build/deb/lab-$kernel
rm -rf "$out"
mkdir -p "$out"
set --
for f in "$pkgroot"/*; do set -- "$@" "$f=pkg/$(basename "$f")"; done
"$here/lab/mkinitramfs.sh" "$env" "$out/initramfs.gz" \
	"$build/static/dmawatch=usr/bin/dmawatch" "$build/lab/labio=usr/bin/labio" "$@" ||
	exit 1
"$here/lab/run-guest.sh" -s package -t 240 -o "$out" "$env" "$out/initramfs.gz"
results "$out/results"
# shellcheck disable=SC2034 # tap_prefix: read by tap.sh's pass and fail
tap_prefix="deb: $kernel guest: "
expect_eq "guest ran the scenario and powered off" "$(cat "$out/status")" ok
expect_clean_console "$out/console.log"
expect_match "the static build runs" "$(r static_version)" "^dmawatch "
expect_eq "the package's binary is the same build (version, BPF programs)" \
	"$(r package_version)" "$(r static_version)"
expect_eq "static: dmawatch probe exits 0" "$(r static_probe_exit)" 0
expect_eq "package: dmawatch probe exits 0" "$(r package_probe_exit)" 0
expect_match "package: bounced mappings hooked" "$(r package_swiotlb_map)" \
	'^(swiotlb_map (fentry|kprobe)|dma/dma_map_(page|phys) raw_tp)$'
expect_eq "both chose the same hook" "$(r package_swiotlb_map)" "$(r static_swiotlb_map)"
expect_eq "package: stat exits 0" "$(r package_stat_exit)" 0
final=$(r package_stat_final)
maps=$(printf '%s' "$final" | jq -r --arg d "$(r vda_dma_dev)" '.devices[] | select(.device == $d) | .maps + .failures')
expect_gt "tracefs saw the write bounce" "$(r trace_events)" 0
expect_eq "package: its counts = tracefs swiotlb_bounced" "$maps" "$(r trace_events)"
