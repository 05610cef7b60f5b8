#!/bin/sh
# Host test of the lab cache (cache.sh): an entry is used only when it was
# committed whole and its checksummed files are intact. Prints TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/cache.sh"
# shellcheck disable=SC2034 # tap_prefix: read by tap.sh's pass and fail
tap_prefix="cache: "
DMAWATCH_CACHE=$(mktemp -d)
trap 'rm -rf "$DMAWATCH_CACHE"' EXIT
export DMAWATCH_CACHE
entry=$(cache_root)/things/a_1

expect_eq "cache_root follows DMAWATCH_CACHE" "$(cache_root)" "$DMAWATCH_CACHE"
expect_eq "XDG_CACHE_HOME default" "$(DMAWATCH_CACHE='' XDG_CACHE_HOME=/x cache_root)" /x/dmawatch
if cache_valid "$entry"; then fail "a missing entry is not valid"; else pass "a missing entry is not valid"; fi

tmp=$(cache_tmp "$entry")
echo payload > "$tmp/file"
if cache_valid "$tmp"; then fail "a half-written entry (no checksums) is not valid"; else pass "a half-written entry (no checksums) is not valid"; fi
if cache_valid "$entry"; then fail "nothing at the entry before commit"; else pass "nothing at the entry before commit"; fi
cache_commit "$tmp" "$entry" file
if cache_valid "$entry"; then pass "a committed entry is valid"; else fail "a committed entry is valid"; fi
expect_eq "the temporary folder is gone" "$(ls -d "$entry".tmp.* 2> /dev/null | wc -l)" 0

echo changed > "$entry/file"
if cache_valid "$entry"; then fail "a damaged entry is not valid"; else pass "a damaged entry is not valid"; fi
rm "$entry/file"
if cache_valid "$entry"; then fail "an entry missing a file is not valid"; else pass "an entry missing a file is not valid"; fi

tmp=$(cache_tmp "$entry")
echo again > "$tmp/file"
cache_commit "$tmp" "$entry" file
expect_eq "an invalid entry is replaced on commit" "$(cat "$entry/file")" again
tmp=$(cache_tmp "$entry")
echo other > "$tmp/file"
cache_commit "$tmp" "$entry" file
expect_eq "a valid entry committed meanwhile is kept" "$(cat "$entry/file")" again

k1=$(cache_key a "$here/cache.sh")
k2=$(cache_key a "$here/tap.sh")
expect_ne "the key follows the contents of named files" "$k1" "$k2"
expect_eq "the key is stable" "$(cache_key a "$here/cache.sh")" "$k1"

# apt_setup (apt.sh) run for one release by several fetches at once, as
# make -j does for 6.1 and 6.12: each must succeed, and no two may refresh
# the lists together. apt-get is a stub that notes overlapping updates.
. "$here/apt.sh"
stub=$(mktemp -d)
trap 'rm -rf "$DMAWATCH_CACHE" "$stub"' EXIT
cat > "$stub/apt-get" <<STUB
#!/bin/sh
case " \$* " in *" update "*) ;; *) exit 0 ;; esac
mkdir "$stub/updating" 2> /dev/null || echo overlap >> "$stub/overlaps"
sleep 0.2
rmdir "$stub/updating"
STUB
chmod +x "$stub/apt-get"
for i in 1 2 3 4 5 6; do
	(PATH=$stub:$PATH apt_setup bookworm > "$stub/out.$i" 2>&1; echo $? > "$stub/rc.$i") &
done
wait
expect_eq "six apt_setup at once for one release all succeed" "$(cat "$stub"/rc.* | sort -u)" 0
expect_eq "no two refreshed the lists at once" "$(cat "$stub/overlaps" 2> /dev/null)" ""
expect_eq "they said nothing" "$(cat "$stub"/out.*)" ""
expect_eq "sources.list written whole" "$(grep -c '^deb ' "$(cache_root)/apt/bookworm/sources.list")" 4
