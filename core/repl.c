/* repl.c — see repl.h.
 *
 * Reading follows lua.c: a chunk is first compiled as `return CHUNK;` (an
 * expression whose values are printed), then as statements; a syntax error
 * at <eof> means the chunk goes on, so another line is read. Line editing is
 * hidden behind read_line (libedit on a terminal, plain lines otherwise).
 *
 * Ctrl-C: at the prompt libedit gets it as a key (the terminal's ISIG is off
 * while editing), so it only clears the line; while a statement runs, the
 * SIGINT handler only asks the sandbox's hook to raise "interrupted", which
 * unwinds through kam.tx (the write is aborted) and the snapshots end with
 * the statement. */
#include "repl.h"
#include "sha256.h"
#include "progress.h"
#include "sandbox.h"
#include "store.h"
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <histedit.h>
#include <lauxlib.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define HISTORY_MAX 1000     /* chunks kept across sessions */
#define SHOW_ROWS 1000       /* a query printed to a terminal shows this many rows */
#define PROMPT "kam> "
#define PROMPT2 "...> "

typedef struct repl {
  kam_ctx *ctx;
  lua_State *L;
  out_opts o;
  FILE *out;             /* results: standard output or .output FILE */
  int tty;               /* input from a terminal: prompts, editing, history */
  int color;             /* colour on the terminal's output */
  int timer, bail, quit, nerr, interrupted;
  const char *book;
  EditLine *el;
  History *hist;
  char hist_path[1024];
  const char *prompt;
  int ctrl_c;            /* Ctrl-C ended the last read */
  int armed;             /* Ctrl-C at an empty prompt once: again quits */
  int lineno;            /* lines of piped input read so far */
  char stmt[400];        /* the statement running, as the audit names its writes */
  char stmt_hash[65];
} repl;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int term_width(FILE *f) {
  struct winsize ws;
  if (!isatty(fileno(f)) || ioctl(fileno(f), TIOCGWINSZ, &ws) || !ws.ws_col) return 0;
  return ws.ws_col;
}

/* ---- libedit, loaded on demand ----------------------------------------------- */

/* libedit and the libraries it needs are loaded when the REPL starts on a
 * terminal, not at every start of kam (about 0.2 ms a process, which every
 * `kam eval` in a loop would pay). Without it the prompt still works, with
 * plain lines. */
static struct {
  EditLine *(*init)(const char *, FILE *, FILE *, FILE *);
  void (*end)(EditLine *);
  int (*set)(EditLine *, int, ...);
  int (*wset)(EditLine *, int, ...);
  int (*get)(EditLine *, int, ...);
  const char *(*gets)(EditLine *, int *);
  const LineInfo *(*line)(EditLine *);
  int (*insertstr)(EditLine *, const char *);
  int (*source)(EditLine *, const char *);
  unsigned char (*fn_complete)(EditLine *, int);
  History *(*hinit)(void);
  void (*hend)(History *);
  int (*history)(History *, HistEvent *, int, ...);
} ed;
static void *ed_lib;

static int load_libedit(void) {
  if (ed_lib) return 1;
  void *h = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h) h = dlopen("libedit.so", RTLD_NOW | RTLD_LOCAL);
  if (!h) return 0;
  struct { void **fn; const char *name; } syms[] = {
      {(void **)&ed.init, "el_init"}, {(void **)&ed.end, "el_end"}, {(void **)&ed.set, "el_set"},
      {(void **)&ed.wset, "el_wset"}, {(void **)&ed.get, "el_get"}, {(void **)&ed.gets, "el_gets"},
      {(void **)&ed.line, "el_line"}, {(void **)&ed.insertstr, "el_insertstr"},
      {(void **)&ed.source, "el_source"}, {(void **)&ed.fn_complete, "_el_fn_complete"},
      {(void **)&ed.hinit, "history_init"}, {(void **)&ed.hend, "history_end"},
      {(void **)&ed.history, "history"}};
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
    if (!(*syms[i].fn = dlsym(h, syms[i].name))) { dlclose(h); return 0; }
  ed_lib = h;
  return 1;
}

/* ---- messages --------------------------------------------------------------- */

/* An error, as `where: what`; piped input gets the kam: prefix of every
 * other command's errors. */
