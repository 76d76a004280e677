/*
 * fuzz_dnsquery — libFuzzer target for a full query round trip through the
 * resolver's pure parts: the input is a client's query. It is parsed,
 * checked against a fixed policy (the seed scenario: DNS prevent, allow
 * list "*amazon.com") with rules_eval, and then either answered at once
 * (denied) or sent upstream, answered by a synthesised upstream answer,
 * cached, and served back to the client from the cache.
 *
 * Properties, each an abort() when broken:
 *   - a query that is not parsed but answered (FORMERR, NOTIMP) gets a
 *     header with its ID, QDCOUNT 0 and that rcode;
 *   - the verdict is what the allow list says of the query's name text
 *     (allowed exactly when it ends with "amazon.com"), and a denial is an
 *     explicitlyDeniedDNS of that name by the rule;
 *   - denied: the answer is the rule's denied response (NXDOMAIN) with the
 *     client's ID and question, and reads back as an answer to it;
 *   - allowed: the upstream query asks the same question; the upstream
 *     answer (the query with QR set and A records of the name, TTL 60)
 *     inspects with rcode 0, TTL 60, its OPT and its addresses; it is
 *     stored in a dnscache and found again by the same question in
 *     another case; the answer prepared from the cache for the client and
 *     for the client in the other case, over UDP and TCP, has that
 *     client's ID and question bytes, the TTLs counted down, an OPT only
 *     for an EDNS client, and is cut with TC only when it is too big for
 *     UDP; what is not cut reads back as an answer with the same addresses.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/diag.h"
#include "fnguard/dnscache.h"
#include "fnguard/dnswire.h"
#include "fnguard/event.h"
#include "fnguard/identity.h"
#include "fnguard/policy.h"
#include "fnguard/rules.h"
#include "fuzz_holds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_dnsquery"

#define FLAG_QR 0x8000
#define FLAG_TC 0x0200
#define FLAG_RD 0x0100
#define FLAG_RA 0x0080

/* The upstream answer's TTL, and how long it sat in the cache. */
#define ANSWER_TTL 60
#define CACHED_MS 5500
#define MAX_RECORDS 40

/* A broken property aborts (fuzz_holds.c), unless FNGUARD_FUZZ_IGNORE
 * names it. */
#define holds(cond, what) fuzz_holds(TARGET, (cond), (what))

/* The seed policy (issue 3), parsed once and kept for the whole run. */
static const char seed_policy[] =
    "{\"rules\":[{\"name\":\"allow-aws-only\",\"dns\":{\"effect\":"
    "\"prevent\",\"whitelist\":[\"*amazon.com\"]}}]}";

static const struct policy *
fixed_policy(void)
{
	static struct policy *pol;
	struct diags d;
	bool hijacked;

	if (pol != NULL)
		return pol;
	diags_init(&d);
	pol = policy_parse(seed_policy, strlen(seed_policy), NULL, &d,
	    &hijacked);
	diags_clear(&d);
	holds(pol != NULL && pol->nrules == 1,
	    "the seed policy does not parse");
	return pol;
}

static const struct identity *
fixed_identity(void)
{
	static struct identity id;

	id.function = "payments-api";
	id.region = "us-east-1";
	id.provider = "aws";
	id.account = "123456789012";
	id.runtime = "python3.12";
	id.request_id = "";
	return &id;
}

/* What "*amazon.com" says of a name, by SPEC 2: it ends with it. */
static bool
oracle_allows(const char *name)
{
	static const char suffix[] = "amazon.com";
	size_t n = strlen(name), s = sizeof(suffix) - 1;

	return n >= s && strcmp(name + n - s, suffix) == 0;
}

/* A query that is refused before it is understood. */
static void
check_unparsed(const uint8_t *data, struct dns_query *q, int rcode)
{
	uint8_t out[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4 + 11];
	size_t n;

	q->question_end = 0;
	n = dnswire_build_empty(q, data, rcode, out, sizeof(out));
	if (!holds(n >= DNS_HEADER_LEN, "no answer to a refused query"))
		return;
	holds(dnswire_get16(out) == dnswire_get16(data) && (dnswire_get16(out + 2) & FLAG_QR) &&
	    (dnswire_get16(out + 2) & 0xf) == rcode && dnswire_get16(out + 4) == 0 &&
	    dnswire_get16(out + 6) == 0 && dnswire_get16(out + 8) == 0,
	    "the answer to a refused query is not a header with its rcode");
}

