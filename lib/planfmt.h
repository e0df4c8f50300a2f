#ifndef PLANFMT_H
#define PLANFMT_H

struct dag;
struct plan;
struct strbuf;

enum planfmt {
	PLANFMT_JSON, PLANFMT_TEXT, PLANFMT_DOT, PLANFMT_MERMAID, PLANFMT_MAKE,
	PLANFMT_SLURM
};

/* Parses a --format name; -1 if unknown. */
int	planfmt_parse(const char *, enum planfmt *);
/* Renders the plan in a human or graph format (not JSON) into sb. */
void	planfmt_render(const struct dag *, const struct plan *, enum planfmt,
	    struct strbuf *);

#endif