static void say_error(repl *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say_error(repl *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int red = r->color && isatty(2);
  fputs(red ? "\033[31m" : r->tty ? "" : "kam: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs(red ? "\033[0m\n" : "\n", stderr);
  va_end(ap);
}

/* A note for the person at the terminal (writes, time). */
static void say_note(repl *r, const char *text) {
  FILE *f = r->tty ? stdout : stderr;
  fprintf(f, r->color ? "\033[2m%s\033[0m\n" : "%s\n", text);
  fflush(f);
}

/* A Lua error with its traceback: the message, then the frames that are in
 * scripts (files), not in the statement typed or in C. */
static void print_frame(const char *frame, size_t n, void *ud) {
  (void)ud;
  fprintf(stderr, "  in %.*s\n", (int)n, frame);
}

static void report_lua_error(repl *r) {
  size_t n;
  const char *msg = sandbox_error_message(r->L, &n);
  say_error(r, "%.*s", (int)n, msg);
  sandbox_error_frames(r->L, 6, "stdin:", print_frame, NULL); /* not the statement typed */
}

/* ---- running a statement --------------------------------------------------- */

static lua_State *sig_L;

/* Only a flag and a hook (lua.c's laction); the handler goes back to the
 * default on delivery, so a second Ctrl-C ends a process stuck in C. */
static void on_sigint(int sig) {
  (void)sig;
  sandbox_interrupt(sig_L);
}

static void catch_sigint(int on) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on ? on_sigint : SIG_DFL;
  sa.sa_flags = on ? SA_RESETHAND : 0;
  sigaction(SIGINT, &sa, NULL);
}

/* A query shown on a terminal: at most SHOW_ROWS rows. Pushes the rows. */
static int push_shown_rows(lua_State *L, int idx) {
  lua_getfield(L, idx, "limit");
  lua_pushvalue(L, idx);
  lua_pushinteger(L, SHOW_ROWS + 1);
  lua_call(L, 2, 1);
  kam_query_list(L, -1);
  lua_remove(L, -2);
  int more = lua_rawlen(L, -1) > SHOW_ROWS;
  if (more) { lua_pushnil(L); lua_rawseti(L, -2, SHOW_ROWS + 1); }
  return more;
}

/* Prints the values on the stack (runs protected: rows are read, fields
 * decoded, and either may raise). */
static int l_print_values(lua_State *L) {
  repl *r = lua_touserdata(L, lua_upvalueindex(1));
  int n = lua_gettop(L);
  int on_term = r->tty && isatty(fileno(r->out));
  out_set_width(on_term ? term_width(r->out) : 0);
  for (int i = 1; i <= n; i++) {
    if (lua_isnil(L, i) && (r->o.fmt == FMT_TABLE || r->o.fmt == FMT_LUA)) {
      fputs("nil\n", r->out);
      continue;
    }
    if (on_term && r->o.fmt == FMT_TABLE && kam_is_query(L, i)) {
      int more = push_shown_rows(L, i);
      out_entities(L, -1, kam_query_coll(L, i), &r->o, r->out);
      lua_pop(L, 1);
      if (more) fprintf(r->out, "(only the first %d rows are shown: add :limit(n), or .output FILE for all)\n", SHOW_ROWS);
      continue;
    }
    out_value(L, i, &r->o, r->out);
  }
  out_set_width(0);
  return 0;
}

/* The audit names a statement's writes by its text and SHA-256 (a .read
 * by the file's name and the hash of its whole text). */
static void audit_as(repl *r, const char *what, const char *src, size_t len) {
  snprintf(r->stmt, sizeof r->stmt, "%.200s%.*s", what, (int)(len < 190 ? len : 190), src);
  sha256_hex(src, len, r->stmt_hash);
  r->ctx->actor.source = r->stmt;
  r->ctx->actor.hash = r->stmt_hash;
}

/* Runs the function on top of the stack as one statement: its own time
 * budget and snapshot, Ctrl-C caught, values printed, writes reported. */
static int run_statement(repl *r) {
  lua_State *L = r->L;
  kam_ctx *ctx = r->ctx;
  int base = lua_gettop(L) - 1;
  long ins = ctx->n_ins, upd = ctx->n_upd, del = ctx->n_del;
  double t0 = now_s();
  sandbox_arm(L, ctx->cfg->script_seconds);
  sig_L = L;
  catch_sigint(1);
  int st = sandbox_pcall(L, 0, LUA_MULTRET);
  if (st == LUA_OK && lua_gettop(L) > base) {
    int nres = lua_gettop(L) - base;
    lua_pushlightuserdata(L, r);
    lua_pushcclosure(L, l_print_values, 1);
    lua_insert(L, base + 1);
    st = sandbox_pcall(L, nres, 0);
  }
  catch_sigint(0);
  int stopped = sandbox_stopping();
  sandbox_arm(L, 0);
  progress_reset();
  fflush(r->out);
  kam_end_snapshots(ctx); /* the next statement reads a fresh snapshot */
  if (st != LUA_OK) {
    r->nerr++;
    if (stopped) {
      if (r->tty) fputc('\n', stderr); /* after the ^C the terminal echoed */
      say_error(r, "interrupted%s", ctx->n_ins == ins && ctx->n_upd == upd && ctx->n_del == del ? " (nothing written)" : "");
      r->interrupted = 1;
    } else report_lua_error(r);
  }
  lua_settop(L, base);
  char note[200];
  int k = 0;
  note[0] = 0;
  long d[3] = {ctx->n_ins - ins, ctx->n_upd - upd, ctx->n_del - del};
  const char *what[3] = {"inserted", "updated", "deleted"};
  for (int i = 0; i < 3; i++)
    if (d[i] && r->tty) k += snprintf(note + k, sizeof note - (size_t)k, "%s%ld %s", k ? ", " : "", d[i], what[i]);
  if (r->timer) {
    double ms = (now_s() - t0) * 1e3;
    k += snprintf(note + k, sizeof note - (size_t)k, "%stime %.*f ms", k ? "  " : "", ms < 10 ? 2 : 1, ms);
  }
  if (k) say_note(r, note);
  return st == LUA_OK ? 0 : -1;
}

/* ---- compiling a chunk ------------------------------------------------------ */

enum { CHUNK_OK, CHUNK_MORE, CHUNK_ERROR };

/* Compiles src as `return src;` or as statements. first_line (piped input)
 * shifts line numbers so errors name the line of the input. Leaves the
 * function, or the error message, on the stack. */
static int compile(repl *r, const char *src, size_t len, const char *name, int first_line) {
  lua_State *L = r->L;
  kbuf b = {0};
  for (int i = 1; i < first_line; i++) kbuf_byte(&b, '\n');
  size_t pre = b.len;
  kbuf_str(&b, "return ");
  kbuf_put(&b, src, len);
  kbuf_str(&b, ";");
  int st = sandbox_load(L, (const char *)b.p, b.len, name);
  if (st == LUA_OK) { kbuf_free(&b); return CHUNK_OK; }
  lua_pop(L, 1);
  b.len = pre;
  kbuf_put(&b, src, len);
  st = sandbox_load(L, (const char *)b.p, b.len, name);
  kbuf_free(&b);
  if (st == LUA_OK) return CHUNK_OK;
  size_t ml;
  const char *msg = lua_tolstring(L, -1, &ml);
  if (st == LUA_ERRSYNTAX && msg && ml >= 5 && !strcmp(msg + ml - 5, "<eof>")) return CHUNK_MORE;
  /* an expression that goes on (`{a = 1,` or `1 +`) is not a statement's start */
  b = (kbuf){0};
  for (int i = 1; i < first_line; i++) kbuf_byte(&b, '\n');
  kbuf_str(&b, "return ");
  kbuf_put(&b, src, len);
  int more = 0;
  if (sandbox_load(L, (const char *)b.p, b.len, name) == LUA_ERRSYNTAX) {
    msg = lua_tolstring(L, -1, &ml);
    more = msg && ml >= 5 && !strcmp(msg + ml - 5, "<eof>");
  }
  lua_pop(L, 1);
  kbuf_free(&b);
  return more ? CHUNK_MORE : CHUNK_ERROR;
}

/* ---- reading lines ---------------------------------------------------------- */

static char *el_prompt(EditLine *el) {
  repl *r;
  ed.get(el, EL_CLIENTDATA, &r);
  return (char *)r->prompt;
}

/* Ctrl-C while editing: end the read; the caller drops the line. */
static unsigned char el_ctrl_c(EditLine *el, int ch) {
  (void)ch;
  repl *r;
  ed.get(el, EL_CLIENTDATA, &r);
  r->ctrl_c = 1;
  return CC_NEWLINE;
}

static unsigned char el_complete(EditLine *el, int ch);

/* One line into out (without its newline): 1, or 0 at the end of input, or
 * -1 when Ctrl-C ended it. */
static int read_line(repl *r, const char *prompt, kbuf *out) {
  kbuf_reset(out);
  if (!r->el) {
    if (r->tty) { fputs(prompt, stdout); fflush(stdout); }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) { free(line); return 0; }
    r->lineno++;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    kbuf_put(out, line, (size_t)n);
    free(line);
    return 1;
  }
  r->prompt = prompt;
  r->ctrl_c = 0;
  for (;;) {
    int n;
    errno = 0;
    const char *line = ed.gets(r->el, &n);
    if (r->ctrl_c) {
      if (line && n > 0) kbuf_put(out, line, (size_t)n); /* so the caller knows it was not empty */
      fputs("^C\n", stdout);
      fflush(stdout);
      return -1;
    }
    if (!line && n < 0 && errno == EINTR) continue;
    if (!line || n <= 0) return 0;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    kbuf_put(out, line, (size_t)n);
    return 1;
  }
}

static void remember(repl *r, const char *chunk, size_t n) {
  if (!r->hist || !n) return;
  HistEvent ev;
  char *s = strndup(chunk, n);
  ed.history(r->hist, &ev, H_ENTER, s);
  free(s);
  if (r->hist_path[0]) {
    mode_t old = umask(077); /* statements may name clients: keep the file private */
    ed.history(r->hist, &ev, H_SAVE, r->hist_path);
    umask(old);
  }
}

/* ---- dot commands ----------------------------------------------------------- */

typedef struct dot_cmd { const char *name, *args, *help; } dot_cmd;
static const dot_cmd dots[] = {
    {".help", "", "this list"},
    {".schema", "[COLL]", "the collections and their fields, or one collection in full"},
    {".collections", "", "collections with their number of entities"},
    {".indexes", "COLL", "the indexes of a collection"},
    {".policies", "", "the policies in rules/"},
    {".mode", "[table|json|csv|yaml|lua]", "how values print"},
    {".headers", "on|off", "column names in table and csv output"},
    {".time", "on|off", "show how long each statement takes"},
    {".read", "FILE", "run a Lua file and print what it returns"},
    {".output", "[FILE|stdout]", "send results to a file, or back to the screen"},
    {".user", "", "who you act as"},
    {".quit", "", "leave (also .exit, Ctrl-D)"},
    {NULL, NULL, NULL}};

static int l_print_rows(lua_State *L) {
  repl *r = lua_touserdata(L, lua_upvalueindex(1));
  const char *const *cols = lua_touserdata(L, lua_upvalueindex(2));
  out_set_width(r->tty && isatty(fileno(r->out)) ? term_width(r->out) : 0);
  if (cols) out_rows(L, 1, cols, &r->o, r->out);
  else out_value(L, 1, &r->o, r->out);
  out_set_width(0);
  return 0;
}

/* Prints the Lua value on top in the current mode, a list of records with
 * cols in that order (NULL: a value), and pops it. */
static void show(repl *r, const char *const *cols) {
  lua_State *L = r->L;
  lua_pushlightuserdata(L, r);
  lua_pushlightuserdata(L, (void *)cols);
  lua_pushcclosure(L, l_print_rows, 2);
  lua_insert(L, -2);
  if (sandbox_pcall(L, 1, 0) != LUA_OK) { r->nerr++; report_lua_error(r); lua_pop(L, 1); }
  kam_end_snapshots(r->ctx);
}

static void set_field_str(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v ? v : "");
  lua_setfield(L, -2, k);
}

