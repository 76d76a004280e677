/*
 * fnguard — runtime defense for serverless functions. This file only picks
 * the subcommand; each lives in its own cmd_*.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "fnguard/cli.h"
#include "fnguard/log.h"

struct command {
	const char *name;
	int (*run)(int, char **);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "run a command under the policy (the launcher)" },
	{ "check", cmd_check, "lint a policy" },
	{ "replay", cmd_replay, "test a policy against recorded activity" },
	{ "learn", cmd_learn, "turn recorded activity into a least-privilege "
	    "policy" },
	{ "encode", cmd_encode, "make a TW_POLICY value (and signing keys)" },
	{ "daemon", cmd_daemon, "the enforcing DNS resolver and TCP proxy" },
	{ NULL, NULL, NULL },
};

static void
usage(FILE *f)
{
	const struct command *c;

	fprintf(f, "usage: fnguard [-v] COMMAND [ARGS...]\n\n"
	    "Runtime defense for serverless functions.\n\ncommands:\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %-8s %s\n", c->name, c->summary);
	fprintf(f, "\n'fnguard COMMAND --help' for a command's options; "
	    "fnguard(1) for the whole story.\n");
}

int
main(int argc, char **argv)
{
	const struct command *c;
	int i = 1;

	if (i < argc && strcmp(argv[i], "-v") == 0) {
		log_init(1);
		i++;
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
	    strcmp(argv[i], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[i], "--version") == 0) {
		printf("fnguard %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	for (c = commands; c->name != NULL; c++)
		if (strcmp(argv[i], c->name) == 0)
			return c->run(argc - i, argv + i);
	fprintf(stderr, "fnguard: %s: unknown command (try 'fnguard --help')\n",
	    argv[i]);
	return EXIT_USAGE;
}
