/*
 * rules_bench — how fast the rule engine loads a large policy and answers.
 *
 *   rules_bench load POLICY.json
 *	parse + validate + build, timed; prints ms and the RSS it added.
 *   rules_bench dns POLICY.json NAMES.txt SECONDS
 *   rules_bench connect POLICY.json IPS.txt SECONDS
 *	rules_eval over the subjects (one per line) round-robin on one core
 *	for SECONDS; prints verdicts per second and how many were denied.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fnguard/policy.h"
#include "fnguard/rules.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static struct policy *
load(const char *path, double *ms, long *rss_added)
{
	struct diags d;
	struct policy *pol;
	long before = rss_kb();
	double t0 = now_s();
	bool hijacked;

	diags_init(&d);
	pol = policy_load_file(path, NULL, &d, &hijacked);
	*ms = (now_s() - t0) * 1000;
	*rss_added = rss_kb() - before;
	if (pol == NULL) {
		fprintf(stderr, "rules_bench: %s: %zu errors\n", path, d.errors);
		exit(1);
	}
	diags_clear(&d);
	return pol;
}

static char **
read_lines(const char *path, size_t *n)
{
	char **lines = NULL, buf[1100];
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	*n = 0;
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(buf, sizeof(buf), f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			lines = realloc(lines, cap * sizeof(*lines));
		}
		lines[(*n)++] = strdup(buf);
	}
	fclose(f);
	return lines;
}

static void
run(const struct policy *pol, struct event *evs, size_t n, double seconds,
    const char *what)
{
	struct identity id = { .function = "bench", .region = "",
	    .provider = "others", .account = "", .runtime = "",
	    .request_id = "" };
	const struct rule *rule = rules_select(pol, &id);
	struct verdict v;
	unsigned long long total = 0, denied = 0;
	double t0 = now_s(), elapsed;
	size_t i;

	/* Selection is per function, done once; the hot path is the rule. */
	do {
		for (i = 0; i < n; i++) {
			rules_eval_rule(rule, &evs[i], &v);
			denied += v.verdict != VERDICT_ALLOW;
		}
		total += n;
		elapsed = now_s() - t0;
	} while (elapsed < seconds);
	printf("%s: %llu verdicts in %.2f s: %.2f million/s (%.1f%% denied)\n",
	    what, total, elapsed, (double)total / elapsed / 1e6,
	    100.0 * (double)denied / (double)total);
}

int
main(int argc, char **argv)
{
	struct policy *pol;
	struct event *evs;
	char **lines;
	size_t n, i;
	double ms;
	long rss;

	if (argc < 3) {
		fprintf(stderr, "usage: rules_bench load|dns|connect POLICY "
		    "[SUBJECTS SECONDS]\n");
		return 2;
	}
	pol = load(argv[2], &ms, &rss);
	if (strcmp(argv[1], "load") == 0) {
		/* What the policy itself holds, once the parser's JSON tree is
		 * gone; malloc_trim gives the tree's pages back, as the
		 * daemon does after loading. */
		struct mallinfo2 mi = mallinfo2();

		malloc_trim(0);
		printf("load: %.1f ms, %.1f MB RSS added, %.1f MB heap in use, "
		    "%.1f MB RSS after trim\n", ms, rss / 1024.0,
		    (mi.uordblks + mi.hblkhd) / 1048576.0, rss_kb() / 1024.0);
		policy_free(pol);
		return 0;
	}
	if (argc < 5)
		return 2;
	lines = read_lines(argv[3], &n);
	evs = calloc(n, sizeof(*evs));
	for (i = 0; i < n; i++) {
		if (strcmp(argv[1], "dns") == 0) {
			event_init(&evs[i], EVENT_DNS);
			evs[i].domain = lines[i];
		} else {
			event_init(&evs[i], EVENT_CONNECT);
			ipaddr_parse(lines[i], strlen(lines[i]), &evs[i].ip);
			evs[i].port = 443;
			evs[i].proto = PROTO_TCP;
		}
		evs[i].process_path = "/usr/bin/python3";
	}
	run(pol, evs, n, atof(argv[4]), argv[1]);
	policy_free(pol);
	return 0;
}
