/*
 * tmem — a stopped tracee's memory and paths, read with explicit lengths.
 *
 * Everything here reads what another process controls: lengths are
 * bounded by the caller's buffer, a string that does not end within it is
 * an error (never silently cut), and a fault is an error. Callers treat an
 * error as a deny (fail closed).
 */
#ifndef FNGUARD_TMEM_H
#define FNGUARD_TMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads exactly len bytes at addr. Returns 0, or -1 with errno. */
int tmem_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Writes exactly len bytes at addr. Returns 0, or -1 with errno. */
int tmem_write(pid_t pid, uint64_t addr, const void *buf, size_t len);

/*
 * Reads a NUL-terminated string at addr into buf (size bytes, NUL
 * included). Returns its length, or -1 with errno: EFAULT for a bad
 * address, ENAMETOOLONG when no NUL comes within size - 1 bytes.
 */
ssize_t tmem_read_str(pid_t pid, uint64_t addr, char *buf, size_t size);

/*
 * Reads a NULL-terminated array of string pointers (argv) and joins the
 * strings with spaces into buf, cut with "..." when it does not fit.
 * Returns 0, or -1 with errno when the array itself cannot be read.
 */
int tmem_read_argv(pid_t pid, uint64_t addr, char *buf, size_t size);

/*
 * The interpreter named by a script's first bytes (head, n bytes): "#!",
 * blanks, then the name up to a blank, newline or NUL. Returns false when
 * head is no script or the name does not end within n bytes or fit in out.
 */
bool tmem_shebang(const char *head, size_t n, char *out, size_t outlen);

/* How the last component of a path is treated. */
enum pathres_last { PATHRES_FOLLOW, PATHRES_NOFOLLOW };

/*
 * Resolves path as the kernel resolves it for process pid (thread tid):
 * relative to dirfd (AT_FDCWD: the cwd), with ".", "..", symlinks (at
 * most 40), /proc/self and /proc/thread-self meaning the tracee, and
 * /proc/PID/fd/N standing for the file the descriptor holds. Components
 * that do not exist (yet) are kept as written. With empty_path (AT_EMPTY_PATH
 * and an empty path) the result is the file dirfd holds. Returns 0 with the
 * absolute path in out, or a positive value telling the ways it does not
 * name the file alone: bit 1, a /proc/PID/{fd/N,cwd,root,exe} link was
 * followed (the path names what the link held); bit 2, path ended in "/"
 * (the kernel wants a directory there). -1 with errno on failure
 * (ENAMETOOLONG, ELOOP, EBADF, ENOENT for an empty path).
 */
int pathres_resolve(pid_t pid, pid_t tid, int dirfd, const char *path,
    enum pathres_last last, bool empty_path, char *out, size_t outlen);

/* The same, skipping the lstat of leading directories seen in the last
 * second. Only for calls that cannot follow a symlink the cache missed
 * (openat2 with RESOLVE_NO_SYMLINKS on the result). */
int pathres_resolve_cached(pid_t pid, pid_t tid, int dirfd, const char *path,
    enum pathres_last last, bool empty_path, char *out, size_t outlen);

/* Is dir (absolute; "" for "/") on a proc file system, /proc or one
 * mounted elsewhere? */
bool pathres_on_proc(const char *dir);

/* Drops the directories pathres_resolve_cached has seen (a traced call
 * is about to rename, link or remove something). */
void pathres_forget(void);

/* The target of /proc/PID/fd/FD (or cwd when fd is AT_FDCWD). */
int pathres_fd(pid_t pid, int fd, char *out, size_t outlen);

#endif
