/* lua_query.h — query objects (db.c:where{...}:sort(...):limit(n)) and
 * running them: each, list, ids, first, explain, and a row visitor that the
 * aggregates (lua_agg.h) run on.
 *
 * A query object is immutable: where, sort and limit return a new one. Its
 * conditions are copied into it (query.h); its predicate functions and sort
 * comparator are Lua values it references. Rows are read in the snapshot of
 * the statement, or inside kam.tx in its transaction (lua_entity.h); an
 * iterator holds its cursor until the loop ends, breaks (the iterator's
 * __close) or its snapshot ends. Rows outside the principal's read scope
 * (lua_entity.h) are skipped where they are read, so every way of running a
 * query (and the visitor the aggregates use) sees only readable rows. */
#ifndef KAM_LUA_QUERY_H
#define KAM_LUA_QUERY_H
#include "lua_entity.h"

/* ---- for the rest of kam ------------------------------------------------ */

int kam_is_query(lua_State *L, int idx);
/* Pushes the query's results as a list of entities, sorted and limited as
 * the query says (for output; entities as lua_entity.h says). */
void kam_query_list(lua_State *L, int idx);
const coll_def *kam_query_coll(lua_State *L, int idx);

/* q:explain(): the plan and the entries it read; with group()'s arguments,
 * how that group reads its rows (lua_agg.h). */
int kam_query_explain(lua_State *L);

/* ---- for the Lua layer --------------------------------------------------- */

/* The query userdata. uservalue 1: list of predicate functions; 2: sort
 * comparator. */
typedef struct lquery {
  query *q;            /* &qb while alive; NULL once its finalizer ran */
  query qb;
  int sort_field;      /* -1: none */
  int desc;
  lua_Integer limit;   /* <0: none */
  int is_coll;         /* db.<collection> itself */
} lquery;

/* The query at idx; raises if it is none, or was released. The pointer is
 * valid while the query is reachable from Lua. */
lquery *kam_check_query(lua_State *L, int idx);
/* Pushes a new query on all of c (c must outlive the state: the schema). */
lquery *kam_push_query(lua_State *L, const coll_def *c);
/* Has the query at qidx predicate functions / a sort comparator? */
int kam_query_has_preds(lua_State *L, int qidx);
int kam_query_has_sortfn(lua_State *L, int qidx);

/* Visiting the rows of a query in C: no Lua value per row unless
 * predicates or a sort need entities. fn returns 0 to go on, 1 to stop; it
 * may push, but leaves the stack as it found it. `want` is the field the
 * visit reads most (the plan may read it from an index). */
typedef struct kam_row kam_row;
typedef int (*kam_row_fn)(kam_row *r, void *ud);
void kam_query_visit(lua_State *L, int qidx, int want, kam_row_fn fn, void *ud);
/* A field of the visited row: strings point into the book's map, valid
 * until fn returns. Raises (after releasing the cursor) on a failed read. */
void kam_row_field(kam_row *r, int field, kval *out);
/* `want` for a visit whose fn pushes each row's entity and calls Lua with
 * it: inside kam.tx the rows are taken first, as each() does, since the
 * Lua called may write. */
#define KAM_WANT_ENTITY (-2)
/* Pushes the visited row's entity. */
void kam_row_push(kam_row *r);
/* lua_call for fn: an error goes on after the cursor is released. */
void kam_row_call(kam_row *r, int nargs, int nres);
/* Raises the error value on top of the stack from fn, after releasing the
 * cursor. */
int kam_row_error(kam_row *r);

/* For kam_lua_open_db: the query metatable's fields (__gc, __tostring), its
 * methods (where, all, sort, limit, each, list, ids, first, explain), and
 * the iterator metatable's fields (__gc, __close). */
extern const luaL_Reg kam_query_meta[];
extern const luaL_Reg kam_query_methods[];
extern const luaL_Reg kam_iter_meta[];

#endif
