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

# rotate K WORD...: the words one per line, starting from the (K mod
# their number)-th (0: the first). With K the round less one, every word
# takes its turn at each position, so that no path always runs first
# (with the fewest TIME_WAIT sockets left behind, say) or last.
rotate() {
	local k=$1 i
	shift
	local w=("$@")
	for ((i = 0; i < ${#w[@]}; i++)); do
		printf '%s\n' "${w[(i + k) % ${#w[@]}]}"
	done
}

# stats_awk: awk functions for the summaries over rounds, to put before a
# program (awk "$stats_awk"'...'): med(list), lo(list), hi(list) of a
# space-separated list of numbers (the median, the least, the greatest),
# add(arr, k, v) appends v to arr[k]'s list, rng(list) is " (lo-hi)" with
# two decimals when the list has two or more.
stats_awk='
	function med(list,   n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		if (n == 0) return ""
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function lo(list,   n, a, i, m) {
		n = split(list, a, " "); m = a[1]
		for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]
		return m
	}
	function hi(list,   n, a, i, m) {
		n = split(list, a, " "); m = a[1]
		for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]
		return m
	}
	function add(arr, k, v) { arr[k] = (k in arr) ? arr[k] " " v : v }
	function rng(list) {
		if (split(list, dummy, " ") < 2) return ""
		return sprintf(" (%.2f-%.2f)", lo(list), hi(list))
	}
'
