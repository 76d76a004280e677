/*
 * fnguard learn [--name RULE] [--effect alert|prevent] EVENTS.jsonl...
 *
 * Writes the least-privilege policy that allows a recording: every list is
 * an allow list of what was seen, folded into "*.parent" (names) or
 * "DIR/" plus a star (paths) only where several entries share a parent, and what was never seen at all is
 * denied outright. The result is checked before it is printed: it must
 * parse without errors and its replay must allow every event.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "fnguard/cli.h"
#include "fnguard/replay.h"

/* Names (files) sharing a parent (directory) at least this often are
 * folded into one pattern. */
#define FOLD_AT 3

static const char learn_usage[] =
    "usage: fnguard learn [--name RULE] [--effect alert|prevent] "
    "EVENTS.jsonl...\n"
    "Writes to stdout the least-privilege policy that allows every event\n"
    "of the recordings.\n";

/* A set of strings, in first-seen order. */
struct strset {
	char **items;
	size_t n, cap;
};

static bool
strset_has(const struct strset *s, const char *v)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->items[i], v) == 0)
			return true;
	return false;
}

static void
strset_add(struct strset *s, const char *v)
{
	if (v == NULL || v[0] == '\0' || strset_has(s, v))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		if ((s->items = realloc(s->items, s->cap * sizeof(char *))) ==
		    NULL) {
			fprintf(stderr, "fnguard: learn: out of memory\n");
			exit(EXIT_FOUND);
		}
	}
	if ((s->items[s->n++] = strdup(v)) == NULL) {
		fprintf(stderr, "fnguard: learn: out of memory\n");
		exit(EXIT_FOUND);
	}
}

static void
strset_clear(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->items[i]);
	free(s->items);
	memset(s, 0, sizeof(*s));
}

struct seen {
	struct strset functions, execs, names, wire_names, ips;
	struct strset sources, paths;
	bool ports_out[65536], ports_listen[65536];
	bool any_connect, any_listen, any_miner, any_exec_other;
	bool connect_without_ip, connect_without_port, listen_without_port;
	size_t events, broken;
	struct replayer *learner;	/* only to know what DNS taught */
};

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void
note_domain(struct strset *set, const char *d)
{
	char buf[1100];
	size_t len;

	snprintf(buf, sizeof(buf), "%s", d);
	lower(buf);
	len = strlen(buf);
	if (len > 1 && buf[len - 1] == '.')
		buf[len - 1] = '\0';
	strset_add(set, buf);
}

static void
note_network(struct seen *s, const struct event *ev, bool resolved)
{
	char ip[48];

	ipaddr_format(&ev->ip, ip, sizeof(ip));
	s->any_connect = true;
	/* An address an earlier answer returned is covered by
	 * requireResolved; only the others are listed. */
	if (ev->ip.family == 0)
		s->connect_without_ip = true;
	else if (!resolved)
		strset_add(&s->ips, ip);
	if (ev->port >= 0)
		s->ports_out[ev->port] = true;
	else
		s->connect_without_port = true;
	if (ev->domain != NULL)
		note_domain(&s->wire_names, ev->domain);
}

static void
learn_line(const char *file, size_t lineno, const struct event_doc *doc,
    const char *error, void *arg)
{
	struct seen *s = arg;
	const struct event *ev;
	struct verdict v;
	char ip[48];

	if (doc == NULL) {
		fprintf(stderr, "fnguard: learn: %s:%zu: %s\n", file, lineno,
		    error);
		s->broken++;
		return;
	}
	ev = &doc->ev;
	s->events++;
	strset_add(&s->functions, ev->function);
	switch (ev->kind) {
	case EVENT_DNS:
		if (ev->domain != NULL)
			note_domain(&s->names, ev->domain);
		break;
	case EVENT_EXEC:
		strset_add(&s->execs, ev->process_path);
		strset_add(&s->paths, ev->process_path);
		strset_add(&s->execs, ev->interpreter);
		s->any_exec_other |= !ev->main_process;
		s->any_miner |= rules_miner_check(ev->process_path,
		    ev->command) != REASON_NONE;
		break;
	case EVENT_CONNECT:
	case EVENT_SENDTO:
		/* With no policy every DNS answer teaches: resolved means
		 * an earlier dns event of the recording returned it. */
		note_network(s, ev, replayer_resolved(s->learner, ev));
		break;
	case EVENT_LISTEN:
		s->any_listen = true;
		if (ev->port >= 0)
			s->ports_listen[ev->port] = true;
		else
			s->listen_without_port = true;
		break;
	case EVENT_ACCEPT:
		if (ev->ip.family != 0)
			strset_add(&s->sources, ipaddr_format(&ev->ip, ip,
			    sizeof(ip)));
		break;
	default:
		strset_add(&s->paths, ev->filepath);
		strset_add(&s->paths, ev->newpath);
		break;
	}
	if (ev->kind == EVENT_DNS)
		replayer_eval(s->learner, ev, &v);
}

