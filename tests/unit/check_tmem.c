/*
 * check_tmem — the launcher's readers of tracee memory and paths, run on
 * this process (process_vm_readv on oneself works): tmem_read and
 * tmem_write, tmem_read_str at page ends and unmapped pages, tmem_read_argv
 * joining and cutting, tmem_shebang on script heads given with an exact
 * length, and pathres_resolve in a tree of directories and symlinks made
 * under a fresh temporary directory (".", "..", symlink chains, loops, 40
 * links and 41, dangling links, trailing slashes, dirfds, empty paths,
 * /proc/self, /proc/thread-self and /proc/PID/fd/N), and
 * pathres_resolve_cached.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fnguard/tmem.h"

#define PAGE 4096u

static pid_t
self_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static uint64_t
addr_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Two pages: the first read-write, the second made unreadable (PROT_NONE,
 * or unmapped when unmap is true). Returns the first page. */
static char *
page_before_hole(bool unmap)
{
	char *p;

	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	memset(p, 'z', 2 * PAGE);
	if (unmap)
		ck_assert_int_eq(munmap(p + PAGE, PAGE), 0);
	else
		ck_assert_int_eq(mprotect(p + PAGE, PAGE, PROT_NONE), 0);
	return p;
}

/* ---- tmem_read, tmem_write ---- */

START_TEST(read_write_own_memory)
{
	char src[] = "0123456789", dst[11];

	memset(dst, 0, sizeof(dst));
	ck_assert_int_eq(tmem_read(getpid(), addr_of(src), dst, 10), 0);
	ck_assert_str_eq(dst, "0123456789");
	ck_assert_int_eq(tmem_write(getpid(), addr_of(src + 2), "ab", 2), 0);
	ck_assert_str_eq(src, "01ab456789");
	ck_assert_int_eq(tmem_read(getpid(), addr_of(src), dst, 0), 0);
}
END_TEST

