/*
 * fuzz_policy — libFuzzer target for policy_parse(): the policy document of
 * SPEC section 2, in its bare, wrapper and signed forms (section 3).
 *
 * Each input is parsed without a key, with a key whose private half nobody
 * holds, and with the key that signed the committed seeds. Properties, each
 * an abort() when broken:
 *   - a policy that parses dumps (policy_dump) to a document that parses
 *     too, dumping that gives the same text, and both policies give the
 *     same verdicts on a fixed set of events (the dump is the policy);
 *   - every verdict is well formed (an allow names no attack, a denial
 *     names one, and its rule is the one rules_select picks), and the audit
 *     record of a denial is one JSON line that jansson reads back;
 *   - with the unheld key nothing is ever accepted, and a document that
 *     parses without a key is refused with *hijacked set;
 *   - with the seeds' key, what is accepted is the signed form, marked
 *     signed_ok, and the same policy as without a key.
 * Everything is freed: LeakSanitizer runs too.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fnguard/audit.h"
#include "fnguard/diag.h"
#include "fnguard/event.h"
#include "fnguard/identity.h"
#include "fnguard/policy.h"
#include "fnguard/rules.h"
#include "fnguard/sign.h"
#include "fuzz_holds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A real Ed25519 public key whose private key was thrown away: no input
 * may ever be accepted under it. */
static const uint8_t unheld_key[SIGN_PUBKEY_LEN] = {
	0x6f, 0x54, 0xc6, 0xf2, 0x1b, 0x7b, 0x26, 0x34, 0x1c, 0xb1, 0x3d,
	0x1e, 0xf6, 0xa7, 0xf9, 0x8a, 0xdd, 0x6f, 0x2f, 0x85, 0xdc, 0x34,
	0x7c, 0x19, 0x4d, 0x1a, 0xa3, 0xe3, 0xe9, 0xcd, 0x03, 0x67,
};

/* The key that signed corpus/policy/signed-*.json (see README.md), so
 * that mutations around a valid signature reach the accepting path. */
static const uint8_t seed_key[SIGN_PUBKEY_LEN] = {
	0x53, 0x10, 0x71, 0xd9, 0xd6, 0xe3, 0x6a, 0x94, 0x3e, 0x08, 0x3c,
	0xe1, 0x22, 0xd6, 0x24, 0xad, 0xf8, 0x0c, 0xeb, 0x12, 0xfe, 0xa7,
	0x89, 0xe0, 0xa3, 0x55, 0xfc, 0xf2, 0x71, 0x6b, 0x46, 0xaa,
};

#define TARGET "fuzz_policy"

/* A broken property aborts (fuzz_holds.c), unless FNGUARD_FUZZ_IGNORE
 * names it. */
#define holds(cond, what) fuzz_holds(TARGET, (cond), (what))

#define NIDENTITIES 3
#define NEVENTS 12

static struct identity identities[NIDENTITIES];
static struct event events[NEVENTS];

