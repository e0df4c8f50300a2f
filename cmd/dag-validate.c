#include "../lib/compat.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>

#include "../lib/dag.h"
#include "../lib/exitcode.h"
#include "../lib/opts.h"
#include "../lib/validate.h"

enum { OPT_VERSION = 256, OPT_NAME };

static const struct option longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, 'j' },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "quiet", no_argument, NULL, 'q' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static __dead void
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: dag-validate [-hjq] [--name name] [--version] "
	    "[file ...]\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	static char *stdin_only[] = { "-", NULL };
	struct validate_opts o = { 0 };
	int ch;

	while ((ch = getopt_long(argc, argv, "hjq", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, EXIT_OK);
		case 'j':
			o.json = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case OPT_NAME:
			if (!dag_name_ok(optarg))
				errx(EXIT_USAGE, "--name '%s': must be 1 to 100 "
				    "bytes of UTF-8", optarg);
			o.name = optarg;
			break;
		case OPT_VERSION:
			version_exit();
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	o.files = argc > optind ? argv + optind : stdin_only;
	o.nfiles = argc > optind ? argc - optind : 1;
	return stdout_close(validate_main(&o));
}