static const char *onoff_names[] = {"off", "on", NULL};

static int parse_onoff(const char *s, int *out) {
  if (!strcmp(s, "on") || !strcmp(s, "1") || !strcmp(s, "yes")) { *out = 1; return 1; }
  if (!strcmp(s, "off") || !strcmp(s, "0") || !strcmp(s, "no")) { *out = 0; return 1; }
  return 0;
}

static void field_rule(const schema *sc, const field_def *fd, kbuf *b) {
  if (fd->type == FT_ENUM)
    for (int v = 0; v < fd->nvalues; v++) kbuf_printf(b, "%s%s", v ? " " : "", fd->values[v]);
  if (fd->type == FT_REF) kbuf_printf(b, "-> %s", fd->ref >= 0 && fd->ref < sc->ncolls ? sc->colls[fd->ref].name : fd->ref_name);
}

static void dot_schema(repl *r, const char *arg) {
  lua_State *L = r->L;
  schema *sc = r->ctx->sc;
  if (*arg) {
    coll_def *c = schema_coll(sc, arg);
    if (!c) { r->nerr++; say_error(r, ".schema %s: no such collection (.collections lists them)", arg); return; }
    lua_createtable(L, c->nfields, 0);
    kbuf b = {0};
    for (int i = 0; i < c->nfields; i++) {
      const field_def *fd = &c->fields[i];
      lua_createtable(L, 0, 5);
      set_field_str(L, "field", fd->name);
      set_field_str(L, "type", ftype_names[fd->type]);
      kbuf_reset(&b);
      field_rule(sc, fd, &b);
      kbuf_cstr(&b);
      set_field_str(L, "values", (const char *)b.p);
      kbuf_reset(&b);
      if (fd->required) kbuf_str(&b, "required");
      if (fd->indexed) kbuf_str(&b, b.len ? ", indexed" : "indexed");
      if (fd->has_def) {
        kbuf_str(&b, b.len ? ", default " : "default ");
        kval_show(&b, &fd->def);
      }
      kbuf_cstr(&b);
      set_field_str(L, "rules", (const char *)b.p);
      lua_rawseti(L, -2, i + 1);
    }
    kbuf_free(&b);
    fprintf(r->out, "%s (ids %s...)\n", c->name, c->prefix ? c->prefix : "");
    static const char *const cols[] = {"field", "type", "rules", "values", NULL};
    show(r, cols);
    return;
  }
  /* every collection: one paragraph each, wrapped to the terminal */
  int width = term_width(r->out);
  if (width <= 0 || width > 120) width = 100;
  kbuf line = {0};
  for (int ci = 0; ci < sc->ncolls; ci++) {
    coll_def *c = &sc->colls[ci];
    kbuf_reset(&line);
    kbuf_printf(&line, "%s:", c->name);
    size_t col = line.len;
    for (int i = 3; i < c->nfields; i++) {
      const field_def *fd = &c->fields[i];
      char w[256];
      if (fd->type == FT_REF) snprintf(w, sizeof w, " %s->%s", fd->name, fd->ref >= 0 && fd->ref < sc->ncolls ? sc->colls[fd->ref].name : fd->ref_name);
      else if (fd->type == FT_STRING) snprintf(w, sizeof w, " %s", fd->name);
      else snprintf(w, sizeof w, " %s:%s", fd->name, ftype_names[fd->type]);
      if (fd->required) strncat(w, "*", sizeof w - strlen(w) - 1);
      size_t wl = strlen(w);
      if (col + wl > (size_t)width) { kbuf_str(&line, "\n   "); col = 3; }
      kbuf_str(&line, w);
      col += wl;
    }
    kbuf_byte(&line, '\n');
    fwrite(line.p, 1, line.len, r->out);
  }
  kbuf_free(&line);
  fputs("(* required; .schema COLL shows one in full)\n", r->out);
}

