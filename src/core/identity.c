/* identity — see include/fnguard/identity.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fnguard/identity.h"

static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static const char *
first(const char *a, const char *b)
{
	return a != NULL && a[0] != '\0' ? a : b;
}

void
identity_from_env(struct identity *id, char *const *envp)
{
	const char *v;

	memset(id, 0, sizeof(*id));
	id->function = id->region = id->account = id->runtime = "";
	id->request_id = "";
	id->provider = "others";
	if ((v = env_get(envp, "AWS_LAMBDA_FUNCTION_NAME")) != NULL ||
	    env_get(envp, "AWS_LAMBDA_RUNTIME_API") != NULL) {
		id->provider = "aws";
		id->function = first(v, "");
		id->region = first(env_get(envp, "AWS_REGION"),
		    first(env_get(envp, "AWS_DEFAULT_REGION"), ""));
		/* "AWS_Lambda_python3.12" */
		v = env_get(envp, "AWS_EXECUTION_ENV");
		if (v != NULL && strncmp(v, "AWS_Lambda_", 11) == 0)
			v += 11;
		id->runtime = first(v, "");
	} else if ((v = env_get(envp, "WEBSITE_SITE_NAME")) != NULL) {
		id->provider = "azure";
		id->function = v;
		id->region = first(env_get(envp, "REGION_NAME"), "");
		/* "SUBSCRIPTION+RESOURCEGROUP-REGIONwebspace": the account is
		 * the subscription before the '+'. */
		v = first(env_get(envp, "WEBSITE_OWNER_NAME"), "");
		snprintf(id->account_buf, sizeof(id->account_buf), "%.*s",
		    (int)strcspn(v, "+"), v);
		id->account = id->account_buf;
		id->runtime = first(env_get(envp, "FUNCTIONS_WORKER_RUNTIME"),
		    "");
	} else if ((v = first(env_get(envp, "K_SERVICE"),
	    env_get(envp, "FUNCTION_TARGET"))) != NULL) {
		id->provider = "gcp";
		id->function = v;
		id->region = first(env_get(envp, "FUNCTION_REGION"), "");
		id->account = first(env_get(envp, "GOOGLE_CLOUD_PROJECT"),
		    first(env_get(envp, "GCP_PROJECT"), ""));
		id->runtime = first(env_get(envp, "GOOGLE_RUNTIME"), "");
	}
}

void
identity_override(struct identity *id, const char *function,
    const char *region, const char *provider, const char *account,
    const char *runtime)
{
	if (function != NULL)
		id->function = function;
	if (region != NULL)
		id->region = region;
	if (provider != NULL)
		id->provider = provider;
	if (account != NULL)
		id->account = account;
	if (runtime != NULL)
		id->runtime = runtime;
}

int
identity_add_label(struct identity *id, const char *label)
{
	const char *colon = strchr(label, ':');

	if (colon == NULL || colon == label || id->nlabels >= IDENTITY_MAX_LABELS)
		return -1;
	id->labels[id->nlabels++] = label;
	return 0;
}
