/*
 * sniff — see include/fnguard/sniff.h.
 *
 * Each parser walks its bytes in order and decides at the first byte that
 * settles the question; when it needs a byte at or past len it answers
 * SNIFF_NEED_MORE, unless that byte lies past its cap, which settles the
 * question too. So a decision depends only on the bytes before it and
 * cannot change when more arrive. Where a server could read the bytes in
 * more than one way (two names, a bare CR, white space in odd places), the
 * parser calls them malformed rather than pick one reading: the proxy
 * refuses what it could not check.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "fnguard/sniff.h"

#define TLS_CONTENT_HANDSHAKE 0x16	/* RFC 8446 5.1 */
#define TLS_RECORD_HEADER 5
#define TLS_MAX_RECORD 16384		/* 2^14, RFC 8446 5.1 */
#define TLS_HANDSHAKE_HEADER 4
#define TLS_CLIENT_HELLO 1		/* RFC 8446 4 */
#define TLS_EXT_SERVER_NAME 0		/* RFC 6066 3 */
#define TLS_NAME_TYPE_HOST 0
#define HTTP_METHOD_MAX 32

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void
result_reset(struct sniff_result *out, enum sniff_proto proto)
{
	out->proto = proto;
	out->name[0] = '\0';
	out->miner = false;
	out->why = NULL;
}

static enum sniff_status
malformed(struct sniff_result *out, enum sniff_proto proto, const char *why)
{
	result_reset(out, proto);
	out->why = why;
	return SNIFF_DONE;
}

static enum sniff_status
not_this(struct sniff_result *out)
{
	result_reset(out, SNIFF_UNKNOWN);
	return SNIFF_NOT_THIS;
}

static bool
is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/*
 * Copies a host name into name (SNIFF_NAME_MAX + 1 bytes): lower case, one
 * trailing dot dropped. Returns NULL, or why it is not a host name we can
 * check: empty, too long, an empty label, or a byte outside [A-Za-z0-9._-].
 */
static const char *
copy_host_name(const uint8_t *p, size_t n, char *name)
{
	size_t i, label = 0;

	if (n == 0)
		return "empty host name";
	if (n > SNIFF_NAME_MAX)
		return "host name longer than 255 bytes";
	if (p[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (label == 0)
				return "empty label in host name";
			label = 0;
		} else if (is_alpha(p[i]) || is_digit(p[i]) || p[i] == '-' ||
		    p[i] == '_')
			label++;
		else
			return "host name holds a byte outside [A-Za-z0-9._-]";
		name[i] = (char)lower(p[i]);
	}
	if (label == 0)
		return "empty label in host name";
	name[n] = '\0';
	return NULL;
}

/* ---- TLS ---- */

/*
 * Checks the record header at pos. Returns SNIFF_NEED_MORE, or SNIFF_DONE
 * with *why set (malformed) or *rlen set.
 */
static enum sniff_status
tls_record_header(const uint8_t *buf, size_t len, size_t pos, size_t *rlen,
    const char **why)
{
	if (pos + TLS_RECORD_HEADER > SNIFF_MAX_INPUT) {
		*why = "ClientHello records longer than SNIFF_MAX_INPUT";
		return SNIFF_DONE;
	}
	if (pos + TLS_RECORD_HEADER > len)
		return SNIFF_NEED_MORE;
	*rlen = get16(buf + pos + 3);
	if (buf[pos] != TLS_CONTENT_HANDSHAKE)
		*why = "record other than handshake before the ClientHello "
		    "ended";
	else if (buf[pos + 1] != 3 || buf[pos + 2] > 4)
		*why = "record version other than SSL 3.0 to TLS 1.3";
	else if (*rlen == 0)
		*why = "empty handshake record";	/* RFC 8446 5.1 */
	else if (*rlen > TLS_MAX_RECORD)
		*why = "record longer than 2^14 bytes";
	return SNIFF_DONE;
}

