# shellcheck shell=sh
# The lab's cache of downloads and builds (sourced by the lab's scripts).
#
# Entries are named by their content (the package and version they unpack,
# or a hash of a build's inputs), so one cache serves every clone on the
# machine. It lives in DMAWATCH_CACHE, by default
# ${XDG_CACHE_HOME:-~/.cache}/dmawatch.
#
# An entry is built in a temporary folder beside its final place, then its
# checksums are written (SHA256SUMS, last) and the folder renamed into place.
# An entry is used only when its checksums verify: a half-written or damaged
# one is rebuilt, never used.

cache_root() {
	echo "${DMAWATCH_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/dmawatch}"
}

# cache_valid DIR: DIR is a complete entry whose checksummed files are intact.
cache_valid() {
	[ -s "$1/SHA256SUMS" ] && (cd "$1" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1
}

# cache_tmp DIR: a fresh temporary folder beside DIR (same filesystem).
cache_tmp() {
	mkdir -p "$(dirname "$1")"
	t="$1.tmp.$$"
	rm -rf --one-file-system "$t"
	mkdir -p "$t"
	echo "$t"
}

# cache_commit TMP DIR FILE...: checksum FILEs (paths inside TMP), then
# move TMP to DIR. An existing invalid DIR is replaced; a valid one that
# another run committed meanwhile is kept and TMP dropped.
cache_commit() {
	tmp=$1 dir=$2
	shift 2
	(cd "$tmp" && sha256sum -- "$@" > SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS)
	if cache_valid "$dir"; then
		rm -rf "$tmp"
		return 0
	fi
	rm -rf "$dir.old.$$"
	[ -e "$dir" ] && mv "$dir" "$dir.old.$$"
	mv "$tmp" "$dir"
	rm -rf "$dir.old.$$"
}

# cache_key STRING...: a short content key for a build's inputs (strings
# and, for arguments naming files, their contents).
cache_key() {
	for a in "$@"; do
		if [ -f "$a" ]; then sha256sum < "$a"; else printf '%s\n' "$a"; fi
	done | sha256sum | cut -c1-16
}

# cache_copy_out ENTRY FILE OUT: ENTRY/FILE to OUT, whole or not at all.
cache_copy_out() {
	mkdir -p "$(dirname "$3")"
	cp "$1/$2" "$3.tmp.$$"
	mv "$3.tmp.$$" "$3"
}