START_TEST(read_write_unmapped)
{
	char *p = page_before_hole(_i == 1), buf[16];

	errno = 0;
	ck_assert_int_eq(tmem_read(getpid(), addr_of(p + PAGE), buf, 1), -1);
	ck_assert_int_eq(errno, EFAULT);
	/* Across the end of the readable page: all or nothing. */
	errno = 0;
	ck_assert_int_eq(tmem_read(getpid(), addr_of(p + PAGE - 8), buf, 16),
	    -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(tmem_write(getpid(), addr_of(p + PAGE), "x", 1), -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(tmem_read(getpid(), 0, buf, 1), -1);
	ck_assert_int_eq(errno, EFAULT);
}
END_TEST

/* ---- tmem_read_str ---- */

START_TEST(str_ends_at_page_end)
{
	char *p = page_before_hole(_i == 1), buf[64];

	/* "hello" and its NUL are the last six bytes before the hole. */
	memcpy(p + PAGE - 6, "hello", 6);
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(tmem_read_str(getpid(), addr_of(p + PAGE - 6), buf,
	    sizeof(buf)), 5);
	ck_assert_str_eq(buf, "hello");
	/* The NUL alone, in the last byte. */
	p[PAGE - 1] = '\0';
	ck_assert_int_eq(tmem_read_str(getpid(), addr_of(p + PAGE - 1), buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	/* A buffer of PATH_MAX: still only the string's page is read. */
	{
		char big[PATH_MAX];

		ck_assert_int_eq(tmem_read_str(getpid(),
		    addr_of(p + PAGE - 6), big, sizeof(big)), 5);
		ck_assert_str_eq(big, "hello");
	}
}
END_TEST

START_TEST(str_runs_into_hole)
{
	char *p = page_before_hole(_i == 1), buf[64];

	memcpy(p + PAGE - 6, "hellox", 6);	/* no NUL before the hole */
	errno = 0;
	ck_assert_int_eq(tmem_read_str(getpid(), addr_of(p + PAGE - 6), buf,
	    sizeof(buf)), -1);
	ck_assert_int_eq(errno, EFAULT);
	/* A string that starts in the hole. */
	errno = 0;
	ck_assert_int_eq(tmem_read_str(getpid(), addr_of(p + PAGE), buf,
	    sizeof(buf)), -1);
	ck_assert_int_eq(errno, EFAULT);
}
END_TEST

START_TEST(str_crosses_mapped_pages)
{
	char *p, buf[64];

	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	memcpy(p + PAGE - 3, "across", 7);
	ck_assert_int_eq(tmem_read_str(getpid(), addr_of(p + PAGE - 3), buf,
	    sizeof(buf)), 6);
	ck_assert_str_eq(buf, "across");
}
END_TEST

START_TEST(str_too_long)
{
	static const char s7[] = "abcdefg", s8[] = "abcdefgh";
	char buf[9];

	/* size 9: a NUL among the first 8 bytes is needed. */
	ck_assert_int_eq(tmem_read_str(getpid(), addr_of(s7), buf,
	    sizeof(buf)), 7);
	ck_assert_str_eq(buf, "abcdefg");
	errno = 0;
	ck_assert_int_eq(tmem_read_str(getpid(), addr_of(s8), buf,
	    sizeof(buf)), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	errno = 0;
	ck_assert_int_eq(tmem_read_str(getpid(), addr_of(s8), buf, 3), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

START_TEST(str_too_long_before_hole)
{
	char *p = page_before_hole(false), buf[5];

	/* No NUL within size - 1 bytes, and the hole comes after them:
	 * too long, not a fault. */
	memcpy(p + PAGE - 6, "abcdef", 6);
	errno = 0;
	ck_assert_int_eq(tmem_read_str(getpid(), addr_of(p + PAGE - 6), buf,
	    sizeof(buf)), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

START_TEST(str_null_address)
{
	char buf[16];

	errno = 0;
	ck_assert_int_eq(tmem_read_str(getpid(), 0, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EFAULT);
}
END_TEST

/* ---- tmem_read_argv ---- */

/* argv[] as the tracee has it: 64-bit pointers, then 0. */
static void
make_argv(uint64_t *v, const char *const *args, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = addr_of(args[i]);
	v[n] = 0;
}

static const struct {
	const char *args[4];
	size_t size;
	const char *want;
} argv_cases[] = {
	{ { "ls", "-l", "/tmp" }, 64, "ls -l /tmp" },
	{ { "python3", "-c", "print(1)" }, 64, "python3 -c print(1)" },
	{ { "ls", "", "x" }, 64, "ls  x" },
	/* Cut: size - 1 bytes, the last three "...". */
	{ { "abcdefghijkl" }, 8, "abcd..." },
	{ { "ls", "-l", "/tmp" }, 10, "ls -l ..." },
	{ { "ls", "-la", "/tmp" }, 9, "ls -l..." },
	{ { "python3", "script.py" }, 12, "python3 ..." },
	{ { "echo", "hello", "world" }, 12, "echo hel..." },
	/* The smallest buffer it takes: "abc" fits it exactly. */
	{ { "abc" }, 4, "abc" },
	{ { "abcd" }, 4, "..." },
	/* Leaves room: not cut. */
	{ { "ab", "cd" }, 12, "ab cd" },
};

START_TEST(argv_join_and_cut)
{
	uint64_t v[5];
	char buf[65];
	size_t n;

	for (n = 0; n < 4 && argv_cases[_i].args[n] != NULL; n++)
		;
	make_argv(v, argv_cases[_i].args, n);
	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf,
	    argv_cases[_i].size), 0);
	ck_assert_str_eq(buf, argv_cases[_i].want);
	/* Nothing written past size. */
	ck_assert_int_eq(buf[argv_cases[_i].size], 'Z');
}
END_TEST

/*
 * An argv that fits is not cut: "abcdefgh" takes 9 bytes with its NUL,
 * "ls -l /tmp" 11 (tmem.h: cut "when it does not fit").
 */
START_TEST(argv_exact_fit_not_cut)
{
	static const char *one[] = { "abcdefgh" };
	static const char *three[] = { "ls", "-l", "/tmp" };
	static const char *x[] = { "x" };
	uint64_t v[4];
	char buf[16];

	make_argv(v, one, 1);
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf, 9), 0);
	ck_assert_str_eq(buf, "abcdefgh");
	make_argv(v, three, 3);
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf, 11), 0);
	ck_assert_str_eq(buf, "ls -l /tmp");
	make_argv(v, x, 1);
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf, 4), 0);
	ck_assert_str_eq(buf, "x");
}
END_TEST

/* Empty arguments are joined like the others, first ones too. */
START_TEST(argv_empty_arguments)
{
	static const char *mid[] = { "a", "", "b" };
	static const char *lead[] = { "", "x" };
	static const char *lead2[] = { "", "", "x" };
	static const char *only[] = { "", "" };
	uint64_t v[4];
	char buf[32];

	make_argv(v, mid, 3);
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "a  b");
	make_argv(v, lead, 2);
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, " x");
	make_argv(v, lead2, 3);
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "  x");
	make_argv(v, only, 2);
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, " ");
}
END_TEST

START_TEST(argv_empty)
{
	uint64_t v[1] = { 0 };
	char buf[16];

	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(argv_unreadable)
{
	char *p = page_before_hole(false), buf[32];
	uint64_t v[3];
	static const char *ok = "ok";

	errno = 0;
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(p + PAGE), buf,
	    sizeof(buf)), -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(tmem_read_argv(getpid(), 0, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EFAULT);
	/* The array runs into the hole before its NULL. */
	memcpy(p + PAGE - 8, &(uint64_t){ addr_of(ok) }, 8);
	errno = 0;
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(p + PAGE - 8), buf,
	    sizeof(buf)), -1);
	ck_assert_int_eq(errno, EFAULT);
	/* A string pointer into the hole. */
	v[0] = addr_of(ok);
	v[1] = addr_of(p + PAGE);
	v[2] = 0;
	errno = 0;
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf,
	    sizeof(buf)), -1);
	ck_assert_int_eq(errno, EFAULT);
}
END_TEST

/* Is got the whole of want, or a prefix of it cut with "..."? */
static bool
whole_or_cut(const char *got, const char *want)
{
	size_t n = strlen(got);

	if (strcmp(got, want) == 0)
		return true;
	return n >= 3 && strcmp(got + n - 3, "...") == 0 &&
	    strncmp(got, want, n - 3) == 0;
}

/*
 * An argument longer than a page (the reader's own limit): the result is
 * the whole argv or a cut prefix of it marked with "...", never bytes that
 * are in no argument, and never a silent cut.
 */
