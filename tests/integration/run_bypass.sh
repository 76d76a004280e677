#!/bin/bash
# fnguard run against the known ways around a ptrace + seccomp launcher
# (issue 5 item 5; DESIGN "Kernel and platform facts"). One program per
# class, in tests/run/, compiled here with ${CC:-cc}; each prints one line
# per attempt ("WHAT: OK" or "WHAT: ENAME"). Every class runs twice: bare,
# to show that the program really gets around something (so that the test
# can fail), and under fnguard run, where the attempt must fail.
#
#   1 untraced   CLONE_UNTRACED children: clone refuses them (EPERM),
#                clone3 fails (ENOSYS); bare, the children exec, open and
#                connect
#   2 int80      i386 calls (int $0x80: open, execve, socketcall, connect)
#                and x32 calls from a 64-bit process: ENOSYS
#   3 ptrace     attach/seize, process_vm_readv/writev, pidfd_getfd on the
#                parent (fnguard) and a sibling tracee: EPERM; /proc/PID/mem
#                opened for writing (5 spellings): EACCES; a directory
#                swapped for a symlink (to /proc, to a denied directory)
#                right after fnguard resolved it: EACCES
#   4 toctou     a thread flips the path/address of open, execve, connect
#                (and chmod) between an allowed and a denied value: the
#                denied object is never reached
#   5 iouring    io_uring_setup: ENOSYS when files or network are checked;
#                open_by_handle_at: EPERM when files are checked
#   6 notify     seccomp filter with a user-notification listener: EPERM
#   7 memfd      execveat/fexecve/proc-fd exec of a memfd copy of a binary
#                the whitelist does not name: EACCES, audited
#   8 scripts    a script whose interpreter is blacklisted (direct, via a
#                symlink, nested, through env): never runs
#   9 failclosed kill -9 of fnguard: the traced tree dies within 2 s; no
#                untraced child that could outlive it is made
#
# Network: TCP listeners of the test on 127.0.0.1 and 127.0.0.9 (the
# denied address) only. Needs root (ptrace of the parent, the resolver's
# port 53) and a C compiler; exits 77 without them.

. "$(dirname "$0")/lib.sh"

need_root
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || skip "no C compiler ($CC)"
[ "$(uname -m)" = x86_64 ] || skip "x86-64 only (int \$0x80, x32)"

mktmp
B=$T/bin
mkdir -p "$B" "$T/a" "$T/d" "$T/i" "$T/s" "$T/links"

for _p in untraced int80 ptrace toctou iouring notify memfd listen dirswap; do
	if ! "$CC" -O2 -Wall -pthread -o "$B/$_p" \
	    "$TOP_SRCDIR/tests/run/$_p.c" 2>"$T/cc.err"; then
		if [ "$_p" = untraced ]; then
			skip "$CC cannot build tests/run/$_p.c: $(head -n 3 \
			    "$T/cc.err")"
		fi
		not_ok "compile tests/run/$_p.c"
		show "$(cat "$T/cc.err")"
		finish
	fi
done

# ---- helpers ----

# Nothing listens here: the embedded resolver's upstream (never asked).
DEADNS=127.0.0.1:9

# run SECONDS CMD...: stdout in $OUT, stderr in $ERR, status in $RC.
run() {
	run_here "$@"
}

# guarded SECONDS POLICY|- CMD...: run under fnguard run, audit records in
# $AUDIT (the file $T/audit, emptied first).
guarded() {
	local secs=$1 pol=$2 prog
	shift 2
	: >"$T/audit"
	if [ "$pol" = - ]; then
		run "$secs" "$FNGUARD" run --audit "$T/audit" \
		    --upstream "$DEADNS" -- "$@"
	else
		run "$secs" "$FNGUARD" run --policy "$pol" \
		    --audit "$T/audit" --upstream "$DEADNS" -- "$@"
	fi
	AUDIT=$(cat "$T/audit")
	# Every record carries the time it was made (SPEC 4), races too.
	prog=$1
	[ "$prog" = env ] && prog=${*: -1}
	assert_no_match \
	    "audit records (${prog##*/}, ${pol##*/}) have a real time" \
	    "$AUDIT" '"time":"1970-'
}