/* Checks the handshake header; sets *need to the whole message's length. */
static const char *
tls_handshake_header(const uint8_t *hdr, size_t *need)
{
	size_t body = (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];

	if (hdr[0] != TLS_CLIENT_HELLO)
		return "first handshake message is not a ClientHello";
	if (body > SNIFF_TLS_MAX_HELLO)
		return "ClientHello longer than 16 KiB";
	*need = TLS_HANDSHAKE_HEADER + body;
	return NULL;
}

/*
 * Pass one: walks the records until they carry the whole ClientHello,
 * checking each record header. Returns SNIFF_NEED_MORE, or SNIFF_DONE with
 * *why set (malformed) or with *hello_len (header included) set.
 */
static enum sniff_status
tls_gather(const uint8_t *buf, size_t len, size_t *hello_len,
    const char **why)
{
	uint8_t hdr[TLS_HANDSHAKE_HEADER];
	size_t pos = 0, left = 0, got = 0, need = TLS_HANDSHAKE_HEADER;
	size_t n, i, rlen = 0;
	enum sniff_status st;

	*why = NULL;
	while (got < need) {
		if (left == 0) {
			st = tls_record_header(buf, len, pos, &rlen, why);
			if (st != SNIFF_DONE || *why != NULL)
				return st;
			pos += TLS_RECORD_HEADER;
			left = rlen;
		}
		if (pos >= SNIFF_MAX_INPUT) {
			*why = "ClientHello records longer than "
			    "SNIFF_MAX_INPUT";
			return SNIFF_DONE;
		}
		if (pos >= len)
			return SNIFF_NEED_MORE;
		n = min_size(min_size(left, need - got),
		    min_size(len, SNIFF_MAX_INPUT) - pos);
		for (i = 0; got + i < TLS_HANDSHAKE_HEADER && i < n; i++)
			hdr[got + i] = buf[pos + i];
		got += n;
		pos += n;
		left -= n;
		if (need == TLS_HANDSHAKE_HEADER && got == need &&
		    (*why = tls_handshake_header(hdr, &need)) != NULL)
			return SNIFF_DONE;
	}
	*hello_len = need;
	return SNIFF_DONE;
}

/*
 * Pass two reads the ClientHello as one stream of bytes across its records.
 * tls_gather has checked that the records hold all of it, so only remain,
 * the bytes left in the structure being read, needs checking.
 */
struct hello_reader {
	const uint8_t *buf;
	size_t pos;		/* next byte of buf */
	size_t left;		/* bytes left in the current record */
	size_t remain;		/* bytes left in the current structure */
};

/* The caller has checked remain > 0. */
static uint8_t
reader_byte(struct hello_reader *r)
{
	if (r->left == 0) {	/* no record is empty: one header at most */
		r->left = get16(r->buf + r->pos + 3);
		r->pos += TLS_RECORD_HEADER;
	}
	r->left--;
	r->remain--;
	return r->buf[r->pos++];
}

static bool
reader_skip(struct hello_reader *r, size_t n)
{
	if (n > r->remain)
		return false;
	while (n-- > 0)
		(void)reader_byte(r);
	return true;
}

static bool
reader_u8(struct hello_reader *r, size_t *v)
{
	if (r->remain < 1)
		return false;
	*v = reader_byte(r);
	return true;
}

static bool
reader_u16(struct hello_reader *r, size_t *v)
{
	if (r->remain < 2)
		return false;
	*v = (size_t)reader_byte(r) << 8;
	*v |= reader_byte(r);
	return true;
}

/* RFC 6066 3: struct { NameType name_type; HostName name; } ServerName. */
static const char *
parse_server_name(struct hello_reader *r, char *name)
{
	uint8_t host[SNIFF_NAME_MAX];
	size_t list_len, type, n, i;
	bool have = false;
	const char *why;

	if (!reader_u16(r, &list_len) || list_len != r->remain)
		return "server name list length does not match its extension";
	if (list_len == 0)
		return "empty server name list";
	while (r->remain > 0) {
		if (!reader_u8(r, &type) || !reader_u16(r, &n) ||
		    n > r->remain)
			return "server name longer than its list";
		/* OpenSSL, among others, takes only host_name; any other
		 * type or a second host_name could be read differently. */
		if (type != TLS_NAME_TYPE_HOST)
			return "server name of a type other than host_name";
		if (have)
			return "two host names in server_name";
		have = true;
		if (n > SNIFF_NAME_MAX)
			return "host name longer than 255 bytes";
		for (i = 0; i < n; i++)
			host[i] = reader_byte(r);
		if ((why = copy_host_name(host, n, name)) != NULL)
			return why;
	}
	return NULL;
}

