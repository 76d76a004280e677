/*
 * fnguard replay [--policy FILE] [--json] [--diff OLD] [--fail-on LEVEL]
 *                [identity overrides] EVENTS.jsonl...
 *
 * Evaluates recorded events (or audit records) in order with the rule
 * engine, as enforcement would have, and prints what each would get.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "fnguard/audit.h"
#include "fnguard/cli.h"
#include "fnguard/replay.h"

static const char replay_usage[] =
    "usage: fnguard replay [--policy FILE] [--json] [--diff OLDPOLICY]\n"
    "                      [--fail-on alert|prevent] [--audit DEST]...\n"
    "                      [--function NAME] [--region R] [--provider P]\n"
    "                      [--account A] [--label KEY:VALUE]...\n"
    "                      [--policy-pubkey KEY] EVENTS.jsonl...\n"
    "Evaluates recorded events and audit records in order against the\n"
    "policy (--policy, else TW_POLICY) and prints each verdict.\n"
    "  --json          each input event back, with verdict, effect,\n"
    "                  ruleName, attackType and msg added\n"
    "  --diff OLD      only events whose verdict differs under OLD\n"
    "  --fail-on LVL   exit 1 when an event gets LVL (alert: alert or "
    "prevent)\n"
    "  --audit DEST    also write audit records (- for stderr, or a file)\n";

#define MAX_AUDIT 8

struct replay_opts {
	const char *policy_path, *old_path, *keyfile;
	const char *audit[MAX_AUDIT];
	size_t naudit;
	bool json;
	int fail_on;			/* verdict level, or -1 */
	struct replay_overrides ov;
};

struct replay_run {
	const struct replay_opts *o;
	struct replayer *now, *old;
	struct audit *audit;
	size_t events, broken, changed;
	size_t counts[3];
	enum verdict_kind worst;
};

/* What an event is about, for the table. */
static void
describe(const struct event *ev, char *buf, size_t len)
{
	char ip[48];

	ipaddr_format(&ev->ip, ip, sizeof(ip));
	switch (ev->kind) {
	case EVENT_DNS:
		snprintf(buf, len, "%s", ev->domain ? ev->domain : "?");
		break;
	case EVENT_EXEC:
		snprintf(buf, len, "%s", ev->command ? ev->command :
		    ev->process_path ? ev->process_path : "?");
		break;
	case EVENT_CONNECT:
	case EVENT_SENDTO:
	case EVENT_ACCEPT:
		snprintf(buf, len, "%s%s%s port %d%s%s", ev->process_path ?
		    ev->process_path : "", ev->process_path ? " " : "",
		    ip, ev->port, ev->domain ? " name " : "",
		    ev->domain ? ev->domain : "");
		break;
	case EVENT_LISTEN:
		snprintf(buf, len, "%s port %d", ev->process_path ?
		    ev->process_path : "?", ev->port);
		break;
	default:
		snprintf(buf, len, "%s%s%s", ev->filepath ? ev->filepath : "?",
		    ev->newpath ? " -> " : "", ev->newpath ? ev->newpath : "");
		break;
	}
}

static void
print_json(const struct event_doc *doc, const struct verdict *v)
{
	json_t *o = doc->json;
	char msg[AUDIT_MSG_LEN], *text;

	audit_message(v, &doc->ev, msg, sizeof(msg));
	json_object_set_new(o, "verdict", json_string(verdict_name(v->verdict)));
	json_object_set_new(o, "effect", json_string(v->verdict ==
	    VERDICT_ALLOW ? "" : verdict_name(v->verdict)));
	json_object_set_new(o, "ruleName", json_string(v->rule ?
	    v->rule->name : ""));
	json_object_set_new(o, "attackType",
	    json_string(attack_type_name(v->attack)));
	json_object_set_new(o, "msg", json_string(msg));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text != NULL)
		printf("%s\n", text);
	free(text);
}

static void
print_row(const char *file, size_t lineno, const struct event *ev,
    const struct verdict *v, const char *old_verdict)
{
	char detail[AUDIT_MSG_LEN];

	if (v->verdict != VERDICT_ALLOW)
		audit_message(v, ev, detail, sizeof(detail));
	else
		describe(ev, detail, sizeof(detail));
	printf("%s:%-5zu %-8s %s%s%-8s %-18s %-30s %s\n", file, lineno,
	    event_kind_name(ev->kind), old_verdict ? old_verdict : "",
	    old_verdict ? " -> " : "", verdict_name(v->verdict),
	    v->rule ? v->rule->name : "-",
	    v->attack != ATTACK_NONE ? attack_type_name(v->attack) : "-",
	    detail);
}

static void
replay_line(const char *file, size_t lineno, const struct event_doc *doc,
    const char *error, void *arg)
{
	struct replay_run *run = arg;
	struct verdict v, old;
	struct identity id;

	if (doc == NULL) {
		fprintf(stderr, "fnguard: replay: %s:%zu: %s\n", file, lineno,
		    error);
		run->broken++;
		return;
	}
	run->events++;
	replayer_eval(run->now, &doc->ev, &v);
	run->counts[v.verdict]++;
	if (v.verdict > run->worst)
		run->worst = v.verdict;
	if (run->audit != NULL && v.verdict != VERDICT_ALLOW) {
		replayer_identity(run->now, &doc->ev, &id);
		audit_verdict(run->audit, &id, &doc->ev, &v, doc->ev.time_ms);
		audit_flush(run->audit);
	}
	if (run->old != NULL) {
		replayer_eval(run->old, &doc->ev, &old);
		if (old.verdict == v.verdict && old.attack == v.attack)
			return;
		run->changed++;
		if (run->o->json)
			print_json(doc, &v);
		else
			print_row(file, lineno, &doc->ev, &v,
			    verdict_name(old.verdict));
		return;
	}
	if (run->o->json)
		print_json(doc, &v);
	else
		print_row(file, lineno, &doc->ev, &v, NULL);
}