# line DESC EXACT-LINE: $OUT has that line.
line() {
	if printf '%s\n' "$OUT" | grep -Fxq -- "$2"; then
		ok "$1"
	else
		not_ok "$1"
		echo "#  expected the line: $2"
		echo "#  stdout:"
		show "$OUT"
		echo "#  stderr:"
		show "$ERR"
	fi
}

# no_line DESC FIXED-TEXT: no line of $OUT contains it.
no_line() {
	if printf '%s\n' "$OUT" | grep -Fq -- "$2"; then
		not_ok "$1"
		echo "#  expected no line containing: $2"
		show "$(printf '%s\n' "$OUT" | grep -F -- "$2" | sort | uniq -c)"
	else
		ok "$1"
	fi
}

has() {	# FIXED-TEXT: a line of $OUT contains it
	printf '%s\n' "$OUT" | grep -Fq -- "$1"
}

# Listeners on 127.0.0.1:$PORT and 127.0.0.9:$PORT, started fresh by
# listeners_start; listeners_stop sets ACC1 BYTES1 ACC9 BYTES9.
PORT=
L1=
L9=
listeners_start() {
	_try=0
	while [ "$_try" -lt 5 ]; do
		_try=$((_try + 1))
		[ -n "$PORT" ] || PORT=$((20000 + RANDOM % 30000))
		"$B/listen" 127.0.0.1 "$PORT" >"$T/l1" 2>&1 &
		L1=$!
		PIDS+=("$L1")
		"$B/listen" 127.0.0.9 "$PORT" >"$T/l9" 2>&1 &
		L9=$!
		PIDS+=("$L9")
		if wait_for 3 grep -q listening "$T/l1" &&
		    wait_for 3 grep -q listening "$T/l9"; then
			return 0
		fi
		stop_pid "$L1" 2
		stop_pid "$L9" 2
		PORT=
	done
	not_ok "listeners on 127.0.0.1 and 127.0.0.9"
	show "$(cat "$T/l1" "$T/l9")"
	finish
}

listeners_stop() {
	stop_pid "$L1" 3
	stop_pid "$L9" 3
	ACC1=$(awk '/^accepted/ { print $2 }' "$T/l1")
	BYTES1=$(awk '/^accepted/ { print $4 }' "$T/l1")
	ACC9=$(awk '/^accepted/ { print $2 }' "$T/l9")
	BYTES9=$(awk '/^accepted/ { print $4 }' "$T/l9")
}

