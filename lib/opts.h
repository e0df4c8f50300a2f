#ifndef OPTS_H
#define OPTS_H

#include <stdio.h>

/* What every command shares. */
__attribute__((__noreturn__)) void version_exit(void);
/* Flushes and checks stdout; returns status, or EXIT_SYSERR on error. */
int	stdout_close(int status);
/* The display name of an input: "<stdin>" for "-". */
const char *input_name(const char *path);

#endif