static void dot_collections(repl *r) {
  lua_State *L = r->L;
  schema *sc = r->ctx->sc;
  kam_err e;
  MDB_txn *txn;
  if (store_begin(r->ctx->st, 0, &txn, &e)) { r->nerr++; say_error(r, "%s", e.msg); return; }
  lua_createtable(L, sc->ncolls, 0);
  for (int i = 0; i < sc->ncolls; i++) {
    coll_def *c = &sc->colls[i];
    size_t n;
    if (store_count(txn, c, &n, &e)) {
      store_abort(txn);
      lua_pop(L, 1);
      r->nerr++;
      say_error(r, "%s", e.msg);
      return;
    }
    lua_createtable(L, 0, 5);
    set_field_str(L, "collection", c->name);
    set_field_str(L, "prefix", c->prefix);
    /* the count of rows one reads only in part is not shown (kam stats does the same) */
    const kam_ctx *x = r->ctx;
    if (!x->access || !x->who || access_read_scope(x->access, x->who, c) == SCOPE_ALL) {
      lua_pushinteger(L, (lua_Integer)n);
      lua_setfield(L, -2, "entities");
    } else {
      set_field_str(L, "entities", "-");
    }
    lua_pushinteger(L, c->nfields); lua_setfield(L, -2, "fields");
    lua_pushinteger(L, c->nindexes); lua_setfield(L, -2, "indexes");
    lua_rawseti(L, -2, i + 1);
  }
  store_abort(txn);
  static const char *const cols[] = {"collection", "prefix", "entities", "fields", "indexes", NULL};
  show(r, cols);
}

static void dot_indexes(repl *r, const char *arg) {
  lua_State *L = r->L;
  coll_def *c = *arg ? schema_coll(r->ctx->sc, arg) : NULL;
  if (!c) { r->nerr++; say_error(r, ".indexes %s: which collection? (.indexes COLL; .collections lists them)", arg); return; }
  kam_err e;
  MDB_txn *txn;
  if (store_begin(r->ctx->st, 0, &txn, &e)) { r->nerr++; say_error(r, "%s", e.msg); return; }
  lua_createtable(L, c->nindexes, 0);
  kbuf b = {0};
  for (int x = 0; x < c->nindexes; x++) {
    const index_def *ix = &c->indexes[x];
    lua_createtable(L, 0, 4);
    set_field_str(L, "index", ix->name);
    kbuf_reset(&b);
    for (int k = 0; k < ix->nf; k++) kbuf_printf(&b, "%s%s", k ? ", " : "", c->fields[ix->f[k]].name);
    kbuf_cstr(&b);
    set_field_str(L, "fields", (const char *)b.p);
    kbuf_reset(&b);
    for (int k = 0; k < ix->nc; k++) kbuf_printf(&b, "%s%s", k ? ", " : "", c->fields[ix->carry[k]].name);
    kbuf_cstr(&b);
    set_field_str(L, "carries", (const char *)b.p);
    size_t n;
    if (store_entries(txn, ix->dbi, ix->name, &n, &e)) {
      store_abort(txn);
      kbuf_free(&b);
      lua_pop(L, 2);
      r->nerr++;
      say_error(r, "%s", e.msg);
      return;
    }
    lua_pushinteger(L, (lua_Integer)n);
    lua_setfield(L, -2, "entries");
    lua_rawseti(L, -2, x + 1);
  }
  kbuf_free(&b);
  store_abort(txn);
  if (!c->nindexes) { lua_pop(L, 1); fprintf(r->out, "%s has no indexes\n", c->name); return; }
  static const char *const cols[] = {"index", "fields", "carries", "entries", NULL};
  show(r, cols);
}