# The denied objects: a file, a program (echo), an address.
SECRET=$T/d/secret
printf 'SECRET-DENIED\n' >"$SECRET"
ECHO=$(command -v echo)
case $ECHO in
/*) ;;
*) ECHO=/bin/echo ;;
esac
cp "$ECHO" "$T/d/echo"

# P_ALL: processes, files and network all checked, the denied objects
# above blacklisted.
cat >"$T/p_all.json" <<EOF
{"rules": [{"name": "bypass",
  "processes": {"effect": "prevent", "blacklist": ["$T/d/*"]},
  "filesystem": {"effect": "prevent", "blacklist": ["$T/d/*"]},
  "network": {"effect": "prevent", "blacklistIPs": ["127.0.0.9"]}}]}
EOF
cat >"$T/p_files.json" <<EOF
{"rules": [{"name": "files",
  "filesystem": {"effect": "prevent", "blacklist": ["$T/d/*"]}}]}
EOF
cat >"$T/p_net.json" <<EOF
{"rules": [{"name": "net",
  "network": {"effect": "prevent", "blacklistIPs": ["127.0.0.9"]}}]}
EOF
cat >"$T/p_procs.json" <<EOF
{"rules": [{"name": "procs",
  "processes": {"effect": "prevent", "blacklist": ["$T/d/*"]}}]}
EOF

listeners_start

# ---- 1. CLONE_UNTRACED ----

echo "# 1. CLONE_UNTRACED children (clone, clone3)"
run 10 "$B/untraced" "$T/d/echo" "$SECRET" 127.0.0.9 "$PORT"
HAVE_CLONE3=1
if has "clone3: ENOSYS"; then
	HAVE_CLONE3=0
	echo "# note: no clone3 on this kernel: the clone3 case is skipped"
fi
for _how in clone clone3; do
	[ "$_how" = clone3 ] && [ "$HAVE_CLONE3" = 0 ] && continue
	line "bare: $_how untraced child reads the file" \
	    "$_how read: SECRET-DENIED"
	line "bare: $_how untraced child connects" "$_how connect: OK"
	line "bare: $_how untraced child execs" "$_how exec: OK"
done

listeners_stop
listeners_start
guarded 20 "$T/p_all.json" "$B/untraced" "$T/d/echo" "$SECRET" 127.0.0.9 \
    "$PORT"
assert_status "untraced: exit status 0" 0
# No untraced child can be made: clone with CLONE_UNTRACED fails, and so
# does clone3 (its flags are out of the filter's sight; C libraries fall
# back to clone when it says ENOSYS).
line "clone: CLONE_UNTRACED is refused (EPERM)" "clone: EPERM"
line "clone3: refused as if missing (ENOSYS)" "clone3: ENOSYS"
for _how in clone clone3; do
	no_line "$_how: no untraced child ran" "$_how tracer:"
	no_line "$_how: the denied file is not read" "$_how read:"
	no_line "$_how: the denied program does not run" "$_how exec: OK"
done
listeners_stop
assert_eq "untraced: no connection reached 127.0.0.9" 0 "$ACC9"

# ---- 2. i386 and x32 calls ----

echo "# 2. int \$0x80 (i386) and x32 calls from a 64-bit process"
listeners_start
run 10 "$B/int80" "$SECRET" "$T/d/echo" 127.0.0.9 "$PORT"
HAVE_I386=1
if has "int80: unsupported"; then
	HAVE_I386=0
	echo "# note: no i386 emulation on this kernel: int \$0x80 faults" \
	    "(the i386 cases cannot fail here)"
else
	line "bare: i386 open reads the file" "int80 read: SECRET-DENIED"
	line "bare: i386 execve runs the program" "int80 exec: OK"
	line "bare: i386 socketcall connect works" \
	    "int80 socketcall connect: OK"
	line "bare: i386 connect works" "int80 connect: OK"
fi
HAVE_X32=0
if has "x32 openat: OK"; then
	HAVE_X32=1
	line "bare: x32 openat reads the file" "x32 read: SECRET-DENIED"
else
	echo "# note: no x32 ABI on this kernel (bare x32 openat:" \
	    "$(printf '%s\n' "$OUT" | sed -n 's/^x32 openat: //p'))"
fi
listeners_stop
listeners_start
guarded 20 "$T/p_all.json" "$B/int80" "$SECRET" "$T/d/echo" 127.0.0.9 \
    "$PORT"
assert_status "int80: exit status 0" 0
if [ "$HAVE_I386" = 1 ]; then
	line "i386 open fails with ENOSYS" "int80 open: ENOSYS"
	line "i386 execve fails with ENOSYS" "int80 execve: ENOSYS"
	line "i386 socketcall(socket) fails with ENOSYS" \
	    "int80 socketcall socket: ENOSYS"
	line "i386 socketcall(connect) fails with ENOSYS" \
	    "int80 socketcall connect: ENOSYS"
	line "i386 connect fails with ENOSYS" "int80 connect: ENOSYS"
	no_line "i386: the denied file is not read" "int80 read:"
	no_line "i386: the denied program does not run" "int80 exec: OK"
fi
if [ "$HAVE_X32" = 1 ]; then
	line "x32 openat fails with ENOSYS" "x32 openat: ENOSYS"
	line "x32 connect fails with ENOSYS" "x32 connect: ENOSYS"
	no_line "x32: the denied file is not read" "x32 read:"
else
	# Without the x32 ABI every x32 call is ENOSYS with or without
	# fnguard: nothing to show here (check_seccomp runs the filter on
	# x32 numbers itself).
	echo "# note: x32 not checked here: the kernel refuses it anyway"
fi
listeners_stop
assert_eq "int80/x32: no connection reached 127.0.0.9" 0 "$ACC9"

# ---- 3. reaching into fnguard or another tracee ----

echo "# 3. ptrace, process_vm_*, /proc/PID/mem, pidfd_getfd"
# Bare, under timeout: the parent it attaches to (and lets go) is not this
# shell.
run 15 timeout 10 "$B/ptrace" "$T/links"
for _who in parent sibling; do
	for _w in attach seize process_vm_readv process_vm_writev \
	    "open rdwr" "open wronly" "open task" "open dirfd" \
	    "open symlink" pidfd_getfd; do
		line "bare: $_w $_who works" "$_w $_who: OK"
	done
done
for _pol in - "$T/p_all.json"; do
	if [ "$_pol" = - ]; then
		_pn="no policy"
	else
		_pn="policy"
	fi
	guarded 20 "$_pol" "$B/ptrace" "$T/links"
	assert_status "ptrace ($_pn): exit status 0" 0
	line "ptrace ($_pn): the parent is fnguard" "parent comm: fnguard"
	for _who in parent sibling; do
		for _w in attach seize process_vm_readv process_vm_writev \
		    pidfd_getfd; do
			line "$_w $_who fails with EPERM ($_pn)" \
			    "$_w $_who: EPERM"
		done
		for _w in "open rdwr" "open wronly" "open task" "open dirfd" \
		    "open symlink"; do
			line "$_w /proc/$_who/mem fails with EACCES ($_pn)" \
			    "$_w $_who: EACCES"
		done
	done
	if has "open rdonly parent: OK"; then
		echo "# note ($_pn): /proc/<fnguard>/mem opens read-only" \
		    "(the tracee can read fnguard's memory that way;" \
		    "process_vm_readv of it is refused)"
	fi
done

# A /proc of its own, where /proc/<fnguard>/mem has another name: mount
# fails whatever the policy (bare, in a mount namespace of its own, it
# works and shows its parent's mem). Under fnguard unshare leaves the
# propagation as it is (changing it is a mount call too).
mkdir -p "$T/pm"
_pm="mount -t proc proc $T/pm && test -e $T/pm/\$PPID/mem && echo mounted"
run 10 unshare -m sh -c "$_pm"
line "bare: a private /proc mounts" mounted
for _pol in - "$T/p_all.json"; do
	guarded 10 "$_pol" unshare -m --propagation unchanged sh -c \
	    "$_pm; echo rc=\$?"
	assert_match "mount of a /proc of its own refused (${_pol##*/})" \
	    "$OUT" '^rc=[1-9][0-9]*$'
	assert_match "mount: the refusal is EPERM (${_pol##*/})" "$ERR" \
	    '[Pp]ermission denied|[Oo]peration not permitted'
