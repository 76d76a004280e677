/* tmem — see include/fnguard/tmem.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "fnguard/tmem.h"

#define PAGE 4096u
#define MAX_LINKS 40
#define MAX_ARGS 4096		/* arguments joined at the most */

/* process_vm_readv(2) where the kernel has it, /proc/PID/mem otherwise. */
static int
mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	char path[64];
	ssize_t n;
	int fd;

	if (len == 0)
		return 0;
	n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0) :
	    process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0 || (errno != ENOSYS && errno != EPERM)) {
		errno = EFAULT;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
	if ((fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC)) == -1)
		return -1;
	n = write ? pwrite(fd, buf, len, (off_t)addr) :
	    pread(fd, buf, len, (off_t)addr);
	close(fd);
	if (n != (ssize_t)len) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

int
tmem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	return mem_io(pid, addr, buf, len, false);
}

int
tmem_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	return mem_io(pid, addr, (void *)(uintptr_t)buf, len, true);
}

ssize_t
tmem_read_str(pid_t pid, uint64_t addr, char *buf, size_t size)
{
	size_t got = 0, chunk;
	char *nul;

	if (size == 0 || addr == 0) {
		errno = EFAULT;
		return -1;
	}
	/* Page by page: a string may end just before an unmapped page. */
	while (got < size - 1) {
		chunk = PAGE - (size_t)((addr + got) % PAGE);
		if (chunk > size - 1 - got)
			chunk = size - 1 - got;
		if (tmem_read(pid, addr + got, buf + got, chunk) == -1)
			return -1;
		if ((nul = memchr(buf + got, '\0', chunk)) != NULL)
			return nul - buf;
		got += chunk;
	}
	errno = ENAMETOOLONG;
	return -1;
}

/* Ends buf (used bytes so far) with "..." within size. */
static void
cut(char *buf, size_t used, size_t size)
{
	if (used > size - 4)
		used = size - 4;
	memcpy(buf + used, "...", 4);
}

int
tmem_read_argv(pid_t pid, uint64_t addr, char *buf, size_t size)
{
	char arg[PAGE];
	uint64_t ptr;
	size_t used = 0, i, len, room, sep;
	bool whole;

	if (size < 4) {
		errno = EINVAL;
		return -1;
	}
	buf[0] = '\0';
	for (i = 0; i < MAX_ARGS; i++) {
		if (tmem_read(pid, addr + i * 8, &ptr, sizeof(ptr)) == -1)
			return -1;
		if (ptr == 0)
			return 0;
		whole = true;
		if (tmem_read_str(pid, ptr, arg, sizeof(arg)) == -1) {
			if (errno != ENAMETOOLONG)
				return -1;
			arg[sizeof(arg) - 1] = '\0';	/* what was read */
			whole = false;
		}
		len = strlen(arg);
		sep = i > 0;		/* a space even before an empty one */
		room = size - 1 - used;
		if (sep + len > room || !whole) {
			/* What fits of it, then "...". */
			if (sep && room > 0) {
				buf[used++] = ' ';
				room--;
			}
			memcpy(buf + used, arg, len < room ? len : room);
			cut(buf, used + (len < room ? len : room), size);
			return 0;
		}
		if (sep)
			buf[used++] = ' ';
		memcpy(buf + used, arg, len);
		used += len;
		buf[used] = '\0';
	}
	/* More arguments than are read: say so. */
	if (tmem_read(pid, addr + i * 8, &ptr, sizeof(ptr)) == 0 && ptr != 0)
		cut(buf, used, size);
	return 0;
}

bool
tmem_shebang(const char *head, size_t n, char *out, size_t outlen)
{
	size_t i, start;

	if (n < 3 || head[0] != '#' || head[1] != '!' || outlen == 0)
		return false;
	for (i = 2; i < n && (head[i] == ' ' || head[i] == '\t'); i++)
		;
	start = i;
	while (i < n && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' &&
	    head[i] != '\0')
		i++;
	/* No end of the interpreter's name within what was read: the
	 * kernel would read further (BINPRM_BUF_SIZE); too long here. */
	if (i == start || i == n || i - start >= outlen)
		return false;
	memcpy(out, head + start, i - start);
	out[i - start] = '\0';
	return true;
}