/* The value of `key = "..."` in a policy's text (no code runs to list them). */
static void text_field(const char *src, const char *key, char *out, size_t n) {
  out[0] = 0;
  size_t kl = strlen(key);
  for (const char *p = strstr(src, key); p; p = strstr(p + 1, key)) {
    if (p > src && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) continue;
    const char *q = p + kl;
    while (*q == ' ' || *q == '\t') q++;
    if (*q != '=') continue;
    q++;
    while (*q == ' ' || *q == '\t') q++;
    if (*q != '"' && *q != '\'') continue;
    char quote = *q++;
    size_t k = 0;
    while (*q && *q != quote && *q != '\n' && k + 1 < n) out[k++] = *q++;
    out[k] = 0;
    return;
  }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void dot_policies(repl *r) {
  lua_State *L = r->L;
  char dir[1100];
  snprintf(dir, sizeof dir, "%s/rules", r->ctx->cfg->root);
  DIR *d = opendir(dir);
  if (!d) { fprintf(r->out, "no policies (%s/ is missing)\n", "rules"); return; }
  char *names[512];
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < 512) {
    size_t l = strlen(de->d_name);
    if (l > 4 && !strcmp(de->d_name + l - 4, ".lua") && !strstr(de->d_name, "_test.lua")) names[n++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    char path[1700], val[512];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "rb");
    kbuf src = {0};
    if (f) { /* the head of the file is enough to list it */
      kbuf_read(&src, f, 65536);
      fclose(f);
    }
    kbuf_cstr(&src);
    lua_createtable(L, 0, 4);
    names[i][strlen(names[i]) - 4] = 0;
    set_field_str(L, "policy", names[i]);
    text_field((const char *)src.p, "subject", val, sizeof val);
    set_field_str(L, "subject", val);
    text_field((const char *)src.p, "writes", val, sizeof val);
    set_field_str(L, "writes", val);
    text_field((const char *)src.p, "description", val, sizeof val);
    set_field_str(L, "description", val);
    lua_rawseti(L, -2, i + 1);
    kbuf_free(&src);
    free(names[i]);
  }
  if (!n) { lua_pop(L, 1); fputs("no policies in rules/\n", r->out); return; }
  static const char *const cols[] = {"policy", "subject", "writes", "description", NULL};
  show(r, cols);
}

static void dot_read(repl *r, const char *path) {
  if (!*path) { r->nerr++; say_error(r, ".read: which file? (.read FILE)"); return; }
  FILE *f = fopen(path, "rb");
  if (!f) { r->nerr++; say_error(r, ".read %s: %s", path, strerror(errno)); return; }
  kbuf b = {0};
  int rerr = kbuf_read(&b, f, 0);
  fclose(f);
  if (rerr) { kbuf_free(&b); r->nerr++; say_error(r, ".read %s: read error", path); return; }
  const char *src = (const char *)b.p;
  size_t len = b.len;
  if (len && src[0] == '#') /* a #! line: keep the line count */
    while (len && *src != '\n') { src++; len--; }
  char name[1100];
  snprintf(name, sizeof name, "@%s", path);
  if (sandbox_load(r->L, src, len, name) != LUA_OK) {
    kbuf_free(&b);
    r->nerr++;
    report_lua_error(r);
    lua_pop(r->L, 1);
    return;
  }
  char what[1100];
  snprintf(what, sizeof what, ".read %s", path);
  audit_as(r, what, "", 0);
  sha256_hex(b.p, b.len, r->stmt_hash);
  kbuf_free(&b);
  run_statement(r);
}

static void dot_output(repl *r, const char *path) {
  if (r->out != stdout) fclose(r->out);
  r->out = stdout;
  if (*path && strcmp(path, "stdout") && strcmp(path, "-")) {
    FILE *f = fopen(path, "w");
    if (!f) { r->nerr++; say_error(r, ".output %s: %s", path, strerror(errno)); }
    else r->out = f;
  }
  sandbox_set_output(r->out == stdout ? NULL : r->out);
}

static void dot_help(repl *r) {
  fputs("Type Lua: an expression prints its value (db.clients:count()), a statement runs\n"
        "(x = db.clients:get(\"CL-000001\")); writes go through kam.tx(function() ... end).\n"
        "Each statement reads one snapshot of the book. Tab completes; Ctrl-C stops a\n"
        "statement; Ctrl-D quits.\n\n", r->out);
  for (int i = 0; dots[i].name; i++) {
    char head[64];
    snprintf(head, sizeof head, "%s %s", dots[i].name, dots[i].args);
    fprintf(r->out, "  %-36s %s\n", head, dots[i].help);
  }
}

static void dot_command(repl *r, char *line) {
  char *p = line;
  while (*p && !isspace((unsigned char)*p)) p++;
  char *arg = p;
  if (*arg) *arg++ = 0;
  while (isspace((unsigned char)*arg)) arg++;
  size_t al = strlen(arg);
  while (al && isspace((unsigned char)arg[al - 1])) arg[--al] = 0;
  const char *cmd = line;
  int on;
  if (!strcmp(cmd, ".help")) dot_help(r);
  else if (!strcmp(cmd, ".quit") || !strcmp(cmd, ".exit") || !strcmp(cmd, ".q")) r->quit = 1;
  else if (!strcmp(cmd, ".schema")) dot_schema(r, arg);
  else if (!strcmp(cmd, ".collections")) dot_collections(r);
  else if (!strcmp(cmd, ".indexes")) dot_indexes(r, arg);
  else if (!strcmp(cmd, ".policies")) dot_policies(r);
  else if (!strcmp(cmd, ".read")) dot_read(r, arg);
  else if (!strcmp(cmd, ".output")) dot_output(r, arg);
  else if (!strcmp(cmd, ".user")) {
    lua_getglobal(r->L, "kam");
    lua_getfield(r->L, -1, "user");
    lua_remove(r->L, -2);
    show(r, NULL);
  } else if (!strcmp(cmd, ".mode")) {
    if (!*arg) fprintf(r->out, "%s\n", out_fmt_names[r->o.fmt]);
    else if (!out_fmt_parse(arg, &r->o.fmt)) { r->nerr++; say_error(r, ".mode %s: expected table, json, csv, yaml or lua", arg); }
  } else if (!strcmp(cmd, ".headers")) {
    if (!parse_onoff(arg, &on)) { r->nerr++; say_error(r, ".headers: on or off"); }
    else r->o.headers = on;
  } else if (!strcmp(cmd, ".time") || !strcmp(cmd, ".timer")) {
    if (!parse_onoff(arg, &on)) { r->nerr++; say_error(r, ".time: on or off"); }
    else r->timer = on;
  } else { r->nerr++; say_error(r, "%s: no such command (.help lists them)", cmd); }
  fflush(r->out);
}

/* ---- completion -------------------------------------------------------------- */

static const char *const lua_keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", NULL};

static int ident_char(int c) { return isalnum(c) || c == '_'; }

/* Adds the string keys of the table at idx that start with prefix to the
 * set `cands` (a table at stack index cands); only functions if want_fn. */