done
umount "$T/pm" 2>/dev/null	# only if the refusal failed

# A directory that fnguard resolved a moment before (and may remember),
# swapped by the program, the only task traced, for a symlink: to /proc,
# where PARENT/mem is fnguard's memory (refused whatever the policy), and
# to the denied directory (refused under the files policy). Bare, both
# open.
dirswap() {	# POLICY|bare TARGET NAME: tests/run/dirswap.c, a fresh DIR
	local dir
	dir=$(mktemp -d "$T/ds.XXXXXX")
	if [ "$1" = bare ]; then
		run 10 "$B/dirswap" "$dir" "$2" "$3"
	else
		guarded 10 "$1" "$B/dirswap" "$dir" "$2" "$3"
	fi
}
printf 'DENIED\n' >"$T/d/swapped"
dirswap bare "$T/d" swapped
line "bare: a directory swapped for a symlink reaches the denied file" \
    "swapped open: OK DENIED"
dirswap "$T/p_files.json" "$T/d" swapped
line "a directory swapped for a symlink to the denied directory: EACCES" \
    "swapped open: EACCES"
dirswap bare /proc PARENT/mem
line "bare: a directory swapped for a symlink to /proc reaches PARENT/mem" \
    "swapped open: OK -"
for _pol in - "$T/p_files.json"; do
	dirswap "$_pol" /proc PARENT/mem
	line "a directory swapped for a symlink to /proc: fnguard's mem \
refused (${_pol##*/})" "swapped open: EACCES"
done

