/*
 * identity — which function this is (SPEC section 1): from the platform's
 * environment, overridden by flags. Used for rule scoping and in every audit.
 */
#ifndef FNGUARD_IDENTITY_H
#define FNGUARD_IDENTITY_H

#include <stddef.h>

#define IDENTITY_MAX_LABELS 32

struct identity {
	const char *function;
	const char *region;
	const char *provider;	/* "aws", "azure", "gcp" or "others" */
	const char *account;
	const char *runtime;
	const char *request_id;
	const char *labels[IDENTITY_MAX_LABELS];	/* "KEY:VALUE" */
	size_t nlabels;
	char account_buf[128];	/* Azure: subscription cut from its owner;
				   account may point here, so do not copy
				   a struct identity by value */
};

/*
 * Fills id from envp (NULL-terminated "NAME=VALUE" strings, as environ).
 * The strings point into envp; nothing is allocated. Fields not found are
 * "" (provider "others").
 */
void identity_from_env(struct identity *id, char *const *envp);

/* Applies the flag overrides that are non-NULL. */
void identity_override(struct identity *id, const char *function,
    const char *region, const char *provider, const char *account,
    const char *runtime);

/* Adds a --label KEY:VALUE. Returns -1 when full or malformed. */
int identity_add_label(struct identity *id, const char *label);

#endif