static void
setup(void)
{
	static bool done;
	struct event *ev = events;

	if (done)
		return;
	done = true;

	identities[0].function = "payments-api";
	identities[0].region = "us-east-1";
	identities[0].provider = "aws";
	identities[0].account = "123456789012";
	identities[0].runtime = "python3.12";
	identities[0].request_id = "req-1";
	identities[0].labels[0] = "team:payments";
	identities[0].labels[1] = "env:prod";
	identities[0].nlabels = 2;
	identities[1].function = "Reports";
	identities[1].region = "eu-west-1";
	identities[1].provider = "azure";
	identities[1].account = "sub-42";
	identities[1].runtime = "";
	identities[1].request_id = "";
	identities[2].function = identities[2].region = "";
	identities[2].account = identities[2].runtime = "";
	identities[2].request_id = "";
	identities[2].provider = "others";

	event_init(ev, EVENT_DNS);
	ev->domain = "s3.us-east-1.amazonaws.com";
	ev->process_path = "/var/lang/bin/python3";
	ev++;
	event_init(ev, EVENT_DNS);
	ev->domain = "Evil.Example.COM.";
	ev++;
	event_init(ev, EVENT_EXEC);
	ev->process_path = "/usr/bin/xmrig";
	ev->command = "xmrig -o stratum+tcp://pool:3333 --donate-level 1";
	ev++;
	event_init(ev, EVENT_EXEC);
	ev->process_path = "/tmp/run.sh";
	ev->interpreter = "/bin/sh";
	ev->command = "/tmp/run.sh";
	ev->main_process = false;
	ev++;
	event_init(ev, EVENT_EXEC);
	ev->process_path = "/var/lang/bin/python3";
	ev->main_process = true;
	ev++;
	event_init(ev, EVENT_CONNECT);
	ipaddr_parse("169.254.169.254", 15, &ev->ip);
	ev->port = 80;
	ev->proto = PROTO_TCP;
	ev++;
	event_init(ev, EVENT_CONNECT);
	ipaddr_parse("2001:db8::1", 11, &ev->ip);
	ev->port = 443;
	ev->proto = PROTO_TCP;
	ev->domain = "api.example.com";
	ev->resolved = true;
	ev++;
	event_init(ev, EVENT_SENDTO);
	ipaddr_parse("10.0.0.2", 8, &ev->ip);
	ev->port = 53;
	ev->proto = PROTO_UDP;
	ev++;
	event_init(ev, EVENT_LISTEN);
	ev->port = 8080;
	ev++;
	event_init(ev, EVENT_ACCEPT);
	ipaddr_parse("192.0.2.7", 9, &ev->ip);
	ev->port = 8080;
	ev++;
	event_init(ev, EVENT_OPEN);
	ev->filepath = "/etc/passwd";
	ev->access = ACCESS_READ;
	ev->process_path = "/bin/cat";
	ev++;
	event_init(ev, EVENT_RENAME);
	ev->filepath = "/tmp/a";
	ev->newpath = "/root/.ssh/authorized_keys";
}

static bool
member_is(const json_t *o, const char *key, const char *value)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) && strcmp(json_string_value(v), value) == 0;
}

/* An audit line of a denial must be one JSON object with its verdict. */
static void
check_audit(const struct identity *id, const struct event *ev,
    const struct verdict *v)
{
	static char line[65536];
	struct audit_record rec;
	json_error_t err;
	json_t *o;
	size_t n;

	audit_record_from_verdict(&rec, id, ev, v);
	n = audit_record_json(&rec, line, sizeof(line));
	if (!holds(n > 0 && line[n - 1] == '\n',
	    "audit_record_json gave no line"))
		return;
	holds(memchr(line, '\n', n - 1) == NULL, "audit line holds a newline");
	o = json_loadb(line, n - 1, 0, &err);
	if (!holds(json_is_object(o), "audit line is not a JSON object")) {
		json_decref(o);
		return;
	}
	holds(json_is_string(json_object_get(o, "msg")) &&
	    json_string_length(json_object_get(o, "msg")) > 0,
	    "audit line has no msg");
	holds(member_is(o, "attackType", attack_type_name(v->attack)),
	    "audit attackType differs from the verdict's");
	holds(member_is(o, "effect", verdict_name(v->verdict)),
	    "audit effect differs from the verdict's");
	/* Names from JSON are valid UTF-8: only a long one is cut. */
	holds(member_is(o, "ruleName", v->rule->name) ||
	    strlen(v->rule->name) >= AUDIT_NAME_LEN,
	    "audit ruleName differs from the rule's name");
	json_decref(o);
}

static void
check_verdict(const struct policy *pol, const struct identity *id,
    const struct event *ev, const struct verdict *v)
{
	holds(v->verdict == VERDICT_ALLOW || v->verdict == VERDICT_ALERT ||
	    v->verdict == VERDICT_PREVENT, "verdict out of range");
	holds(v->rule == rules_select(pol, id),
	    "verdict names another rule than rules_select");
	if (v->verdict == VERDICT_ALLOW) {
		holds(v->attack == ATTACK_NONE && v->reason == REASON_NONE &&
		    v->object == NULL, "an allow names an attack");
		return;
	}
	if (!holds(v->rule != NULL, "a denial without a rule"))
		return;
	holds(v->attack > ATTACK_NONE && v->attack < ATTACK_POLICY_HIJACKED,
	    "a denial with no (or a hijack) attack type");
	holds(v->reason != REASON_NONE, "a denial without a reason");
	check_audit(id, ev, v);
}