START_TEST(argv_long_argument)
{
	static char big[5001], want[5004];
	const char *args[2];
	uint64_t v[3];
	static char buf[16384];

	memset(big, 'a', 5000);
	big[5000] = '\0';
	snprintf(want, sizeof(want), "%s b", big);
	args[0] = big;
	args[1] = "b";
	make_argv(v, args, 2);
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf,
	    sizeof(buf)), 0);
	ck_assert_msg(whole_or_cut(buf, want),
	    "argv with a 5000-byte argument read as %zu bytes: \"%.20s...%s\"",
	    strlen(buf), buf, strlen(buf) > 20 ? buf + strlen(buf) - 20 : "");
}
END_TEST

/* More arguments than the reader's count limit: cut with "...". */
START_TEST(argv_many_arguments)
{
	static uint64_t v[5001];
	static char want[10000], buf[16384];
	static const char *a = "a";
	size_t i;

	for (i = 0; i < 5000; i++) {
		v[i] = addr_of(a);
		want[2 * i] = 'a';
		want[2 * i + 1] = ' ';
	}
	v[5000] = 0;
	want[9999] = '\0';
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf,
	    sizeof(buf)), 0);
	ck_assert_msg(whole_or_cut(buf, want),
	    "5000 arguments read as %zu bytes, ending \"%s\"", strlen(buf),
	    strlen(buf) > 10 ? buf + strlen(buf) - 10 : buf);
}
END_TEST

