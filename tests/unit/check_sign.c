/*
 * check_sign — Ed25519 keys and signatures for signed TW_POLICY values
 * (SPEC section 3): key generation, signing, verification, and the two
 * public key forms (base64 of the raw key, PEM).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fnguard/codec.h"
#include "fnguard/sign.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (0x72). */
static const uint8_t rfc_pub1[32] = {
	0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
	0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
	0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a };
static const uint8_t rfc_sig1[64] = {
	0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2,
	0xcc, 0x80, 0x6e, 0x82, 0x8a, 0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5,
	0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65, 0x22, 0x49, 0x01, 0x55, 0x5f,
	0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e, 0x39, 0x70,
	0x1c, 0xf9, 0xb4, 0x6b, 0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe,
	0x24, 0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b };
static const uint8_t rfc_pub2[32] = {
	0x3d, 0x40, 0x17, 0xc3, 0xe8, 0x43, 0x89, 0x5a, 0x92, 0xb7, 0x0a,
	0xa7, 0x4d, 0x1b, 0x7e, 0xbc, 0x9c, 0x98, 0x2c, 0xcf, 0x2e, 0xc4,
	0x96, 0x8c, 0xc0, 0xcd, 0x55, 0xf1, 0x2a, 0xf4, 0x66, 0x0c };
static const uint8_t rfc_sig2[64] = {
	0x92, 0xa0, 0x09, 0xa9, 0xf0, 0xd4, 0xca, 0xb8, 0x72, 0x0e, 0x82,
	0x0b, 0x5f, 0x64, 0x25, 0x40, 0xa2, 0xb2, 0x7b, 0x54, 0x16, 0x50,
	0x3f, 0x8f, 0xb3, 0x76, 0x22, 0x23, 0xeb, 0xdb, 0x69, 0xda, 0x08,
	0x5a, 0xc1, 0xe4, 0x3e, 0x15, 0x99, 0x6e, 0x45, 0x8f, 0x36, 0x13,
	0xd0, 0xf1, 0x1d, 0x8c, 0x38, 0x7b, 0x2e, 0xae, 0xb4, 0x30, 0x2a,
	0xee, 0xb0, 0x0d, 0x29, 0x16, 0x12, 0xbb, 0x0c, 0x00 };

/* rfc_pub1 in its two text forms. */
#define RFC_PUB1_B64 "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC_PUB1_PEM \
	"-----BEGIN PUBLIC KEY-----\n" \
	"MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n" \
	"-----END PUBLIC KEY-----\n"

/* Keys of other algorithms (openssl genpkey ... | openssl pkey -pubout). */
static const char ec_p256_pub_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0VO729Og8nYF2rjIiNmG+wUeK4pw\n"
    "CKi4KJApjHH9Jrx9G1fBTzQ/YjKg9mNXy3Mdeq91M2G7DsRVBxgyOsduAg==\n"
    "-----END PUBLIC KEY-----\n";
static const char rsa1024_pub_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC6ddszm8ym0pqu86KFn1Edt2Tq\n"
    "QgAi6Mg3oHPYkpvOiSMk+qyRtOnEeBP2gmXJjTQyFTZnPyC6Nia5IXRqWyAjfd7R\n"
    "ORaUs4vMemTrKeLxLrureee7nrVmXGekuTYvQR3kNJjbx18dRu0bOJfkCyxrk96l\n"
    "B1gRXtJUn/45nhyH1QIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
/* X25519: also 32 raw bytes, but a key-agreement key, not Ed25519. */
static const char x25519_pub_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VuAyEA80jgu1Gjl4Zz0rcWIToz2LRh9eC7O2N3r8dGN3PYuSk=\n"
    "-----END PUBLIC KEY-----\n";