# ---- 4. TOCTOU ----

echo "# 4. races on the call's arguments"
printf 'ALLOWED\n' >"$T/a/f"
printf 'DENIED\n' >"$T/d/f"
cp "$(type -P true)" "$T/a/p"
cp "$B/toctou" "$T/d/p"
cat >"$T/p_race.json" <<EOF
{"rules": [{"name": "race",
  "processes": {"effect": "prevent", "blacklist": ["$T/d/p"]},
  "filesystem": {"effect": "prevent", "blacklist": ["$T/d/*"]}}]}
EOF

# open: a second thread reads fd 3 too, during the window between the
# open's return and fnguard's look at /proc/PID/fd/3.
run 15 "$B/toctou" open "$T/a/f" "$T/d/f" 1
check "bare: the open race reads the denied file" has "open: DENIED FILE READ"
guarded 30 "$T/p_race.json" "$B/toctou" open "$T/a/f" "$T/d/f" 2
no_line "open race: the denied file is never read" "DENIED FILE READ"
case $RC in
0)
	ok "open race: ended normally (every race refused)"
	assert_match "open race: ran" "$OUT" '^open: tries [1-9]'
	;;
137)
	ok "open race: killed (race detected)"
	assert_contains "open race: the kill is logged" "$ERR" \
	    "changed under the check; killed"
	;;
*)
	not_ok "open race: exit status 0 or 137, got $RC"
	show "$ERR"
	;;
esac
assert_contains "open race: the denied path is audited" "$AUDIT" \
    "\"filepath\":\"$T/d/f\""

# execve: the denied program is a copy of toctou that prints a marker.
run 15 "$B/toctou" exec "$T/a/p" "$T/d/p" 3
check "bare: the exec race runs the denied program" \
    has "DENIED PROGRAM RAN"
guarded 30 "$T/p_race.json" "$B/toctou" exec "$T/a/p" "$T/d/p" 2
assert_status "exec race: exit status 0" 0
no_line "exec race: the denied program never runs" "DENIED PROGRAM RAN"
assert_match "exec race: no exec of it succeeded" "$OUT" \
    '^exec: tries [1-9][0-9]* allowed [0-9]+ denied 0 '
assert_contains "exec race: the denied program is audited" "$AUDIT" \
    "$T/d/p launched and is explicitly denied by runtime rule"

# connect: 127.0.0.1 (allowed) against 127.0.0.9 (denied); a second
# thread writes to socket fd 3 during the window after the connect.
listeners_start
run 15 "$B/toctou" connect 127.0.0.1 127.0.0.9 "$PORT" 1
listeners_stop
check "bare: the connect race reaches 127.0.0.9" has "DENIED CONNECT"
assert_lt "bare: 127.0.0.9 received bytes" 0 "${BYTES9:-0}"
listeners_start
guarded 30 "$T/p_net.json" "$B/toctou" connect 127.0.0.1 127.0.0.9 \
    "$PORT" 2
listeners_stop
no_line "connect race: never connected to 127.0.0.9" "DENIED CONNECT"
case $RC in
0 | 137) ok "connect race: exit status 0 or 137 ($RC)" ;;
*) not_ok "connect race: exit status 0 or 137, got $RC"; show "$ERR" ;;
esac
assert_eq "connect race: 127.0.0.9 received no byte" 0 "${BYTES9:-x}"
assert_contains "connect race: the denied address is audited" "$AUDIT" \
    "to IP 127.0.0.9 is explicitly denied by a runtime rule"
if [ "${ACC9:-0}" != 0 ]; then
	echo "# note: 127.0.0.9 accepted $ACC9 connections (handshakes) under" \
	    "fnguard; no data"
fi

# chmod: no second look is possible after a chmod (nor unlink, rename...).
chmod 0644 "$T/d/f"
run 15 "$B/toctou" chmod "$T/a/f" "$T/d/f" 1
check "bare: the chmod race changes the denied file" \
    has "chmod: DENIED FILE CHANGED"