/* RFC 8446 4.2: at most one extension of each type. */
static const char *
parse_extensions(struct hello_reader *r, char *name)
{
	size_t type, n, after;
	bool seen = false;
	const char *why;

	while (r->remain > 0) {
		if (!reader_u16(r, &type) || !reader_u16(r, &n) ||
		    n > r->remain)
			return "extension longer than the extensions";
		if (type != TLS_EXT_SERVER_NAME) {
			(void)reader_skip(r, n);
			continue;
		}
		if (seen)
			return "two server_name extensions";
		seen = true;
		after = r->remain - n;
		r->remain = n;
		if ((why = parse_server_name(r, name)) != NULL)
			return why;
		r->remain = after;
	}
	return NULL;
}

/* RFC 8446 4.1.2; the extensions are optional before TLS 1.3. */
static const char *
parse_client_hello(struct hello_reader *r, char *name)
{
	size_t version, n;

	if (!reader_u16(r, &version) || !reader_skip(r, 32))
		return "ClientHello shorter than its version and random";
	if (version >> 8 != 3)
		return "ClientHello version other than SSL 3.0 to TLS 1.3";
	if (!reader_u8(r, &n) || n > 32 || !reader_skip(r, n))
		return "bad legacy_session_id length";
	if (!reader_u16(r, &n) || n < 2 || n % 2 != 0 || !reader_skip(r, n))
		return "bad cipher_suites length";
	if (!reader_u8(r, &n) || n < 1 || !reader_skip(r, n))
		return "bad legacy_compression_methods length";
	if (r->remain == 0)
		return NULL;
	if (!reader_u16(r, &n) || n != r->remain)
		return "extensions length does not match the ClientHello "
		    "length";
	return parse_extensions(r, name);
}

enum sniff_status
sniff_tls_sni(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	struct hello_reader r;
	size_t hello_len = 0;
	enum sniff_status st;
	const char *why;

	result_reset(out, SNIFF_UNKNOWN);
	if (len == 0)
		return SNIFF_NEED_MORE;
	if (buf[0] != TLS_CONTENT_HANDSHAKE)
		return not_this(out);
	st = tls_gather(buf, len, &hello_len, &why);
	if (st == SNIFF_NEED_MORE)
		return st;
	if (why != NULL)
		return malformed(out, SNIFF_TLS, why);
	r.buf = buf;
	r.pos = 0;
	r.left = 0;
	r.remain = hello_len;
	(void)reader_skip(&r, TLS_HANDSHAKE_HEADER);
	result_reset(out, SNIFF_TLS);
	if ((why = parse_client_hello(&r, out->name)) != NULL)
		return malformed(out, SNIFF_TLS, why);
	return SNIFF_DONE;
}

/* ---- HTTP ---- */

enum step {
	STEP_OK,
	STEP_MORE,	/* needs bytes past len */
	STEP_NOT_HTTP,
	STEP_BAD,	/* malformed: *why says why */
};

struct request {
	const uint8_t *method, *target;
	size_t method_len, target_len;
	bool known;		/* a well-known method */
	bool h2_preface;
	bool has_target_host;	/* absolute or authority form */
	bool host_seen;
	char target_host[SNIFF_NAME_MAX + 1];
	char host[SNIFF_NAME_MAX + 1];
};

/* RFC 9110 5.6.2 */
static bool
is_tchar(uint8_t c)
{
	return is_alpha(c) || is_digit(c) ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_ws(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static bool
is_target_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f;
}

/* Advances *pos while pred holds; false when it reached limit. */
static bool
span(const uint8_t *buf, size_t limit, size_t *pos, bool (*pred)(uint8_t))
{
	while (*pos < limit && pred(buf[*pos]))
		(*pos)++;
	return *pos < limit;
}

static bool
known_method(const uint8_t *m, size_t n)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT",
	    "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PRI", NULL };
	size_t i;

	for (i = 0; methods[i] != NULL; i++)
		if (strlen(methods[i]) == n && memcmp(m, methods[i], n) == 0)
			return true;
	return false;
}

