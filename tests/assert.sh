# Assertions shared by the CLI and integration tests: each prints one line,
# "ok - DESC" or "not ok - DESC" with what it saw, through ok/not_ok and
# show, which the sourcing library defines.

assert_eq() {	# DESC EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  expected:"
		show "$2"
		echo "#  got:"
		show "$3"
	fi
}

assert_ne() {	# DESC UNEXPECTED ACTUAL
	if [ "$2" != "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  did not expect:"
		show "$3"
	fi
}

assert_contains() {	# DESC HAYSTACK NEEDLE
	case $2 in
	*"$3"*)
		ok "$1"
		;;
	*)
		not_ok "$1"
		echo "#  expected to contain: $3"
		echo "#  got:"
		show "$2"
		;;
	esac
}

assert_not_contains() {	# DESC HAYSTACK NEEDLE
	case $2 in
	*"$3"*)
		not_ok "$1"
		echo "#  expected not to contain: $3"
		echo "#  got:"
		show "$2"
		;;
	*)
		ok "$1"
		;;
	esac
}

assert_match() {	# DESC TEXT EXTENDED-REGEX (some line matches)
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  expected a line matching: $3"
		echo "#  got:"
		show "$2"
	fi
}
