/* sign — see include/fnguard/sign.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dlfcn.h>

#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>

#include "fnguard/codec.h"
#include "fnguard/sign.h"

/*
 * libcrypto is opened when a key is first needed, not linked: mapping and
 * relocating it cost every fnguard process about 1.4 ms and 126 page
 * faults at start (a program that only links it: 2.29 ms against 0.85 ms
 * here), which `fnguard run` adds to the function's start-up, and only
 * policy signing uses it. A configured public key is parsed at start-up
 * (cli_pubkey), so whenever fnguard verifies signatures the library is
 * loaded before any traced program runs, as a linked one would be.
 */
#define SONAME_(v) "libcrypto.so." #v
#define SONAME(v) SONAME_(v)

#define CRYPTO_FUNCS \
	X(BIO_free) X(BIO_new_mem_buf) X(EVP_DigestSign) \
	X(EVP_DigestSignInit) X(EVP_DigestVerify) X(EVP_DigestVerifyInit) \
	X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_PKEY_CTX_free) \
	X(EVP_PKEY_CTX_new_id) X(EVP_PKEY_free) X(EVP_PKEY_get_id) \
	X(EVP_PKEY_get_raw_public_key) X(EVP_PKEY_keygen) \
	X(EVP_PKEY_keygen_init) X(EVP_PKEY_new_raw_public_key) \
	X(PEM_read_PrivateKey) X(PEM_read_bio_PUBKEY) \
	X(PEM_write_PUBKEY) X(PEM_write_PrivateKey)

static struct {
#define X(f) __typeof__(f) *f;
	CRYPTO_FUNCS
#undef X
} crypto;
static bool crypto_loaded;