static bool
method_is(const struct request *rq, const char *m)
{
	return rq->method_len == strlen(m) &&
	    memcmp(rq->method, m, rq->method_len) == 0;
}

/* A request line that does not parse: malformed after a known method. */
static enum step
line_fails(const struct request *rq, const char **why)
{
	if (!rq->known)
		return STEP_NOT_HTTP;
	*why = "malformed request line";
	return STEP_BAD;
}

/* Ran out of bytes at pos: more, unless pos is past the cap. */
static enum step
line_runs_out(const struct request *rq, size_t pos, const char **why)
{
	if (pos < SNIFF_HTTP_MAX)
		return STEP_MORE;
	return line_fails(rq, why);
}

/* "HTTP/" DIGIT "." DIGIT, RFC 9112 2.3, then optional white space and
 * the line's end. */
static enum step
request_version(const uint8_t *buf, size_t limit, size_t *pos,
    struct request *rq, const char **why)
{
	static const char pattern[] = "HTTP/9.9";
	size_t p = *pos, i;

	for (i = 0; i < sizeof(pattern) - 1; i++, p++) {
		if (p >= limit)
			return line_runs_out(rq, p, why);
		if (pattern[i] == '9' ? !is_digit(buf[p]) :
		    buf[p] != (uint8_t)pattern[i])
			return line_fails(rq, why);
	}
	if (!span(buf, limit, &p, is_ws))
		return line_runs_out(rq, p, why);
	if (buf[p] == '\r' && ++p >= limit)
		return line_runs_out(rq, p, why);
	if (buf[p] != '\n')
		return line_fails(rq, why);
	rq->h2_preface = buf[*pos + 5] == '2' && buf[*pos + 7] == '0' &&
	    method_is(rq, "PRI") && rq->target_len == 1 && rq->target[0] == '*';
	if (buf[*pos + 5] != '1' && !rq->h2_preface) {
		*why = "HTTP version other than 1.x";
		return STEP_BAD;
	}
	*pos = p + 1;
	return STEP_OK;
}

/* RFC 9112 3: method SP request-target SP HTTP-version CRLF, where the
 * spaces may be runs of SP and HTAB and the CR may be missing. */
static enum step
request_line(const uint8_t *buf, size_t limit, size_t *pos,
    struct request *rq, const char **why)
{
	size_t p = *pos;

	rq->method = buf + p;
	if (!span(buf, limit, &p, is_tchar))
		return p - *pos > HTTP_METHOD_MAX ? STEP_NOT_HTTP :
		    line_runs_out(rq, p, why);
	rq->method_len = p - *pos;
	if (rq->method_len == 0 || rq->method_len > HTTP_METHOD_MAX)
		return STEP_NOT_HTTP;
	rq->known = known_method(rq->method, rq->method_len);
	if (!is_ws(buf[p]))
		return line_fails(rq, why);
	if (!span(buf, limit, &p, is_ws))
		return line_runs_out(rq, p, why);
	rq->target = buf + p;
	if (!span(buf, limit, &p, is_target_char))
		return line_runs_out(rq, p, why);
	rq->target_len = (size_t)(buf + p - rq->target);
	if (rq->target_len == 0 || !is_ws(buf[p]))
		return line_fails(rq, why);
	if (!span(buf, limit, &p, is_ws))
		return line_runs_out(rq, p, why);
	*pos = p;
	return request_version(buf, limit, pos, rq, why);
}

/* An IPv6 literal's text, checked and written in canonical form. */
static const char *
copy_ipv6(const uint8_t *p, size_t n, char *name)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t i;

	if (n == 0 || n >= sizeof(text))
		return "bad IPv6 literal";
	for (i = 0; i < n; i++) {
		if (!is_digit(p[i]) && !(lower(p[i]) >= 'a' &&
		    lower(p[i]) <= 'f') && p[i] != ':' && p[i] != '.')
			return "bad IPv6 literal";
		text[i] = (char)p[i];
	}
	text[n] = '\0';
	if (inet_pton(AF_INET6, text, &a) != 1 ||
	    inet_ntop(AF_INET6, &a, name, SNIFF_NAME_MAX + 1) == NULL)
		return "bad IPv6 literal";
	return NULL;
}

