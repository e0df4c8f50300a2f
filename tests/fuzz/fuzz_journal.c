/* libFuzzer harness: replaying an events.jsonl of arbitrary bytes. */
#include "../../lib/compat.h"

#include "../../lib/dag.h"
#include "../../lib/diag.h"
#include "../../lib/journal.h"
#include "../../lib/state.h"
#include "../../lib/strbuf.h"
#include "../../lib/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dag *g;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char doc[] = "{\"steps\": [{\"id\": \"a\", \"run\": "
	    "\"true\"}, {\"id\": \"b\", \"needs\": [\"a\"], \"run\": "
	    "\"true\"}]}";
	struct strbuf sb = STRBUF_INIT;
	struct runstate rs;
	struct diag d;

	if (g == NULL) {
		diag_init(&d, "dag");
		g = dag_load_buf(xstrdup(doc), sizeof(doc) - 1, "dag", NULL, 0,
		    &d);
		diag_release(&d);
	}
	state_init(&rs, g);
	(void)journal_replay((const char *)data, size, g, &rs);
	if (rs.id == NULL)
		rs.id = xstrdup("x");
	if (rs.dag == NULL)
		rs.dag = xstrdup("x");
	state_emit(&rs, g, &sb);
	strbuf_release(&sb);
	state_release(&rs);
	return 0;
}