static void
parse_replay_opts(int argc, char **argv, struct replay_opts *o)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "diff", required_argument, NULL, 'd' },
		{ "fail-on", required_argument, NULL, 'f' },
		{ "audit", required_argument, NULL, 'a' },
		{ "function", required_argument, NULL, 'F' },
		{ "region", required_argument, NULL, 'R' },
		{ "provider", required_argument, NULL, 'P' },
		{ "account", required_argument, NULL, 'A' },
		{ "label", required_argument, NULL, 'L' },
		{ "policy-pubkey", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->fail_on = -1;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': o->policy_path = optarg; break;
		case 'j': o->json = true; break;
		case 'd': o->old_path = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'F': o->ov.function = optarg; break;
		case 'R': o->ov.region = optarg; break;
		case 'P': o->ov.provider = optarg; break;
		case 'A': o->ov.account = optarg; break;
		case 'f':
			if (strcmp(optarg, "alert") == 0)
				o->fail_on = VERDICT_ALERT;
			else if (strcmp(optarg, "prevent") == 0)
				o->fail_on = VERDICT_PREVENT;
			else
				cli_usage("replay", "--fail-on takes alert or "
				    "prevent, not \"%s\"", optarg);
			break;
		case 'a':
			if (o->naudit == MAX_AUDIT)
				cli_usage("replay", "at most %d --audit", MAX_AUDIT);
			o->audit[o->naudit++] = optarg;
			break;
		case 'L':
			if (strchr(optarg, ':') == NULL ||
			    o->ov.nlabels == IDENTITY_MAX_LABELS)
				cli_usage("replay", "--label takes KEY:VALUE "
				    "(at most %d)", IDENTITY_MAX_LABELS);
			o->ov.labels[o->ov.nlabels++] = optarg;
			break;
		case 'h':
			fputs(replay_usage, stdout);
			exit(EXIT_OK);
		default:
			cli_bad_option("replay", ch, argv);
		}
	}
	if (optind >= argc)
		cli_usage("replay", "no EVENTS file given");
}

static struct audit *
open_audit(const struct replay_opts *o)
{
	struct audit *a;
	size_t i;

	if (o->naudit == 0)
		return NULL;
	if ((a = audit_new(NULL)) == NULL) {
		fprintf(stderr, "fnguard: replay: out of memory\n");
		exit(EXIT_FOUND);
	}
	for (i = 0; i < o->naudit; i++)
		if (audit_add_sink(a, o->audit[i]) == -1) {
			fprintf(stderr, "fnguard: replay: --audit %s: %s\n",
			    o->audit[i], strerror(errno));
			exit(EXIT_FOUND);
		}
	return a;
}

static void
print_summary(const struct replay_run *run)
{
	if (run->o->json)
		return;
	if (run->old != NULL)
		printf("%zu events, %zu changed verdict, %zu broken lines\n",
		    run->events, run->changed, run->broken);
	else
		printf("%zu events: %zu allow, %zu alert, %zu prevent, "
		    "%zu broken lines\n", run->events, run->counts[VERDICT_ALLOW],
		    run->counts[VERDICT_ALERT], run->counts[VERDICT_PREVENT],
		    run->broken);
}

int
cmd_replay(int argc, char **argv)
{
	struct replay_opts o;
	struct replay_run run;
	struct policy *pol, *old = NULL;
	struct policy_source src, oldsrc;
	struct identity id;
	bool failed = false;
	int i, rc = EXIT_OK;

	parse_replay_opts(argc, argv, &o);
	memset(&run, 0, sizeof(run));
	run.o = &o;
	memset(&id, 0, sizeof(id));
	id.function = o.ov.function ? o.ov.function : "";
	id.region = o.ov.region ? o.ov.region : "";
	id.provider = o.ov.provider ? o.ov.provider : "others";
	id.account = o.ov.account ? o.ov.account : "";
	id.runtime = id.request_id = "";
	pol = cli_load_policy("replay", o.policy_path, o.keyfile, NULL, o.audit,
	    o.naudit, false, &id, &src, &failed);
	if (failed)
		return EXIT_FOUND;
	if (src.name == NULL)
		fprintf(stderr, "fnguard: replay: no policy (--policy or "
		    "TW_POLICY): everything is allowed\n");
	if (o.old_path != NULL) {
		old = cli_load_policy("replay", o.old_path, o.keyfile, NULL, NULL,
		    0, false, &id, &oldsrc, &failed);
		if (failed) {
			policy_free(pol);
			return EXIT_FOUND;
		}
		run.old = replayer_new(old, &o.ov);
	}
	run.now = replayer_new(pol, &o.ov);
	run.audit = open_audit(&o);
	if (run.now == NULL || (o.old_path != NULL && run.old == NULL)) {
		fprintf(stderr, "fnguard: replay: out of memory\n");
		return EXIT_FOUND;
	}
	for (i = optind; i < argc; i++) {
		if (replay_read_file(argv[i], replay_line, &run) == -1) {
			fprintf(stderr, "fnguard: replay: %s: %s\n", argv[i],
			    strerror(errno));
			rc = EXIT_FOUND;
		}
	}
	print_summary(&run);
	if (run.broken > 0)
		rc = EXIT_FOUND;
	if (o.fail_on >= 0 && (int)run.worst >= o.fail_on)
		rc = EXIT_FOUND;
	audit_free(run.audit);
	replayer_free(run.now);
	replayer_free(run.old);
	policy_free(pol);
	policy_free(old);
	return rc;
}