/* Parent of a name ("s3.amazon.com" -> "amazon.com"), or NULL when the
 * parent would be a top-level label. */
static const char *
name_parent(const char *name)
{
	const char *dot = strchr(name, '.');

	if (dot == NULL || strchr(dot + 1, '.') == NULL)
		return NULL;
	return dot + 1;
}

static json_t *
fold_names(const struct strset *names)
{
	json_t *arr = json_array();
	struct strset out = { 0 };
	char pat[1100];
	size_t i, j, shared;

	for (i = 0; i < names->n; i++) {
		const char *parent = name_parent(names->items[i]);

		shared = 0;
		for (j = 0; parent != NULL && j < names->n; j++) {
			const char *p = name_parent(names->items[j]);

			shared += p != NULL && strcmp(p, parent) == 0;
		}
		if (shared >= FOLD_AT) {
			snprintf(pat, sizeof(pat), "*.%s", parent);
			strset_add(&out, pat);
		} else
			strset_add(&out, names->items[i]);
	}
	for (i = 0; i < out.n; i++)
		json_array_append_new(arr, json_string(out.items[i]));
	strset_clear(&out);
	return arr;
}

static json_t *
fold_paths(const struct strset *paths)
{
	json_t *arr = json_array();
	struct strset out = { 0 };
	char pat[4200];
	size_t i, j, shared, dlen;

	for (i = 0; i < paths->n; i++) {
		const char *slash = strrchr(paths->items[i], '/');

		dlen = slash ? (size_t)(slash - paths->items[i]) + 1 : 0;
		shared = 0;
		for (j = 0; dlen > 1 && j < paths->n; j++) {
			const char *s2 = strrchr(paths->items[j], '/');

			shared += s2 != NULL && (size_t)(s2 -
			    paths->items[j]) + 1 == dlen &&
			    strncmp(paths->items[j], paths->items[i], dlen) == 0;
		}
		if (shared >= FOLD_AT) {
			snprintf(pat, sizeof(pat), "%.*s*", (int)dlen,
			    paths->items[i]);
			strset_add(&out, pat);
		} else
			strset_add(&out, paths->items[i]);
	}
	for (i = 0; i < out.n; i++)
		json_array_append_new(arr, json_string(out.items[i]));
	strset_clear(&out);
	return arr;
}

static json_t *
port_ranges(const bool *ports)
{
	json_t *arr = json_array();
	int p = 0, start;

	while (p < 65536) {
		if (!ports[p]) {
			p++;
			continue;
		}
		for (start = p; p < 65536 && ports[p]; p++)
			;
		json_array_append_new(arr, json_pack("{s:i,s:i}", "start",
		    start, "end", p - 1));
	}
	return arr;
}

static json_t *
strings(const struct strset *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < s->n; i++)
		json_array_append_new(arr, json_string(s->items[i]));
	return arr;
}

/* Lists that are empty allow everything, so what was never seen is
 * denied with a catch-all deny list instead. */
static json_t *
deny_everything(const char *a, const char *b)
{
	return b != NULL ? json_pack("[s,s]", a, b) : json_pack("[s]", a);
}

static json_t *
build_network(const struct seen *s, const char *effect)
{
	json_t *n = json_pack("{s:s}", "effect", effect);

	if (s->any_connect) {
		/* A destination the recording does not name cannot be
		 * listed; then only what it names is narrowed. */
		if (!s->connect_without_ip) {
			json_object_set_new(n, "requireResolved", json_true());
			json_object_set_new(n, "whitelistIPs", strings(&s->ips));
		}
		if (!s->connect_without_port)
			json_object_set_new(n, "whitelistOutboundPorts",
			    port_ranges(s->ports_out));
		if (s->wire_names.n > 0)
			json_object_set_new(n, "whitelistDomains",
			    fold_names(&s->wire_names));
	} else
		json_object_set_new(n, "blacklistIPs",
		    deny_everything("0.0.0.0/0", "::/0"));
	if (s->any_listen && !s->listen_without_port)
		json_object_set_new(n, "whitelistListeningPorts",
		    port_ranges(s->ports_listen));
	else if (!s->any_listen)
		json_object_set_new(n, "blacklistListeningPorts",
		    json_pack("[{s:i,s:i}]", "start", 0, "end", 65535));
	if (s->sources.n > 0)
		json_object_set_new(n, "whitelistInboundIPs",
		    strings(&s->sources));
	return n;
}

