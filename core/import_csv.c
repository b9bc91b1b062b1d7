/* import_csv.c — kam import's reader of CSV and TSV files (libcsv): a
 * header row names the fields, each line after it is a row; list and map
 * cells hold strict JSON. */
#include "import_reader.h"
#include "json_check.h"
#include <cjson/cJSON.h>
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv_st {
  imp *m;
  const coll_def *c;
  const char *file;
  int *map;            /* column -> field position, -1 skip, -2 no name in the header */
  int ncols, cap;
  int col;             /* current column */
  long line, row_line;
  int header_done;
  row_bufs row;
  kbuf *cells;         /* cell text of the current row */
  int *fcol;           /* per field: its column (1-based), 0 if none */
  int row_pending;
} csv_st;

static void csv_field(void *s, size_t n, void *data) {
  csv_st *cs = data;
  if (!cs->header_done) {
    if (cs->ncols == cs->cap) {
      cs->cap = cs->cap ? cs->cap * 2 : 32;
      cs->map = realloc(cs->map, sizeof(int) * (size_t)cs->cap);
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), (char *)s);
    int f = n ? coll_field_n(cs->c, s, n) : -2;
    if (f == -1) {
      kbuf known = {0};
      for (int i = 0; i < cs->c->nfields; i++) kbuf_printf(&known, "%s%s", i ? ", " : "", cs->c->fields[i].name);
      kbuf_cstr(&known);
      add_error(cs->m, "%s:%ld:%d: unknown field '%s' in %s (fields: %s)", cs->file, cs->row_line, cs->ncols + 1, name, cs->c->name, (char *)known.p);
      kbuf_free(&known);
    }
    for (int i = 0; i < cs->ncols && f >= 0; i++)
      if (cs->map[i] == f) { add_error(cs->m, "%s:%ld:%d: column '%s' appears twice", cs->file, cs->row_line, cs->ncols + 1, name); f = -1; }
    cs->map[cs->ncols++] = f;
    return;
  }
  if (cs->col < cs->ncols) {
    kbuf_reset(&cs->cells[cs->col]);
    kbuf_put(&cs->cells[cs->col], s, n);
    int f = cs->map[cs->col];
    if (f >= 0) prefetch_ref(cs->m, &cs->c->fields[f], s, n);
  } else if (n) {
    add_error(cs->m, "%s:%ld:%d: more cells than the header has columns (%d)", cs->file, cs->row_line, cs->col + 1, cs->ncols);
  }
  cs->col++;
}

/* The list or map cell of column i becomes the row's value of fd: strict
 * JSON (as for .json files), of the field's kind; else 0, an error added. */
static int csv_json_cell(csv_st *cs, int i, const field_def *fd) {
  imp *m = cs->m;
  const char *cell = (const char *)cs->cells[i].p;
  size_t n = cs->cells[i].len, at;
  char msg[300], who[300];
  int idc = cs->fcol[F_ID] - 1; /* the row's id, for messages */
  if (idc >= 0 && idc < cs->col && cs->cells[idc].len)
    snprintf(who, sizeof who, "%s %.*s", cs->c->name, (int)(cs->cells[idc].len > 200 ? 200 : cs->cells[idc].len), (const char *)cs->cells[idc].p);
  else
    snprintf(who, sizeof who, "%s", cs->c->name);
  if (!json_check(cell, n, 1, &at, msg, sizeof msg)) {
    size_t ch = 1;
    for (size_t k = 0; k < at; k++) ch += ((unsigned char)cell[k] & 0xC0) != 0x80;
    add_error(m, "%s:%ld:%d: %s field %s: %s (character %zu of the cell)", cs->file, cs->row_line, i + 1, who, fd->name, msg, ch);
    return 0;
  }
  cJSON *j = cJSON_ParseWithLength(cell, n);
  const char *why = NULL;
  if (!j || !(fd->type == FT_LIST ? cJSON_IsArray(j) : cJSON_IsObject(j))) {
    why = fd->type == FT_LIST ? "expected a JSON list like [\"a\",\"b\"]" : "expected a JSON object like {\"k\":1}";
  } else {
    int f = (int)(fd - cs->c->fields);
    why = encode_cjson(j, row_nested(&cs->row, f), 0);
    if (!why) row_nested_set(&cs->row, f);
  }
  cJSON_Delete(j);
  if (why) add_error(m, "%s:%ld:%d: %s field %s: %s", cs->file, cs->row_line, i + 1, who, fd->name, why);
  return !why;
}

