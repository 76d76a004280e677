/*
 * fuzz_tracee — libFuzzer target for the launcher's readers of what a
 * traced program controls (tmem): tmem_shebang, pathres_resolve,
 * tmem_read_argv and tmem_read_str, run on this process (pid getpid()),
 * whose memory stands for the tracee's.
 *
 * The input: byte 0 flags, byte 1 a size, byte 2 the length of the script
 * head, byte 3 an output size; then the head (for tmem_shebang), then a
 * path up to a NUL (for pathres_resolve and tmem_read_str), then the
 * arguments, separated by NULs (for tmem_read_argv). Flags:
 *   0x01 PATHRES_NOFOLLOW          0x02 relative to the tree's dirfd
 *   0x04 empty_path                0x08 the first argument made > 4 KiB
 *   0x10 the arguments repeated past 4096 of them
 *   0x20 a 16 KiB argv buffer      0x40 the string ends in a NUL
 *   0x80 a small pathres output (byte 3 * 16 + 1)
 * A path that starts with "@" starts at the tree: a directory made once
 * (/tmp/fuzz_tracee.XXXXXX, removed at exit), with subdirectories, files
 * and symlinks (relative, absolute, "..", "/", loops, a chain of 41,
 * dangling, and links to /proc/self/fd/N, /proc/thread-self/fd/N,
 * /proc/self/cwd and /proc/self/ns). Only lstat, readlink and
 * open(O_PATH) touch the file system: nothing is written outside the tree.
 *
 * Properties, each an abort() when broken:
 *   - tmem_shebang agrees with a model of "#!", blanks, a name up to a
 *     blank, newline or NUL within n bytes and shorter than out; a name
 *     given is non-empty, has no blank, newline or NUL, is NUL-terminated
 *     within out and is a substring of the head;
 *   - pathres_resolve returns -1 (with errno) or 0-3; a path given is
 *     NUL-terminated within out, starts with "/", has no "//", "/./" or
 *     "/../", does not end in "/", "/." or "/.." (unless it is "/"); bit 2
 *     is set exactly when the path ends in "/"; an empty path with
 *     empty_path gives bit 1; a plain result (0, FOLLOW, outside /proc,
 *     /dev and /sys) resolves to itself;
 *   - pathres_resolve_cached gives what pathres_resolve gives (nothing
 *     here changes a directory into a symlink);
 *   - pathres_resolve agrees with the kernel: when openat(O_PATH) opens
 *     the path, pathres succeeds, and unless a /proc link was followed
 *     (bit 1) its result is the path of what the kernel opened; an object
 *     with no path (a pipe) is reached only through a /proc link (bit 1);
 *     when the kernel finds too many links or too long a name, pathres
 *     fails too. A final symlink before a trailing slash (which the kernel
 *     follows) and names too long are properties of their own, so that
 *     FNGUARD_FUZZ_IGNORE can name them;
 *   - tmem_read_argv returns 0 on readable memory, its output is
 *     NUL-terminated within the buffer, and it is the arguments joined
 *     with spaces, or a prefix of that followed by "..."; an argv with
 *     room to spare is not cut;
 *   - tmem_read_str on the path placed against an unreadable page: the
 *     length when a NUL comes within size - 1 bytes, ENAMETOOLONG when
 *     size - 1 readable bytes hold none, EFAULT when the page ends first.
 * Before tmem_read_argv the stack below is filled with non-zero bytes, so
 * that reading an unterminated local goes on into ASan's redzone. While
 * FNGUARD_FUZZ_IGNORE names the long-argument property, no argument over
 * 4 KiB is made (its read past the buffer is not a property to ignore).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fnguard/tmem.h"
#include "fuzz_holds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_tracee"

#define PAGE 4096u
#define ARG_PAGE 4096u		/* tmem_read_argv's own limit for one arg */

#define F_NOFOLLOW	0x01
#define F_DIRFD		0x02
#define F_EMPTY		0x04
#define F_LONGARG	0x08
#define F_MANYARGS	0x10
#define F_BIGARGV	0x20
#define F_NUL		0x40
#define F_SMALLOUT	0x80

/* A broken property aborts (fuzz_holds.c), unless FNGUARD_FUZZ_IGNORE
 * names it. */
#define holds(cond, what) fuzz_holds(TARGET, (cond), (what))

static char tree[PATH_MAX];
static int tree_fd = -1, pipe_fd[2] = { -1, -1 };
static char *guard;		/* a page, then an unreadable one */

static pid_t
self_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void
die(const char *what)
{
	perror(what);
	abort();
}

