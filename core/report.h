/* The C side of `kam report`: what the reports' Lua cannot do in the
 * sandbox. The report itself is a script of scripts/reports/ that returns
 * its page as text; cli.c runs it and hands the text here. */
#ifndef KAM_REPORT_H
#define KAM_REPORT_H

#include "kerr.h"
#include "store.h"

#include <lua.h>
#include <stddef.h>

/* What a report is asked for: kam report's arguments, or a schedule's
 * step `report KIND [ID] [--period P] [--lang vi|en] [--format F] -o FILE`. */
typedef struct report_args {
  char kind[48], id[64], period[32], lang[4], format[8], out[512]; /* "" when not given */
} report_args;

/* The format and language asked for are ones reports have: KAM_EUSAGE
 * ("WHO: --lang fr: expected vi or en") or 0. */
int report_check_lang_format(const char *lang, const char *format, const char *who, kam_err *e);

/* Reads a schedule's report step into a (lang vi and format html unless
 * given). -o is required: a job has no terminal. KAM_EUSAGE naming what is
 * wrong, or 0. Whether the report's file exists is the run's and kam
 * check's to say. */
int report_step_parse(const char *step, report_args *a, kam_err *e);

/* Pushes scripts/reports/KIND.lua of the project at root, compiled in the
 * sandbox, ready to call with no arguments, after setting the global
 * `report` {kind, id, period, lang, format, as_of} it reads. KAM_EUSAGE
 * for a report that is not there; a script that does not compile is
 * KAM_EDATA with its message. */
int report_push(lua_State *L, const char *root, const report_args *a, const char *as_of, kam_err *e);

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
