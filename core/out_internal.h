/* out_internal.h — what the output files share with each other; the rest of
 * core uses output.h. Who does what:
 *
 *   output.c      the entry points: mode names, out_check, out_value's dispatch
 *   out_json.c    JSON (Lua values, stored values, entities)
 *   out_text.c    Lua text and YAML (one walker over a value's items)
 *   out_grid.c    cells and grids: the aligned table and CSV
 *   out_entity.c  an entity, a query, a list of entities in every mode
 *
 * Unless a comment says it pushes, a function here leaves the Lua stack as it
 * found it; a stack index may be relative. A kbuf is the caller's: these
 * functions append to it and never free it. Errors are Lua errors (a
 * snapshot that ended, a __pairs that raises), so a caller holding heap
 * memory across them checks first (out_check). */
#ifndef KAM_OUT_INTERNAL_H
#define KAM_OUT_INTERNAL_H
#include "output.h"

/* ---- output.c: what every format reads --------------------------------- */

/* The columns out_set_width set: 0 for no limit. */
int out_fit_width(void);
/* Is the table at idx a list (its keys exactly 1..#t)? */
int out_is_array(lua_State *L, int idx);
/* Appends the keys of the table at idx (raw: lua_next) to the Lua list at
 * stack index list after its first n items; returns the list's new length. */
lua_Integer out_raw_keys(lua_State *L, int idx, int list, lua_Integer n);
/* Sorts the Lua list at stack index list in place, numbers before strings,
 * then by value, with the table.sort kam loaded (a script may replace the
 * global `table`): the same table always prints the same. */
void out_sort_keys(lua_State *L, int list);

/* ---- out_json.c -------------------------------------------------------- */

/* Appends the value at idx as JSON: map keys sorted, an entity as an object
 * of its fields, a query as the list of its entities. Tables nested deeper
 * than 32 below depth print as null. */
void out_json_lua(lua_State *L, int idx, kbuf *b, int depth);
/* Appends the entity at idx as a JSON object of its non-nil fields, in
 * schema order. */
void out_json_entity(lua_State *L, int idx, kbuf *b);

/* ---- out_text.c -------------------------------------------------------- */

/* Appends the value at idx as one line of Lua text; returns 0 when it grew
 * wider than limit display columns (the text written so far stays: the
 * caller cuts b back or marks it). seen is the stack index of a table the
 * caller made for cycle marks (empty, and empty again on return). */
int out_lua_inline(lua_State *L, int idx, kbuf *b, size_t limit, int seen, int depth);
/* Appends the value at idx as a YAML document, ending with a newline. */
void out_yaml_value(lua_State *L, int idx, kbuf *b);

/* ---- out_grid.c -------------------------------------------------------- */

/* Rows of text cells, printed as an aligned table or as CSV. */
typedef struct grid {
  int ncol, nrow;
  kbuf *cells; /* nrow * ncol, row 0 is the header */
  int *right;  /* right-align the column (numbers) */
} grid;

/* Allocates nrow * ncol empty cells; nrow may be lowered before
 * grid_print, but grid_free must see the nrow the grid was made with. */
void grid_init(grid *g, int ncol, int nrow);
/* Writes the grid to f: CSV for FMT_CSV, else the aligned table (cells cut
 * at o->max_width, columns fitted to out_set_width's width in table mode).
 * Row 0 only when o->headers. */
void grid_print(grid *g, const out_opts *o, FILE *f);
void grid_free(grid *g);
/* Appends the value at idx as cell text. human (table mode): money with
 * separators and ₫ (type t), other large integers with separators, nested
 * tables as Lua; otherwise plain numbers and nested tables as JSON. An
 * entity shows its id. */
void out_cell_text(lua_State *L, int idx, kbuf *b, ftype t, int human);
/* Prints the first n records of the list at idx, one row each; names is the
 * stack index of a Lua list of the ncol keys, in column order. */
void grid_records(lua_State *L, int idx, lua_Integer n, int names, int ncol, const out_opts *o, FILE *f);
/* Prints the list at idx as a grid when every item is a record (a table
 * that is not a list), columns from their keys in first-seen order;
 * returns 0, printing nothing, otherwise. */
int grid_record_list(lua_State *L, int idx, const out_opts *o, FILE *f);
/* Prints what group() over several keys or with named aggregates returned
 * as one row per leaf (a column per key, then per aggregate; money as
 * money in table mode), each level in the order of its keys' text; returns
 * 0, printing nothing, for any other value or one a script reshaped. */
int grid_group(lua_State *L, int idx, const out_opts *o, FILE *f);
/* Prints the map at idx as key / value rows sorted by key. */
void grid_map(lua_State *L, int idx, const out_opts *o, FILE *f);

/* ---- out_entity.c ------------------------------------------------------ */

/* Prints the value at idx when it is a query, an entity or a list of
 * entities of one collection, in the table, CSV or YAML mode; returns 0,
 * printing nothing, for any other value. */
int out_entity_view(lua_State *L, int idx, const out_opts *o, FILE *f);

#endif