chmod 0644 "$T/d/f"
guarded 30 "$T/p_race.json" "$B/toctou" chmod "$T/a/f" "$T/d/f" 2
no_line "chmod race: the denied file is never changed" "DENIED FILE CHANGED"
assert_eq "chmod race: the denied file keeps mode 644" 644 \
    "$(stat -c %a "$T/d/f")"

# ---- 5. io_uring and open_by_handle_at ----

echo "# 5. io_uring, open_by_handle_at"
listeners_start
run 10 "$B/iouring" "$SECRET" "$T" 127.0.0.9 "$PORT"
HAVE_URING=1
if ! has "io_uring_setup: OK"; then
	HAVE_URING=0
	echo "# note: io_uring unavailable here ($(printf '%s\n' "$OUT" |
	    sed -n 's/^io_uring_setup: //p')): the bare case cannot show it"
else
	line "bare: io_uring opens and reads the file" \
	    "io_uring read: SECRET-DENIED"
	line "bare: io_uring connects" "io_uring connect: OK"
fi
HAVE_HANDLE=1
if ! has "name_to_handle_at: OK"; then
	HAVE_HANDLE=0
	echo "# note: no file handles on $T's file system"
else
	line "bare: open_by_handle_at reads the file" \
	    "handle read: SECRET-DENIED"
fi
listeners_stop
for _pol in files net all; do
	listeners_start
	guarded 20 "$T/p_$_pol.json" "$B/iouring" "$SECRET" "$T" 127.0.0.9 \
	    "$PORT"
	listeners_stop
	assert_status "iouring ($_pol): exit status 0" 0
	line "io_uring_setup fails with ENOSYS ($_pol checked)" \
	    "io_uring_setup: ENOSYS"
	no_line "io_uring: the file is not read ($_pol)" "io_uring read:"
	assert_eq "io_uring: no connection reached 127.0.0.9 ($_pol)" 0 \
	    "$ACC9"
	if [ "$_pol" != net ] && [ "$HAVE_HANDLE" = 1 ]; then
		line "open_by_handle_at fails with EPERM ($_pol)" \
		    "open_by_handle_at: EPERM"
		no_line "open_by_handle_at: the file is not read ($_pol)" \
		    "handle read:"
	fi
done
if [ "$HAVE_URING" = 1 ]; then
	guarded 20 "$T/p_procs.json" "$B/iouring" "$SECRET" "$T" 127.0.0.9 \
	    "$PORT"
	line "io_uring_setup works when only processes are checked" \
	    "io_uring_setup: OK"
fi

# ---- 6. seccomp user notification ----

echo "# 6. seccomp listener"
run 10 "$B/notify" "$SECRET"
line "bare: a filter with a listener installs" "seccomp listener: OK"
guarded 20 "$T/p_files.json" "$B/notify" "$SECRET"
assert_status "notify: exit status 0" 0
line "NEW_LISTENER fails with EPERM" "seccomp listener: EPERM"
line "NEW_LISTENER|TSYNC fails with EPERM" "seccomp listener tsync: EPERM"
line "a plain filter of the tracee's own installs" "seccomp plain: OK"
line "after it, the denied file is still refused" "open after filter: EACCES"

# ---- 7. memfd / fexecve ----

echo "# 7. exec of a memfd copy"
cat >"$T/p_memfd.json" <<EOF
{"rules": [{"name": "nomemfd",
  "processes": {"effect": "prevent", "whitelist": ["$B/memfd"],
                "blacklist": ["echo"]}}]}
EOF
run 10 "$B/memfd" "$ECHO"
for _how in execveat fexecve "proc fd"; do
	line "bare: $_how of the memfd runs it" "$_how: OK"
done
guarded 20 "$T/p_memfd.json" "$B/memfd" "$ECHO"
assert_status "memfd: exit status 0" 0
for _how in execveat fexecve "proc fd"; do
	line "$_how of the memfd fails with EACCES" "$_how: EACCES"
	no_line "$_how: the memfd program does not run" "$_how: OK"
done
MSG="/memfd:echo (deleted) launched and is explicitly denied by runtime rule."
assert_contains "memfd exec is audited" "$AUDIT" \
    "\"msg\":\"$MSG Full command echo "