/* Both policies must judge every event alike. */
static void
check_verdicts(const struct policy *a, const struct policy *b)
{
	struct verdict va, vb;
	size_t i, j;

	for (i = 0; i < NIDENTITIES; i++)
		for (j = 0; j < NEVENTS; j++) {
			rules_eval(a, &identities[i], &events[j], &va);
			check_verdict(a, &identities[i], &events[j], &va);
			rules_eval(b, &identities[i], &events[j], &vb);
			holds(va.verdict == vb.verdict &&
			    va.attack == vb.attack && va.reason == vb.reason,
			    "the dumped policy judges an event differently");
			holds((va.rule == NULL) == (vb.rule == NULL) &&
			    (va.rule == NULL || va.rule - a->rules ==
			    vb.rule - b->rules),
			    "the dumped policy selects another rule");
		}
}

/* The dump must parse back to the same policy. */
static void
check_dump(const struct policy *pol)
{
	struct policy *again;
	struct diags d;
	char *text, *text2;
	bool hijacked;

	text = policy_dump(pol);
	if (!holds(text != NULL, "policy_dump returned NULL"))
		return;
	diags_init(&d);
	again = policy_parse(text, strlen(text), NULL, &d, &hijacked);
	if (again == NULL) {
		char buf[512];

		fprintf(stderr, "fuzz_policy: dump does not parse: %s\n%s\n",
		    diags_first_error(&d, buf, sizeof(buf)), text);
	}
	diags_clear(&d);
	if (holds(again != NULL, "the dump of a valid policy does not parse")) {
		text2 = policy_dump(again);
		holds(text2 != NULL && strcmp(text, text2) == 0,
		    "dumping the parsed dump gives another text");
		check_verdicts(pol, again);
		free(text2);
		policy_free(again);
	}
	free(text);
}

/* Is the input the signed form, {"payload": ..., "sig": ...}? */
static bool
is_signed_form(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	bool yes;

	yes = json_is_object(doc) && json_object_get(doc, "payload") != NULL &&
	    json_object_get(doc, "sig") != NULL;
	json_decref(doc);
	return yes;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *pol, *keyed;
	struct diags d;
	bool hijacked;

	setup();
	diags_init(&d);
	pol = policy_parse((const char *)data, size, NULL, &d, &hijacked);
	holds(!hijacked, "hijacked set without a key");
	holds((pol == NULL) == (d.errors > 0),
	    "result and error count disagree");
	diags_clear(&d);
	if (pol != NULL) {
		holds(!pol->signed_ok, "signed_ok without a key");
		check_dump(pol);
	}

	keyed = policy_parse((const char *)data, size, unheld_key, &d,
	    &hijacked);
	holds(keyed == NULL, "accepted under a key nobody holds");
	policy_free(keyed);
	holds(pol == NULL || hijacked,
	    "a valid unsigned or foreign-signed policy refused without "
	    "*hijacked");
	diags_clear(&d);

	keyed = policy_parse((const char *)data, size, seed_key, &d,
	    &hijacked);
	if (keyed != NULL) {
		char *a, *b;

		holds(keyed->signed_ok, "accepted under a key, not signed_ok");
		holds(!hijacked, "accepted but *hijacked set");
		holds(is_signed_form(data, size),
		    "accepted under a key but not in the signed form");
		a = holds(pol != NULL, "accepted with a key, refused "
		    "without") ? policy_dump(pol) : NULL;
		b = policy_dump(keyed);
		holds(a == NULL || (b != NULL && strcmp(a, b) == 0),
		    "the key changed the policy");
		free(a);
		free(b);
		policy_free(keyed);
	}
	diags_clear(&d);
	policy_free(pol);
	return 0;
}
