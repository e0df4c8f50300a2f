/* libFuzzer harness: {{ }} templates, their places in a shell command
 * (lib/shctx.c) and the jq source scanner. */
#include "../../lib/compat.h"

#include "../../lib/jqexpr.h"
#include "../../lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
ref(void *arg, const char *id, size_t len, int certain)
{
	(void)arg;
	(void)id;
	(void)len;
	(void)certain;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct tmpl t;
	const char *why;
	size_t bad;

	if (tmpl_parse(s, &t, &why) == 0) {
		(void)tmpl_shell_places(&t, &bad, &why);
		tmpl_release(&t);
	}
	(void)jqx_balanced(s);
	(void)jqx_step_refs(s, ref, NULL);
	free(s);
	return 0;
}