# ---- 8. scripts ----

echo "# 8. scripts whose interpreter is blacklisted"
SH=$(readlink -f /bin/sh)
cp "$SH" "$T/i/interp"
ln -s "$T/i/interp" "$T/i/link"
printf '#!%s\necho SCRIPT RAN plain\n' "$T/i/interp" >"$T/s/plain"
printf '#!%s\necho SCRIPT RAN symlink\n' "$T/i/link" >"$T/s/symlink"
printf '#!%s\necho SCRIPT RAN nested\n' "$T/i/interp" >"$T/s/inner"
printf '#!%s\n' "$T/s/inner" >"$T/s/nested"
printf '#!/usr/bin/env interp\necho SCRIPT RAN env\n' >"$T/s/env"
chmod 755 "$T/s/"*
cat >"$T/p_script.json" <<EOF
{"rules": [{"name": "noint",
  "processes": {"effect": "prevent", "blacklist": ["interp"]}}]}
EOF
for _s in plain symlink nested env; do
	run 10 env PATH="$T/i:$PATH" "$T/s/$_s"
	line "bare: the $_s script runs" "SCRIPT RAN $_s"
	guarded 20 "$T/p_script.json" env PATH="$T/i:$PATH" "$T/s/$_s"
	no_line "$_s script: never runs" "SCRIPT RAN"
	assert_ne "$_s script: exit status not 0" 0 "$RC"
	assert_contains "$_s script: the interpreter is audited" "$AUDIT" \
	    "\"msg\":\"$T/i/interp launched and is explicitly denied by runtime rule."
done
guarded 20 "$T/p_script.json" "$T/s/plain"
no_line "plain script as the command: never runs" "SCRIPT RAN"
assert_status "plain script as the command: exit status 126" 126

# ---- 9. fail closed ----

echo "# 9. fnguard killed"
descendants() {	# PID: every process under it
	ps -e -o pid= -o ppid= | awk -v root="$1" '
	    { parent[$1] = $2 }
	    END {
		for (p in parent) {
			q = p
			while (q in parent && q != root && q > 1)
				q = parent[q]
			if (q == root && p != root)
				print p
		}
	    }'
}
all_gone() {
	for _p in "$@"; do
		_gone "$_p" || return 1
	done
	return 0
}
two_sleeps() {
	[ "$(descendants "$FPID" | while read -r _p; do
	    cat "/proc/$_p/comm" 2>/dev/null; done | grep -c '^sleep$')" -ge 2 ]
}

"$FNGUARD" run --policy "$T/p_procs.json" --audit "$T/audit" -- \
    sh -c 'sleep 30 & sleep 31; wait' >"$T/fc.out" 2>"$T/fc.err" </dev/null &
FPID=$!
PIDS+=("$FPID")
disown "$FPID"	# no "Killed" notice from the shell
if wait_for 5 two_sleeps; then
	TREE=$(descendants "$FPID")
	kill -KILL "$FPID"
	if wait_for 2 all_gone $TREE; then
		ok "kill -9 fnguard: the traced tree ($(echo $TREE)) is gone within 2 s"
	else
		not_ok "kill -9 fnguard: the traced tree is gone within 2 s"
		show "$(ps -o pid,stat,args -p "$(echo $TREE | tr ' ' ,)")"
	fi
else
	not_ok "fnguard run started sh and two sleeps"
	show "$(cat "$T/fc.err")"
	stop_pid "$FPID" 2 KILL
fi

# An untraced child that would outlive its traced parent (and fnguard) is
# never made.
listeners_start
run 20 "$FNGUARD" run --policy "$T/p_all.json" --audit "$T/audit" \
    --upstream "$DEADNS" -- "$B/untraced" --survive "$T/d/echo" "$SECRET" \
    127.0.0.9 "$PORT"
line "survivor: clone with CLONE_UNTRACED is refused (EPERM)" "clone: EPERM"
no_line "survivor: none was made" "survivor pid:"
listeners_stop
assert_eq "survivor: no connection reached 127.0.0.9" 0 "$ACC9"

finish