static const char ed448_pub_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MEMwBQYDK2VxAzoAjV1UI7AYjrJQu1VzicjvIY2eC87I65pGCKPPr4qY0Kha2SfK\n"
    "Lt2/N6SmBibieJ9KJE3qX23zJRKA\n"
    "-----END PUBLIC KEY-----\n";
/* A throwaway P-256 private key, for sign_message's refusal. */
static const char ec_p256_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgiAyDYW+SSOVjmDko\n"
    "9FF1Dxm9COn2jbqe05260nAL1oShRANCAAQwN5Euad2L80tRUNANpUhPRwoKjVqe\n"
    "Up539TXMGMtJhm3WAfG7LQ50U5ydFSn7n5zsJqi6NZsdaOA8GP3dJKd4\n"
    "-----END PRIVATE KEY-----\n";

/* ---- helpers ---- */

struct keydir {
	char dir[64];
	char key[128];
	char pub[128];
	uint8_t raw[SIGN_PUBKEY_LEN];
};

static void
keydir_make(struct keydir *k)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(k->dir, sizeof(k->dir), "%s/check_sign.XXXXXX", tmp);
	ck_assert_ptr_nonnull(mkdtemp(k->dir));
	snprintf(k->key, sizeof(k->key), "%s/fnguard-policy.key", k->dir);
	snprintf(k->pub, sizeof(k->pub), "%s/fnguard-policy.pub", k->dir);
}

static void
keydir_genkey(struct keydir *k)
{
	const char *why = NULL;

	keydir_make(k);
	ck_assert_msg(sign_genkey(k->dir, k->raw, &why) == 0, "genkey: %s",
	    why);
}

