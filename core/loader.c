/* loader.c — text chunks, the bounded load() and require; see loader.h. */
#include "loader.h"
#include "ctx.h"
#include "buf.h"
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sandbox_load(lua_State *L, const char *buf, size_t len, const char *name) {
  return luaL_loadbufferx(L, buf, len, name, "t");
}

/* load() that refuses binary chunks */
#define MAX_LOAD_BYTES (16u << 20)
static int l_load(lua_State *L) {
  size_t n;
  const char *s = lua_tolstring(L, 1, &n);
  /* the parser cannot be stopped by the budget: keep what it reads bounded */
  if (s && n > MAX_LOAD_BYTES) return luaL_error(L, "load: a chunk of more than 16 MiB is refused");
  const char *name = luaL_optstring(L, 2, s ? s : "=(load)");
  int env = !lua_isnone(L, 4) ? 4 : 0;
  if (!s) return luaL_error(L, "load: only text chunks can be loaded here");
  int st = sandbox_load(L, s, n, name);
  if (st != LUA_OK) { lua_pushnil(L); lua_insert(L, -2); return 2; }
  if (env) lua_pushvalue(L, env);
  else if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.env") == LUA_TNIL) { lua_pop(L, 1); return 1; }
  /* without an environment, the chunk gets the evaluation's own, never the
   * globals every evaluation shares */
  if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  return 1;
}

static int read_file(const char *path, char **out, size_t *n) {
  *out = NULL;
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  kbuf b = {0};
  int rc = kbuf_read(&b, f, 0);
  fclose(f);
  if (rc) { kbuf_free(&b); return -1; }
  kbuf_cstr(&b);
  *out = (char *)b.p;
  *n = b.len;
  return 0;
}

/* Pushes the compiled chunk of module `name` from rules/ or scripts/, or
 * raises an error. */
static void load_module(lua_State *L, kam_ctx *ctx, const char *name) {
  char rel[512];
  snprintf(rel, sizeof rel, "%s", name);
  for (char *p = rel; *p; p++) if (*p == '.') *p = '/';
  const char *dirs[] = {"rules", "scripts"};
  for (int i = 0; i < 2; i++) {
    char path[2048];
    snprintf(path, sizeof path, "%s/%s/%s.lua", ctx->cfg->root, dirs[i], rel);
    char *buf;
    size_t n;
    if (access(path, F_OK)) continue;
    /* the file must really be inside rules/ or scripts/: a symbolic link
     * pointing elsewhere is refused */
    char dir[2048], *rdir, *rpath;
    snprintf(dir, sizeof dir, "%s/%s", ctx->cfg->root, dirs[i]);
    rdir = realpath(dir, NULL);
    rpath = realpath(path, NULL);
    size_t dl = rdir ? strlen(rdir) : 0;
    int inside = rdir && rpath && !strncmp(rpath, rdir, dl) && rpath[dl] == '/';
    free(rdir);
    free(rpath);
    if (!inside) luaL_error(L, "require \"%s\": %s/%s.lua leads outside %s/", name, dirs[i], rel, dirs[i]);
    if (read_file(path, &buf, &n)) luaL_error(L, "require \"%s\": cannot read %s/%s.lua", name, dirs[i], rel);
    char chunk[600];
    snprintf(chunk, sizeof chunk, "@%s/%s.lua", dirs[i], rel);
    int st = sandbox_load(L, buf, n, chunk);
    free(buf);
    if (st != LUA_OK) lua_error(L);
    return;
  }
  luaL_error(L, "require \"%s\": no module %s.lua in rules/ or scripts/", name, rel);
}

/* require(name): modules only from rules/ and scripts/ of the project */
static int l_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  kam_ctx *ctx = kam_ctx_get(L);
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-') || (*p == '.' && p[1] == '.'))
      return luaL_error(L, "require \"%s\": module names are words separated by dots (like lib.money)", name);
  if (name[0] == '.' || !name[0]) return luaL_error(L, "require \"%s\": not a module name", name);
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.loaded");
  if (lua_getfield(L, -1, name) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  /* compiled once, kept by name; run again whenever kam.loaded was reset
   * (each policy evaluation), so a module's locals never carry over */
  lua_getfield(L, LUA_REGISTRYINDEX, "kam.chunks");
  if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    load_module(L, ctx, name);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
  }
  lua_remove(L, -2);
  /* a module runs in the environment of the evaluation that requires it */
  if (lua_getfield(L, LUA_REGISTRYINDEX, "kam.env") == LUA_TNIL) lua_pop(L, 1);
  else if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushboolean(L, 1); }
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, name);
  return 1;
}

void loader_open(lua_State *L) {
  lua_pushcfunction(L, l_load); lua_setglobal(L, "load");
  lua_newtable(L); lua_setfield(L, LUA_REGISTRYINDEX, "kam.loaded");
  lua_newtable(L); lua_setfield(L, LUA_REGISTRYINDEX, "kam.chunks");
  lua_pushcfunction(L, l_require); lua_setglobal(L, "require");
}
