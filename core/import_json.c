/* import_json.c — kam import's reader of JSON files (cJSON, after the
 * strict check of json_check.h): a list of records, or {"collection":
 * [records]} for several; and JSON values encoded for the book. */
#include "import_reader.h"
#include "json_check.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kval json_num(double d) {
  /* whole numbers as integers (money, counts); the range test comes first,
   * the cast of a double beyond int64 being undefined */
  return d > -9e18 && d < 9e18 && d == (double)(int64_t)d ? kv_int((int64_t)d) : kv_num(d);
}

const char *encode_cjson(const cJSON *j, kbuf *b, int depth) {
  kval v;
  if (cJSON_IsNull(j)) v = kv_null();
  else if (cJSON_IsBool(j)) v = kv_bool(cJSON_IsTrue(j));
  else if (cJSON_IsNumber(j)) v = json_num(j->valuedouble);
  else if (cJSON_IsString(j)) v = kv_str(j->valuestring, strlen(j->valuestring));
  else {
    /* as deep as the Lua write path allows, and refused beyond, not cut */
    if (depth > KV_MAX_DEPTH) return KV_DEPTH_MSG;
    int is_map = cJSON_IsObject(j);
    kbuf body = {0};
    kbuf_uvarint(&body, (uint64_t)cJSON_GetArraySize(j));
    for (const cJSON *c = j->child; c; c = c->next) {
      if (is_map) { size_t kl = strlen(c->string); kbuf_uvarint(&body, kl); kbuf_put(&body, c->string, kl); }
      const char *why = encode_cjson(c, &body, depth + 1);
      if (why) { kbuf_free(&body); return why; }
    }
    put_nested(b, is_map, &body);
    kbuf_free(&body);
    return NULL;
  }
  val_put(b, &v);
  return NULL;
}

/* cJSON keeps no positions, so the records' places are found with a small
 * scan of the text: the offsets of the objects at the records' depth, in
 * document order (the order rows are read in). */
typedef struct jpos {
  const char *buf;
  size_t len;
  size_t *rec;    /* start of each record */
  size_t nrec, next;
  size_t at;      /* a position already counted, and its line:col: */
  long line, col; /* records are located in order, so counting goes on from it */
} jpos;

static void jpos_scan(jpos *j, const char *buf, size_t len, int depth_of_records) {
  size_t cap = 0;
  int depth = 0, in_str = 0;
  j->buf = buf;
  j->len = len;
  for (size_t i = 0; i < len; i++) {
    char ch = buf[i];
    if (in_str) {
      if (ch == '\\') i++;
      else if (ch == '"') in_str = 0;
      continue;
    }
    if (ch == '"') in_str = 1;
    else if (ch == '{' || ch == '[') {
      depth++;
      if (ch == '{' && depth == depth_of_records) {
        if (j->nrec == cap) { cap = cap ? cap * 2 : 256; j->rec = realloc(j->rec, sizeof *j->rec * cap); }
        j->rec[j->nrec++] = i;
      }
    } else if (ch == '}' || ch == ']') depth--;
  }
}

static void jpos_linecol(jpos *j, size_t off, long *line, long *col) {
  if (off < j->at || !j->line) { j->at = 0; j->line = 1; j->col = 1; }
  text_advance(j->buf + j->at, off - j->at, &j->line, &j->col);
  j->at = off;
  *line = j->line;
  *col = j->col;
}

/* "file:line:col" of the record, or of one of its keys when key is given */
static void jpos_where(jpos *j, size_t rec, const char *key, const char *path, char *out, size_t n) {
  long line, col;
  if (!j || rec >= j->nrec) { snprintf(out, n, "%s", path); return; }
  size_t off = j->rec[rec];
  if (key) {
    size_t end = rec + 1 < j->nrec ? j->rec[rec + 1] : j->len;
    size_t kl = strlen(key);
    for (size_t i = off; i + kl + 2 <= end; i++)
      if (j->buf[i] == '"' && !memcmp(j->buf + i + 1, key, kl) && j->buf[i + kl + 1] == '"') {
        size_t k = i + kl + 2; /* a key is followed by a colon; the same text as a value is not */
        while (k < end && (j->buf[k] == ' ' || j->buf[k] == '\t' || j->buf[k] == '\n' || j->buf[k] == '\r')) k++;
        if (k < end && j->buf[k] == ':') { off = i; break; }
      }
  }
  jpos_linecol(j, off, &line, &col);
  snprintf(out, n, "%s:%ld:%ld", path, line, col);
}

