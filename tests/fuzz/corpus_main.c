/*
 * corpus_main — runs a fuzz target once on every file of its committed
 * corpus, without libFuzzer, so that "make check" replays the corpora with
 * any compiler.
 *
 * usage: corpus_X DIR|FILE...
 * Each file's bytes are passed in a heap buffer of exactly their length, so
 * that AddressSanitizer (when built with it) reports any read past the end.
 * Prints "N inputs" and exits 0; exits 1 when an argument cannot be read.
 * A broken property aborts, as under libFuzzer.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t ninputs;

/* Runs the target on one file. Returns 0, or -1 when it cannot be read. */
static int
run_file(const char *path)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t size;
	FILE *f;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "corpus: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1) {
		fprintf(stderr, "corpus: %s: %s\n", path, strerror(errno));
		goto done;
	}
	size = (size_t)st.st_size;
	/* malloc(0) gives a zero-length block: any read of it is reported. */
	if ((buf = malloc(size)) == NULL && size > 0) {
		fprintf(stderr, "corpus: %s: out of memory\n", path);
		goto done;
	}
	if (size > 0 && fread(buf, 1, size, f) != size) {
		fprintf(stderr, "corpus: %s: short read\n", path);
		goto done;
	}
	LLVMFuzzerTestOneInput(buf, size);
	ninputs++;
	rc = 0;
done:
	free(buf);
	fclose(f);
	return rc;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the target on every regular file of dir, in name order. */
static int
run_dir(const char *dir)
{
	struct dirent *de;
	struct stat st;
	char **names = NULL, **n, path[4096];
	size_t count = 0, cap = 0, i;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "corpus: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			if ((n = realloc(names, cap * sizeof(*names))) == NULL) {
				rc = -1;
				break;
			}
			names = n;
		}
		if ((names[count] = strdup(de->d_name)) == NULL) {
			rc = -1;
			break;
		}
		count++;
	}
	closedir(d);
	if (count > 0)
		qsort(names, count, sizeof(*names), compare_names);
	for (i = 0; i < count; i++) {
		if (rc == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			    run_file(path) == -1)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct stat st;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "corpus: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i]) == -1)
				rc = 1;
		} else if (run_file(argv[i]) == -1)
			rc = 1;
	}
	printf("%zu inputs\n", ninputs);
	return rc;
}
