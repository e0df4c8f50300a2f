/* libFuzzer harness: the duration parser and formatter. */
#include "../../lib/compat.h"

#include "../../lib/duration.h"
#include "../../lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size), buf[64];
	const char *why;
	double secs;

	if (duration_parse(s, &secs, &why) == 0) {
		if (!(secs >= 0 && secs <= DURATION_MAX))
			__builtin_trap();
		duration_format(secs, buf, sizeof(buf));
	}
	free(s);
	return 0;
}