static void import_json_list(imp *m, const char *path, const coll_def *c, cJSON *arr, jpos *jp) {
  if (!cJSON_IsArray(arr)) { add_error(m, "%s: %s: expected an array of objects", path, c->name); return; }
  row_bufs rb;
  row_bufs_init(&rb, c);
  char numtxt[64];
  int idx = 0;
  for (cJSON *row = arr->child; row && !m->fatal; row = row->next, idx++) {
    char where[600], why[600];
    size_t rec = jp->next++;
    jpos_where(jp, rec, NULL, path, where, sizeof where);
    char at[600];
#define AT(key) (jpos_where(jp, rec, (key), path, at, sizeof at), at)
    if (!cJSON_IsObject(row)) { add_error(m, "%s: expected an object", where); continue; }
    for (int i = 0; i < c->nfields; i++) rb.vals[i] = kv_null();
    int bad = 0;
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(row, "id");
    const char *rid = cJSON_IsString(idj) ? idj->valuestring : NULL; /* for messages */
    for (cJSON *fv = row->child; fv; fv = fv->next) {
      int f = coll_field(c, fv->string);
      if (f < 0) { add_error(m, "%s: %s: unknown field '%s'", AT(fv->string), c->name, fv->string); bad = 1; continue; }
      const field_def *fd = &c->fields[f];
      if (cJSON_IsNull(fv)) continue;
      if (fd->type == FT_LIST || fd->type == FT_MAP) {
        if (fd->type == FT_LIST ? !cJSON_IsArray(fv) : !cJSON_IsObject(fv)) {
          add_error(m, "%s: %s field %s: expected %s", AT(fv->string), c->name, fv->string, fd->type == FT_LIST ? "an array" : "an object");
          bad = 1;
          continue;
        }
        const char *jwhy = encode_cjson(fv, row_nested(&rb, f), 0);
        if (jwhy) {
          add_error(m, "%s: %s%s%s field %s: %s", AT(fv->string), c->name, rid ? " " : "", rid ? rid : "", fv->string, jwhy);
          bad = 1;
          continue;
        }
        row_nested_set(&rb, f);
      } else if (cJSON_IsString(fv)) {
        if (!field_from_text(fd, fv->valuestring, strlen(fv->valuestring), &rb.vals[f], rb.conv[f], why, sizeof why)) {
          add_error(m, "%s: %s field %s: value \"%.80s\" is not %s", AT(fv->string), c->name, fv->string, fv->valuestring, why);
          bad = 1;
        }
      } else if (cJSON_IsBool(fv)) {
        rb.vals[f] = kv_bool(cJSON_IsTrue(fv));
      } else if (cJSON_IsNumber(fv)) {
        double d = fv->valuedouble;
        if (fd->type == FT_STRING) {
          /* a number where text is expected: the shortest text that reads
           * back as the same number (0.1, not 0.10000000000000001) */
          for (int prec = 15; prec <= 17; prec++) {
            snprintf(numtxt, sizeof numtxt, "%.*g", prec, d);
            if (strtod(numtxt, NULL) == d) break;
          }
          memcpy(rb.conv[f], numtxt, 31);
          rb.conv[f][31] = 0;
          rb.vals[f] = kv_str(rb.conv[f], strlen(rb.conv[f]));
        } else rb.vals[f] = json_num(d);
      } else {
        add_error(m, "%s: %s field %s: expected a plain value", AT(fv->string), c->name, fv->string);
        bad = 1;
      }
    }
    if (!bad) {
      row_loc loc = {NULL, 0, where, NULL};
      put_row(m, c, rb.vals, &loc);
    }
#undef AT
  }
  row_bufs_free(&rb);
}

void import_json(imp *m, const char *path, const char *buf, size_t len) {
  size_t skip = bom_len(buf, len);
  size_t bad_at;
  char msg[300];
  long line, col;
  if (!json_check(buf + skip, len - skip, 0, &bad_at, msg, sizeof msg)) {
    text_pos(buf, skip + bad_at, &line, &col);
    add_error(m, "%s:%ld:%ld: %s", path, line, col, msg);
    return;
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(buf + skip, len - skip, &end, 0);
  if (!root) { /* checked text that cJSON still refuses: out of memory */
    const char *at = cJSON_GetErrorPtr();
    text_pos(buf, at && at >= buf && at <= buf + len ? (size_t)(at - buf) : len, &line, &col);
    add_error(m, "%s:%ld:%ld: malformed JSON", path, line, col);
    return;
  }
  jpos jp = {0};
  if (cJSON_IsArray(root)) {
    jpos_scan(&jp, buf, len, 2);
    const coll_def *c = target_coll(m, path);
    if (c) import_json_list(m, path, c, root, &jp);
  } else if (cJSON_IsObject(root)) {
    jpos_scan(&jp, buf, len, 3);
    for (cJSON *k = root->child; k; k = k->next) {
      const coll_def *c = schema_coll(m->st->sc, k->string);
      if (!c) { add_error(m, "%s: no collection '%s' (see config/schema.yaml)", path, k->string); continue; }
      import_json_list(m, path, c, k, &jp);
    }
  } else {
    add_error(m, "%s: expected {\"collection\": [records]} or a list of records", path);
  }
  free(jp.rec);
  cJSON_Delete(root);
}