static void csv_row(int c, void *data) {
  (void)c;
  csv_st *cs = data;
  if (!cs->header_done) {
    cs->header_done = 1;
    cs->cells = calloc((size_t)cs->ncols + 1, sizeof *cs->cells);
    row_bufs_init(&cs->row, cs->c);
    cs->fcol = calloc((size_t)cs->c->nfields, sizeof *cs->fcol);
    for (int i = 0; i < cs->ncols; i++)
      if (cs->map[i] >= 0) cs->fcol[cs->map[i]] = i + 1;
    cs->row_pending = 1;
    return;
  }
  imp *m = cs->m;
  const coll_def *col = cs->c;
  kval *vals = cs->row.vals;
  for (int i = 0; i < col->nfields; i++) vals[i] = kv_null();
  char why[600];
  int bad = 0;
  for (int i = 0; i < cs->ncols && i < cs->col; i++) {
    int f = cs->map[i];
    if (f == -2 && cs->cells[i].len) { /* it would be dropped unseen */
      add_error(m, "%s:%ld:%d: a value in column %d, which has no name in the header row", cs->file, cs->row_line, i + 1, i + 1);
      bad = 1;
      continue;
    }
    if (f < 0 || !cs->cells[i].len) continue;
    const field_def *fd = &col->fields[f];
    if (fd->type == FT_LIST || fd->type == FT_MAP) {
      if (!csv_json_cell(cs, i, fd)) bad = 1;
      continue;
    }
    if (!field_from_text(fd, (const char *)cs->cells[i].p, cs->cells[i].len, &vals[f], cs->row.conv[f], why, sizeof why)) {
      add_error(m, "%s:%ld:%d: %s field %s: value \"%.*s\" is not %s", cs->file, cs->row_line, i + 1, col->name, fd->name,
                (int)(cs->cells[i].len > 80 ? 80 : cs->cells[i].len), (char *)cs->cells[i].p, why);
      bad = 1;
    }
  }
  if (!bad) {
    row_loc loc = {cs->file, cs->row_line, NULL, cs->fcol};
    put_row(m, col, vals, &loc);
  }
  cs->col = 0;
  cs->row_pending = 1;
}

void import_csv(imp *m, const char *path, const char *buf, size_t len, int tabs) {
  const coll_def *c = target_coll(m, path);
  if (!c) return;
  csv_st cs = {.m = m, .c = c, .file = path};
  struct csv_parser p;
  csv_init(&p, CSV_STRICT | CSV_STRICT_FINI);
  size_t off = bom_len(buf, len); /* Excel writes one */
  /* a header with semicolons and no commas: a European-locale spreadsheet */
  const char *nl = memchr(buf + off, '\n', len - off);
  size_t hl = nl ? (size_t)(nl - (buf + off)) : len - off;
  if (tabs) csv_set_delim(&p, '\t');
  else if (!memchr(buf + off, ',', hl) && memchr(buf + off, ';', hl)) csv_set_delim(&p, ';');
  long line = 1;
  cs.row_pending = 1;
  while (off < len && !m->fatal && m->nerr <= m->max_err) {
    const char *s = buf + off;
    const char *e = memchr(s, '\n', len - off);
    size_t n = e ? (size_t)(e - s) + 1 : len - off;
    int blank = 1;
    for (size_t i = 0; i < n && blank; i++) blank = s[i] == '\r' || s[i] == '\n' || s[i] == ' ';
    if (cs.row_pending && !blank) { cs.row_line = line; cs.row_pending = 0; }
    if (csv_parse(&p, s, n, csv_field, csv_row, &cs) != n) {
      add_error(m, "%s:%ld: malformed CSV: %s (a quote inside a quoted cell is written twice: \"\")", path, line, csv_strerror(csv_error(&p)));
      break;
    }
    off += n;
    line++;
  }
  if (!m->nerr && csv_fini(&p, csv_field, csv_row, &cs))
    add_error(m, "%s:%ld: malformed CSV: %s (an unclosed quote?)", path, cs.row_line, csv_strerror(csv_error(&p)));
  if (!cs.header_done && !m->nerr) add_error(m, "%s: empty file (a header row is expected)", path);
  csv_free(&p);
  if (cs.cells) for (int i = 0; i < cs.ncols; i++) kbuf_free(&cs.cells[i]);
  free(cs.cells);
  row_bufs_free(&cs.row);
  free(cs.fcol);
  free(cs.map);
}
