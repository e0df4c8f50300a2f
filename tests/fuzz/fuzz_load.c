/* libFuzzer harness: the DAG loader and validator on arbitrary bytes. */
#include "../../lib/compat.h"

#include "../../lib/dag.h"
#include "../../lib/diag.h"
#include "../../lib/strbuf.h"
#include "../../lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	struct diag d;
	struct dag *g;
	char *buf = xmalloc(size + 1);

	memcpy(buf, data, size);
	buf[size] = '\0';
	diag_init(&d, "fuzz.json");
	/* Expressions are compiled too: libjq's parser sees user text. */
	g = dag_load_buf(buf, size, "fuzz.json", NULL, 0, &d);
	if (g != NULL) {
		dag_emit(g, &sb, NULL);
		strbuf_release(&sb);
		dag_free(g);
	}
	diag_release(&d);
	return 0;
}
