/*
 * The one include that sets feature macros and pulls in libbsd's overlay
 * (strlcpy, strlcat, strtonum: glibc 2.36 lacks them).  Every lib/ and cmd/
 * file includes this first.
 */
#ifndef COMPAT_H
#define COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

/* With -isystem /usr/include/bsd -DLIBBSD_OVERLAY these are libbsd's. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define DAGKIT_VERSION "0.1.0"

#endif