/* [ ":" *DIGIT ], RFC 3986 3.2.3; at most 65535. */
static const char *
check_port(const uint8_t *p, size_t n)
{
	size_t i, port = 0;

	if (n == 0)
		return NULL;
	if (p[0] != ':' || n > 6)
		return "bad port after the host";
	for (i = 1; i < n; i++) {
		if (!is_digit(p[i]))
			return "bad port after the host";
		port = port * 10 + (size_t)(p[i] - '0');
	}
	return port > 65535 ? "bad port after the host" : NULL;
}

/* uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2): the host in name. */
static const char *
authority_host(const uint8_t *p, size_t n, char *name)
{
	size_t i;
	const char *why;

	if (n > 0 && p[0] == '[') {
		for (i = 1; i < n && p[i] != ']'; i++)
			;
		if (i == n)
			return "IPv6 literal without its ']'";
		if ((why = copy_ipv6(p + 1, i - 1, name)) != NULL)
			return why;
		i++;
	} else {
		for (i = 0; i < n && p[i] != ':'; i++)
			;
		if ((why = copy_host_name(p, i, name)) != NULL)
			return why;
	}
	return check_port(p + i, n - i);
}

/* The host of an absolute-form target: scheme "://" authority ... */
static const char *
absolute_target_host(const uint8_t *t, size_t n, char *name)
{
	size_t i = 0, start;

	if (n == 0 || !is_alpha(t[0]))
		return "request-target in no known form";
	while (i < n && (is_alpha(t[i]) || is_digit(t[i]) || t[i] == '+' ||
	    t[i] == '-' || t[i] == '.'))
		i++;
	if (n - i < 3 || memcmp(t + i, "://", 3) != 0)
		return "request-target in no known form";
	start = i + 3;
	for (i = start; i < n && t[i] != '/' && t[i] != '?' && t[i] != '#';
	    i++)
		if (t[i] == '@')	/* RFC 9110 4.2.4 */
			return "userinfo in the request-target";
	return authority_host(t + start, i - start, name);
}

/* RFC 9112 3.2: which host, if any, the request-target names. */
static const char *
request_target(struct request *rq)
{
	if (method_is(rq, "CONNECT")) {
		rq->has_target_host = true;
		return authority_host(rq->target, rq->target_len,
		    rq->target_host);
	}
	if (rq->target[0] == '/' ||
	    (rq->target_len == 1 && rq->target[0] == '*'))
		return NULL;
	rq->has_target_host = true;
	return absolute_target_host(rq->target, rq->target_len,
	    rq->target_host);
}

static const char *
host_field(struct request *rq, const uint8_t *v, size_t n)
{
	if (rq->host_seen)
		return "two Host header fields";
	rq->host_seen = true;
	while (n > 0 && is_ws(v[0])) {
		v++;
		n--;
	}
	while (n > 0 && is_ws(v[n - 1]))
		n--;
	if (n == 0)
		return NULL;	/* allowed: RFC 9110 7.2 */
	return authority_host(v, n, rq->host);
}

/* One field line, without its line end: field-name ":" field-value. */
static const char *
field_line(struct request *rq, const uint8_t *p, size_t n)
{
	size_t i;

	if (is_ws(p[0]))	/* RFC 9112 2.2, 5.2 */
		return "line folding or white space before a header field";
	for (i = 0; i < n && is_tchar(p[i]); i++)
		;
	if (i == 0 || i == n || p[i] != ':')	/* RFC 9112 5.1 */
		return "header field without a colon right after its name";
	if (memchr(p + i, '\r', n - i) != NULL)
		return "bare CR in a header field";
	if (memchr(p + i, '\0', n - i) != NULL)
		return "NUL in a header field";
	if (i == 4 && strncasecmp((const char *)p, "host", 4) == 0)
		return host_field(rq, p + i + 1, n - i - 1);
	return NULL;
}

