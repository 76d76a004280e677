/*
 * sink_file — audit lines appended to a file, or to stderr for "-".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fnguard/audit.h"

static bool
file_accepts(const char *dest)
{
	/* Anything that is not a URL is a path. */
	return strstr(dest, "://") == NULL;
}

static int
file_open(struct sink *s, const char *dest)
{
	if (strcmp(dest, "-") == 0) {
		s->fd = STDERR_FILENO;
		return 0;
	}
	s->fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return s->fd == -1 ? -1 : 0;
}

static int
file_write(struct sink *s, const char *line, size_t len)
{
	ssize_t n;

	/* O_APPEND and one write per line: concurrent writers do not
	 * interleave within a line. */
	while (len > 0) {
		n = write(s->fd, line, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->failures++;
			return -1;
		}
		line += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
file_close(struct sink *s)
{
	if (s->fd > STDERR_FILENO)
		close(s->fd);
	s->fd = -1;
}

const struct sink_ops sink_file_ops = {
	.name = "file",
	.accepts = file_accepts,
	.open = file_open,
	.write = file_write,
	.close = file_close,
};
