/*
 * check_identity — which function this is (SPEC section 1, "Function
 * identity"): read from the AWS, Azure and GCP environments, overridden by
 * flags, plus --label values.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnguard/identity.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct env_case {
	const char *what;
	char *env[10];
	const char *function, *region, *provider, *account, *runtime;
} env_cases[] = {
	{ "aws lambda",
	  { "PATH=/var/lang/bin:/usr/bin",
	    "AWS_LAMBDA_FUNCTION_NAME=payments-api",
	    "AWS_REGION=us-east-1",
	    "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
	    "AWS_EXECUTION_ENV=AWS_Lambda_python3.12",
	    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512", NULL },
	  "payments-api", "us-east-1", "aws", "", "python3.12" },
	{ "aws lambda, node, other order",
	  { "AWS_EXECUTION_ENV=AWS_Lambda_nodejs20.x",
	    "AWS_REGION=eu-west-1",
	    "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
	    "AWS_LAMBDA_FUNCTION_NAME=thumbnailer", NULL },
	  "thumbnailer", "eu-west-1", "aws", "", "nodejs20.x" },
	{ "aws lambda, no execution env",
	  { "AWS_LAMBDA_FUNCTION_NAME=custom-rt",
	    "AWS_REGION=ap-southeast-2",
	    "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001", NULL },
	  "custom-rt", "ap-southeast-2", "aws", "", "" },
	{ "azure functions",
	  { "WEBSITE_SITE_NAME=orders-func",
	    "REGION_NAME=West Europe",
	    "WEBSITE_OWNER_NAME=subid+rg-westeuropewebspace",
	    "FUNCTIONS_WORKER_RUNTIME=python",
	    "HOME=/home", NULL },
	  "orders-func", "West Europe", "azure", "subid", "python" },
	{ "azure functions, real-looking subscription",
	  { "FUNCTIONS_WORKER_RUNTIME=node",
	    "WEBSITE_OWNER_NAME=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0+my-rg-"
	    "EastUSwebspace",
	    "REGION_NAME=East US",
	    "WEBSITE_SITE_NAME=billing", NULL },
	  "billing", "East US", "azure",
	  "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "node" },
	{ "gcp cloud run / functions gen2",
	  { "K_SERVICE=image-resizer",
	    "FUNCTION_REGION=us-central1",
	    "GOOGLE_CLOUD_PROJECT=my-project", NULL },
	  "image-resizer", "us-central1", "gcp", "my-project", "" },
	{ "gcp functions framework",
	  { "FUNCTION_TARGET=handleRequest",
	    "FUNCTION_REGION=europe-west1",
	    "GOOGLE_CLOUD_PROJECT=acme-prod", NULL },
	  "handleRequest", "europe-west1", "gcp", "acme-prod", "" },
	{ "nothing known",
	  { "PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8", NULL },
	  "", "", "others", "", "" },
	{ "empty environment",
	  { NULL },
	  "", "", "others", "", "" },
	/* Names that only start like the platform's variables. */
	{ "look-alike names",
	  { "AWS_LAMBDA_FUNCTION_NAMES=x", "AWS_LAMBDA_RUNTIME_API_X=y",
	    "WEBSITE_SITE_NAME_OLD=z", "K_SERVICES=w",
	    "FUNCTION_TARGETS=v", NULL },
	  "", "", "others", "", "" },
	{ "look-alike region next to the real one",
	  { "AWS_REGIONS=bad", "AWS_LAMBDA_FUNCTION_NAME=f",
	    "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
	    "AWS_REGION=us-west-2", NULL },
	  "f", "us-west-2", "aws", "", "" },
};

static void
assert_field(const char *what, const char *field, const char *got,
    const char *want)
{
	ck_assert_msg(got != NULL, "%s: %s is NULL, want \"%s\"", what, field,
	    want);
	ck_assert_msg(strcmp(got, want) == 0, "%s: %s \"%s\", want \"%s\"",
	    what, field, got, want);
}

START_TEST(test_from_env)
{
	const struct env_case *c = &env_cases[_i];
	struct identity id;

	memset(&id, 0x5a, sizeof(id));
	identity_from_env(&id, c->env);
	assert_field(c->what, "function", id.function, c->function);
	assert_field(c->what, "region", id.region, c->region);
	assert_field(c->what, "provider", id.provider, c->provider);
	assert_field(c->what, "account", id.account, c->account);
	assert_field(c->what, "runtime", id.runtime, c->runtime);
	assert_field(c->what, "request_id", id.request_id, "");
	ck_assert_uint_eq(id.nlabels, 0);
}
END_TEST

START_TEST(test_from_null_env)
{
	struct identity id;

	identity_from_env(&id, NULL);
	ck_assert_str_eq(id.provider, "others");
	ck_assert_str_eq(id.function, "");
	ck_assert_str_eq(id.region, "");
	ck_assert_str_eq(id.account, "");
	ck_assert_str_eq(id.runtime, "");
	ck_assert_uint_eq(id.nlabels, 0);
}
END_TEST