/* Field lines up to the empty line, which must end before the cap. */
static enum step
field_lines(const uint8_t *buf, size_t limit, size_t pos,
    struct request *rq, const char **why)
{
	const uint8_t *lf;
	size_t n;

	for (;;) {
		lf = memchr(buf + pos, '\n', limit - pos);
		if (lf == NULL) {
			if (limit < SNIFF_HTTP_MAX)
				return STEP_MORE;
			*why = "no empty line within 16 KiB";
			return STEP_BAD;
		}
		n = (size_t)(lf - (buf + pos));
		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		if (n == 0)
			return STEP_OK;
		if ((*why = field_line(rq, buf + pos, n)) != NULL)
			return STEP_BAD;
		pos = (size_t)(lf - buf) + 1;
	}
}

/* The name the request is for, once its fields are read. */
static const char *
request_name(const struct request *rq, char *name)
{
	const char *host = rq->host;

	if (rq->has_target_host) {
		/* RFC 9112 3.2.2: an origin server uses the target and
		 * ignores Host, but not every server does. */
		if (rq->host[0] != '\0' &&
		    strcmp(rq->host, rq->target_host) != 0)
			return "Host names another host than the "
			    "request-target";
		host = rq->target_host;
	}
	memcpy(name, host, strlen(host) + 1);
	return NULL;
}

static enum sniff_status
http_step(struct sniff_result *out, enum step st, const char *why)
{
	if (st == STEP_MORE)
		return SNIFF_NEED_MORE;
	if (st == STEP_NOT_HTTP)
		return not_this(out);
	return malformed(out, SNIFF_HTTP, why);
}

enum sniff_status
sniff_http_host(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	size_t limit = min_size(len, SNIFF_HTTP_MAX), pos = 0;
	struct request rq;
	const char *why = NULL;
	enum step st;

	result_reset(out, SNIFF_UNKNOWN);
	memset(&rq, 0, sizeof(rq));
	/* RFC 9112 2.2: empty lines before the request line are ignored. */
	while (pos < limit && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	if (pos >= limit)
		return pos < SNIFF_HTTP_MAX ? SNIFF_NEED_MORE : not_this(out);
	if ((st = request_line(buf, limit, &pos, &rq, &why)) != STEP_OK)
		return http_step(out, st, why);
	if (rq.h2_preface) {
		result_reset(out, SNIFF_HTTP);
		return SNIFF_DONE;
	}
	if ((why = request_target(&rq)) != NULL)
		return malformed(out, SNIFF_HTTP, why);
	if ((st = field_lines(buf, limit, pos, &rq, &why)) != STEP_OK)
		return http_step(out, st, why);
	result_reset(out, SNIFF_HTTP);
	if ((why = request_name(&rq, out->name)) != NULL)
		return malformed(out, SNIFF_HTTP, why);
	return SNIFF_DONE;
}

/* ---- stratum ---- */

/* Names in a miner's user agent or command line (lower case). */
static const char *const miner_names[] = {
	"xmrig", "xmr-stak", "cpuminer", "minerd", "cgminer", "bfgminer",
	"sgminer", "ccminer", "ethminer", "nbminer", "phoenixminer",
	"lolminer", "teamredminer", "nanominer", "srbminer", "wildrig",
	"gminer", "t-rex", "nheqminer", "bminer", NULL,
};

/* Ethereum stratum and getwork methods (RFC-less; EthereumStratum/1.0,
 * EthProxy). */
static const char *const eth_methods[] = {
	"eth_submitlogin", "eth_login", "eth_getwork", "eth_submitwork",
	"eth_submithashrate", NULL,
};

static bool
contains_fold(const uint8_t *hay, size_t n, const char *needle)
{
	size_t nlen = strlen(needle), i, j;

	for (i = 0; i + nlen <= n; i++) {
		for (j = 0; j < nlen && lower(hay[i + j]) == (uint8_t)needle[j];
		    j++)
			;
		if (j == nlen)
			return true;
	}
	return false;
}

static bool
names_miner(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; miner_names[i] != NULL; i++)
		if (contains_fold(s, n, miner_names[i]))
			return true;
	return false;
}

