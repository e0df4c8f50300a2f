/*
 * Option plumbing shared by the five commands: --version, the final
 * stdout check that turns a failed write (full disk, closed pipe) into the
 * I/O exit status, and input naming.
 */
#include "compat.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>

#include "exitcode.h"
#include "opts.h"

extern const char *__progname;

void
version_exit(void)
{
	printf("%s %s\n", __progname, DAGKIT_VERSION);
	exit(stdout_close(EXIT_OK));
}

int
stdout_close(int status)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (errno == EPIPE)
			return status;
		warn("stdout");
		/* What was asked for is lost: that is the news, not the
		 * outcome the status would have told (a run failed...). */
		return status == EXIT_USAGE || status == EXIT_BUG ||
		    status == EXIT_LOCKED || status > 128 ? status :
		    EXIT_SYSERR;
	}
	return status;
}

const char *
input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "<stdin>" : path;
}