static void add_keys(lua_State *L, int idx, int cands, const char *prefix, int want_fn) {
  idx = lua_absindex(L, idx);
  size_t pl = strlen(prefix);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) == LUA_TSTRING && (!want_fn || lua_isfunction(L, -1))) {
      size_t kl;
      const char *k = lua_tolstring(L, -2, &kl);
      int ok = kl >= pl && !strncmp(k, prefix, pl) && k[0] != '_';
      for (size_t i = 0; ok && i < kl; i++) ok = ident_char((unsigned char)k[i]);
      if (ok) { lua_pushvalue(L, -2); lua_pushboolean(L, 1); lua_rawset(L, cands); }
    }
    lua_pop(L, 1);
  }
}

static void add_word(lua_State *L, int cands, const char *w, const char *prefix) {
  if (strncmp(w, prefix, strlen(prefix))) return;
  lua_pushstring(L, w);
  lua_pushboolean(L, 1);
  lua_rawset(L, cands);
}

static void add_fields(lua_State *L, int cands, const coll_def *c, const char *prefix) {
  for (int i = 0; i < c->nfields; i++) add_word(L, cands, c->fields[i].name, prefix);
}

/* The collection named by `db.NAME` last in text[0..n), if any. */
static const coll_def *last_db_coll(repl *r, const char *text, size_t n) {
  const coll_def *found = NULL;
  for (size_t i = 0; i + 3 < n; i++) {
    if (strncmp(text + i, "db.", 3) || (i && ident_char((unsigned char)text[i - 1]))) continue;
    size_t j = i + 3;
    while (j < n && ident_char((unsigned char)text[j])) j++;
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(j - i - 3), text + i + 3);
    const coll_def *c = schema_coll(r->ctx->sc, name);
    if (c) found = c;
  }
  return found;
}

/* Inside `db.COLL:where{...`, `:sort("`, `:sum("` ...: the collection whose
 * fields fit there. Looks at the unclosed brackets before the cursor. */
static const coll_def *field_context(repl *r, const char *text, size_t n) {
  static const char *const methods[] = {"where", "sort", "sum", "avg", "min", "max", "group",
                                        "insert", "update", NULL};
  size_t stack[64];
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < n; i++) {
    char c = text[i];
    if (quote) { if (c == '\\') i++; else if (c == quote) quote = 0; continue; }
    if (c == '"' || c == '\'') quote = c;
    else if ((c == '{' || c == '(') && depth < 64) stack[depth++] = i;
    else if ((c == '}' || c == ')') && depth) depth--;
  }
  for (int d = depth - 1; d >= 0 && d >= depth - 3; d--) {
    size_t k = stack[d];
    while (k && text[k - 1] == ' ') k--;
    size_t e = k;
    while (k && ident_char((unsigned char)text[k - 1])) k--;
    if (!k || text[k - 1] != ':' || e == k) continue;
    for (int m = 0; methods[m]; m++)
      if (strlen(methods[m]) == e - k && !strncmp(text + k, methods[m], e - k)) return last_db_coll(r, text, k);
    return NULL;
  }
  return NULL;
}

/* Resolves a dotted path of globals (`kam.fmt`, `db.clients`, `c`): pushes
 * the value, or nil. Only fields are read; nothing is called but __index. */
static void resolve(lua_State *L, const char *path, size_t n) {
  lua_pushglobaltable(L);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && path[j] != '.') j++;
    if (j == i || !(lua_istable(L, -1) || kam_is_query(L, -1))) { lua_pop(L, 1); lua_pushnil(L); return; }
    lua_pushlstring(L, path + i, j - i);
    lua_gettable(L, -2);
    lua_remove(L, -2);
    i = j + 1;
  }
}

/* A loop variable or local bound to a collection on this line:
 * `for X in db.COLL` or `X = db.COLL:get(`/`:first(`. */
static const coll_def *bound_coll(repl *r, const char *text, size_t n, const char *var, size_t vl) {
  for (size_t i = 0; i + vl < n; i++) {
    if (strncmp(text + i, var, vl) || (i && ident_char((unsigned char)text[i - 1])) || ident_char((unsigned char)text[i + vl])) continue;
    const char *p = text + i + vl;
    while (*p == ' ') p++;
    if (!strncmp(p, "in ", 3) || *p == '=') {
      const char *q = strstr(p, "db.");
      if (q && q < text + n) {
        const char *e = q + 3;
        while (ident_char((unsigned char)*e)) e++;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(e - q - 3), q + 3);
        const coll_def *c = schema_coll(r->ctx->sc, name);
        if (c) return c;
      }
    }
  }
  return NULL;
}

/* l_complete(text) -> sorted candidates, start of the word they replace
 * (0-based byte offset), and "files" when file names fit better. */