static void
tree_link(const char *target, const char *name)
{
	char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", tree, name) >= sizeof(p) ||
	    symlink(target, p) == -1)
		die(name);
}

static void
tree_node(const char *name, bool dir)
{
	char p[PATH_MAX];
	int fd;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", tree, name) >= sizeof(p))
		die(name);
	if (dir) {
		if (mkdir(p, 0755) == -1)
			die(p);
	} else {
		if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1)
			die(p);
		close(fd);
	}
}

static int
remove_one(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void
tree_remove(void)
{
	if (strncmp(tree, "/tmp/fuzz_tracee.", 17) == 0)
		nftw(tree, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	char tmpl[] = "/tmp/fuzz_tracee.XXXXXX", t[PATH_MAX], n[32];
	int i;

	if (mkdtemp(tmpl) == NULL || realpath(tmpl, tree) == NULL)
		die("mkdtemp");
	atexit(tree_remove);
	if (pipe(pipe_fd) == -1)
		die("pipe");
	tree_node("d", true);
	tree_node("d/e", true);
	tree_node("f", false);
	tree_node("d/g", false);
	if ((tree_fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		die(tree);
	tree_link("d/e", "l_rel");
	if ((size_t)snprintf(t, sizeof(t), "%s/d", tree) >= sizeof(t))
		die(tree);
	tree_link(t, "l_abs");
	tree_link("..", "l_up");
	tree_link("/", "l_root");
	tree_link("../..", "l_dotdot");
	tree_link("../l_rel", "d/back");
	tree_link("loop2", "loop1");
	tree_link("loop1", "loop2");
	tree_link("self", "self");
	tree_link("loopdir/x", "loopdir");
	tree_link("nowhere/x", "dang");
	tree_link("/proc/self/fd/0", "fd0");
	tree_link("/proc/self/cwd", "cwd");
	tree_link("/proc/self/ns", "ns");
	snprintf(t, sizeof(t), "/proc/self/fd/%d", pipe_fd[0]);
	tree_link(t, "pipe");
	snprintf(t, sizeof(t), "/proc/thread-self/fd/%d", pipe_fd[0]);
	tree_link(t, "tpipe");
	snprintf(t, sizeof(t), "/proc/self/fd/%d", tree_fd);
	tree_link(t, "me");
	snprintf(t, sizeof(t), "/proc/thread-self/fd/%d", tree_fd);
	tree_link(t, "tme");
	for (i = 1; i <= 41; i++) {
		snprintf(n, sizeof(n), "c%d", i);
		if (i < 41)
			snprintf(t, sizeof(t), "c%d", i + 1);
		else
			snprintf(t, sizeof(t), "f");
		tree_link(t, n);
	}
	guard = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || mprotect(guard + PAGE, PAGE, PROT_NONE))
		die("mmap");
}

/* ---- tmem_shebang ---- */

/* The model: true with the name's bounds in *start, *end. */
static bool
shebang_model(const uint8_t *h, size_t n, size_t outlen, size_t *start,
    size_t *end)
{
	size_t i = 2;

	if (n < 2 || h[0] != '#' || h[1] != '!')
		return false;
	while (i < n && (h[i] == ' ' || h[i] == '\t'))
		i++;
	*start = i;
	while (i < n && h[i] != ' ' && h[i] != '\t' && h[i] != '\n' &&
	    h[i] != '\0')
		i++;
	*end = i;
	return i > *start && i < n && i - *start < outlen;
}

static void
check_shebang(const uint8_t *head, size_t n, uint8_t outsel)
{
	size_t outlen = outsel >= 200 ? 256 : 1 + outsel % 64, len, i;
	size_t start = 0, end = 0;
	char *copy = malloc(n > 0 ? n : 1), *out = malloc(outlen);
	bool ok, want;

	if (copy == NULL || out == NULL)
		abort();
	if (n > 0)
		memcpy(copy, head, n);
	memset(out, 'Z', outlen);
	ok = tmem_shebang(copy, n, out, outlen);
	want = shebang_model(head, n, outlen, &start, &end);
	holds(ok == want, "tmem_shebang disagrees with the model");
	if (ok) {
		len = strnlen(out, outlen);
		holds(len < outlen, "an interpreter not NUL-terminated in out");
		holds(len > 0, "an empty interpreter");
		for (i = 0; i < len; i++)
			if (!holds(out[i] != ' ' && out[i] != '\t' &&
			    out[i] != '\n', "a blank or newline in an interpreter"))
				break;
		holds(len < outlen && memmem(head, n, out, len) != NULL,
		    "an interpreter that is not in the head");
		holds(!want || (len == end - start &&
		    memcmp(out, head + start, len) == 0),
		    "an interpreter other than the model's");
	}
	free(copy);
	free(out);
}

/* ---- pathres_resolve ---- */

static bool
well_formed(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/')
		return false;
	if (n == 1)
		return true;
	return strstr(p, "//") == NULL && strstr(p, "/./") == NULL &&
	    strstr(p, "/../") == NULL && p[n - 1] != '/' &&
	    !(n >= 2 && strcmp(p + n - 2, "/.") == 0) &&
	    !(n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

/* What the kernel makes of path: 0 and the opened file's path in kpath,
 * or an errno. */
static int
kernel_open(int dirfd, const char *path, bool nofollow, char *kpath,
    size_t size)
{
	char link[64];
	ssize_t n;
	int fd, err;

	fd = openat(dirfd, path, O_PATH | O_CLOEXEC |
	    (nofollow ? O_NOFOLLOW : 0));
	if (fd == -1)
		return errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, kpath, size - 1);
	err = errno;
	close(fd);
	if (n == -1)
		return err;
	kpath[n] = '\0';
	return 0;
}

static bool
ends_in_slash(const char *p)
{
	size_t n = strlen(p);

	return n > 0 && p[n - 1] == '/';
}

static void
against_kernel(int dirfd, const char *path, bool nofollow, int rc, int err,
    const char *out)
{
	static char kpath[PATH_MAX];
	bool slash_nofollow = nofollow && ends_in_slash(path);
	int kerr;

	kerr = kernel_open(dirfd, path, nofollow, kpath, sizeof(kpath));
	if (kerr == 0) {
		if (slash_nofollow && (rc == -1 || strcmp(kpath, out) != 0)) {
			holds(false, "a final symlink before a trailing slash "
			    "is not followed");
			return;
		}
		if (!holds(rc != -1, "the kernel opens a path that pathres "
		    "fails on"))
			return;
		if (kpath[0] != '/')
			holds(rc & 1, "the kernel reached an object with no "
			    "path, pathres followed no /proc link");
		else if (!(rc & 1))
			holds(strcmp(kpath, out) == 0,
			    "pathres disagrees with the kernel");
	} else if (kerr == ELOOP) {
		if (slash_nofollow && rc != -1)
			holds(false, "a final symlink before a trailing slash "
			    "is not followed");
		else
			holds(rc == -1 && err == ELOOP, "the kernel finds too "
			    "many links, pathres does not");
	} else if (kerr == ENAMETOOLONG) {
		holds(rc == -1 && err == ENAMETOOLONG, "the kernel finds a "
		    "name too long, pathres does not");
	}
}

/* In a tree that does not change, the cache changes nothing. */
static void
check_cached(int dirfd, const char *path, bool nofollow, bool empty, int rc,
    int err, const char *out, size_t outlen)
{
	char *cout = malloc(outlen);
	int crc;

	if (cout == NULL)
		abort();
	errno = 0;
	crc = pathres_resolve_cached(getpid(), self_tid(), dirfd, path,
	    nofollow ? PATHRES_NOFOLLOW : PATHRES_FOLLOW, empty, cout, outlen);
	holds(crc == rc && (rc == -1 ? errno == err : strcmp(cout, out) == 0),
	    "pathres_resolve_cached differs from pathres_resolve");
	free(cout);
}

static void
check_path(const char *raw, uint8_t flags, uint8_t outsel)
{
	size_t rawlen = strlen(raw), outlen, len;
	char *path, *out;
	bool nofollow = (flags & F_NOFOLLOW) != 0;
	bool empty = (flags & F_EMPTY) != 0;
	int dirfd = (flags & F_DIRFD) ? tree_fd : AT_FDCWD, rc, err, rc2;
	static char again[PATH_MAX];

	/* A heap copy of exactly its length (and NUL). */
	if (raw[0] == '@') {
		len = strlen(tree) + rawlen;
		if ((path = malloc(len)) == NULL)
			abort();
		snprintf(path, len, "%s%s", tree, raw + 1);
	} else if ((path = strdup(raw)) == NULL)
		abort();
	outlen = (flags & F_SMALLOUT) ? 1 + (size_t)outsel * 16 : PATH_MAX;
	if ((out = malloc(outlen)) == NULL)
		abort();
	memset(out, 'Z', outlen);
	errno = 0;
	rc = pathres_resolve(getpid(), self_tid(), dirfd, path,
	    nofollow ? PATHRES_NOFOLLOW : PATHRES_FOLLOW, empty, out, outlen);
	err = errno;
	check_cached(dirfd, path, nofollow, empty, rc, err, out, outlen);
	holds(rc >= -1 && rc <= 3, "pathres_resolve returns out of range");
	if (rc == -1) {
		holds(err != 0, "pathres_resolve fails without errno");
		goto kernel;
	}
	len = strnlen(out, outlen);
	if (!holds(len < outlen, "a resolved path not NUL-terminated in out"))
		goto done;
	if (path[0] == '\0') {
		holds(empty, "an empty path resolved without empty_path");
		holds(rc == 1, "an empty path without bit 1");
		goto done;
	}
	holds(well_formed(out), "a resolved path that is not canonical");
	holds(((rc & 2) != 0) == ends_in_slash(path),
	    "bit 2 and a trailing slash disagree");
	if (rc == 0 && !nofollow && strncmp(out, "/proc/", 6) != 0 &&
	    strncmp(out, "/dev/", 5) != 0 && strncmp(out, "/sys/", 5) != 0) {
		rc2 = pathres_resolve(getpid(), self_tid(), AT_FDCWD, out,
		    PATHRES_FOLLOW, false, again, sizeof(again));
		holds(rc2 == (strcmp(out, "/") == 0 ? 2 : 0) &&
		    strcmp(again, out) == 0,
		    "a resolved path does not resolve to itself");
	}
kernel:
	if (path[0] != '\0' && outlen == PATH_MAX)
		against_kernel(dirfd, path, nofollow, rc, err, out);
done:
	free(path);
	free(out);
}

/* tmem_read_str on the path, placed so that it ends at the unreadable
 * page (with its NUL when F_NUL). */
static void
check_read_str(const char *raw, uint8_t flags, uint8_t sizesel)
{
	size_t m = strlen(raw), size = 1 + ((size_t)sizesel * 23) % 4200;
	size_t avail;
	bool nul = (flags & F_NUL) != 0;
	char *start, *buf;
	ssize_t got;

	if (m > PAGE - 1)
		m = PAGE - 1;
	avail = m + nul;
	start = guard + PAGE - avail;
	memcpy(start, raw, m);
	if (nul)
		start[m] = '\0';
	if ((buf = malloc(size)) == NULL)
		abort();
	errno = 0;
	got = tmem_read_str(getpid(), (uint64_t)(uintptr_t)start, buf, size);
	if (nul && m + 2 <= size) {
		holds(got == (ssize_t)m && memcmp(buf, raw, m) == 0 &&
		    buf[m] == '\0', "tmem_read_str misreads a string");
	} else if (avail + 1 >= size) {
		holds(got == -1 && errno == ENAMETOOLONG,
		    "tmem_read_str: no NUL within size - 1 is not ENAMETOOLONG");
	} else {
		holds(got == -1 && errno == EFAULT,
		    "tmem_read_str: a string into an unreadable page is not "
		    "EFAULT");
	}
	free(buf);
}

/* ---- tmem_read_argv ---- */

struct args {
	char **v;
	size_t n, cap;
};

static void
args_add(struct args *a, const char *s, size_t len)
{
	char **v;

	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		if ((v = realloc(a->v, a->cap * sizeof(*v))) == NULL)
			abort();
		a->v = v;
	}
	/* Each argument in a heap block of exactly its length and NUL. */
	if ((a->v[a->n] = malloc(len + 1)) == NULL)
		abort();
	memcpy(a->v[a->n], s, len);
	a->v[a->n][len] = '\0';
	a->n++;
}

#define LONGARG_CUT "an argv with an argument over 4 KiB was cut without " \
	"\"...\""

/* Does FNGUARD_FUZZ_IGNORE (as fuzz_holds.c reads it) name what? */
static bool
ignored(const char *what)
{
	const char *p = getenv("FNGUARD_FUZZ_IGNORE"), *end;

	for (; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		if (end > p && memmem(what, strlen(what), p,
		    (size_t)(end - p)) != NULL)
			return true;
	}
	return false;
}

static void
make_args(struct args *a, const uint8_t *p, size_t n, uint8_t flags,
    uint8_t sizesel)
{
	const uint8_t *nul;
	size_t len, i, first, want;
	char *s;

	while (n > 0) {
		nul = memchr(p, '\0', n);
		len = nul != NULL ? (size_t)(nul - p) : n;
		args_add(a, (const char *)p, len);
		p += len + (nul != NULL);
		n -= len + (nul != NULL);
	}
	/* The long argument also reads past the reader's buffer (which
	 * ASan cannot be told to ignore): made only while the bug is not
	 * ignored. */
	if ((flags & F_LONGARG) && a->n > 0 && !ignored(LONGARG_CUT)) {
		/* The first argument repeated past the reader's page. */
		want = ARG_PAGE + (size_t)sizesel * 8;
		len = strlen(a->v[0]);
		if ((s = malloc(want + 1)) == NULL)
			abort();
		for (i = 0; i < want; i++)
			s[i] = len > 0 ? a->v[0][i % len] : 'a';
		s[want] = '\0';
		free(a->v[0]);
		a->v[0] = s;
	}
	if (flags & F_MANYARGS) {
		if (a->n == 0)
			args_add(a, "a", 1);
		first = a->n;
		for (i = 0; a->n < 4100; i++)
			args_add(a, a->v[i % first], strlen(a->v[i % first]));
	}
}

/* Leaves non-zero bytes where the next call's locals will be, so that a
 * read of an uninitialized byte past a string goes on into a redzone. */
static __attribute__((noinline)) void
scribble_stack(void)
{
	volatile char junk[3 * ARG_PAGE];
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)0xa5;
}

static void
check_argv(const uint8_t *p, size_t n, uint8_t flags, uint8_t sizesel)
{
	struct args a = { NULL, 0, 0 };
	size_t size = (flags & F_BIGARGV) ? 16384 : 4 + sizesel % 64;
	size_t i, total = 0, len, longest = 0;
	uint64_t *v;
	char *full, *buf;
	int rc;

	make_args(&a, p, n, flags, sizesel);
	if ((v = calloc(a.n + 1, sizeof(*v))) == NULL)
		abort();
	for (i = 0; i < a.n; i++) {
		v[i] = (uint64_t)(uintptr_t)a.v[i];
		len = strlen(a.v[i]);
		total += len + (i > 0);
		if (len > longest)
			longest = len;
	}
	if ((full = malloc(total + 1)) == NULL ||
	    (buf = malloc(size)) == NULL)
		abort();
	full[0] = '\0';
	for (i = 0, len = 0; i < a.n; i++) {
		if (i > 0)
			full[len++] = ' ';
		memcpy(full + len, a.v[i], strlen(a.v[i]) + 1);
		len += strlen(a.v[i]);
	}
	memset(buf, 'Z', size);
	scribble_stack();
	rc = tmem_read_argv(getpid(), (uint64_t)(uintptr_t)v, buf, size);
	if (!holds(rc == 0, "tmem_read_argv fails on readable memory"))
		goto done;
	len = strnlen(buf, size);
	if (!holds(len < size, "an argv not NUL-terminated in its buffer"))
		goto done;
	if (strcmp(buf, full) != 0) {
		bool cut = len >= 3 && strcmp(buf + len - 3, "...") == 0 &&
		    strncmp(buf, full, len - 3) == 0;

		/* "..." alone is a prefix-cut of anything: with the leading
		 * empty arguments dropped, room to spare tells it apart
		 * (unless the count or an argument's length cut it). */
		if (longest >= ARG_PAGE)
			holds(cut, LONGARG_CUT);
		else if (a.n > 4096)
			holds(cut, "an argv of more than 4096 arguments was "
			    "cut without \"...\"");
		else if (a.n > 1 && a.v[0][0] == '\0')
			holds(cut && total + 4 > size, "an argv that starts "
			    "with an empty argument is not joined like others");
		else if (holds(cut, "an argv is neither whole nor a prefix "
		    "and \"...\""))
			holds(total + 4 > size,
			    "an argv with room to spare was cut");
	}
done:
	for (i = 0; i < a.n; i++)
		free(a.v[i]);
	free(a.v);
	free(v);
	free(full);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	uint8_t b[4] = { 0, 0, 0, 0 };
	size_t i, hlen, plen;
	const uint8_t *rest, *nul;
	char *path;

	if (!ready) {
		setup();
		ready = true;
	}
	for (i = 0; i < 4 && i < size; i++)
		b[i] = data[i];
	rest = data + i;
	size -= i;
	hlen = b[2] < size ? b[2] : size;
	check_shebang(rest, hlen, b[3]);
	rest += hlen;
	size -= hlen;
	nul = memchr(rest, '\0', size);
	plen = nul != NULL ? (size_t)(nul - rest) : size;
	if ((path = malloc(plen + 1)) == NULL)
		abort();
	memcpy(path, rest, plen);
	path[plen] = '\0';
	check_path(path, b[0], b[3]);
	check_read_str(path, b[0], b[1]);
	free(path);
	if (nul != NULL) {
		rest += plen + 1;
		size -= plen + 1;
		check_argv(rest, size, b[0], b[1]);
	}
	return 0;
}
