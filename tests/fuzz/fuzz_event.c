/*
 * fuzz_event — libFuzzer target for event_parse(): one line of a recording
 * (SPEC section 6) or of an audit file (section 4), as replay reads them.
 *
 * Properties, each an abort() when broken:
 *   - a line that does not parse gets a one-line reason;
 *   - a parsed event, written back with event_to_json, parses again, and
 *     writing that gives the same text (recording is lossless);
 *   - the audit record of any denial of it is one JSON line that jansson
 *     reads back with its attackType, effect, type and a msg, and, but for
 *     policyHijacked, that replay reads back as an event of its type;
 *   - replaying it against a small fixed policy gives a well-formed
 *     verdict, and an allowed dns event teaches its answers: a connect to
 *     one of them at the same time counts as resolved.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fnguard/audit.h"
#include "fnguard/event.h"
#include "fnguard/identity.h"
#include "fnguard/ipmap.h"
#include "fnguard/policy.h"
#include "fnguard/replay.h"
#include "fnguard/rules.h"
#include "fuzz_holds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_event"

/* A broken property aborts (fuzz_holds.c), unless FNGUARD_FUZZ_IGNORE
 * names it. */
#define holds(cond, what) fuzz_holds(TARGET, (cond), (what))

static const char replay_policy[] =
    "{\"rules\": ["
    " {\"name\": \"payments\","
    "  \"collections\": [{\"name\": \"pay\", \"functions\": [\"payments-*\"],"
    "   \"labels\": [\"region:us-*\"]}],"
    "  \"processes\": {\"effect\": \"prevent\", \"blacklist\": [\"nc\","
    "   \"/tmp/*\"], \"checkCryptoMiners\": true, \"blockAllBinaries\": true},"
    "  \"network\": {\"effect\": \"prevent\", \"requireResolved\": true,"
    "   \"whitelistIPs\": [\"10.0.0.0/8\"],"
    "   \"blacklistIPs\": [\"169.254.169.254\", \"fd00::/8\"],"
    "   \"whitelistOutboundPorts\": [{\"start\": 443, \"end\": 443},"
    "    {\"start\": 53, \"end\": 53}],"
    "   \"blacklistListeningPorts\": [{\"start\": 0, \"end\": 1023}],"
    "   \"blacklistDomains\": [\"*.onion\"],"
    "   \"whitelistInboundIPs\": [\"192.0.2.0/24\"]},"
    "  \"dns\": {\"effect\": \"prevent\", \"whitelist\": [\"amazonaws.com\","
    "   \"*.amazonaws.com\", \"-evil.amazonaws.com\"]},"
    "  \"filesystem\": {\"effect\": \"alert\", \"blacklist\": [\"/etc/*\","
    "   \"-/etc/hosts\", \"/root/*\"]}},"
    " {\"name\": \"default\","
    "  \"processes\": {\"effect\": \"alert\", \"whitelist\": ["
    "   \"/var/lang/bin/*\", \"python3\"]},"
    "  \"network\": {\"effect\": \"alert\", \"blacklistOutboundPorts\": ["
    "   {\"start\": 25, \"end\": 25}]},"
    "  \"dns\": {\"effect\": \"alert\", \"blacklist\": [\"*.example.com\"]},"
    "  \"filesystem\": {\"effect\": \"prevent\", \"whitelist\": [\"/tmp/*\","
    "   \"/var/task/*\"]}}"
    "]}";

/* Parsed once and kept for the whole run. */
static const struct policy *
fixed_policy(void)
{
	static struct policy *pol;
	struct diags d;
	bool hijacked;

	if (pol != NULL)
		return pol;
	diags_init(&d);
	pol = policy_parse(replay_policy, strlen(replay_policy), NULL, &d,
	    &hijacked);
	diags_clear(&d);
	holds(pol != NULL, "the fixed replay policy does not parse");
	return pol;
}

static bool
member_is(const json_t *o, const char *key, const char *value)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) && strcmp(json_string_value(v), value) == 0;
}

/* The object a denial of this attack type names. */
static const char *
attack_object(const struct event *ev, enum attack_type a)
{
	switch (a) {
	case ATTACK_DENIED_DNS:
		return ev->domain;
	case ATTACK_DENIED_PROCESS:
	case ATTACK_CRYPTO_MINER:
		return ev->process_path;
	case ATTACK_REG_FILE_ACCESS:
		return ev->kind == EVENT_EXEC ? ev->process_path :
		    ev->filepath;
	default:
		return NULL;
	}
}

static void
check_audit_line(const char *line, size_t n, const struct event *ev,
    enum attack_type a)
{
	struct event_doc doc;
	json_error_t jerr;
	char err[256];
	json_t *o;

