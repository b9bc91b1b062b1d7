/* json_check.h — JSON text checked by RFC 8259 alone, before cJSON reads it.
 *
 * cJSON is lenient: it reads the first document of a text and ignores what
 * follows, cuts text at \u0000, rounds whole numbers past 2^53, keeps both
 * values of a key given twice, and takes 01, 1., raw control characters and
 * bytes that are not UTF-8. json_check refuses all of that, and nesting
 * deeper than 512 levels, in one linear pass, at the offset of the first
 * offence, with a message that says what is wrong in plain words. Nothing
 * it allocates outlives the call; it keeps no state between calls. */
#ifndef KAM_JSON_CHECK_H
#define KAM_JSON_CHECK_H
#include <stddef.h>

/* Checks one JSON text of len bytes (a file without its UTF-8 BOM, or a CSV
 * cell when in_cell: its messages then give no line:col of their own).
 * 1 if it is JSON; else 0, *err_at the offset in buf of the offence and msg
 * (msglen bytes, NUL-terminated, cut if need be) what is wrong. */
int json_check(const char *buf, size_t len, int in_cell, size_t *err_at, char *msg, size_t msglen);

/* line:col (both from 1, columns in characters of UTF-8) of offset off. */
void text_pos(const char *buf, size_t off, long *line, long *col);
/* Moves line:col on over the n bytes at p: where counting goes on from a
 * position already counted. */
void text_advance(const char *p, size_t n, long *line, long *col);

#endif