/* Opens libcrypto once; false (why set) when it cannot be had. */
static bool
crypto_open(const char **why)
{
	static char err[256];
	void *h;

	if (crypto_loaded)
		return true;
	if ((h = dlopen(SONAME(OPENSSL_SHLIB_VERSION), RTLD_NOW |
	    RTLD_LOCAL)) == NULL) {
		snprintf(err, sizeof(err), "cannot load %s: %s",
		    SONAME(OPENSSL_SHLIB_VERSION), dlerror());
		*why = err;
		return false;
	}
#define X(f) \
	if ((*(void **)&crypto.f = dlsym(h, #f)) == NULL) { \
		snprintf(err, sizeof(err), "%s: no %s", \
		    SONAME(OPENSSL_SHLIB_VERSION), #f); \
		*why = err; \
		dlclose(h); \
		return false; \
	}
	CRYPTO_FUNCS
#undef X
	crypto_loaded = true;
	return true;
}

bool
sign_verify(const uint8_t pubkey[SIGN_PUBKEY_LEN], const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY *key;
	EVP_MD_CTX *ctx = NULL;
	const char *why;
	bool ok = false;

	if (siglen != SIGN_SIG_LEN || !crypto_open(&why))
		return false;
	key = crypto.EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pubkey,
	    SIGN_PUBKEY_LEN);
	if (key == NULL)
		return false;
	if ((ctx = crypto.EVP_MD_CTX_new()) == NULL)
		goto done;
	/* Ed25519 is one-shot: no digest, EVP_DigestVerify (EVP_PKEY-ED25519(7)). */
	if (crypto.EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
		goto done;
	ok = crypto.EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
done:
	crypto.EVP_MD_CTX_free(ctx);
	crypto.EVP_PKEY_free(key);
	return ok;
}

static int
pubkey_from_pkey(EVP_PKEY *key, uint8_t out[SIGN_PUBKEY_LEN],
    const char **why)
{
	size_t n = SIGN_PUBKEY_LEN;

	if (crypto.EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		*why = "not an Ed25519 key";
		return -1;
	}
	if (crypto.EVP_PKEY_get_raw_public_key(key, out, &n) != 1 ||
	    n != SIGN_PUBKEY_LEN) {
		*why = "cannot read the public key";
		return -1;
	}
	return 0;
}

int
sign_pubkey_parse(const char *text, size_t len,
    uint8_t out[SIGN_PUBKEY_LEN], const char **why)
{
	uint8_t *raw;
	size_t rawlen, where;
	int rc = -1;

	/* Loaded now, at start-up, whatever form the key has: it is needed
	 * to verify. */
	if (!crypto_open(why))
		return -1;
	if (len >= 10 && memcmp(text, "-----BEGIN", 10) == 0) {
		BIO *bio = crypto.BIO_new_mem_buf(text, (int)len);
		EVP_PKEY *key = bio ? crypto.PEM_read_bio_PUBKEY(bio, NULL,
		    NULL, NULL) : NULL;

		if (key == NULL)
			*why = "not a PEM public key";
		else
			rc = pubkey_from_pkey(key, out, why);
		crypto.EVP_PKEY_free(key);
		crypto.BIO_free(bio);
		return rc;
	}
	if (codec_b64_decode(text, len, &raw, &rawlen, why, &where) == -1)
		return -1;
	if (rawlen != SIGN_PUBKEY_LEN)
		*why = "an Ed25519 public key is 32 bytes";
	else {
		memcpy(out, raw, SIGN_PUBKEY_LEN);
		rc = 0;
	}
	free(raw);
	return rc;
}

int
sign_pubkey_load(const char *path, uint8_t out[SIGN_PUBKEY_LEN],
    const char **why)
{
	char buf[4096];
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		*why = strerror(errno);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == sizeof(buf)) {
		*why = "file too large for a public key";
		return -1;
	}
	return sign_pubkey_parse(buf, n, out, why);
}

int
sign_message(const char *keyfile, const uint8_t *msg, size_t len,
    uint8_t sig[SIGN_SIG_LEN], const char **why)
{
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t siglen = SIGN_SIG_LEN;
	FILE *f;
	int rc = -1;

	if (!crypto_open(why))
		return -1;
	if ((f = fopen(keyfile, "r")) == NULL) {
		*why = strerror(errno);
		return -1;
	}
	key = crypto.PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL || crypto.EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		*why = "not a PEM Ed25519 private key";
		goto done;
	}
	if ((ctx = crypto.EVP_MD_CTX_new()) == NULL ||
	    crypto.EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    crypto.EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 ||
	    siglen != SIGN_SIG_LEN) {
		*why = "signing failed";
		goto done;
	}
	rc = 0;
done:
	crypto.EVP_MD_CTX_free(ctx);
	crypto.EVP_PKEY_free(key);
	return rc;
}

/* Creates path exclusively with mode and writes the key through fn. */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *key, bool private_key,
    const char **why)
{
	FILE *f;
	int fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1) {
		*why = errno == EEXIST ? "key file exists; not overwriting" :
		    strerror(errno);
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		*why = strerror(errno);
		return -1;
	}
	ok = private_key ?
	    crypto.PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) :
	    crypto.PEM_write_PUBKEY(f, key);
	if (fclose(f) != 0 || !ok) {
		*why = "cannot write key file";
		return -1;
	}
	return 0;
}

int
sign_genkey(const char *dir, uint8_t pub[SIGN_PUBKEY_LEN], const char **why)
{
	char keypath[PATH_MAX], pubpath[PATH_MAX];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	int rc = -1;

	if ((size_t)snprintf(keypath, sizeof(keypath), "%s/fnguard-policy.key",
	    dir) >= sizeof(keypath) ||
	    (size_t)snprintf(pubpath, sizeof(pubpath), "%s/fnguard-policy.pub",
	    dir) >= sizeof(pubpath)) {
		*why = "directory name too long";
		return -1;
	}
	if (!crypto_open(why))
		return -1;
	ctx = crypto.EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (ctx == NULL || crypto.EVP_PKEY_keygen_init(ctx) != 1 ||
	    crypto.EVP_PKEY_keygen(ctx, &key) != 1) {
		*why = "key generation failed";
		goto done;
	}
	if (write_pem(keypath, 0600, key, true, why) == -1)
		goto done;
	if (write_pem(pubpath, 0644, key, false, why) == -1) {
		unlink(keypath);
		goto done;
	}
	rc = pubkey_from_pkey(key, pub, why);
done:
	crypto.EVP_PKEY_free(key);
	crypto.EVP_PKEY_CTX_free(ctx);
	return rc;
}
