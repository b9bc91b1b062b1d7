/* output.h — how values reach people and other programs: an aligned table,
 * JSON, CSV, YAML or Lua text. Modes are data (an enum and its names), as in
 * the SQLite shell.
 *
 * Every function here leaves the Lua stack as it found it; idx may be
 * relative. A kbuf passed in is the caller's: it is appended to, never
 * freed. Errors are raised as Lua errors (out_check's refusals, an entity
 * whose snapshot ended). The width (out_set_width) is one for the process. */
#ifndef KAM_OUTPUT_H
#define KAM_OUTPUT_H
#include "buf.h"
#include "schema.h"
#include <lua.h>
#include <stdio.h>

typedef enum { FMT_TABLE, FMT_JSON, FMT_CSV, FMT_YAML, FMT_LUA } out_fmt;
/* The modes' names in enum order, NULL-terminated. */
extern const char *const out_fmt_names[];
/* Sets *f to the mode named s; returns 0 (f untouched) for no such name. */
int out_fmt_parse(const char *s, out_fmt *f);

typedef struct out_opts {
  out_fmt fmt;
  int headers;      /* CSV and table headers */
  int max_width;    /* table cell width cap (display columns) */
  const int *fields; int nfields; /* columns for entities (NULL: the schema's) */
} out_opts;

/* Tables (and Lua text) fit lines of this many columns: the terminal's width
 * while the REPL prints to it; 0 (the default) for no limit. */
void out_set_width(int cols);

/* Raises an error, before anything is formatted, for a value no format can
 * print: tables nested deeper than 32, a table inside itself, more than
 * 2.000.000 values in all. out_value checks by itself. */
void out_check(lua_State *L, int idx);
/* Renders the Lua value at idx. In table mode an entity shows as field /
 * value lines, a query or a list of entities as a table of the schema's
 * columns, a map as key / value rows, nested tables as Lua. */
void out_value(lua_State *L, int idx, const out_opts *o, FILE *f);
/* Renders a list of records (Lua tables) with the columns in that order
 * (NULL-terminated); modes other than table and CSV print it as a value. */
void out_rows(lua_State *L, int idx, const char *const *cols, const out_opts *o, FILE *f);
/* Renders a Lua list of entities of collection c. */
void out_entities(lua_State *L, int idx, const coll_def *c, const out_opts *o, FILE *f);
/* Renders a Lua list of records (tables) with the given column names (a Lua
 * list at cols), in that order; modes other than table and CSV print it as
 * a value. */
void out_records(lua_State *L, int idx, int cols, const out_opts *o, FILE *f);
/* The value at idx as Lua text: inline when it fits in width columns, else
 * one key per line, indented (the `lua` mode; nested tables in a table). */
void lua_text(lua_State *L, int idx, kbuf *b, int width);
/* A light userdata that JSON writes as null, for a record whose value is
 * absent (a Lua table cannot hold nil): push it with
 * lua_pushlightuserdata(L, (void *)&out_null). */
extern const char out_null;
/* JSON string escaping into a buffer. */
void json_str(kbuf *b, const char *s, size_t n);
/* A stored value as JSON (lists and maps nested). */
void json_kval(kbuf *b, const kval *v);
/* Display width of UTF-8 text (code points, combining marks count 0). */
size_t utf8_width(const char *s, size_t n);

#endif