START_TEST(argv_tiny_buffer)
{
	uint64_t v[1] = { 0 };
	char buf[3];

	errno = 0;
	ck_assert_int_eq(tmem_read_argv(getpid(), addr_of(v), buf, 3), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- tmem_shebang ---- */

static const struct {
	const char *head;
	size_t n;		/* 0: strlen(head) */
	size_t outlen;		/* 0: 64 */
	bool ok;
	const char *interp;
} shebang_cases[] = {
	{ "#!/bin/sh\n", 0, 0, true, "/bin/sh" },
	{ "#!/bin/sh\necho hi\n", 0, 0, true, "/bin/sh" },
	{ "#! /usr/bin/env python3\n", 0, 0, true, "/usr/bin/env" },
	{ "#!\t/bin/bash\t-e\n", 0, 0, true, "/bin/bash" },
	{ "#! \t /bin/sh -x\n", 0, 0, true, "/bin/sh" },
	{ "#!/bin/sh -e", 0, 0, true, "/bin/sh" },	/* ends at the blank */
	{ "#!python\n", 0, 0, true, "python" },
	/* \r is part of the name, as for the kernel. */
	{ "#!/bin/sh\r\n", 0, 0, true, "/bin/sh\r" },
	/* NUL inside: the name ends there. */
	{ "#!/bin/sh\0junk\n", 15, 0, true, "/bin/sh" },
	{ "#!/bin/sh\0", 10, 0, true, "/bin/sh" },
	{ "#!\0/bin/sh\n", 11, 0, false, NULL },
	/* No end of the name within n. */
	{ "#!/bin/sh", 0, 0, false, NULL },
	{ "#!/bin/sh\n", 9, 0, false, NULL },
	{ "#!/bin/sh\n", 10, 0, true, "/bin/sh" },
	{ "#!   ", 0, 0, false, NULL },
	/* No name. */
	{ "#!\n", 0, 0, false, NULL },
	{ "#! \t\n/bin/sh\n", 0, 0, false, NULL },
	{ "#! ", 0, 0, false, NULL },
	{ "#!", 0, 0, false, NULL },
	{ "#", 0, 0, false, NULL },
	{ "", 0, 0, false, NULL },
	/* Not a script. */
	{ "echo hi\n", 0, 0, false, NULL },
	{ " #!/bin/sh\n", 0, 0, false, NULL },
	{ "!#/bin/sh\n", 0, 0, false, NULL },
	{ "#/bin/sh\n", 0, 0, false, NULL },
	{ "\177ELF\2\1\1", 7, 0, false, NULL },
	/* The name and its NUL in out: 7 + 1 fits 8, not 7. */
	{ "#!/bin/sh\n", 0, 8, true, "/bin/sh" },
	{ "#!/bin/sh\n", 0, 7, false, NULL },
	{ "#!/bin/bash\n", 0, 8, false, NULL },
	{ "#!/bin/sh\n", 0, 1, false, NULL },
};

START_TEST(shebang)
{
	const char *head = shebang_cases[_i].head;
	size_t n = shebang_cases[_i].n ? shebang_cases[_i].n : strlen(head);
	size_t outlen = shebang_cases[_i].outlen ? shebang_cases[_i].outlen :
	    64;
	char *copy, out[65];
	bool ok;

	/* A heap copy of exactly n bytes: a read past it is ASan's. */
	copy = malloc(n > 0 ? n : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, head, n);
	memset(out, 'Z', sizeof(out));
	ok = tmem_shebang(copy, n, out, outlen);
	free(copy);
	ck_assert_msg(ok == shebang_cases[_i].ok, "case %d: got %d", _i, ok);
	if (ok)
		ck_assert_str_eq(out, shebang_cases[_i].interp);
	ck_assert_int_eq(out[outlen], 'Z');
}
END_TEST

START_TEST(shebang_zero_outlen)
{
	char out[1] = { 'Z' };

	ck_assert(!tmem_shebang("#!/bin/sh\n", 10, out, 0));
	ck_assert_int_eq(out[0], 'Z');
}
END_TEST

/* ---- pathres_resolve ---- */

static char top[PATH_MAX];	/* the tree, its real path */
static char start_cwd[PATH_MAX];

static void
mkpath(char *buf, size_t size, const char *rel)
{
	ck_assert_int_lt(snprintf(buf, size, "%s/%s", top, rel), (int)size);
}

static void
make_link(const char *target, const char *name)
{
	char p[PATH_MAX];

	mkpath(p, sizeof(p), name);
	if (symlink(target, p) == -1) {
		perror(p);
		abort();
	}
}

static void
make_file(const char *name)
{
	char p[PATH_MAX];
	int fd;

	mkpath(p, sizeof(p), name);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1) {
		perror(p);
		abort();
	}
	close(fd);
}

static void
make_dir(const char *name)
{
	char p[PATH_MAX];

	mkpath(p, sizeof(p), name);
	if (mkdir(p, 0755) == -1) {
		perror(p);
		abort();
	}
}

/*
 * The tree:
 *   a/  a/f  a/up -> ../b/g  b/  b/g  file
 *   rel -> a   abs -> TOP/b   chain1 -> chain2 -> abs   flink -> a/f
 *   loop1 -> loop2 -> loop1   self -> self   dang -> nowhere/x
 *   c1 -> c2 -> ... -> c41 -> a/f
 */
static void
tree_setup(void)
{
	char tmpl[] = "/tmp/check_tmem.XXXXXX", p[PATH_MAX], t[PATH_MAX];
	int i;

	if (getcwd(start_cwd, sizeof(start_cwd)) == NULL ||
	    mkdtemp(tmpl) == NULL || realpath(tmpl, top) == NULL) {
		perror("tree_setup");
		abort();
	}
	make_dir("a");
	make_dir("b");
	make_file("a/f");
	make_file("b/g");
	make_file("file");
	make_link("../b/g", "a/up");
	make_link("a", "rel");
	mkpath(p, sizeof(p), "b");
	make_link(p, "abs");
	make_link("chain2", "chain1");
	make_link("abs", "chain2");
	make_link("a/f", "flink");
	make_link("loop2", "loop1");
	make_link("loop1", "loop2");
	make_link("self", "self");
	make_link("nowhere/x", "dang");
	for (i = 1; i <= 41; i++) {
		snprintf(p, sizeof(p), "c%d", i);
		if (i < 41)
			snprintf(t, sizeof(t), "c%d", i + 1);
		else
			snprintf(t, sizeof(t), "a/f");
		make_link(t, p);
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
tree_teardown(void)
{
	if (strncmp(top, "/tmp/check_tmem.", 16) == 0 &&
	    nftw(top, remove_one, 16, FTW_DEPTH | FTW_PHYS) == -1)
		fprintf(stderr, "could not remove %s\n", top);
}

/* Resolves path with pathres_resolve for this process; checks the result
 * (want NULL: -1 with errno want_errno). want starts with "@/": under the
 * tree. */
static void
expect(int dirfd, const char *path, enum pathres_last last, bool empty,
    int want_rc, const char *want, int want_errno)
{
	char out[PATH_MAX], w[PATH_MAX];
	int rc;

	if (want != NULL && want[0] == '@') {
		mkpath(w, sizeof(w), want + 2);
		want = w;
	}
	memset(out, 0, sizeof(out));
	errno = 0;
	rc = pathres_resolve(getpid(), self_tid(), dirfd, path, last, empty,
	    out, sizeof(out));
	if (want == NULL) {
		ck_assert_msg(rc == -1 && errno == want_errno,
		    "\"%.80s\": got %d \"%.80s\" errno %d (%s), want -1 %s",
		    path, rc, rc == -1 ? "" : out, errno, strerror(errno),
		    strerror(want_errno));
		return;
	}
	ck_assert_msg(rc == want_rc && strcmp(out, want) == 0,
	    "\"%s\": got %d \"%s\" (%s), want %d \"%s\"", path, rc,
	    rc == -1 ? "" : out, rc == -1 ? strerror(errno) : "-", want_rc,
	    want);
}

#define F PATHRES_FOLLOW
#define NF PATHRES_NOFOLLOW

static void
enter_tree(void)
{
	ck_assert_int_eq(chdir(top), 0);
}

static void
leave_tree(void)
{
	ck_assert_int_eq(chdir(start_cwd), 0);
}

START_TEST(path_absolute)
{
	char p[PATH_MAX];

	mkpath(p, sizeof(p), "a/f");
	expect(AT_FDCWD, p, F, false, 0, "@/a/f", 0);
	mkpath(p, sizeof(p), "a/no/such");
	expect(AT_FDCWD, p, F, false, 0, "@/a/no/such", 0);
	expect(AT_FDCWD, "/", F, false, 2, "/", 0);
	expect(AT_FDCWD, "//x", F, false, 0, "/x", 0);
	expect(AT_FDCWD, "///x//y///", F, false, 2, "/x/y", 0);
	mkpath(p, sizeof(p), "/a///f");
	expect(AT_FDCWD, p, F, false, 0, "@/a/f", 0);
	/* An absolute path ignores dirfd, even a bad one. */
	mkpath(p, sizeof(p), "b/g");
	expect(9999, p, F, false, 0, "@/b/g", 0);
}
END_TEST

START_TEST(path_relative_to_cwd)
{
	enter_tree();
	expect(AT_FDCWD, "a/f", F, false, 0, "@/a/f", 0);
	expect(AT_FDCWD, "./a/f", F, false, 0, "@/a/f", 0);
	expect(AT_FDCWD, "a/../b", F, false, 0, "@/b", 0);
	expect(AT_FDCWD, "a/./f", F, false, 0, "@/a/f", 0);
	expect(AT_FDCWD, "a/./b", F, false, 0, "@/a/b", 0);
	expect(AT_FDCWD, ".", F, false, 0, top, 0);
	expect(AT_FDCWD, "a/.", F, false, 0, "@/a", 0);
	expect(AT_FDCWD, "a/..", F, false, 0, top, 0);
	expect(AT_FDCWD, "no/such/file", F, false, 0, "@/no/such/file", 0);
	expect(AT_FDCWD, "no/such/../x", F, false, 0, "@/no/x", 0);
	leave_tree();
}
END_TEST

START_TEST(path_dotdot)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", top);
	slash = strrchr(parent, '/');
	ck_assert_ptr_nonnull(slash);
	slash[slash == parent] = '\0';
	enter_tree();
	expect(AT_FDCWD, "..", F, false, 0, parent, 0);
	expect(AT_FDCWD, "/..", F, false, 0, "/", 0);
	expect(AT_FDCWD, "/../..", F, false, 0, "/", 0);
	expect(AT_FDCWD, "/../tmp", F, false, 0, "/tmp", 0);
	expect(AT_FDCWD, "/x/../../y", F, false, 0, "/y", 0);
	leave_tree();
	ck_assert_int_eq(chdir("/"), 0);
	expect(AT_FDCWD, "..", F, false, 0, "/", 0);
	expect(AT_FDCWD, "x", F, false, 0, "/x", 0);
	expect(AT_FDCWD, "../../x", F, false, 0, "/x", 0);
	leave_tree();
}
END_TEST

START_TEST(path_trailing_slash)
{
	enter_tree();
	expect(AT_FDCWD, "a/", F, false, 2, "@/a", 0);
	expect(AT_FDCWD, "a//", F, false, 2, "@/a", 0);
	expect(AT_FDCWD, "new/", F, false, 2, "@/new", 0);
	expect(AT_FDCWD, "rel/", F, false, 2, "@/a", 0);
	expect(AT_FDCWD, "a/.", F, false, 0, "@/a", 0);
	leave_tree();
}
END_TEST

/*
 * A trailing slash makes the kernel follow a final symlink even without
 * LOOKUP_FOLLOW (lstat("dirlink/") is the directory; utimensat or
 * fchownat with AT_SYMLINK_NOFOLLOW on "dirlink/" change the directory).
 */
START_TEST(path_trailing_slash_nofollow)
{
	struct stat st;

	enter_tree();
	ck_assert_int_eq(lstat("rel/", &st), 0);
	ck_assert(S_ISDIR(st.st_mode));		/* the kernel follows */
	expect(AT_FDCWD, "rel/", NF, false, 2, "@/a", 0);
	expect(AT_FDCWD, "abs//", NF, false, 2, "@/b", 0);
	leave_tree();
}
END_TEST

START_TEST(path_dirfd)
{
	char p[PATH_MAX];
	int dfd;

	mkpath(p, sizeof(p), "a");
	dfd = open(p, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	expect(dfd, "f", F, false, 0, "@/a/f", 0);
	expect(dfd, "../b/g", F, false, 0, "@/b/g", 0);
	expect(dfd, "up", F, false, 0, "@/b/g", 0);
	expect(dfd, "up", NF, false, 0, "@/a/up", 0);
	expect(dfd, "new", F, false, 0, "@/a/new", 0);
	expect(dfd, ".", F, false, 0, "@/a", 0);
	/* Through a directory symlink. */
	mkpath(p, sizeof(p), "rel");
	close(dfd);
	dfd = open(p, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	expect(dfd, "f", F, false, 0, "@/a/f", 0);
	expect(dfd, "..", F, false, 0, top, 0);
	close(dfd);
}
END_TEST

START_TEST(path_symlinks)
{
	enter_tree();
	expect(AT_FDCWD, "rel", F, false, 0, "@/a", 0);
	expect(AT_FDCWD, "rel/f", F, false, 0, "@/a/f", 0);
	expect(AT_FDCWD, "abs/g", F, false, 0, "@/b/g", 0);
	expect(AT_FDCWD, "chain1", F, false, 0, "@/b", 0);
	expect(AT_FDCWD, "chain1/g", F, false, 0, "@/b/g", 0);
	expect(AT_FDCWD, "a/up", F, false, 0, "@/b/g", 0);
	/* ".." after a symlink is taken from where the link points. */
	expect(AT_FDCWD, "rel/../b", F, false, 0, "@/b", 0);
	expect(AT_FDCWD, "abs/../a/f", F, false, 0, "@/a/f", 0);
	leave_tree();
}
END_TEST

START_TEST(path_nofollow)
{
	enter_tree();
	expect(AT_FDCWD, "flink", F, false, 0, "@/a/f", 0);
	expect(AT_FDCWD, "flink", NF, false, 0, "@/flink", 0);
	expect(AT_FDCWD, "chain1", NF, false, 0, "@/chain1", 0);
	/* Only the last component is not followed. */
	expect(AT_FDCWD, "rel/up", NF, false, 0, "@/a/up", 0);
	expect(AT_FDCWD, "chain1/g", NF, false, 0, "@/b/g", 0);
	expect(AT_FDCWD, "loop1", NF, false, 0, "@/loop1", 0);
	expect(AT_FDCWD, "dang", NF, false, 0, "@/dang", 0);
	leave_tree();
}
END_TEST

START_TEST(path_loops)
{
	struct stat st;

	enter_tree();
	expect(AT_FDCWD, "loop1", F, false, 0, NULL, ELOOP);
	expect(AT_FDCWD, "loop2/x", F, false, 0, NULL, ELOOP);
	expect(AT_FDCWD, "loop1/x", NF, false, 0, NULL, ELOOP);
	expect(AT_FDCWD, "self", F, false, 0, NULL, ELOOP);
	/* 40 links are followed, 41 are too many: as the kernel says. */
	ck_assert_int_eq(stat("c2", &st), 0);
	errno = 0;
	ck_assert_int_eq(stat("c1", &st), -1);
	ck_assert_int_eq(errno, ELOOP);
	expect(AT_FDCWD, "c2", F, false, 0, "@/a/f", 0);
	expect(AT_FDCWD, "c1", F, false, 0, NULL, ELOOP);
	expect(AT_FDCWD, "c1", NF, false, 0, "@/c1", 0);
	leave_tree();
}
END_TEST

START_TEST(path_dangling)
{
	enter_tree();
	expect(AT_FDCWD, "dang", F, false, 0, "@/nowhere/x", 0);
	expect(AT_FDCWD, "dang/y", F, false, 0, "@/nowhere/x/y", 0);
	leave_tree();
}
END_TEST

START_TEST(path_proc_self)
{
	char want[64], p[PATH_MAX], out[PATH_MAX];

	snprintf(want, sizeof(want), "/proc/%ld", (long)getpid());
	expect(AT_FDCWD, "/proc/self", F, false, 0, want, 0);
	expect(AT_FDCWD, "/proc/self/", F, false, 2, want, 0);
	expect(AT_FDCWD, "/proc/./self", F, false, 0, want, 0);
	snprintf(p, sizeof(p), "%s/status", want);
	expect(AT_FDCWD, "/proc/self/status", F, false, 0, p, 0);
	/* /proc/self names the pid given, not the caller. */
	ck_assert_int_eq(pathres_resolve(1, 1, AT_FDCWD, "/proc/self/status",
	    F, false, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/proc/1/status");
	snprintf(want, sizeof(want), "/proc/%ld/task/%ld", (long)getpid(),
	    (long)self_tid());
	expect(AT_FDCWD, "/proc/thread-self", F, false, 0, want, 0);
	/* Only right under /proc. */
	expect(AT_FDCWD, "/tmp/self", F, false, 0, "/tmp/self", 0);
}
END_TEST

START_TEST(path_proc_cwd)
{
	char want[PATH_MAX], link[64];

	enter_tree();
	expect(AT_FDCWD, "/proc/self/cwd/x", F, false, 1, "@/x", 0);
	expect(AT_FDCWD, "/proc/self/cwd/a/f", F, false, 1, "@/a/f", 0);
	expect(AT_FDCWD, "/proc/self/cwd", F, false, 1, top, 0);
	snprintf(want, sizeof(want), "/proc/%ld/cwd/rel/f", (long)getpid());
	expect(AT_FDCWD, want, F, false, 1, "@/a/f", 0);
	/* The link itself, not followed. */
	snprintf(link, sizeof(link), "/proc/%ld/cwd", (long)getpid());
	expect(AT_FDCWD, "/proc/self/cwd", NF, false, 0, link, 0);
	leave_tree();
}
END_TEST

START_TEST(path_proc_fd)
{
	char p[PATH_MAX], want[64];
	int fd, pfd[2];

	mkpath(p, sizeof(p), "a/f");
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	expect(AT_FDCWD, p, F, false, 1, "@/a/f", 0);
	snprintf(p, sizeof(p), "/proc/%ld/fd/%d", (long)getpid(), fd);
	expect(AT_FDCWD, p, F, false, 1, "@/a/f", 0);
	close(fd);
	/* A pipe has no path: the link stays. */
	ck_assert_int_eq(pipe(pfd), 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pfd[0]);
	snprintf(want, sizeof(want), "/proc/%ld/fd/%d", (long)getpid(),
	    pfd[0]);
	expect(AT_FDCWD, p, F, false, 1, want, 0);
	close(pfd[0]);
	close(pfd[1]);
}
END_TEST

/* /proc/thread-self/fd/N is /proc/PID/task/TID/fd/N: the same magic
 * link as /proc/PID/fd/N (bit 1, and a pipe's link stays). */
START_TEST(path_proc_thread_self_fd_file)
{
	char p[PATH_MAX];
	int fd;

	mkpath(p, sizeof(p), "a/f");
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	snprintf(p, sizeof(p), "/proc/thread-self/fd/%d", fd);
	expect(AT_FDCWD, p, F, false, 1, "@/a/f", 0);
	snprintf(p, sizeof(p), "/proc/%ld/task/%ld/fd/%d", (long)getpid(),
	    (long)self_tid(), fd);
	expect(AT_FDCWD, p, F, false, 1, "@/a/f", 0);
	close(fd);
}
END_TEST

START_TEST(path_proc_thread_self_fd_pipe)
{
	char p[PATH_MAX], want[96];
	int pfd[2];

	ck_assert_int_eq(pipe(pfd), 0);
	snprintf(p, sizeof(p), "/proc/thread-self/fd/%d", pfd[0]);
	snprintf(want, sizeof(want), "/proc/%ld/task/%ld/fd/%d",
	    (long)getpid(), (long)self_tid(), pfd[0]);
	expect(AT_FDCWD, p, F, false, 1, want, 0);
	close(pfd[0]);
	close(pfd[1]);
}
END_TEST

START_TEST(path_proc_thread_self_cwd)
{
	enter_tree();
	expect(AT_FDCWD, "/proc/thread-self/cwd/x", F, false, 1, "@/x", 0);
	leave_tree();
}
END_TEST

START_TEST(path_proc_fd_deleted)
{
	char p[PATH_MAX];
	int fd;

	mkpath(p, sizeof(p), "gone");
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(unlink(p), 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	/* What the link holds, as text. */
	expect(AT_FDCWD, p, F, false, 1, "@/gone (deleted)", 0);
	close(fd);
}
END_TEST

START_TEST(path_empty)
{
	char p[PATH_MAX];
	int dfd, fd;

	mkpath(p, sizeof(p), "a");
	dfd = open(p, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	expect(dfd, "", F, true, 1, "@/a", 0);
	expect(dfd, "", F, false, 0, NULL, ENOENT);
	expect(AT_FDCWD, "", F, false, 0, NULL, ENOENT);
	close(dfd);
	mkpath(p, sizeof(p), "b/g");
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	expect(fd, "", F, true, 1, "@/b/g", 0);
	close(fd);
	enter_tree();
	expect(AT_FDCWD, "", F, true, 1, top, 0);
	leave_tree();
}
END_TEST

START_TEST(path_too_long)
{
	static char p[2 * PATH_MAX + 16];
	char out[PATH_MAX];
	size_t i;

	/* One long component. */
	p[0] = '/';
	memset(p + 1, 'a', 5000);
	p[5001] = '\0';
	expect(AT_FDCWD, p, F, false, 0, NULL, ENAMETOOLONG);
	/* Longer than the buffers. */
	memset(p + 1, 'a', sizeof(p) - 2);
	p[sizeof(p) - 1] = '\0';
	expect(AT_FDCWD, p, F, false, 0, NULL, ENAMETOOLONG);
	/* Many short components. */
	for (i = 0; i + 2 < 6000; i += 2)
		memcpy(p + i, "/x", 2);
	p[i] = '\0';
	expect(AT_FDCWD, p, F, false, 0, NULL, ENAMETOOLONG);
	/* The result does not fit out. */
	mkpath(p, sizeof(p), "a/f");
	errno = 0;
	ck_assert_int_eq(pathres_resolve(getpid(), self_tid(), AT_FDCWD, p,
	    F, false, out, 8), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_int_eq(pathres_resolve(getpid(), self_tid(), AT_FDCWD, p,
	    F, false, out, strlen(p) + 1), 0);
	ck_assert_str_eq(out, p);
	errno = 0;
	ck_assert_int_eq(pathres_resolve(getpid(), self_tid(), AT_FDCWD, p,
	    F, false, out, strlen(p)), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

/*
 * A path of PATH_MAX bytes or more fails in the kernel (getname), even one
 * that would come out short: "/./././.../x" (stat(2) says ENAMETOOLONG).
 */
START_TEST(path_too_long_collapsing)
{
	static char p[PATH_MAX + 128];
	struct stat st;
	size_t i;

	for (i = 0; i < PATH_MAX + 100; i += 2)
		memcpy(p + i, "/.", 2);
	memcpy(p + i, "/x", 3);
	errno = 0;
	ck_assert_int_eq(stat(p, &st), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	expect(AT_FDCWD, p, F, false, 0, NULL, ENAMETOOLONG);
	/* PATH_MAX - 1 bytes are fine: "/" "/." x 2046 "/x" gives "/x". */
	p[0] = '/';
	for (i = 1; i < 1 + 2 * 2046; i += 2)
		memcpy(p + i, "/.", 2);
	memcpy(p + i, "/x", 3);
	ck_assert_uint_eq(strlen(p), PATH_MAX - 1);
	expect(AT_FDCWD, p, F, false, 0, "/x", 0);
}
END_TEST

START_TEST(path_dirfd_not_directory)
{
	char p[PATH_MAX];
	int fd, pfd[2];

	ck_assert_int_eq(pipe(pfd), 0);
	expect(pfd[0], "x", F, false, 0, NULL, ENOTDIR);
	close(pfd[0]);
	close(pfd[1]);
	mkpath(p, sizeof(p), "file");
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	/* As the kernel: openat(fd of a file, "x") is ENOTDIR. */
	errno = 0;
	ck_assert_int_eq(openat(fd, "x", O_RDONLY), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	expect(fd, "x", F, false, 0, NULL, ENOTDIR);
	close(fd);
}
END_TEST

START_TEST(path_dirfd_bad)
{
	/* A descriptor not open: EBADF, as the kernel and tmem.h say. */
	expect(9999, "x", F, false, 0, NULL, EBADF);
}
END_TEST

/* pathres_resolve_cached: the same results, and a leading directory seen
 * within the last second is not looked at again (tmem.h). */
START_TEST(path_cached)
{
	char p[PATH_MAX], q[PATH_MAX], out[PATH_MAX];
	struct timespec t0, t1;

	enter_tree();
	ck_assert_int_eq(pathres_resolve_cached(getpid(), self_tid(),
	    AT_FDCWD, "rel/f", F, false, out, sizeof(out)), 0);
	mkpath(p, sizeof(p), "a/f");
	ck_assert_str_eq(out, p);
	ck_assert_int_eq(pathres_resolve_cached(getpid(), self_tid(),
	    AT_FDCWD, "chain1/g/", F, false, out, sizeof(out)), 2);
	mkpath(p, sizeof(p), "b/g");
	ck_assert_str_eq(out, p);
	errno = 0;
	ck_assert_int_eq(pathres_resolve_cached(getpid(), self_tid(),
	    AT_FDCWD, "loop1", F, false, out, sizeof(out)), -1);
	ck_assert_int_eq(errno, ELOOP);
	/* A directory swapped for a symlink: the cached lookup still takes
	 * it for the directory; the last component is always looked at. */
	make_dir("swap");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(pathres_resolve_cached(getpid(), self_tid(),
	    AT_FDCWD, "swap/x", F, false, out, sizeof(out)), 0);
	mkpath(p, sizeof(p), "swap");
	mkpath(q, sizeof(q), "swapped");
	ck_assert_int_eq(rename(p, q), 0);
	make_link("a", "swap");
	ck_assert_int_eq(pathres_resolve_cached(getpid(), self_tid(),
	    AT_FDCWD, "swap/x", F, false, out, sizeof(out)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mkpath(p, sizeof(p), "swap/x");
	/* (Unless this machine took most of the second.) */
	if ((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000 < 800)
		ck_assert_str_eq(out, p);
	expect(AT_FDCWD, "swap/x", F, false, 0, "@/a/x", 0);
	ck_assert_int_eq(pathres_resolve_cached(getpid(), self_tid(),
	    AT_FDCWD, "swap", F, false, out, sizeof(out)), 0);
	mkpath(p, sizeof(p), "a");
	ck_assert_str_eq(out, p);
	mkpath(p, sizeof(p), "swap");
	unlink(p);
	rmdir(q);
	leave_tree();
}
END_TEST

static Suite *
tmem_suite(void)
{
	Suite *s = suite_create("tmem");
	TCase *tc;

	tc = tcase_create("memory");
	tcase_add_test(tc, read_write_own_memory);
	tcase_add_loop_test(tc, read_write_unmapped, 0, 2);
	tcase_add_loop_test(tc, str_ends_at_page_end, 0, 2);
	tcase_add_loop_test(tc, str_runs_into_hole, 0, 2);
	tcase_add_test(tc, str_crosses_mapped_pages);
	tcase_add_test(tc, str_too_long);
	tcase_add_test(tc, str_too_long_before_hole);
	tcase_add_test(tc, str_null_address);
	suite_add_tcase(s, tc);

	tc = tcase_create("argv");
	tcase_add_loop_test(tc, argv_join_and_cut, 0,
	    sizeof(argv_cases) / sizeof(argv_cases[0]));
	tcase_add_test(tc, argv_exact_fit_not_cut);
	tcase_add_test(tc, argv_empty);
	tcase_add_test(tc, argv_empty_arguments);
	tcase_add_test(tc, argv_unreadable);
	tcase_add_test(tc, argv_long_argument);
	tcase_add_test(tc, argv_many_arguments);
	tcase_add_test(tc, argv_tiny_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("shebang");
	tcase_add_loop_test(tc, shebang, 0,
	    sizeof(shebang_cases) / sizeof(shebang_cases[0]));
	tcase_add_test(tc, shebang_zero_outlen);
	suite_add_tcase(s, tc);

	tc = tcase_create("pathres");
	tcase_add_unchecked_fixture(tc, tree_setup, tree_teardown);
	tcase_add_test(tc, path_absolute);
	tcase_add_test(tc, path_relative_to_cwd);
	tcase_add_test(tc, path_dotdot);
	tcase_add_test(tc, path_trailing_slash);
	tcase_add_test(tc, path_trailing_slash_nofollow);
	tcase_add_test(tc, path_dirfd);
	tcase_add_test(tc, path_symlinks);
	tcase_add_test(tc, path_nofollow);
	tcase_add_test(tc, path_loops);
	tcase_add_test(tc, path_dangling);
	tcase_add_test(tc, path_proc_self);
	tcase_add_test(tc, path_proc_cwd);
	tcase_add_test(tc, path_proc_fd);
	tcase_add_test(tc, path_proc_thread_self_fd_file);
	tcase_add_test(tc, path_proc_thread_self_fd_pipe);
	tcase_add_test(tc, path_proc_thread_self_cwd);
	tcase_add_test(tc, path_proc_fd_deleted);
	tcase_add_test(tc, path_empty);
	tcase_add_test(tc, path_too_long);
	tcase_add_test(tc, path_too_long_collapsing);
	tcase_add_test(tc, path_dirfd_not_directory);
	tcase_add_test(tc, path_dirfd_bad);
	tcase_add_test(tc, path_cached);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tmem_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
