# shellcheck shell=sh
# The lab's private apt configuration per Debian release (sourced by
# fetch-kernel.sh and build-kernel.sh after cache.sh): apt_setup DIST
# points apt_opts at CACHE/apt/DIST/ (its own sources, lists, status and
# downloads; the system's are never touched) and refreshes lists older than
# a day. apt verifies every download against the release's signed index.
# Then field, depends_on and candidate read its packages.

apt_setup() { # dist
	mirror=${DEBIAN_MIRROR:-http://deb.debian.org}
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -r "$keyring" ] || {
		echo "apt.sh: $keyring missing: apt-get install debian-archive-keyring" >&2
		exit 1
	}
	apt_dir="$(cache_root)/apt/$1"
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
	# make -j fetches two kernels of one release at once: one lock per
	# release serialises writing its sources and refreshing its lists
	# (without it one run's mv found the other's sources.list.new gone).
	exec 9> "$apt_dir/setup.lock"
	flock 9
	apt_sources "$1" > "$apt_dir/sources.list.$$"
	mv "$apt_dir/sources.list.$$" "$apt_dir/sources.list"
	[ -f "$apt_dir/status" ] || : > "$apt_dir/status"

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
	flock -u 9
	exec 9>&-
}

apt_sources() { # dist: the suites a kernel and its build dependencies come from
	for suite in "$1" "$1-updates" "$1-backports"; do
		echo "deb [signed-by=$keyring] $mirror/debian $suite main"
	done
	echo "deb [signed-by=$keyring] $mirror/debian-security $1-security main"
}

# shellcheck disable=SC2086
field() { # package field: one field of the package's candidate
	apt-cache $apt_opts show "$1" 2>/dev/null | sed -n "s/^$2: //p" | head -n 1
}
# The Depends of a package (or NAME/SUITE) that match a pattern, one a line.
depends_on() {
	field "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//; s/|.*//' | grep -E "$2" || true
}
candidate() {
	# shellcheck disable=SC2086
	apt-cache $apt_opts policy "$1" | sed -n 's/^ *Candidate: //p'
}
