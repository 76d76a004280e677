# bench/lib.sh — what the benchmark scripts share; sourced, not run.

# descendants PID: the PIDs below PID, deepest first.
descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		descendants "$c"
		echo "$c"
	done
}

# stop PID...: TERM each and its children, KILL what is left after 3 s.
# (The state field of /proc/PID/stat follows the command's ")": a command
# holding spaces cannot shift it.)
stop() {
	local p i all=''
	for p in "$@"; do
		[ -d "/proc/$p" ] || continue
		all="$all $(descendants "$p") $p"
	done
	[ -n "${all// /}" ] || return 0
	# shellcheck disable=SC2086
	kill -TERM $all 2>/dev/null || true
	for i in $(seq 30); do
		for p in $all; do
			[ -d "/proc/$p" ] && [ "$(sed 's/.*) //' \
			    "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)" != Z ] &&
			    break
			p=
		done
		[ -z "$p" ] && break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $all 2>/dev/null || true
	for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