/* The strings point into envp: nothing is copied. */
START_TEST(test_points_into_env)
{
	char name[] = "AWS_LAMBDA_FUNCTION_NAME=payments-api";
	char region[] = "AWS_REGION=us-east-1";
	char api[] = "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001";
	char *env[] = { name, region, api, NULL };
	struct identity id;

	identity_from_env(&id, env);
	ck_assert_ptr_eq(id.function,
	    name + strlen("AWS_LAMBDA_FUNCTION_NAME="));
	ck_assert_ptr_eq(id.region, region + strlen("AWS_REGION="));
}
END_TEST

START_TEST(test_override)
{
	char *env[] = { "AWS_LAMBDA_FUNCTION_NAME=payments-api",
	    "AWS_REGION=us-east-1", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001",
	    "AWS_EXECUTION_ENV=AWS_Lambda_python3.12", NULL };
	struct identity id;

	identity_from_env(&id, env);
	/* NULL leaves a field as read. */
	identity_override(&id, NULL, "eu-central-1", NULL, "123456789012",
	    NULL);
	ck_assert_str_eq(id.function, "payments-api");
	ck_assert_str_eq(id.region, "eu-central-1");
	ck_assert_str_eq(id.provider, "aws");
	ck_assert_str_eq(id.account, "123456789012");
	ck_assert_str_eq(id.runtime, "python3.12");

	identity_override(&id, "billing", "westeurope", "azure", "sub-1",
	    "dotnet");
	ck_assert_str_eq(id.function, "billing");
	ck_assert_str_eq(id.region, "westeurope");
	ck_assert_str_eq(id.provider, "azure");
	ck_assert_str_eq(id.account, "sub-1");
	ck_assert_str_eq(id.runtime, "dotnet");

	/* An empty flag value overrides too. */
	identity_override(&id, "", NULL, NULL, NULL, NULL);
	ck_assert_str_eq(id.function, "");
	ck_assert_str_eq(id.region, "westeurope");

	identity_override(&id, NULL, NULL, NULL, NULL, NULL);
	ck_assert_str_eq(id.function, "");
	ck_assert_str_eq(id.provider, "azure");
}
END_TEST

START_TEST(test_override_without_platform)
{
	char *env[] = { "PATH=/usr/bin", NULL };
	struct identity id;

	identity_from_env(&id, env);
	identity_override(&id, "local-test", "us-east-1", "aws", NULL, NULL);
	ck_assert_str_eq(id.function, "local-test");
	ck_assert_str_eq(id.region, "us-east-1");
	ck_assert_str_eq(id.provider, "aws");
	ck_assert_str_eq(id.account, "");
	ck_assert_str_eq(id.runtime, "");
}
END_TEST

START_TEST(test_labels)
{
	static const struct {
		const char *label;
		int want;
	} cases[] = {
		{ "team:payments", 0 },
		{ "region:us-east-1", 0 },
		{ "url:https://example.com", 0 },	/* value with ':' */
		{ "novalue", -1 },
		{ ":value", -1 },
		{ "", -1 },
	};
	char *env[] = { NULL };
	struct identity id;
	size_t i, kept = 0;

	identity_from_env(&id, env);
	for (i = 0; i < NELEM(cases); i++) {
		ck_assert_msg(identity_add_label(&id, cases[i].label) ==
		    cases[i].want, "label \"%s\"", cases[i].label);
		if (cases[i].want == 0) {
			ck_assert_str_eq(id.labels[kept], cases[i].label);
			kept++;
		}
		ck_assert_uint_eq(id.nlabels, kept);
	}
	ck_assert_str_eq(id.labels[0], "team:payments");
	ck_assert_str_eq(id.labels[1], "region:us-east-1");
	ck_assert_str_eq(id.labels[2], "url:https://example.com");
}
END_TEST

START_TEST(test_labels_full)
{
	static char labels[IDENTITY_MAX_LABELS + 1][16];
	char *env[] = { NULL };
	struct identity id;
	size_t i;

	identity_from_env(&id, env);
	for (i = 0; i < IDENTITY_MAX_LABELS + 1; i++)
		snprintf(labels[i], sizeof(labels[i]), "k%zu:v%zu", i, i);
	for (i = 0; i < IDENTITY_MAX_LABELS; i++)
		ck_assert_msg(identity_add_label(&id, labels[i]) == 0,
		    "label %zu refused", i);
	ck_assert_uint_eq(id.nlabels, IDENTITY_MAX_LABELS);
	ck_assert_int_eq(identity_add_label(&id, labels[IDENTITY_MAX_LABELS]),
	    -1);
	ck_assert_uint_eq(id.nlabels, IDENTITY_MAX_LABELS);
	for (i = 0; i < IDENTITY_MAX_LABELS; i++)
		ck_assert_str_eq(id.labels[i], labels[i]);
}
END_TEST

static Suite *
identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc;

	tc = tcase_create("environment");
	tcase_add_loop_test(tc, test_from_env, 0, NELEM(env_cases));
	tcase_add_test(tc, test_from_null_env);
	tcase_add_test(tc, test_points_into_env);
	suite_add_tcase(s, tc);

	tc = tcase_create("flags");
	tcase_add_test(tc, test_override);
	tcase_add_test(tc, test_override_without_platform);
	tcase_add_test(tc, test_labels);
	tcase_add_test(tc, test_labels_full);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(identity_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
