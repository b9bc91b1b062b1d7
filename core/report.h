/* The C side of `kam report`: what the reports' Lua cannot do in the
 * sandbox. The report itself is a script of scripts/reports/ that returns
 * its page as text; cli.c runs it and hands the text here. */
#ifndef KAM_REPORT_H
#define KAM_REPORT_H

#include "kerr.h"
#include "store.h"

#include <stddef.h>

/* A report's name is a file of scripts/reports/ and nothing else:
 * [a-z0-9_], 1 to 40 characters, not a module of its own (labels,
 * common). 1 when it is such a name. */
int report_name_ok(const char *name);

/* The time of the book's newest write (its newest audit entry), which a
 * report prints as "as of": the same book gives the same page, whenever it
 * is made. "" for a book without writes. */
int report_as_of(kam_store *st, char *out, size_t n, kam_err *e);

/* Writes the page to path whole or not at all: a temporary file next to
 * it, flushed, then renamed over it; the folder is made when missing
 * (var/reports/). KAM_EDATA naming the path when it cannot. */
int report_write(const char *path, const char *text, size_t len, kam_err *e);

#endif
