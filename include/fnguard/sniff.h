/*
 * sniff — what a proxied client says first: the TLS SNI (RFC 8446 4.1.2,
 * RFC 6066 3), the HTTP/1.x Host (RFC 9112 3, RFC 9110 7.2), or a stratum
 * mining request (JSON-RPC lines). The proxy peeks at the first bytes of a
 * connection, before it connects upstream, and calls these on them.
 *
 * Pure: no I/O and no logging. Every length is explicit and nothing is read
 * at or past len. The TLS and HTTP parsers allocate nothing; the stratum
 * parser reads its one JSON line with jansson (json_loadb, explicit
 * length), which allocates and frees the parsed object inside the call.
 *
 * Incremental use: call with the bytes so far. SNIFF_NEED_MORE means "not
 * enough yet": call again with the longer buffer (the same bytes plus the
 * new ones). A parser's decision never changes once made: if a buffer gives
 * SNIFF_DONE or SNIFF_NOT_THIS, every longer buffer that starts with it
 * gives the same status and the same result. With SNIFF_MAX_INPUT bytes or
 * more, no parser answers SNIFF_NEED_MORE, so a peek buffer of that size is
 * always enough to get a decision.
 *
 * Malformed input — what a parser recognises as its protocol but cannot
 * read safely, or what a server could read differently from us (two names,
 * an over-long header block) — is SNIFF_DONE with why set, and the proxy
 * refuses the connection.
 */
#ifndef FNGUARD_SNIFF_H
#define FNGUARD_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNIFF_NAME_MAX 255		/* RFC 1035 3.1, RFC 6066 3 */
#define SNIFF_TLS_MAX_HELLO 16384	/* ClientHello body, bytes */
#define SNIFF_HTTP_MAX 16384		/* request line and headers */
#define SNIFF_STRATUM_MAX 8192		/* first JSON-RPC line */
/* The ClientHello with its record headers; also the largest cap above. */
#define SNIFF_MAX_INPUT 17408

enum sniff_status {
	SNIFF_NEED_MORE,	/* not decided yet: call again with more */
	SNIFF_DONE,		/* decided; see the result */
	SNIFF_NOT_THIS,		/* not this protocol */
};

enum sniff_proto {
	SNIFF_UNKNOWN,
	SNIFF_TLS,
	SNIFF_HTTP,
	SNIFF_STRATUM,
};

struct sniff_result {
	enum sniff_proto proto;
	/* The SNI host name or the HTTP host: ASCII lower case, no trailing
	 * dot, no port; "" when the client sent none. It holds only
	 * [a-z0-9._-], in non-empty labels, except for an HTTP IPv6 literal
	 * ("[2001:DB8::1]:80" gives "2001:db8::1", without brackets). */
	char name[SNIFF_NAME_MAX + 1];
	bool miner;		/* a stratum or miner login request */
	const char *why;	/* malformed: what was wrong (static text) */
};

/*
 * TLS: a ClientHello in one or more handshake records (record versions
 * 0x0300 to 0x0304). SNIFF_NOT_THIS when the first byte is not 0x16 (a
 * handshake record). SNIFF_DONE when the whole ClientHello is there: name
 * is its host_name, "" without a server_name extension. Malformed (DONE,
 * proto SNIFF_TLS, why set): a record that is not a handshake record, is
 * empty or longer than 2^14 (RFC 8446 5.1); a handshake message other than
 * ClientHello, or longer than SNIFF_TLS_MAX_HELLO, or one whose records
 * reach past SNIFF_MAX_INPUT bytes; lengths that do not add up at any
 * level; two server_name extensions, an empty server name list, a name
 * type other than host_name or two host_names (RFC 6066 3: a server could
 * pick another name than we checked); a host_name that is empty, longer
 * than 255 bytes, has an empty label or a byte outside [A-Za-z0-9._-].
 */
enum sniff_status sniff_tls_sni(const uint8_t *buf, size_t len,
    struct sniff_result *out);

/*
 * HTTP/1.0 and 1.1: the request line and the header fields up to the empty
 * line, which must end within SNIFF_HTTP_MAX bytes. Empty lines before the
 * request line are skipped (RFC 9112 2.2); a bare LF ends a line; white
 * space between the request line's parts may be any run of SP and HTAB.
 * SNIFF_NOT_THIS when the bytes cannot start a request line ending in
 * "HTTP/<digit>.<digit>", unless they start with a well-known method
 * (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, PRI) and
 * white space, which makes a bad request line malformed instead.
 *
 * name: the Host field value (case-insensitive field name, white space
 * trimmed, port removed); for the absolute form ("GET http://h/ ...", RFC
 * 9112 3.2.2) and CONNECT's authority form, the target's host, and a Host
 * that names another host is malformed. No Host and an origin-form target
 * give "". The HTTP/2 preface ("PRI * HTTP/2.0") is DONE with name "": its
 * host is inside HPACK, which this does not read.
 *
 * Malformed: two Host fields (request smuggling), a host with bytes
 * outside [A-Za-z0-9._-] or an empty label, a bad port, an IPv6 literal
 * that inet_pton refuses (zone IDs included), userinfo in the target, a
 * bare CR, a NUL, line folding or white space before a field's colon (RFC
 * 9112 5.1, 5.2), an HTTP version other than 1.x, and no empty line within
 * SNIFF_HTTP_MAX bytes.
 */
enum sniff_status sniff_http_host(const uint8_t *buf, size_t len,
    struct sniff_result *out);

/*
 * Stratum: the first JSON-RPC message, which must start with '{' after
 * optional white space. It ends at its closing brace or at the first LF,
 * whichever comes first, and must end within SNIFF_STRATUM_MAX bytes (or
 * it is malformed, proto SNIFF_STRATUM). It is a miner's (DONE, miner
 * true) when its "method" (case-insensitive) starts with "mining." (for
 * example subscribe, authorize, configure, extranonce.subscribe), is one
 * of the Ethereum stratum methods eth_submitLogin, eth_login, eth_getWork,
 * eth_submitWork or eth_submitHashrate, or is "login" whose params object
 * has "login" and "pass" (Monero pools) or an "agent" naming a known miner
 * (XMRig and others). A message that is not valid JSON is a miner's when
 * it holds one of those method names in quotes or a known miner's name.
 * Anything else is SNIFF_NOT_THIS.
 */
enum sniff_status sniff_stratum(const uint8_t *buf, size_t len,
    struct sniff_result *out);

/*
 * All three, in the order TLS, HTTP, stratum: the first SNIFF_DONE result;
 * else SNIFF_NEED_MORE if any parser needs more; else SNIFF_NOT_THIS (proto
 * SNIFF_UNKNOWN, name "").
 */
enum sniff_status sniff_any(const uint8_t *buf, size_t len,
    struct sniff_result *out);

#endif