static json_t *
build_policy(const struct seen *s, const char *name, const char *effect)
{
	json_t *rule = json_pack("{s:s,s:b}", "name", name, "disabled", 0);
	json_t *procs, *dns, *fs;
	struct strset names = { 0 };
	size_t i;

	if (s->functions.n == 1)
		json_object_set_new(rule, "collections", json_pack(
		    "[{s:s,s:[s]}]", "name", name, "functions",
		    s->functions.items[0]));
	procs = json_pack("{s:s,s:b,s:b}", "effect", effect,
	    "blockAllBinaries", !s->any_exec_other,
	    "checkCryptoMiners", !s->any_miner);
	if (s->any_exec_other)
		json_object_set_new(procs, "whitelist", strings(&s->execs));
	json_object_set_new(rule, "processes", procs);
	json_object_set_new(rule, "network", build_network(s, effect));
	/* Names seen on the wire are checked against the dns lists too. */
	for (i = 0; i < s->names.n; i++)
		strset_add(&names, s->names.items[i]);
	for (i = 0; i < s->wire_names.n; i++)
		strset_add(&names, s->wire_names.items[i]);
	dns = json_pack("{s:s}", "effect", effect);
	json_object_set_new(dns, names.n > 0 ? "whitelist" : "blacklist",
	    names.n > 0 ? fold_names(&names) : deny_everything("*", NULL));
	json_object_set_new(rule, "dns", dns);
	fs = json_pack("{s:s}", "effect", effect);
	json_object_set_new(fs, s->paths.n > 0 ? "whitelist" : "blacklist",
	    s->paths.n > 0 ? fold_paths(&s->paths) :
	    deny_everything("*", NULL));
	json_object_set_new(rule, "filesystem", fs);
	strset_clear(&names);
	return json_pack("{s:[o]}", "rules", rule);
}

struct verify {
	struct replayer *r;
	size_t denied;
};

static void
verify_line(const char *file, size_t lineno, const struct event_doc *doc,
    const char *error, void *arg)
{
	struct verify *vf = arg;
	struct verdict v;

	(void)error;
	if (doc == NULL)
		return;
	replayer_eval(vf->r, &doc->ev, &v);
	if (v.verdict != VERDICT_ALLOW) {
		fprintf(stderr, "fnguard: learn: %s:%zu: the learned policy "
		    "does not allow this event (%s)\n", file, lineno,
		    attack_type_name(v.attack));
		vf->denied++;
	}
}

/* Parses the learned policy back and replays the recordings under it. */
static int
verify(const char *text, int nfiles, char **files)
{
	struct diags d;
	struct verify vf = { NULL, 0 };
	struct policy *pol;
	bool hijacked;
	int i;

	diags_init(&d);
	pol = policy_parse(text, strlen(text), NULL, &d, &hijacked);
	if (pol == NULL) {
		cli_print_diags("learn", "learned policy", &d);
		diags_clear(&d);
		return -1;
	}
	diags_clear(&d);
	vf.r = replayer_new(pol, NULL);
	for (i = 0; i < nfiles && vf.r != NULL; i++)
		replay_read_file(files[i], verify_line, &vf);
	replayer_free(vf.r);
	policy_free(pol);
	return vf.denied == 0 && vf.r != NULL ? 0 : -1;
}

int
cmd_learn(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "effect", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = "learned", *effect = "prevent";
	struct seen *s;
	json_t *doc;
	char *text;
	int ch, i, rc = EXIT_OK;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': name = optarg; break;
		case 'e':
			if (strcmp(optarg, "alert") != 0 &&
			    strcmp(optarg, "prevent") != 0)
				cli_usage("learn", "--effect takes alert or "
				    "prevent");
			effect = optarg;
			break;
		case 'h':
			fputs(learn_usage, stdout);
			return EXIT_OK;
		default:
			cli_bad_option("learn", ch, argv);
		}
	}
	if (optind >= argc)
		cli_usage("learn", "no EVENTS file given");
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->learner = replayer_new(NULL, NULL)) == NULL) {
		fprintf(stderr, "fnguard: learn: out of memory\n");
		return EXIT_FOUND;
	}
	for (i = optind; i < argc; i++)
		if (replay_read_file(argv[i], learn_line, s) == -1) {
			fprintf(stderr, "fnguard: learn: %s: %s\n", argv[i],
			    strerror(errno));
			rc = EXIT_FOUND;
		}
	if (s->any_miner)
		fprintf(stderr, "fnguard: learn: the recording runs a crypto "
		    "miner; checkCryptoMiners is left off so that the policy "
		    "allows it — look at this before you deploy\n");
	doc = build_policy(s, name, effect);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL || verify(text, argc - optind, argv + optind) == -1) {
		fprintf(stderr, "fnguard: learn: internal error: the learned "
		    "policy does not allow the recording\n");
		rc = EXIT_FOUND;
	} else
		printf("%s\n", text);
	if (s->broken > 0)
		rc = EXIT_FOUND;
	free(text);
	replayer_free(s->learner);
	strset_clear(&s->functions);
	strset_clear(&s->execs);
	strset_clear(&s->names);
	strset_clear(&s->wire_names);
	strset_clear(&s->ips);
	strset_clear(&s->sources);
	strset_clear(&s->paths);
	free(s);
	return rc;
}