/* Removes what the tests put in the directory, then the directory. */
static void
keydir_remove(struct keydir *k)
{
	char path[192];

	unlink(k->key);
	unlink(k->pub);
	snprintf(path, sizeof(path), "%s/other", k->dir);
	unlink(path);
	ck_assert_msg(rmdir(k->dir) == 0, "rmdir %s: %s", k->dir,
	    strerror(errno));
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(65536);

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_ptr_nonnull(buf);
	*len = fread(buf, 1, 65535, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void
spew(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void
sign_ok(const char *keyfile, const void *msg, size_t len,
    uint8_t sig[SIGN_SIG_LEN])
{
	const char *why = NULL;

	ck_assert_msg(sign_message(keyfile, msg, len, sig, &why) == 0,
	    "sign: %s", why);
}

/* ---- key generation ---- */

START_TEST(test_genkey_files)
{
	struct keydir k;
	struct stat st;
	mode_t old = umask(0);
	uint8_t loaded[SIGN_PUBKEY_LEN], zero[SIGN_PUBKEY_LEN] = { 0 };
	const char *why = NULL;
	char *text;
	size_t len;

	keydir_genkey(&k);
	umask(old);
	ck_assert_int_eq(stat(k.key, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_msg((st.st_mode & 07777) == 0600, "key mode %o",
	    (unsigned)(st.st_mode & 07777));
	ck_assert_int_eq(stat(k.pub, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_msg((st.st_mode & 07777) == 0644, "pub mode %o",
	    (unsigned)(st.st_mode & 07777));
	ck_assert(memcmp(k.raw, zero, sizeof(zero)) != 0);

	text = slurp(k.key, &len);
	ck_assert_msg(strncmp(text, "-----BEGIN PRIVATE KEY-----\n", 28) == 0,
	    "key file starts \"%.30s\"", text);
	free(text);
	text = slurp(k.pub, &len);
	ck_assert_msg(strncmp(text, "-----BEGIN PUBLIC KEY-----\n", 27) == 0,
	    "pub file starts \"%.30s\"", text);
	free(text);

	/* The .pub file holds the key that genkey returned. */
	ck_assert_msg(sign_pubkey_load(k.pub, loaded, &why) == 0, "%s", why);
	ck_assert(memcmp(loaded, k.raw, SIGN_PUBKEY_LEN) == 0);
	keydir_remove(&k);
}
END_TEST

START_TEST(test_genkey_no_overwrite)
{
	struct keydir k;
	uint8_t again[SIGN_PUBKEY_LEN];
	const char *why = NULL;
	char *key1, *pub1, *key2, *pub2;
	size_t kl1, pl1, kl2, pl2;

	keydir_genkey(&k);
	key1 = slurp(k.key, &kl1);
	pub1 = slurp(k.pub, &pl1);
	ck_assert_int_eq(sign_genkey(k.dir, again, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "key file exists; not overwriting");
	key2 = slurp(k.key, &kl2);
	pub2 = slurp(k.pub, &pl2);
	ck_assert(kl1 == kl2 && memcmp(key1, key2, kl1) == 0);
	ck_assert(pl1 == pl2 && memcmp(pub1, pub2, pl1) == 0);
	free(key2);
	free(pub2);

	/* Only the .pub left: still refused, and no stray .key left. */
	ck_assert_int_eq(unlink(k.key), 0);
	why = NULL;
	ck_assert_int_eq(sign_genkey(k.dir, again, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "key file exists; not overwriting");
	ck_assert_int_eq(access(k.key, F_OK), -1);
	pub2 = slurp(k.pub, &pl2);
	ck_assert(pl1 == pl2 && memcmp(pub1, pub2, pl1) == 0);
	free(pub2);
	free(key1);
	free(pub1);
	keydir_remove(&k);
}
END_TEST

START_TEST(test_genkey_bad_dir)
{
	uint8_t pub[SIGN_PUBKEY_LEN];
	const char *why = NULL;

	ck_assert_int_eq(sign_genkey("/nonexistent/fnguard-check", pub, &why),
	    -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, strerror(ENOENT));
}
END_TEST

START_TEST(test_two_keys_differ)
{
	struct keydir a, b;

	keydir_genkey(&a);
	keydir_genkey(&b);
	ck_assert(memcmp(a.raw, b.raw, SIGN_PUBKEY_LEN) != 0);
	keydir_remove(&a);
	keydir_remove(&b);
}
END_TEST

/* ---- signatures ---- */

static const char policy_msg[] =
    "{\"policy\": {\"rules\": [{\"name\": \"allow-aws-only\"}]}}";

START_TEST(test_sign_verify)
{
	struct keydir k;
	uint8_t sig[SIGN_SIG_LEN], sig2[SIGN_SIG_LEN];
	size_t len = strlen(policy_msg);

	keydir_genkey(&k);
	sign_ok(k.key, policy_msg, len, sig);
	ck_assert(sign_verify(k.raw, (const uint8_t *)policy_msg, len, sig,
	    SIGN_SIG_LEN));
	/* Ed25519 is deterministic (RFC 8032 5.1.6). */
	sign_ok(k.key, policy_msg, len, sig2);
	ck_assert(memcmp(sig, sig2, SIGN_SIG_LEN) == 0);
	/* The empty message too. */
	sign_ok(k.key, "", 0, sig2);
	ck_assert(sign_verify(k.raw, (const uint8_t *)"", 0, sig2,
	    SIGN_SIG_LEN));
	ck_assert(!sign_verify(k.raw, (const uint8_t *)"", 0, sig,
	    SIGN_SIG_LEN));
	keydir_remove(&k);
}
END_TEST

START_TEST(test_verify_flipped_message)
{
	struct keydir k;
	uint8_t sig[SIGN_SIG_LEN], msg[sizeof(policy_msg)];
	size_t len = strlen(policy_msg), bit;

	keydir_genkey(&k);
	sign_ok(k.key, policy_msg, len, sig);
	memcpy(msg, policy_msg, len);
	for (bit = 0; bit < len * 8; bit += 37) {
		msg[bit / 8] ^= (uint8_t)(1 << bit % 8);
		ck_assert_msg(!sign_verify(k.raw, msg, len, sig, SIGN_SIG_LEN),
		    "message bit %zu flipped, still verified", bit);
		msg[bit / 8] ^= (uint8_t)(1 << bit % 8);
	}
	ck_assert(sign_verify(k.raw, msg, len, sig, SIGN_SIG_LEN));
	/* Shorter and longer messages. */
	ck_assert(!sign_verify(k.raw, msg, len - 1, sig, SIGN_SIG_LEN));
	ck_assert(!sign_verify(k.raw, (const uint8_t *)policy_msg, len + 1,
	    sig, SIGN_SIG_LEN));
	keydir_remove(&k);
}
END_TEST

START_TEST(test_verify_flipped_signature)
{
	struct keydir k;
	uint8_t sig[SIGN_SIG_LEN];
	size_t len = strlen(policy_msg), bit;
	const uint8_t *msg = (const uint8_t *)policy_msg;

	keydir_genkey(&k);
	sign_ok(k.key, policy_msg, len, sig);
	for (bit = 0; bit < SIGN_SIG_LEN * 8; bit += 13) {
		sig[bit / 8] ^= (uint8_t)(1 << bit % 8);
		ck_assert_msg(!sign_verify(k.raw, msg, len, sig, SIGN_SIG_LEN),
		    "signature bit %zu flipped, still verified", bit);
		sig[bit / 8] ^= (uint8_t)(1 << bit % 8);
	}
	ck_assert(sign_verify(k.raw, msg, len, sig, SIGN_SIG_LEN));
	keydir_remove(&k);
}
END_TEST

START_TEST(test_verify_wrong_key)
{
	struct keydir a, b;
	uint8_t sig[SIGN_SIG_LEN], flipped[SIGN_PUBKEY_LEN];
	size_t len = strlen(policy_msg);
	const uint8_t *msg = (const uint8_t *)policy_msg;

	keydir_genkey(&a);
	keydir_genkey(&b);
	sign_ok(a.key, policy_msg, len, sig);
	ck_assert(sign_verify(a.raw, msg, len, sig, SIGN_SIG_LEN));
	ck_assert(!sign_verify(b.raw, msg, len, sig, SIGN_SIG_LEN));
	memcpy(flipped, a.raw, SIGN_PUBKEY_LEN);
	flipped[5] ^= 0x04;
	ck_assert(!sign_verify(flipped, msg, len, sig, SIGN_SIG_LEN));
	keydir_remove(&a);
	keydir_remove(&b);
}
END_TEST

START_TEST(test_verify_wrong_length)
{
	struct keydir k;
	uint8_t sig[SIGN_SIG_LEN + 1];
	size_t len = strlen(policy_msg);
	const uint8_t *msg = (const uint8_t *)policy_msg;

	keydir_genkey(&k);
	sign_ok(k.key, policy_msg, len, sig);
	sig[SIGN_SIG_LEN] = 0;
	ck_assert(sign_verify(k.raw, msg, len, sig, SIGN_SIG_LEN));
	ck_assert(!sign_verify(k.raw, msg, len, sig, SIGN_SIG_LEN - 1));
	ck_assert(!sign_verify(k.raw, msg, len, sig, SIGN_SIG_LEN + 1));
	ck_assert(!sign_verify(k.raw, msg, len, sig, 32));
	ck_assert(!sign_verify(k.raw, msg, len, sig, 0));
	keydir_remove(&k);
}
END_TEST

START_TEST(test_verify_rfc8032)
{
	uint8_t msg = 0x72, sig[SIGN_SIG_LEN];

	ck_assert(sign_verify(rfc_pub1, (const uint8_t *)"", 0, rfc_sig1,
	    SIGN_SIG_LEN));
	ck_assert(sign_verify(rfc_pub2, &msg, 1, rfc_sig2, SIGN_SIG_LEN));
	/* Crossed: signature of one vector under the other key. */
	ck_assert(!sign_verify(rfc_pub2, (const uint8_t *)"", 0, rfc_sig1,
	    SIGN_SIG_LEN));
	ck_assert(!sign_verify(rfc_pub1, &msg, 1, rfc_sig2, SIGN_SIG_LEN));
	msg = 0x73;
	ck_assert(!sign_verify(rfc_pub2, &msg, 1, rfc_sig2, SIGN_SIG_LEN));
	memcpy(sig, rfc_sig1, SIGN_SIG_LEN);
	sig[63] ^= 0x80;
	ck_assert(!sign_verify(rfc_pub1, (const uint8_t *)"", 0, sig,
	    SIGN_SIG_LEN));
}
END_TEST

START_TEST(test_sign_errors)
{
	struct keydir k;
	uint8_t sig[SIGN_SIG_LEN];
	char other[192];
	const char *why = NULL;

	keydir_genkey(&k);
	snprintf(other, sizeof(other), "%s/other", k.dir);
	ck_assert_int_eq(sign_message(other, (const uint8_t *)"x", 1, sig,
	    &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, strerror(ENOENT));

	/* A public key is no private key. */
	why = NULL;
	ck_assert_int_eq(sign_message(k.pub, (const uint8_t *)"x", 1, sig,
	    &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "not a PEM Ed25519 private key");

	/* Nor is a P-256 private key an Ed25519 one. */
	spew(other, ec_p256_key_pem, strlen(ec_p256_key_pem));
	why = NULL;
	ck_assert_int_eq(sign_message(other, (const uint8_t *)"x", 1, sig,
	    &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "not a PEM Ed25519 private key");

	spew(other, "garbage\n", 8);
	why = NULL;
	ck_assert_int_eq(sign_message(other, (const uint8_t *)"x", 1, sig,
	    &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "not a PEM Ed25519 private key");
	keydir_remove(&k);
}
END_TEST

/* ---- public key forms ---- */

static void
parse_ok(const char *text, const uint8_t want[SIGN_PUBKEY_LEN])
{
	uint8_t got[SIGN_PUBKEY_LEN];
	const char *why = NULL;

	memset(got, 0xee, sizeof(got));
	ck_assert_msg(sign_pubkey_parse(text, strlen(text), got, &why) == 0,
	    "\"%s\": %s", text, why);
	ck_assert_msg(memcmp(got, want, SIGN_PUBKEY_LEN) == 0,
	    "\"%s\": other bytes", text);
}

START_TEST(test_pubkey_forms_agree)
{
	struct keydir k;
	uint8_t loaded[SIGN_PUBKEY_LEN];
	char *b64, *pem, *withnl;
	const char *why = NULL;
	size_t len;

	keydir_genkey(&k);
	b64 = codec_b64_encode(k.raw, SIGN_PUBKEY_LEN);
	ck_assert_ptr_nonnull(b64);
	ck_assert_uint_eq(strlen(b64), 44);
	parse_ok(b64, k.raw);
	pem = slurp(k.pub, &len);
	parse_ok(pem, k.raw);

	/* A base64 key in a file, as written by echo. */
	withnl = malloc(strlen(b64) + 2);
	ck_assert_ptr_nonnull(withnl);
	sprintf(withnl, "%s\n", b64);
	parse_ok(withnl, k.raw);
	spew(k.key, withnl, strlen(withnl));
	ck_assert_msg(sign_pubkey_load(k.key, loaded, &why) == 0, "%s", why);
	ck_assert(memcmp(loaded, k.raw, SIGN_PUBKEY_LEN) == 0);
	ck_assert_msg(sign_pubkey_load(k.pub, loaded, &why) == 0, "%s", why);
	ck_assert(memcmp(loaded, k.raw, SIGN_PUBKEY_LEN) == 0);
	free(withnl);
	free(pem);
	free(b64);
	keydir_remove(&k);
}
END_TEST

START_TEST(test_pubkey_rfc_forms)
{
	parse_ok(RFC_PUB1_B64, rfc_pub1);
	parse_ok(RFC_PUB1_PEM, rfc_pub1);
	/* Without padding, and URL-safe. */
	parse_ok("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo", rfc_pub1);
	parse_ok("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=", rfc_pub1);
}
END_TEST

static const struct bad_pubkey {
	const char *text;
	const char *why;
} bad_pubkeys[] = {
	{ "AAAA", "an Ed25519 public key is 32 bytes" },
	/* 31 and 33 bytes. */
	{ "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUQ==",
	  "an Ed25519 public key is 32 bytes" },
	{ "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURoA",
	  "an Ed25519 public key is 32 bytes" },
	/* The whole SubjectPublicKeyInfo in base64, without PEM armour. */
	{ "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	  "an Ed25519 public key is 32 bytes" },
	{ "", "empty" },
	{ "not base64!", "not a base64 character" },
	{ ec_p256_pub_pem, "not an Ed25519 key" },
	{ rsa1024_pub_pem, "not an Ed25519 key" },
	{ x25519_pub_pem, "not an Ed25519 key" },
	{ ed448_pub_pem, "not an Ed25519 key" },
	{ "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
	  "not a PEM public key" },
	{ "-----BEGIN PUBLIC KEY-----\n", "not a PEM public key" },
	{ ec_p256_key_pem, "not a PEM public key" },
};

START_TEST(test_pubkey_bad)
{
	const struct bad_pubkey *c = &bad_pubkeys[_i];
	uint8_t out[SIGN_PUBKEY_LEN];
	const char *why = NULL;

	ck_assert_msg(sign_pubkey_parse(c->text, strlen(c->text), out,
	    &why) == -1, "\"%.40s\" accepted", c->text);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, c->why);
}
END_TEST

START_TEST(test_pubkey_load_errors)
{
	struct keydir k;
	uint8_t out[SIGN_PUBKEY_LEN];
	const char *why = NULL;
	char *big;

	keydir_make(&k);
	ck_assert_int_eq(sign_pubkey_load(k.pub, out, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, strerror(ENOENT));

	big = malloc(5000);
	ck_assert_ptr_nonnull(big);
	memset(big, 'A', 5000);
	spew(k.pub, big, 5000);
	why = NULL;
	ck_assert_int_eq(sign_pubkey_load(k.pub, out, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "file too large for a public key");
	free(big);

	spew(k.pub, ec_p256_pub_pem, strlen(ec_p256_pub_pem));
	why = NULL;
	ck_assert_int_eq(sign_pubkey_load(k.pub, out, &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, "not an Ed25519 key");
	keydir_remove(&k);
}
END_TEST

static Suite *
sign_suite(void)
{
	Suite *s = suite_create("sign");
	TCase *tc;

	tc = tcase_create("genkey");
	tcase_add_test(tc, test_genkey_files);
	tcase_add_test(tc, test_genkey_no_overwrite);
	tcase_add_test(tc, test_genkey_bad_dir);
	tcase_add_test(tc, test_two_keys_differ);
	suite_add_tcase(s, tc);

	tc = tcase_create("signatures");
	tcase_add_test(tc, test_sign_verify);
	tcase_add_test(tc, test_verify_flipped_message);
	tcase_add_test(tc, test_verify_flipped_signature);
	tcase_add_test(tc, test_verify_wrong_key);
	tcase_add_test(tc, test_verify_wrong_length);
	tcase_add_test(tc, test_verify_rfc8032);
	tcase_add_test(tc, test_sign_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("public keys");
	tcase_add_test(tc, test_pubkey_forms_agree);
	tcase_add_test(tc, test_pubkey_rfc_forms);
	tcase_add_loop_test(tc, test_pubkey_bad, 0, NELEM(bad_pubkeys));
	tcase_add_test(tc, test_pubkey_load_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sign_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