static void
check_denied(const uint8_t *data, const struct dns_query *q,
    const struct verdict *v)
{
	uint8_t out[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4 + 11];
	struct dns_query back;
	struct dns_answer_info info;
	size_t n, qlen = q->question_end - DNS_HEADER_LEN;

	holds(v->verdict == VERDICT_PREVENT &&
	    v->attack == ATTACK_DENIED_DNS && v->rule != NULL &&
	    v->rule->dns.denied_response == DENIED_NXDOMAIN &&
	    v->object != NULL && strcmp(v->object, q->name) == 0,
	    "a denial that is not explicitlyDeniedDNS of the name");
	n = dnswire_build_empty(q, data, DNS_RCODE_NXDOMAIN, out, sizeof(out));
	if (!holds(n == q->question_end + (q->edns ? 11 : 0),
	    "the denied answer has the wrong length"))
		return;
	holds(dnswire_parse_query(out, n, &back) == DNSWIRE_RESPONSE,
	    "the denied answer is not a response");
	holds(dnswire_get16(out) == q->id && memcmp(out + DNS_HEADER_LEN,
	    data + DNS_HEADER_LEN, qlen) == 0,
	    "the denied answer does not echo the ID and question");
	if (holds(dnswire_inspect_answer(out, n, q, &info) == 0,
	    "the denied answer is no answer to the query"))
		holds(info.rcode == DNS_RCODE_NXDOMAIN && info.naddrs == 0 &&
		    !info.has_ttl, "the denied answer reads back wrong");
}

/*
 * The upstream's answer to the query fnguard sent: that query with QR and
 * RA set, nrec A records of the name (compressed to the question), TTL
 * 60, and the OPT last. Returns its length.
 */
static size_t
synth_answer(const uint8_t *up, const struct dns_query *uq, size_t nrec,
    uint8_t last, uint8_t *ans)
{
	size_t n = uq->question_end, i;

	memcpy(ans, up, n);
	dnswire_put16(ans, 0x7777);
	dnswire_put16(ans + 2, (uint16_t)(dnswire_get16(up + 2) | FLAG_QR | FLAG_RA));
	dnswire_put16(ans + 6, (uint16_t)nrec);
	dnswire_put16(ans + 8, 0);
	dnswire_put16(ans + 10, 1);
	for (i = 0; i < nrec; i++) {
		static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1,
		    0, 0, 0, ANSWER_TTL, 0, 4, 192, 0, 2 };

		memcpy(ans + n, rr, sizeof(rr));
		n += sizeof(rr);
		ans[n++] = (uint8_t)(last + i);
	}
	/* the upstream's OPT: 1232, DO as asked */
	memcpy(ans + n, up + uq->question_end, 11);
	return n + 11;
}

static void
check_upstream_info(const struct dns_query *q,
    const struct dns_answer_info *info, size_t nrec, uint8_t last)
{
	size_t i, want = nrec < 32 ? nrec : 32;

	holds(info->rcode == DNS_RCODE_NOERROR && !info->truncated &&
	    info->has_ttl && info->min_ttl == ANSWER_TTL &&
	    info->nttl == nrec && !info->too_many_ttls && info->opt_len == 11,
	    "the upstream answer inspects wrong");
	if (q->qtype != DNS_TYPE_A || q->qclass != DNS_CLASS_IN)
		return;
	if (!holds(info->naddrs == want && info->addr_ttl == ANSWER_TTL,
	    "the upstream answer's addresses were not all collected"))
		return;
	for (i = 0; i < want; i++)
		holds(info->addrs[i].family == 4 && info->addrs[i].bytes[0] ==
		    192 && info->addrs[i].bytes[3] == (uint8_t)(last + i),
		    "a collected address is not the record's");
}

/* The client's query with every letter of its name in the other case. */
static void
flip_case(const uint8_t *data, const struct dns_query *q, uint8_t *out)
{
	size_t i;

	memcpy(out, data, q->question_end);
	memset(out + 6, 0, 6);		/* the question alone */
	for (i = DNS_HEADER_LEN; i < DNS_HEADER_LEN + q->qname_len; i++) {
		uint8_t c = out[i];

		if (c >= 'a' && c <= 'z')
			out[i] = (uint8_t)(c - 'a' + 'A');
		else if (c >= 'A' && c <= 'Z')
			out[i] = (uint8_t)(c - 'A' + 'a');
	}
	/* a length byte is never a letter: labels are at most 63 */
}