int
pathres_fd(pid_t pid, int fd, char *out, size_t outlen)
{
	char link[64];
	ssize_t n;

	if (fd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%ld/cwd", (long)pid);
	else
		snprintf(link, sizeof(link), "/proc/%ld/fd/%d", (long)pid, fd);
	n = readlink(link, out, outlen);
	if (n == -1) {
		if (errno == ENOENT && fd != AT_FDCWD)
			errno = EBADF;	/* no such descriptor */
		return -1;
	}
	if ((size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[n] = '\0';
	return 0;
}

/* Appends "/" comp (clen bytes) to res (rlen bytes). */
static int
append(char *res, size_t *rlen, size_t cap, const char *comp, size_t clen)
{
	if (*rlen + 1 + clen >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	res[(*rlen)++] = '/';
	memcpy(res + *rlen, comp, clen);
	*rlen += clen;
	res[*rlen] = '\0';
	return 0;
}

/* Is res /proc/N/fd/M, /proc/N/cwd, /proc/N/root or /proc/N/exe (whose
 * links may name something that is not a path: "pipe:[12]")? */
static bool
proc_magic(const char *res)
{
	const char *p;

	if (strncmp(res, "/proc/", 6) != 0)
		return false;
	for (p = res + 6; *p >= '0' && *p <= '9'; p++)
		;
	if (p > res + 6 && strncmp(p, "/task/", 6) == 0) {
		const char *t = p + 6;

		for (p = t; *p >= '0' && *p <= '9'; p++)
			;
		if (p == t)
			return false;
	}
	return p > res + 6 && (strncmp(p, "/fd/", 4) == 0 ||
	    strcmp(p, "/cwd") == 0 || strcmp(p, "/root") == 0 ||
	    strcmp(p, "/exe") == 0);
}

/*
 * Directories seen lately, by a 64-bit hash of their path: a lookup of a
 * path's leading components skips the lstat of those seen in the last
 * DIRCACHE_MS. Only for callers for which a directory swapped for a
 * symlink meanwhile cannot open something else than what was judged:
 * opens made as openat2 with RESOLVE_NO_SYMLINKS (by fnguard, or pinned),
 * which then fail with ELOOP; an open let through as it is, only when its
 * caller is the one task traced, whose renames, links and removes drop
 * the cache (pathres_forget) while files are checked (the /proc/N/mem
 * refusal looks at the path as it is, with statfs); and the exec
 * pre-check, which the exec event checks again.
 */
#define DIRCACHE_SLOTS 4096
#define DIRCACHE_MS 1000

static struct { uint64_t hash; int64_t until; uint64_t epoch; }
    dircache[DIRCACHE_SLOTS];
static uint64_t dircache_epoch;		/* entries of older epochs are gone */

void
pathres_forget(void)
{
	dircache_epoch++;
}

static uint64_t
path_hash(const char *s, size_t len)
{
	uint64_t h = UINT64_C(1469598103934665603);
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
	return h | 1;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
pathres_on_proc(const char *dir)
{
	struct statfs sfs;

	if (strcmp(dir, "/proc") == 0)
		return true;
	return statfs(dir[0] != '\0' ? dir : "/", &sfs) == 0 &&
	    sfs.f_type == PROC_SUPER_MAGIC;
}

static int resolve(pid_t, pid_t, int, const char *, enum pathres_last, bool,
    bool, char *, size_t);

int
pathres_resolve(pid_t pid, pid_t tid, int dirfd, const char *path,
    enum pathres_last last, bool empty_path, char *out, size_t outlen)
{
	return resolve(pid, tid, dirfd, path, last, empty_path, false, out,
	    outlen);
}

int
pathres_resolve_cached(pid_t pid, pid_t tid, int dirfd, const char *path,
    enum pathres_last last, bool empty_path, char *out, size_t outlen)
{
	return resolve(pid, tid, dirfd, path, last, empty_path, true, out,
	    outlen);
}

static int
resolve(pid_t pid, pid_t tid, int dirfd, const char *path,
    enum pathres_last last, bool empty_path, bool cached, char *out,
    size_t outlen)
{
	char res[PATH_MAX], work[2 * PATH_MAX], next[2 * PATH_MAX];
	char target[PATH_MAX], self[64];
	size_t rlen = 0, wpos = 0, clen;
	const char *comp;
	struct stat st;
	int links = 0, via_proc = 0;
	uint64_t h = 0;
	size_t slot = 0;
	int64_t now = 0;
	ssize_t n;
	bool is_last;

	if (path[0] == '\0') {
		if (!empty_path) {
			errno = ENOENT;
			return -1;
		}
		if (pathres_fd(pid, dirfd, out, outlen) == -1)
			return -1;
		return 1;
	}
	if (strlen(path) >= PATH_MAX) {		/* as the kernel says */
		errno = ENAMETOOLONG;
		return -1;
	}
	res[0] = '\0';
	if (path[0] != '/') {
		if (pathres_fd(pid, dirfd, res, sizeof(res)) == -1)
			return -1;
		/* A dirfd that holds no directory (a pipe, a file). */
		if (res[0] != '/' || (dirfd != AT_FDCWD &&
		    (stat(res, &st) == -1 || !S_ISDIR(st.st_mode)))) {
			errno = ENOTDIR;
			return -1;
		}
		rlen = strlen(res);
		if (rlen == 1)
			rlen = res[0] = '\0';
	}
	snprintf(work, sizeof(work), "%s", path);
	for (;;) {
		while (work[wpos] == '/')
			wpos++;
		if (work[wpos] == '\0')
			break;
		comp = work + wpos;
		clen = strcspn(comp, "/");
		wpos += clen;
		is_last = work[wpos + strspn(work + wpos, "/")] == '\0';
		if (clen > NAME_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (clen == 1 && comp[0] == '.')
			continue;
		if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
			while (rlen > 0 && res[rlen - 1] != '/')
				rlen--;
			if (rlen > 0)
				rlen--;
			res[rlen] = '\0';
			continue;
		}
		/* /proc/self is the tracee, not us: in any proc file
		 * system, wherever it is mounted. */
		if (clen == 4 && memcmp(comp, "self", 4) == 0 &&
		    pathres_on_proc(res)) {
			clen = (size_t)snprintf(self, sizeof(self), "%ld",
			    (long)pid);
			comp = self;
		} else if (clen == 11 && memcmp(comp, "thread-self", 11) == 0 &&
		    pathres_on_proc(res)) {
			clen = (size_t)snprintf(self, sizeof(self),
			    "%ld/task/%ld", (long)pid, (long)tid);
			comp = self;
		}
		if (append(res, &rlen, sizeof(res), comp, clen) == -1)
			return -1;
		/* A trailing "/" makes the kernel follow even a last link
		 * that it would not follow otherwise. */
		if (is_last && last == PATHRES_NOFOLLOW && work[wpos] != '/')
			continue;
		if (cached && !is_last) {
			h = path_hash(res, rlen);
			slot = h % DIRCACHE_SLOTS;
			if (now == 0)
				now = mono_ms();
			if (dircache[slot].hash == h &&
			    dircache[slot].until > now &&
			    dircache[slot].epoch == dircache_epoch)
				continue;
		}
		if (lstat(res, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode) && cached && !is_last) {
			dircache[slot].hash = h;
			dircache[slot].until = now + DIRCACHE_MS;
			dircache[slot].epoch = dircache_epoch;
		}
		if (!S_ISLNK(st.st_mode))
			continue;
		if (++links > MAX_LINKS) {
			errno = ELOOP;
			return -1;
		}
		if ((n = readlink(res, target, sizeof(target) - 1)) == -1)
			continue;
		target[n] = '\0';
		if (proc_magic(res))
			via_proc = 1;
		if (target[0] != '/') {
			if (proc_magic(res))
				continue;	/* pipe:[N], anon_inode:... */
			/* Relative to the link's directory. */
			while (rlen > 0 && res[rlen - 1] != '/')
				rlen--;
			if (rlen > 0)
				rlen--;
			res[rlen] = '\0';
		} else {
			rlen = res[0] = '\0';
		}
		if ((size_t)snprintf(next, sizeof(next), "%s/%s", target,
		    work + wpos) >= sizeof(next)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(work, next, strlen(next) + 1);
		wpos = 0;
	}
	if (rlen == 0) {
		res[0] = '/';
		res[1] = '\0';
		rlen = 1;
	}
	if (rlen >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, res, rlen + 1);
	return via_proc | (path[strlen(path) - 1] == '/' ? 2 : 0);
}