static int l_complete(lua_State *L) {
  repl *r = lua_touserdata(L, lua_upvalueindex(1));
  size_t n;
  const char *text = luaL_checklstring(L, 1, &n);
  lua_newtable(L);
  int cands = lua_gettop(L);
  size_t start = n;
  int files = 0;
  const char *t = text;
  while (*t == ' ') t++;
  if (*t == '.' && !isdigit((unsigned char)t[1])) {
    const char *sp = strchr(t, ' ');
    if (!sp) {
      start = (size_t)(t - text);
      for (int i = 0; dots[i].name; i++) add_word(L, cands, dots[i].name, t);
    } else {
      char cmd[32];
      snprintf(cmd, sizeof cmd, "%.*s", (int)(sp - t), t);
      const char *w = text + n;
      while (w > sp + 1 && w[-1] != ' ') w--;
      start = (size_t)(w - text);
      if (!strcmp(cmd, ".schema") || !strcmp(cmd, ".indexes"))
        for (int i = 0; i < r->ctx->sc->ncolls; i++) add_word(L, cands, r->ctx->sc->colls[i].name, w);
      else if (!strcmp(cmd, ".mode"))
        for (int i = 0; out_fmt_names[i]; i++) add_word(L, cands, out_fmt_names[i], w);
      else if (!strcmp(cmd, ".headers") || !strcmp(cmd, ".time"))
        for (int i = 0; onoff_names[i]; i++) add_word(L, cands, onoff_names[i], w);
      else if (!strcmp(cmd, ".read") || !strcmp(cmd, ".output")) files = 1;
    }
  } else {
    size_t w = n;
    while (w > 0 && (ident_char((unsigned char)text[w - 1]) || text[w - 1] == '.' || text[w - 1] == ':')) w--;
    size_t sep = n; /* the last . or : in the word */
    for (size_t i = w; i < n; i++) if (text[i] == '.' || text[i] == ':') sep = i;
    start = sep < n ? sep + 1 : w;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(n - start), text + start);
    int in_string = 0;
    {
      char q = 0;
      for (size_t i = 0; i < w; i++) {
        if (q) { if (text[i] == '\\') i++; else if (text[i] == q) q = 0; }
        else if (text[i] == '"' || text[i] == '\'') q = text[i];
      }
      in_string = q != 0;
    }
    const coll_def *fc = field_context(r, text, w);
    if (sep == n) {
      if (fc) add_fields(L, cands, fc, prefix);
      else if (!in_string) {
        lua_pushglobaltable(L);
        add_keys(L, -1, cands, prefix, 0);
        lua_pop(L, 1);
        for (int i = 0; lua_keywords[i]; i++) add_word(L, cands, lua_keywords[i], prefix);
      }
    } else if (!in_string) {
      int colon = text[sep] == ':';
      if (sep == w && colon && w > 0 && (text[w - 1] == ')' || text[w - 1] == '}')) {
        /* a method on what a call returned: a query, on this line */
        luaL_getmetatable(L, "kam.query");
        lua_getfield(L, -1, "__index");
        add_keys(L, -1, cands, prefix, 1);
        lua_pop(L, 2);
      } else if (sep > w) {
        resolve(L, text + w, sep - w);
        int v = lua_gettop(L);
        if (kam_is_entity(L, v) && !colon) add_fields(L, cands, kam_entity_coll(L, v), prefix);
        else if (lua_isstring(L, v) && colon) {
          lua_getglobal(L, "string");
          if (lua_istable(L, -1)) add_keys(L, -1, cands, prefix, 1);
          lua_pop(L, 1);
        } else if (lua_isnil(L, v) && !colon) {
          const coll_def *bc = bound_coll(r, text, w, text + w, sep - w);
          if (bc) add_fields(L, cands, bc, prefix);
        } else {
          if (lua_istable(L, v)) {
            lua_getglobal(L, "db");
            if (lua_rawequal(L, -1, v) && !colon) /* db's collections come from the schema */
              for (int i = 0; i < r->ctx->sc->ncolls; i++) add_word(L, cands, r->ctx->sc->colls[i].name, prefix);
            lua_pop(L, 1);
            add_keys(L, v, cands, prefix, colon);
          }
          if (luaL_getmetafield(L, v, "__index") == LUA_TTABLE) add_keys(L, -1, cands, prefix, colon);
          else if (lua_gettop(L) > v) lua_pop(L, 1);
        }
        lua_settop(L, v - 1);
      }
    }
  }
  /* the set as a sorted list */
  lua_newtable(L);
  int list = lua_gettop(L);
  lua_Integer k = 0;
  lua_pushnil(L);
  while (lua_next(L, cands)) { lua_pop(L, 1); lua_pushvalue(L, -1); lua_rawseti(L, list, ++k); }
  lua_getglobal(L, "table");
  if (lua_istable(L, -1) && lua_getfield(L, -1, "sort") == LUA_TFUNCTION) {
    lua_pushvalue(L, list);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
  } else lua_pop(L, 2);
  lua_pushinteger(L, (lua_Integer)start);
  lua_pushboolean(L, files);
  return 3;
}

/* Prints candidates in columns under the line being edited. */
static void list_candidates(repl *r, lua_State *L, int list) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, list);
  size_t w = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    size_t l = utf8_width(lua_tostring(L, -1), lua_rawlen(L, -1));
    if (l > w) w = l;
    lua_pop(L, 1);
  }
  int width = term_width(stdout);
  if (width <= 0) width = 80;
  int cols = (int)((size_t)width / (w + 2));
  if (cols < 1) cols = 1;
  lua_Integer rows = (n + cols - 1) / cols;
  fputc('\n', stdout);
  for (lua_Integer row = 0; row < rows && row < 40; row++) {
    for (int c = 0; c < cols; c++) {
      lua_Integer i = c * rows + row + 1;
      if (i > n) break;
      lua_rawgeti(L, list, i);
      const char *s = lua_tostring(L, -1);
      fprintf(stdout, "%-*s", (int)(w + 2), s);
      lua_pop(L, 1);
    }
    fputc('\n', stdout);
  }
  if (rows > 40) fprintf(stdout, "(%lld more)\n", (long long)(n - 40 * cols));
  fflush(stdout);
  (void)r;
}