	o = json_loadb(line, n, 0, &jerr);
	if (!holds(json_is_object(o), "audit line is not a JSON object")) {
		json_decref(o);
		return;
	}
	holds(member_is(o, "attackType", attack_type_name(a)),
	    "audit attackType differs from the verdict's");
	holds(member_is(o, "effect", "prevent"), "audit effect is not prevent");
	holds(member_is(o, "type", event_type_name(ev->kind)),
	    "audit type differs from the event's");
	holds(json_is_string(json_object_get(o, "msg")) &&
	    json_string_length(json_object_get(o, "msg")) > 0,
	    "audit line has no msg");
	holds(ev->process_path == NULL || ev->process_path[0] == '\0' ||
	    strlen(ev->process_path) >= AUDIT_PATH_LEN ||
	    member_is(o, "processPath", ev->process_path),
	    "audit processPath differs from the event's");
	json_decref(o);
	if (a == ATTACK_POLICY_HIJACKED)
		return;
	if (event_parse(line, n, &doc, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_event: %s\n%.*s\n", err, (int)n, line);
		holds(false, "replay cannot read an audit line back");
		return;
	}
	holds(doc.from_audit, "an audit line read back as a recorded event");
	holds(strcmp(event_type_name(doc.ev.kind), event_type_name(ev->kind)) ==
	    0, "an audit line read back as an event of another type");
	event_doc_clear(&doc);
}

/* Every attack type, as a prevent verdict on this event. */
static void
check_audits(const struct identity *id, const struct event *ev)
{
	static char line[65536];
	struct audit_record rec;
	struct verdict v;
	int a;
	size_t n;

	for (a = ATTACK_NONE + 1; a < ATTACK_TYPE_COUNT; a++) {
		memset(&v, 0, sizeof(v));
		v.verdict = VERDICT_PREVENT;
		v.attack = (enum attack_type)a;
		v.reason = REASON_BLACKLISTED;
		v.rule = &fixed_policy()->rules[0];
		v.object = attack_object(ev, v.attack);
		audit_record_from_verdict(&rec, a % 2 ? id : NULL, ev, &v);
		n = audit_record_json(&rec, line, sizeof(line));
		if (!holds(n > 0 && line[n - 1] == '\n',
		    "audit_record_json gave no line"))
			continue;
		holds(memchr(line, '\n', n - 1) == NULL,
		    "audit line holds a newline");
		check_audit_line(line, n - 1, ev, v.attack);
	}
}

static void
check_verdict(const struct verdict *v)
{
	holds(v->verdict == VERDICT_ALLOW || v->verdict == VERDICT_ALERT ||
	    v->verdict == VERDICT_PREVENT, "verdict out of range");
	if (v->verdict == VERDICT_ALLOW)
		holds(v->attack == ATTACK_NONE && v->object == NULL,
		    "an allow names an attack");
	else
		holds(v->rule != NULL && v->attack > ATTACK_NONE &&
		    v->attack < ATTACK_POLICY_HIJACKED,
		    "a denial without a rule or an attack type");
}

/* An allowed dns event must teach its answers. */
static void
check_replay(const struct replay_overrides *ov, const struct event *ev)
{
	struct replayer *r = replayer_new(fixed_policy(), ov);
	struct verdict v;
	struct event conn;
	size_t i;

	if (!holds(r != NULL, "replayer_new failed"))
		return;
	replayer_eval(r, ev, &v);
	check_verdict(&v);
	if (ev->kind == EVENT_DNS && v.verdict == VERDICT_ALLOW &&
	    ev->domain != NULL) {
		for (i = 0; i < ev->nanswers && i < IPMAP_DEFAULT_PER_NAME;
		    i++) {
			event_init(&conn, EVENT_CONNECT);
			conn.time_ms = ev->time_ms;
			conn.ip = ev->answers[i];
			conn.port = 443;
			conn.function = ev->function;
			conn.region = ev->region;
			conn.account = ev->account;
			holds(replayer_resolved(r, &conn),
			    "an allowed answer was not learned");
			replayer_eval(r, &conn, &v);
			check_verdict(&v);
			holds(v.reason != REASON_NOT_RESOLVED,
			    "a connect to an allowed answer denied as "
			    "not resolved");
		}
	}
	replayer_free(r);
}

static void
check_round_trip(const struct event *ev)
{
	struct event_doc again;
	char err[256], *text, *text2;
	json_t *o;

	o = event_to_json(ev);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!holds(text != NULL, "event_to_json or json_dumps failed"))
		return;
	if (event_parse(text, strlen(text), &again, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_event: %s\n%s\n", err, text);
		holds(false, "a written event does not parse");
		free(text);
		return;
	}
	o = event_to_json(&again.ev);
	text2 = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	holds(text2 != NULL && strcmp(text, text2) == 0,
	    "writing a read-back event gives another text");
	free(text2);
	free(text);
	event_doc_clear(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct replay_overrides ov = { .function =
	    "payments-api", .region = "us-east-1", .provider = "aws",
	    .account = "123456789012", .labels = { "team:payments" },
	    .nlabels = 1 };
	struct event_doc doc;
	struct identity id;
	struct replayer *r;
	char err[256];

	if (event_parse((const char *)data, size, &doc, err, sizeof(err)) ==
	    -1) {
		holds(err[0] != '\0', "a refused line without a reason");
		holds(strchr(err, '\n') == NULL, "a reason of several lines");
		holds(doc.json == NULL, "a refused line left its document");
		return 0;
	}
	check_round_trip(&doc.ev);
	r = replayer_new(fixed_policy(), NULL);
	if (holds(r != NULL, "replayer_new failed")) {
		replayer_identity(r, &doc.ev, &id);
		check_audits(&id, &doc.ev);
		replayer_free(r);
	}
	check_replay(NULL, &doc.ev);
	check_replay(&ov, &doc.ev);
	event_doc_clear(&doc);
	return 0;
}
