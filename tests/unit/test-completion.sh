#!/bin/bash
# test-completion.sh BUILD: the bash completion offers exactly the commands,
# options and families the binary itself knows (its --help and getopt
# tables), so the two cannot drift apart. Prints TAP.
set -u
bin=${1:?usage: test-completion.sh BUILD}/dmawatch
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/contrib/dmawatch.bash-completion"
_dmawatch_bin=$bin
n=0
complete_words() { # word...: what completing the last word offers, sorted
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_dmawatch
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
check() { # description got want
	n=$((n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $n - completion: $1"
	else
		echo "not ok $n - completion: $1"
		echo "#   got '$2'"
		echo "#   want '$3'"
	fi
}
sorted() { tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' '; }
commands=$("$bin" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sorted)
check "the commands" "$(complete_words dmawatch '')" "$(echo "$commands help" | sorted)"
families=$("$bin" --help | sed -n '/^Probe families:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sorted)
check "the families after -F" "$(complete_words dmawatch -F '')" "$families"
check "a family list goes on after a comma" "$(complete_words dmawatch -F swiotlb,d)" "swiotlb,dmamap "
check "the global options" "$(complete_words dmawatch --)" \
	"$("$bin" --help | grep -oE -- '--[a-z]+' | sorted)"
# Every long option a command's --help shows is offered, and every one
# offered is accepted (an unknown one exits 2 with getopt's message).
for cmd in top export stat trace probe; do
	offered=$(complete_words dmawatch "$cmd" --)
	helped=$("$bin" "$cmd" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u | tr '\n' ' ')
	missing=
	for o in $helped; do
		case " $offered " in *" $o "*) ;; *) missing="$missing $o" ;; esac
	done
	check "$cmd: every option in its --help is offered" "$missing" ""
	refused=
	for o in $offered; do
		# "unknown option" is said only of options the command lacks.
		# --help after it: the command never starts (an option that takes
		# a value gets "--help" and refuses it).
		timeout 10 "$bin" "$cmd" "$o" --help < /dev/null 2>&1 |
			grep -q 'unknown option' && refused="$refused $o"
	done
	check "$cmd: every option offered is accepted" "$refused" ""
done
check "dmatop completes top's options" "$(complete_words dmatop --b)" "--batch "
