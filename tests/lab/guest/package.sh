#!/bin/sh
# The Debian package's binary, with the libraries it loaded in a Debian 12
# root (tests/pkg/deb-test.sh), next to the lab's static build: both must
# be the same build and both must run here. Not in run-scenarios' list:
# tests/pkg/deb-lab.sh boots it with the package's files under /pkg.
. /lab/lib.sh
pkg() { /pkg/ld-linux-x86-64.so.2 --library-path /pkg /pkg/dmawatch "$@"; }
emit static_version "$(dmawatch --version)"
emit package_version "$(pkg --version 2>&1)"
dmawatch probe > /tmp/static-probe.txt 2>&1
emit static_probe_exit $?
pkg probe > /tmp/package-probe.txt 2>&1
emit package_probe_exit $?
cat /tmp/package-probe.txt
# The hook that counts bounced mappings, and how: its first attached one.
choice() { awk '$1 == "swiotlb" && $3 != "none" { print $2, $3; exit }' "$1"; }
emit static_swiotlb_map "$(choice /tmp/static-probe.txt)"
emit package_swiotlb_map "$(choice /tmp/package-probe.txt)"
# The package's binary counts bounces like the static one (against tracefs).
# Not through pkg(): $! must be dmawatch itself (ld.so runs it in place),
# not a subshell, for the SIGTERM that ends it with a last report.
/pkg/ld-linux-x86-64.so.2 --library-path /pkg /pkg/dmawatch -F swiotlb stat --json 3600 \
	> /tmp/stat.json 2> /tmp/stat.err &
pid=$!
i=0
while ! grep -q '"devices"' /tmp/stat.json && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
trace_swiotlb_start
labio write /dev/vda 4194304 1048576 > /dev/null
trace_swiotlb_stop
kill -TERM $pid
wait $pid
emit package_stat_exit $?
emit package_stat_err "$(head -c 300 /tmp/stat.err)"
emit package_stat_final "$(tail -n 1 /tmp/stat.json)"
# shellcheck disable=SC2046 # the sum's four fields, an argument each
set -- $(trace_swiotlb_sum "$(dma_dev_of vda)")
emit trace_events "$1"
emit vda_dma_dev "$(dma_dev_of vda)"