/* Serves the cached answer to client c (message cmsg). */
static void
check_served(const struct dnscache_entry *e, const struct dns_query *c,
    const uint8_t *cmsg, size_t max)
{
	static uint8_t out[65536];
	struct dns_answer_info again;
	size_t n, qlen = c->question_end - DNS_HEADER_LEN, i;
	size_t full = e->len - (c->edns ? 0 : 11);
	uint32_t left = ANSWER_TTL - CACHED_MS / 1000;

	n = dnswire_prepare_answer(e->msg, e->len, &e->info,
	    (uint32_t)(CACHED_MS / 1000), c, cmsg, max, out, sizeof(out));
	if (!holds(n > 0 && n <= max,
	    "a served answer is empty or longer than the client takes"))
		return;
	holds(dnswire_get16(out) == c->id && dnswire_get16(out + 4) == 1 &&
	    memcmp(out + DNS_HEADER_LEN, cmsg + DNS_HEADER_LEN, qlen) == 0,
	    "a served answer does not echo the client's ID and question");
	holds((dnswire_get16(out + 2) & FLAG_QR) && (dnswire_get16(out + 2) & FLAG_RA) &&
	    (dnswire_get16(out + 2) & 0xf) == DNS_RCODE_NOERROR,
	    "a served answer has the wrong flags");
	holds(dnswire_get16(out + 10) == (c->edns ? 1 : 0),
	    "a served answer has an OPT though the client sent none, or "
	    "none though it sent one");
	if (full > max) {
		holds(n == c->question_end + (c->edns ? 11 : 0) &&
		    (dnswire_get16(out + 2) & FLAG_TC) && dnswire_get16(out + 6) == 0,
		    "a served answer too big for UDP is not cut with TC");
		return;
	}
	holds(n == full && !(dnswire_get16(out + 2) & FLAG_TC),
	    "a served answer that fits was cut");
	if (!holds(dnswire_inspect_answer(out, n, c, &again) == 0,
	    "a served answer is no answer to the client's question"))
		return;
	holds(again.min_ttl == left && again.nttl == e->info.nttl &&
	    again.naddrs == e->info.naddrs,
	    "a served answer reads back wrong");
	for (i = 0; i < again.nttl; i++)
		holds(dnswire_get32(out + again.ttl_offsets[i]) == left,
		    "a served TTL was not counted down");
	for (i = 0; i < again.naddrs; i++)
		holds(memcmp(&again.addrs[i], &e->info.addrs[i],
		    sizeof(again.addrs[i])) == 0,
		    "a served answer has other addresses");
}

static void
check_allowed(const uint8_t *data, const struct dns_query *q)
{
	static uint8_t ans[65536];
	uint8_t up[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4 + 11];
	uint8_t flipped[DNS_HEADER_LEN + DNS_MAX_WIRE_NAME + 4];
	struct dns_query uq, q2;
	struct dns_answer_info info;
	const struct dnscache_entry *e;
	struct dnscache *cache;
	size_t ulen, alen, nrec = 1 + data[1] % MAX_RECORDS;
	size_t udp = q->edns ? (q->udp_size < 4096 ? q->udp_size : 4096) : 512;
	const int64_t now = 1700000000000;

	ulen = dnswire_build_query(q, 1232, up, sizeof(up));
	if (!holds(ulen > 0 && dnswire_parse_query(up, ulen, &uq) ==
	    DNSWIRE_OK, "the upstream query does not parse"))
		return;
	holds(uq.qname_len == q->qname_len && memcmp(uq.qname, q->qname,
	    q->qname_len) == 0 && uq.qtype == q->qtype &&
	    uq.qclass == q->qclass && strcmp(uq.name, q->name) == 0,
	    "the upstream query asks another question");
	alen = synth_answer(up, &uq, nrec, data[0], ans);
	if (!holds(dnswire_inspect_answer(ans, alen, q, &info) == 0,
	    "the upstream answer is refused"))
		return;
	check_upstream_info(q, &info, nrec, data[0]);

	if ((cache = dnscache_new(1 << 20)) == NULL)
		return;
	holds(dnscache_put(cache, q, ans, alen, &info, now) == 0,
	    "the upstream answer was not cached");
	flip_case(data, q, flipped);
	if (holds(dnswire_parse_query(flipped, q->question_end, &q2) ==
	    DNSWIRE_OK, "the query in the other case does not parse")) {
		/* its OPT was left out with the records: same client */
		q2.edns = q->edns;
		q2.udp_size = q->udp_size;
		q2.dnssec_ok = q->dnssec_ok;
		holds(strcmp(q2.name, q->name) == 0,
		    "the query in the other case has another name");
	} else
		q2 = *q;
	e = dnscache_get(cache, &q2, now + CACHED_MS);
	if (holds(e != NULL && e->len == alen && memcmp(e->msg, ans, alen) ==
	    0, "the cached answer is not found by its question")) {
		check_served(e, q, data, udp);
		check_served(e, q, data, 65535);
		check_served(e, &q2, flipped, udp);
		check_served(e, &q2, flipped, 65535);
	}
	holds(dnscache_get(cache, q, now + ANSWER_TTL * 1000) == NULL,
	    "the cached answer outlived its TTL");
	dnscache_free(cache);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct policy *pol = fixed_policy();
	struct dns_query q;
	struct event ev;
	struct verdict v;

	switch (dnswire_parse_query(data, size, &q)) {
	case DNSWIRE_OK:
		break;
	case DNSWIRE_FORMERR:
		check_unparsed(data, &q, DNS_RCODE_FORMERR);
		return 0;
	case DNSWIRE_NOTIMP:
		check_unparsed(data, &q, DNS_RCODE_NOTIMP);
		return 0;
	default:
		return 0;	/* dropped */
	}
	if (pol == NULL)
		return 0;
	event_init(&ev, EVENT_DNS);
	ev.domain = q.name;
	ev.proto = PROTO_UDP;
	rules_eval(pol, fixed_identity(), &ev, &v);
	holds((v.verdict == VERDICT_ALLOW) == oracle_allows(q.name),
	    "the verdict is not what the allow list says of the name");
	if (v.verdict != VERDICT_ALLOW)
		check_denied(data, &q, &v);
	else
		check_allowed(data, &q);
	return 0;
}