static unsigned char el_complete(EditLine *el, int ch) {
  repl *r;
  ed.get(el, EL_CLIENTDATA, &r);
  const LineInfo *li = ed.line(el);
  lua_State *L = r->L;
  int top = lua_gettop(L);
  lua_pushlightuserdata(L, r);
  lua_pushcclosure(L, l_complete, 1);
  lua_pushlstring(L, li->buffer, (size_t)(li->cursor - li->buffer));
  int st = sandbox_pcall(L, 1, 3);
  kam_end_snapshots(r->ctx);
  if (st != LUA_OK) { lua_settop(L, top); return CC_ERROR; }
  if (lua_toboolean(L, -1)) { lua_settop(L, top); return ed.fn_complete(el, ch); }
  size_t start = (size_t)lua_tointeger(L, -2);
  int list = top + 1;
  size_t typed = (size_t)(li->cursor - li->buffer) - start;
  lua_Integer n = (lua_Integer)lua_rawlen(L, list);
  unsigned char res = CC_ERROR;
  if (n > 0) {
    /* the longest prefix every candidate shares */
    lua_rawgeti(L, list, 1);
    size_t common;
    const char *first = lua_tolstring(L, -1, &common);
    for (lua_Integer i = 2; i <= n; i++) {
      lua_rawgeti(L, list, i);
      const char *s = lua_tostring(L, -1);
      size_t k = 0;
      while (k < common && s[k] == first[k]) k++;
      common = k;
      lua_pop(L, 1);
    }
    if (common > typed) {
      char *ins = strndup(first + typed, common - typed);
      ed.insertstr(el, ins);
      free(ins);
      res = CC_REFRESH;
    } else if (n > 1) {
      list_candidates(r, L, list);
      res = CC_REDISPLAY;
    } else res = CC_REFRESH;
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  return res;
}

/* ---- the session --------------------------------------------------------------- */

static void open_editor(repl *r) {
  setlocale(LC_CTYPE, ""); /* multibyte input: Vietnamese names */
  if (!load_libedit()) return;
  r->el = ed.init("kam", stdin, stdout, stderr);
  if (!r->el) return;
  ed.set(r->el, EL_CLIENTDATA, r);
  ed.set(r->el, EL_PROMPT, el_prompt);
  ed.set(r->el, EL_EDITOR, "emacs");
  ed.set(r->el, EL_SIGNAL, 1);
  /* Ctrl-C arrives as a key while editing, not as a signal */
  ed.set(r->el, EL_SETTY, "-d", "-isig", NULL);
  /* the wide form keeps our static names (the narrow one copies and leaks them) */
  ed.wset(r->el, EL_ADDFN, L"kam-interrupt", L"drop the line", el_ctrl_c);
  ed.set(r->el, EL_BIND, "^C", "kam-interrupt", NULL);
  ed.wset(r->el, EL_ADDFN, L"kam-complete", L"complete a name", el_complete);
  ed.set(r->el, EL_BIND, "^I", "kam-complete", NULL);
  ed.source(r->el, NULL); /* the user's ~/.editrc */
  r->hist = ed.hinit();
  HistEvent ev;
  ed.history(r->hist, &ev, H_SETSIZE, HISTORY_MAX);
  ed.history(r->hist, &ev, H_SETUNIQUE, 1);
  ed.set(r->el, EL_HIST, ed.history, r->hist);
  const char *hp = getenv("KAM_HISTORY");
  if (hp) snprintf(r->hist_path, sizeof r->hist_path, "%s", hp);
  else if (getenv("HOME")) snprintf(r->hist_path, sizeof r->hist_path, "%s/.kam_history", getenv("HOME"));
  if (r->hist_path[0]) ed.history(r->hist, &ev, H_LOAD, r->hist_path);
}

static void greet(repl *r) {
  const kam_principal *u = r->ctx->who;
  char who[256];
  printf("kam %s \xe2\x80\x94 %s, as %s%s%s\n", "0.1.0", r->book ? r->book : "the book",
         u && u->name[0] ? u->name : "?", u ? ", " : "", u ? identity_label(u, who, sizeof who) : "");
  printf("Lua over the book: db.clients:count(), db.clients:get(\"CL-000001\"); writes in kam.tx.\n"
         ".help lists the dot commands; Tab completes; Ctrl-D quits.\n");
  fflush(stdout);
}

int repl_run(kam_ctx *ctx, const repl_opts *opts) {
  repl r;
  memset(&r, 0, sizeof r);
  r.ctx = ctx;
  r.L = ctx->L;
  r.o.fmt = opts->fmt;
  r.o.headers = 1;
  r.o.max_width = 40;
  r.out = stdout;
  r.bail = opts->bail;
  r.book = opts->book;
  r.tty = isatty(0);
  const char *term = getenv("TERM");
  r.color = r.tty && isatty(1) && !getenv("NO_COLOR") && term && strcmp(term, "dumb");
  if (r.tty) { open_editor(&r); greet(&r); }
  sandbox_arm(r.L, 0); /* no budget ticking while the prompt waits; each statement arms its own */
  kbuf line = {0}, chunk = {0};
  while (!r.quit) {
    int rc = read_line(&r, PROMPT, &line);
    if (rc == 0) { if (r.tty) putchar('\n'); break; }
    if (rc < 0) { /* Ctrl-C at the prompt */
      if (line.len) { r.armed = 0; continue; }
      if (r.armed) break;
      r.armed = 1;
      say_note(&r, "(Ctrl-C again or Ctrl-D to quit)");
      continue;
    }
    r.armed = 0;
    const char *s = (const char *)line.p;
    size_t k = 0;
    while (k < line.len && isspace((unsigned char)s[k])) k++;
    if (k == line.len) continue;
    if (s[k] == '.' && !(k + 1 < line.len && isdigit((unsigned char)s[k + 1]))) {
      if (strncmp(s + k, ".quit", 5) && strncmp(s + k, ".exit", 5)) remember(&r, s + k, line.len - k);
      kbuf_cstr(&line);
      dot_command(&r, (char *)line.p + k);
      if (r.nerr && r.bail && !r.tty) break;
      continue;
    }
    kbuf_reset(&chunk);
    kbuf_put(&chunk, line.p, line.len);
    int first_line = r.tty ? 1 : r.lineno;
    int cs;
    for (;;) {
      cs = compile(&r, (const char *)chunk.p, chunk.len, "=stdin", first_line);
      if (cs != CHUNK_MORE) break;
      lua_pop(r.L, 1);
      rc = read_line(&r, PROMPT2, &line);
      if (rc <= 0) break;
      kbuf_byte(&chunk, '\n');
      kbuf_put(&chunk, line.p, line.len);
    }
    if (rc < 0) continue; /* Ctrl-C drops the chunk */
    remember(&r, (const char *)chunk.p, chunk.len);
    if (cs == CHUNK_MORE) { /* the input ended inside a chunk: its syntax error */
      compile(&r, (const char *)chunk.p, chunk.len, "=stdin", first_line);
      cs = CHUNK_ERROR;
    }
    if (cs == CHUNK_ERROR) {
      r.nerr++;
      report_lua_error(&r);
      lua_pop(r.L, 1);
    } else {
      audit_as(&r, "", (const char *)chunk.p, chunk.len);
      run_statement(&r);
    }
    if (r.interrupted && !r.tty) break; /* Ctrl-C ends a piped run */
    r.interrupted = 0;
    if (r.nerr && r.bail && !r.tty) break;
    if (rc == 0) break;
  }
  kbuf_free(&line);
  kbuf_free(&chunk);
  dot_output(&r, "");
  if (r.el) ed.end(r.el);
  if (r.hist) ed.hend(r.hist);
  if (r.interrupted) return 130;
  return r.nerr && !r.tty ? 1 : 0;
}
