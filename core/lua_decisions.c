/* lua_decisions.c — kam.decisions{...} (see lua_decisions.h). The records
 * are copied into a buffer a userdata owns, and the JSON of a result is
 * read into it too, before any Lua table is made: a Lua error (memory)
 * while building them leaves nothing of C's behind. */
#include "lua_decisions.h"
#include "decisions.h"
#include "lua_entity.h"
#include "lua_value.h"
#include "sandbox.h"
#include <cjson/cJSON.h>
#include <string.h>

typedef struct collected { kbuf b; int n; } collected;

static int collected_gc(lua_State *L) {
  collected *x = lua_touserdata(L, 1);
  kbuf_free(&x->b);
  return 0;
}

/* A decision as nine values (val_put), DC_POLICY .. DC_RUN in order, then
 * the result read from its JSON when a scalar, else null. */
static void keep(const MDB_val *rec, void *ud) {
  collected *x = ud;
  kval f[DC_RUN + 1];
  for (int i = 0; i <= DC_RUN; i++) f[i] = kv_null();
  rec_iter it;
  uint32_t fid;
  kval v;
  if (!rec_iter_init(&it, rec->mv_data, rec->mv_size)) return;
  while (rec_next(&it, &fid, &v))
    if (fid >= 1 && fid <= DC_RUN) f[fid] = v;
  for (int i = 1; i <= DC_RUN; i++) val_put(&x->b, &f[i]);
  kval scalar = kv_null();
  cJSON *j = f[DC_RESULT].tag == KV_STR ? cJSON_ParseWithLength(f[DC_RESULT].u.s.p, f[DC_RESULT].u.s.len) : NULL;
  if (cJSON_IsString(j)) scalar = kv_str(j->valuestring, strlen(j->valuestring));
  else if (cJSON_IsBool(j)) scalar = kv_bool(cJSON_IsTrue(j));
  else if (cJSON_IsNumber(j))
    scalar = j->valuedouble == (double)(int64_t)j->valuedouble ? kv_int((int64_t)j->valuedouble) : kv_num(j->valuedouble);
  val_put(&x->b, &scalar); /* copied: the JSON tree goes now */
  cJSON_Delete(j);
  x->n++;
}

int kam_l_decisions(lua_State *L) {
  kam_ctx *ctx = kam_ctx_get(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "coll");
  lua_getfield(L, 1, "id");
  lua_getfield(L, 1, "policy");
  const char *coll = luaL_optstring(L, 2, NULL), *policy = luaL_optstring(L, 4, NULL);
  size_t idlen = 0;
  const char *id = luaL_optlstring(L, 3, NULL, &idlen);
  if (!coll || !id) return luaL_error(L, "kam.decisions: coll = \"clients\", id = \"CL-000001\" name the record");
  const coll_def *c = schema_coll(ctx->sc, coll);
  if (!c) return luaL_error(L, "kam.decisions: coll %s: no such collection", coll);
  int scope = kam_read_scope(L, c); /* raises when she may not read it at all */
  collected *x = lua_newuserdatauv(L, sizeof *x, 0);
  memset(x, 0, sizeof *x);
  lua_newtable(L);
  lua_pushcfunction(L, collected_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  int xi = lua_gettop(L);
  snap *s;
  MDB_txn *txn = kam_read_txn(L, ctx, &s);
  MDB_val rec;
  int visible = !store_get(txn, c, id, idlen, &rec) &&
                (scope == SCOPE_ALL || kam_row_in_scope(ctx, txn, c, id, idlen, rec.mv_data, rec.mv_size));
  kam_err e;
  if (visible && decision_history(txn, ctx->st, id, idlen, policy, keep, x, &e))
    return sandbox_raise_err(L, e.code, e.msg); /* the buffer goes with the userdata */
  static const char *const names[] = {NULL, "policy", "hash", "coll", "id", "result_json", "reasons", "time", "user", "run"};
  lua_createtable(L, x->n, 0);
  const uint8_t *p = x->b.p, *end = p + x->b.len;
  for (int i = 0; i < x->n && p < end; i++) {
    lua_createtable(L, 0, 10);
    for (int k = 1; k <= DC_RUN + 1; k++) {
      kval v;
      size_t n = val_get(p, end, &v);
      p = n ? p + n : end;
      if (v.tag == KV_NULL) continue;
      kam_push_kval(L, &v);
      lua_setfield(L, -2, k <= DC_RUN ? names[k] : "result");
    }
    lua_rawseti(L, -2, i + 1);
  }
  lua_remove(L, xi);
  return 1;
}
