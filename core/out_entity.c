/* out_entity.c — entities and queries: a list of entities in every mode
 * (JSON objects, YAML items, a grid of the schema's columns), one entity as
 * field / value lines. See out_internal.h. */
#include "out_internal.h"
#include "lua_db.h"
#include <stdlib.h>

/* An entity as one YAML list item, a field a line. */
static void yaml_entity(lua_State *L, int idx, kbuf *b) {
  const coll_def *c = kam_entity_coll(L, idx);
  int first = 1;
  for (int i = 0; i < c->nfields; i++) {
    kam_entity_field(L, idx, i);
    if (!lua_isnil(L, -1)) {
      kbuf_str(b, first ? "- " : "  ");
      first = 0;
      kbuf_printf(b, "%s: ", c->fields[i].name);
      out_json_lua(L, lua_gettop(L), b, 1); /* JSON scalars and flow collections are YAML */
      kbuf_byte(b, '\n');
    }
    lua_pop(L, 1);
  }
}

void out_entities(lua_State *L, int idx, const coll_def *c, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  int n = (int)lua_rawlen(L, idx);
  if (o->fmt == FMT_JSON) {
    kbuf b = {0};
    kbuf_byte(&b, '[');
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      kbuf_str(&b, i > 1 ? ",\n " : "");
      out_json_entity(L, lua_gettop(L), &b);
      lua_pop(L, 1);
    }
    kbuf_str(&b, "]\n");
    fwrite(b.p, 1, b.len, f);
    kbuf_free(&b);
    return;
  }
  if (o->fmt == FMT_YAML) {
    kbuf b = {0};
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      yaml_entity(L, lua_gettop(L), &b);
      lua_pop(L, 1);
      if (b.len > 65536) { fwrite(b.p, 1, b.len, f); kbuf_reset(&b); }
    }
    fwrite(b.p, 1, b.len, f);
    kbuf_free(&b);
    return;
  }
  /* columns: the chosen ones, else the schema's fields that any row has */
  int *cols = malloc(sizeof(int) * (size_t)(c->nfields + 1)), ncol = 0;
  if (o->fields) {
    for (int i = 0; i < o->nfields; i++) cols[ncol++] = o->fields[i];
  } else {
    for (int fi = 0; fi < c->nfields; fi++) {
      ftype t = c->fields[fi].type;
      int human = o->fmt == FMT_TABLE;
      if (human && (fi == F_CREATED || fi == F_UPDATED || t == FT_LIST || t == FT_MAP)) continue;
      int any = fi == F_ID || !human;
      for (int i = 1; i <= n && !any; i++) {
        lua_rawgeti(L, idx, i);
        kam_entity_field(L, -1, fi);
        any = !lua_isnil(L, -1);
        lua_pop(L, 2);
      }
      if (any) cols[ncol++] = fi;
    }
  }
  grid g;
  grid_init(&g, ncol, n + 1);
  for (int ci = 0; ci < ncol; ci++) {
    kbuf_str(&g.cells[ci], c->fields[cols[ci]].name);
    ftype t = c->fields[cols[ci]].type;
    g.right[ci] = t == FT_INT || t == FT_MONEY || t == FT_NUMBER;
  }
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    int e = lua_gettop(L);
    for (int ci = 0; ci < ncol; ci++) {
      kam_entity_field(L, e, cols[ci]);
      out_cell_text(L, -1, &g.cells[i * ncol + ci], c->fields[cols[ci]].type, o->fmt == FMT_TABLE);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  grid_print(&g, o, f);
  if (o->fmt == FMT_TABLE) fprintf(f, "(%d %s)\n", n, n == 1 ? "row" : "rows");
  grid_free(&g);
  free(cols);
}

/* One entity in table mode: field / value lines, nil fields left out. */
static void entity_vertical(lua_State *L, int idx, const out_opts *o, FILE *f) {
  const coll_def *c = kam_entity_coll(L, idx);
  grid g;
  grid_init(&g, 2, c->nfields + 1);
  kbuf_str(&g.cells[0], "field");
  kbuf_str(&g.cells[1], "value");
  int r = 1;
  for (int i = 0; i < c->nfields; i++) {
    kam_entity_field(L, idx, i);
    if (!lua_isnil(L, -1)) {
      kbuf_str(&g.cells[r * 2], c->fields[i].name);
      out_cell_text(L, -1, &g.cells[r * 2 + 1], c->fields[i].type, 1);
      r++;
    }
    lua_pop(L, 1);
  }
  g.nrow = r;
  out_opts oo = *o;
  oo.headers = 0;
  oo.max_width = 100;
  grid_print(&g, &oo, f);
  g.nrow = c->nfields + 1;
  grid_free(&g);
}

/* Is the table at idx a non-empty list of entities of one collection (*c)? */
static int all_entities(lua_State *L, int idx, const coll_def **c) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  *c = NULL;
  if (n == 0) return 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    int ok = kam_is_entity(L, -1);
    if (ok && !*c) *c = kam_entity_coll(L, -1);
    else if (ok && *c != kam_entity_coll(L, -1)) ok = 0;
    lua_pop(L, 1);
    if (!ok) return 0;
  }
  return 1;
}

int out_entity_view(lua_State *L, int idx, const out_opts *o, FILE *f) {
  idx = lua_absindex(L, idx);
  if (kam_is_query(L, idx)) {
    const coll_def *c = kam_query_coll(L, idx);
    kam_query_list(L, idx);
    out_entities(L, -1, c, o, f);
    lua_pop(L, 1);
    return 1;
  }
  if (kam_is_entity(L, idx)) {
    if (o->fmt == FMT_CSV || o->fmt == FMT_YAML) { /* a list of one: the same columns as many */
      lua_createtable(L, 1, 0);
      lua_pushvalue(L, idx);
      lua_rawseti(L, -2, 1);
      out_entities(L, -1, kam_entity_coll(L, idx), o, f);
      lua_pop(L, 1);
    } else {
      entity_vertical(L, idx, o, f);
    }
    return 1;
  }
  const coll_def *c;
  if (lua_istable(L, idx) && all_entities(L, idx, &c)) { out_entities(L, idx, c, o, f); return 1; }
  return 0;
}