/* XMRig and Monero pools: {"method": "login", "params": {"login": wallet,
 * "pass": x, "agent": "XMRig/6.21.0 ..."}}. */
static bool
login_is_miner(const json_t *params)
{
	const char *agent = json_string_value(json_object_get(params, "agent"));

	if (agent != NULL && names_miner((const uint8_t *)agent,
	    strlen(agent)))
		return true;
	return json_object_get(params, "login") != NULL &&
	    json_object_get(params, "pass") != NULL;
}

static bool
message_is_miner(const json_t *msg)
{
	const char *method = json_string_value(json_object_get(msg, "method"));
	size_t i;

	/* jansson refuses strings holding NUL, so method is a C string. */
	if (method == NULL)
		return false;
	if (strncasecmp(method, "mining.", 7) == 0)
		return true;
	for (i = 0; eth_methods[i] != NULL; i++)
		if (strcasecmp(method, eth_methods[i]) == 0)
			return true;
	if (strcasecmp(method, "login") == 0)
		return login_is_miner(json_object_get(msg, "params"));
	return false;
}

/* A message jansson cannot read may still reach a lenient pool. */
static bool
text_is_miner(const uint8_t *p, size_t n)
{
	size_t i;

	if (contains_fold(p, n, "\"mining."))
		return true;
	for (i = 0; eth_methods[i] != NULL; i++)
		if (contains_fold(p, n, eth_methods[i]))
			return true;
	return names_miner(p, n);
}

/*
 * Where the message that starts at pos ('{') ends: just past its closing
 * brace, or at the first LF. Returns 0 when neither is before limit.
 */
static size_t
message_end(const uint8_t *buf, size_t limit, size_t pos)
{
	size_t depth = 0;
	bool in_string = false, escaped = false;

	for (; pos < limit; pos++) {
		uint8_t c = buf[pos];

		if (c == '\n')
			return pos;
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return pos + 1;
	}
	return 0;
}

enum sniff_status
sniff_stratum(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	size_t limit = min_size(len, SNIFF_STRATUM_MAX), pos = 0, end;
	json_error_t err;
	json_t *msg;
	bool miner;

	result_reset(out, SNIFF_UNKNOWN);
	while (pos < limit && (is_ws(buf[pos]) || buf[pos] == '\r' ||
	    buf[pos] == '\n'))
		pos++;
	if (pos >= limit)
		return pos < SNIFF_STRATUM_MAX ? SNIFF_NEED_MORE :
		    not_this(out);
	if (buf[pos] != '{')
		return not_this(out);
	if ((end = message_end(buf, limit, pos)) == 0) {
		if (limit < SNIFF_STRATUM_MAX)
			return SNIFF_NEED_MORE;
		return malformed(out, SNIFF_STRATUM,
		    "JSON line longer than 8 KiB");
	}
	/* jansson allocates the parsed message; it is freed right here. */
	msg = json_loadb((const char *)buf + pos, end - pos, 0, &err);
	if (msg != NULL) {
		miner = message_is_miner(msg);
		json_decref(msg);
	} else
		miner = text_is_miner(buf + pos, end - pos);
	if (!miner)
		return not_this(out);
	result_reset(out, SNIFF_STRATUM);
	out->miner = true;
	return SNIFF_DONE;
}

/* ---- all of them ---- */

enum sniff_status
sniff_any(const uint8_t *buf, size_t len, struct sniff_result *out)
{
	static enum sniff_status (*const parsers[])(const uint8_t *, size_t,
	    struct sniff_result *) = { sniff_tls_sni, sniff_http_host,
	    sniff_stratum };
	bool more = false;
	size_t i;

	for (i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
		switch (parsers[i](buf, len, out)) {
		case SNIFF_DONE:
			return SNIFF_DONE;
		case SNIFF_NEED_MORE:
			more = true;
			break;
		case SNIFF_NOT_THIS:
			break;
		}
	}
	result_reset(out, SNIFF_UNKNOWN);
	return more ? SNIFF_NEED_MORE : SNIFF_NOT_THIS;
}
