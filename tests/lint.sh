#!/bin/sh
# lint.sh [BUILD]: the fast tier, before any build. Prints TAP, one line a
# file:
#   - shellcheck -S warning on every shell script: *.sh, and any file whose
#     first lines are a sh/bash shebang or a "# shellcheck shell=" directive
#     (the guest's init, .ci/run, the bash completion), so a new script is
#     checked without an edit here;
#   - clang-format (the tree's .clang-format) on every C file under family/,
#     user/ and tests/ but the lab's kernel module (the kernel's style): a
#     failure shows the start of the diff.
# The files are git's (tracked, and new ones not ignored); outside a git
# tree, find's, less BUILD (default build/). A missing tool is a failure,
# never a skip: make deps-lint installs both. SHELLCHECK and CLANG_FORMAT
# name other binaries. Exits 1 when a check failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
cd "$top" || exit 1
shellcheck=${SHELLCHECK:-shellcheck}
clang_format=${CLANG_FORMAT:-clang-format}
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - lint: $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - lint: $*"; }
# A tool's output as TAP comments, its first 20 lines.
comment() { head -n 20 | sed 's/^/#   /'; }

# Every file of the tree, relative to it, one a line.
files() {
	if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
		git ls-files --cached --others --exclude-standard
	else
		case $build in
		"$top"/*) skip=./${build#"$top"/} ;;
		/*) skip=./build ;;
		*) skip=./$build ;;
		esac
		find . \( -path ./.git -o -path ./.cache -o -path ./build -o -path "$skip" \) -prune \
			-o -type f -print | sed 's|^\./||' | sort
	fi
}

is_script() { # file
	case $1 in
	*.sh | *.bash) return 0 ;;
	esac
	head -n 3 "$1" 2> /dev/null | grep -Eq '^#!.*[/ ](ba|da|a)?sh( |$)|^# shellcheck shell='
}

# ---- shellcheck --------------------------------------------------------------
if ! command -v "$shellcheck" > /dev/null 2>&1; then
	not_ok "$shellcheck missing (make deps-lint installs it)"
else
	scripts=$(files | while IFS= read -r f; do
		[ -f "$f" ] && is_script "$f" && echo "$f"
	done)
	# A here-document, not a pipe: the loop counts in this shell.
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		if out=$("$shellcheck" -S warning -f gcc "$f" 2>&1); then
			ok "shellcheck $f"
		else
			not_ok "shellcheck $f"
			printf '%s\n' "$out" | comment
		fi
	done <<-END
	$scripts
	END
fi

# ---- clang-format ------------------------------------------------------------
if ! command -v "$clang_format" > /dev/null 2>&1; then
	not_ok "$clang_format missing (make deps-lint installs it)"
elif [ ! -f .clang-format ]; then
	not_ok "clang-format: no .clang-format at the top of the tree"
else
	echo "# $("$clang_format" --version)"
	sources=$(files | while IFS= read -r f; do
		case $f in
		*.skel.h | */vmlinux.h | vmlinux/*) ;; # generated
		# The lab's kernel module is kernel code, in the kernel's own
		# style (checkpatch's, tab-aligned #defines).
		tests/lab/module/*) ;;
		family/*.[ch] | user/*.[ch] | tests/*.[ch]) [ -f "$f" ] && echo "$f" ;;
		esac
	done)
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		if "$clang_format" --dry-run --Werror "$f" > /dev/null 2>&1; then
			ok "clang-format $f"
		else
			not_ok "clang-format $f (clang-format -i $f)"
			"$clang_format" "$f" 2>&1 | diff -u "$f" - | comment
		fi
	done <<-END
	$sources
	END
fi
[ "$failed" -eq 0 ]
