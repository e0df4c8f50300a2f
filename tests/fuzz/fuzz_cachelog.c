/*
 * libFuzzer harness: a line of the incremental cache's log, past its
 * checksum (which random bytes would never pass).  What parses must print
 * as a line that parses again, and from then on the same line (the first
 * print may normalize text, e.g. invalid UTF-8 to U+FFFD).
 */
#include "../../lib/compat.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/cache.h"
#include "../../lib/cacheint.h"
#include "../../lib/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses a printed line ("\n" JSON " " HASH "\n") and prints it again. */
static void
again(const struct strbuf *in, struct strbuf *out)
{
	struct cache_entry *e;

	if ((e = cachelog_parse(in->buf + 1, in->len - 35)) == NULL)
		abort();
	cachelog_format(e, out);
	cache_entry_free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT, c = STRBUF_INIT;
	struct cache_entry *e;

	if ((e = cachelog_parse((const char *)data, size)) == NULL)
		return 0;
	cachelog_format(e, &a);
	cache_entry_free(e);
	again(&a, &b);
	again(&b, &c);
	if (b.len != c.len || memcmp(b.buf, c.buf, b.len) != 0)
		abort();
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&c);
	return 0;
}
