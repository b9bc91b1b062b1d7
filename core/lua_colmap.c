/* lua_colmap.c — see lua_colmap.h. */
#include "lua_colmap.h"
#include "colmap.h"
#include "ctx.h"
#include "lua_error.h"
#include <lauxlib.h>
#include <string.h>

/* What C holds while Lua may raise: freed by the collector if it does. */
typedef struct rbox {
  colmap *map;
  ctable t;
  kbuf errs;
} rbox;

static int rbox_gc(lua_State *L) {
  rbox *b = lua_touserdata(L, 1);
  colmap_free(b->map);
  b->map = NULL;
  ctable_free(&b->t);
  kbuf_free(&b->errs);
  return 0;
}

static int raise_copy(lua_State *L, int code, const char *msg) {
  lerr_push(L, code, msg, strlen(msg));
  return lua_error(L);
}

int kam_l_read_csv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *mapname = luaL_optstring(L, 2, NULL);
  const char *cname = luaL_optstring(L, 3, NULL);
  kam_ctx *ctx = kam_ctx_get(L);
  const coll_def *c = cname ? schema_coll(ctx->sc, cname) : NULL;
  if (cname && !c) return luaL_error(L, "K.read_csv: no collection '%s'", cname);
  if (!c && !mapname) return luaL_error(L, "K.read_csv: a map or a collection");
  rbox *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  if (luaL_newmetatable(L, "kam.read_csv")) {
    lua_pushcfunction(L, rbox_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  kam_err e;
  if (mapname && colmap_load(&b->map, ctx->cfg->root, mapname, ctx->sc, &e)) return raise_copy(L, e.code, e.msg);
  int nerr = 0;
  if (colmap_read(&b->t, path, b->map, c, &b->errs, &nerr, 10, &e)) {
    if (!nerr) return raise_copy(L, e.code, e.msg);
    if (nerr > 10) kbuf_printf(&b->errs, "\nkam: ... and %d more error%s", nerr - 10, nerr - 10 == 1 ? "" : "s");
    return raise_copy(L, KAM_EDATA, kbuf_cstr(&b->errs));
  }
  const ctable *t = &b->t;
  lua_createtable(L, (int)t->nrows, 0);
  for (long r = 0; r < t->nrows; r++) {
    lua_createtable(L, 0, t->ncols + 1);
    for (int k = 0; k < t->ncols; k++) {
      const ccell *cc = &t->cells[r * t->ncols + k];
      if (t->field[k] < 0 || cc->tag == KV_NULL) continue;
      switch (cc->tag) {
      case KV_INT: lua_pushinteger(L, (lua_Integer)cc->i); break;
      case KV_NUM: lua_pushnumber(L, cc->n); break;
      case KV_TRUE: case KV_FALSE: lua_pushboolean(L, cc->tag == KV_TRUE); break;
      default: lua_pushlstring(L, (const char *)t->store.p + cc->off, cc->len); break;
      }
      lua_setfield(L, -2, t->c->fields[t->field[k]].name);
    }
    lua_pushinteger(L, t->line[r]);
    lua_setfield(L, -2, "_line");
    lua_rawseti(L, -2, r + 1);
  }
  lua_createtable(L, 0, 4);
  lua_pushstring(L, path);
  lua_setfield(L, -2, "file");
  lua_pushstring(L, t->c->name);
  lua_setfield(L, -2, "into");
  if (b->map) {
    lua_pushstring(L, colmap_path(b->map));
    lua_setfield(L, -2, "map");
  }
  lua_createtable(L, 0, t->ncols);
  for (int k = 0; k < t->ncols; k++) {
    if (t->field[k] < 0) continue;
    lua_pushinteger(L, t->src[k]);
    lua_setfield(L, -2, t->c->fields[t->field[k]].name);
  }
  lua_setfield(L, -2, "columns");
  return 2; /* the box's memory goes with the box */
}
