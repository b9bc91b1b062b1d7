/* lua_db.c — the `db` namespace and the registration of the Lua layer (see
 * lua_db.h): db.<collection> is a query on all of it, whose methods are the
 * query's (lua_query.c), the aggregates (lua_agg.c), and get / insert /
 * update / delete, which only check their arguments and pass them on. */
#include "lua_db.h"
#include "lua_audit.h"
#include "lua_decisions.h"

/* ---- reads and writes on a collection ---------------------------------- */

/* An entity given for an id stands for its id (it carries it: no read). */
static const char *id_arg(lua_State *L, int idx, size_t *n) {
  kam_entity_to_id(L, idx);
  return luaL_checklstring(L, idx, n);
}

static int c_get(lua_State *L) {
  const coll_def *c = kam_query_coll(L, 1);
  size_t n;
  const char *id = id_arg(L, 2, &n);
  return kam_entity_read(L, c, id, n);
}

static int c_insert(lua_State *L) {
  const coll_def *c = kam_query_coll(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  return kam_insert(L, c, 2);
}

static int c_update(lua_State *L) {
  const coll_def *c = kam_query_coll(L, 1);
  size_t n;
  const char *id = id_arg(L, 2, &n);
  luaL_checktype(L, 3, LUA_TTABLE);
  return kam_update(L, c, id, n, 3);
}

static int c_delete(lua_State *L) {
  const coll_def *c = kam_query_coll(L, 1);
  size_t n;
  const char *id = id_arg(L, 2, &n);
  return kam_delete(L, c, id, n);
}

static const luaL_Reg coll_methods[] = {
    {"get", c_get}, {"insert", c_insert}, {"update", c_update}, {"delete", c_delete}, {NULL, NULL}};

/* ---- db ------------------------------------------------------------------ */

static int db_index(lua_State *L) {
  kam_ctx *ctx = kam_ctx_get(L);
  const char *name = luaL_checkstring(L, 2);
  coll_def *c = schema_coll(ctx->sc, name);
  if (!c) return luaL_error(L, "db.%s: no such collection (see config/schema.yaml)", name);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1; /* made before */
  lua_pop(L, 1);
  lquery *lq = kam_push_query(L, c);
  lq->is_coll = 1;
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, lua_upvalueindex(1)); /* cached outside db, so db stays read-only */
  return 1;
}

static int db_newindex(lua_State *L) { return luaL_error(L, "db is read-only"); }

/* ---- registration -------------------------------------------------------- */

/* Pushes the new metatable of a userdata kind, with the fields of meta and
 * its identity kept in ctx (kam_udata compares it). getmetatable gives
 * false, so no script reaches it. */
static void new_kind(lua_State *L, kam_ctx *ctx, int kind, const char *tname, const char *name,
                     const luaL_Reg *meta) {
  luaL_newmetatable(L, tname);
  lua_pushvalue(L, -1);
  ctx->mt_ptr[kind] = lua_topointer(L, -1);
  ctx->mt_ref[kind] = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_setfuncs(L, meta, 0);
  if (name) { lua_pushstring(L, name); lua_setfield(L, -2, "__name"); }
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
}

static int count_of(const luaL_Reg *r) {
  int n = 0;
  while (r[n].name) n++;
  return n;
}

void kam_lua_open_db(kam_ctx *ctx) {
  lua_State *L = ctx->L;
  *(kam_ctx **)lua_getextraspace(L) = ctx;

  new_kind(L, ctx, KAM_UD_ENTITY, "kam.entity", "entity", kam_entity_meta);
  memset(ctx->field_memo, 0, sizeof ctx->field_memo);
  memset(ctx->field_memo_next, 0, sizeof ctx->field_memo_next);
  kam_entity_meta_open(L);
  lua_pop(L, 1);

  new_kind(L, ctx, KAM_UD_QUERY, "kam.query", "query", kam_query_meta);
  const luaL_Reg *methods[] = {kam_query_methods, kam_agg_methods, coll_methods};
  lua_createtable(L, 0, count_of(kam_query_methods) + count_of(kam_agg_methods) + count_of(coll_methods));
  for (int i = 0; i < 3; i++) luaL_setfuncs(L, methods[i], 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  new_kind(L, ctx, KAM_UD_ITER, "kam.iter", NULL, kam_iter_meta);
  lua_pop(L, 1);

  lua_newtable(L); /* db */
  lua_newtable(L);
  lua_newtable(L);
  lua_pushcclosure(L, db_index, 1); lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, db_newindex); lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0); lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setglobal(L, "db");
  lua_getglobal(L, "kam");
  lua_insert(L, -2);
  lua_setfield(L, -2, "db");
  lua_pushcfunction(L, kam_l_tx);
  lua_setfield(L, -2, "tx");
  lua_pushcfunction(L, kam_l_audit);
  lua_setfield(L, -2, "audit");
  lua_pushcfunction(L, kam_l_decisions);
  lua_setfield(L, -2, "decisions");
  lua_pop(L, 1);
}
