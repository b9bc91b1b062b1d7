/* cli.c — `kam COMMAND ...`: parses options, opens the config, schema and
 * book, runs the command and maps every error to `kam: <where>: <what>` and
 * an exit code (0 ok, 1 data/script, 2 usage, 3 permission, 4 internal). */
#include "cli.h"
#include "access.h"
#include "approved.h"
#include "audit.h"
#include "colmap.h"
#include "config.h"
#include "cron.h"
#include "heap.h"
#include "import.h"
#include "kdate.h"
#include "lua_db.h"
#include "lua_tx.h"
#include "lua_value.h"
#include "output.h"
#include "policy.h"
#include "guard.h"
#include "progress.h"
#include "repl.h"
#include "report.h"
#include "sandbox.h"
#include "scheduler.h"
#include "fmt.h"
#include "grouppass.h"
#include "identity.h"
#include "sha256.h"
#include "store.h"
#include "workers.h"
#include "verify.h"
#include <errno.h>
#include <lauxlib.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

typedef struct cli {
  const char *db, *config, *as;
  out_fmt fmt;
  int fmt_set;
  const char *fmt_name;          /* --format as given: report takes html and md too */
  int fmt_other;                 /* --format is none of out_fmt's */
  char **args; int nargs;       /* positional arguments after the command */
  char **opts; int nopts;       /* --name or --name=value / --name value, in order */
  kam_config *cfg;
  schema *sc;
  kam_store *st;
  kam_ctx ctx;
  kam_principal who;            /* resolve_user */
  kam_access *access;
  int who_done;
  char source[400];             /* the command line, for the audit */
  char hash[65];                /* SHA-256 of the command line or the script */
} cli;

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("kam: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

static const char *usage_text =
    "kam — the book of accounts for the account team\n"
    "\n"
    "usage: kam [--db PATH] [--config FILE] [--as USER] [--format table|json|csv] COMMAND ...\n"
    "\n"
    "  init [--demo] [--force]            create a book (with the demo agency)\n"
    "  import FILE... [--into C] [--map M] [--dry-run]   load YAML, CSV or JSON; all or nothing\n"
    "  export COLL [--where LUA] [--format csv|json|yaml] [--excel]\n"
    "  get COLL ID [--history]            one entity (and its versions)\n"
    "  ls COLL [--where LUA] [--fields a,b] [--sort F[:desc]] [--limit N]\n"
    "  eval 'LUA'                         run a chunk, print what it returns\n"
    "  run SCRIPT [ARGS...]               run a script (- reads standard input)\n"
    "  repl [--bail]                      a Lua prompt over the book (.help inside)\n"
    "  stats                              what the book holds\n"
    "  summary                            one screen about the book\n"
    "  policy list|show|eval|whatif|history|changes   decisions with reasons (kam policy --help)\n"
    "  test [PATH...] [--coverage]        run policy tests\n"
    "  check [PATH...]                    lint policies, scripts and config\n"
    "  whoami                             who you act as, and why\n"
    "  tick [--now TIME]                  run whatever kam.yaml's schedules have due, once\n"
    "  scheduler                          the same in a loop (SIGTERM stops it)\n"
    "  schedule list|next|run|history     the schedules, their times and runs\n"
    "  alerts [--mine] [--open] [--owner ID]   what the nightly run raised\n"
    "  request KIND --subject ID --amount N --reason T [--preview]   raise a request\n"
    "  requests [--pending] [--mine] [--waiting-on-me]; request show ID\n"
    "  approve ID [--note T]              sign a request's step\n"
    "  reject ID --reason T               stop a request\n"
    "  withdraw ID                        take back your request\n"
    "  reconcile --period P --theirs FILE [--map M] [--dry-run]   month-end đối soát: ours vs theirs\n"
    "  report executive|account ID|team [--period P] [--lang vi|en] [-o FILE]   a page to read\n"
    "  access explain USER ACTION COLL [ID] | matrix [--role R]   who may do what\n"
    "  verify [--limit N]                 check that the book agrees with itself\n"
    "  audit [--id ID] [--user U] [--coll C] [--since DATE] [--limit N]   who wrote what\n"
    "\n"
    "kam COMMAND --help tells more. Money is whole đồng; dates are YYYY-MM-DD.\n";

typedef struct cmd_help { const char *name, *text; } cmd_help;
static const cmd_help helps[] = {
    {"init", "usage: kam init [--demo] [--force]\n\nCreates an empty book at --db (default: kam.yaml's db, from the project's folder).\n--demo fills it with the demo agency (config/demo/demo.lua). --force replaces a book\nthat is already there.\n"},
    {"import", "usage: kam import FILE... [--into COLLECTION] [--map NAME] [--dry-run]\n\nLoads YAML ({collection: [records]}), CSV (header row; the file's name or\n--into names the collection) or JSON. One import is one transaction: a bad\nrow is reported with its line and field, and nothing is written.\n--map NAME reads a CSV exported by another program (an ad platform's spend\nreport) through config/import/NAME.yaml: its headers, dates and amounts\nbecome kam's fields; --into defaults to the map's collection.\n--dry-run checks everything and writes nothing.\n"},
    {"reconcile", "usage: kam reconcile --period P --theirs FILE [--map NAME] [--dry-run]\n\nMonth-end đối soát: the spend of period P (2026-11, 2026-Q4, last_month) in\nthe book, per project (and contract line when FILE gives one), against the\nfigures of FILE, a platform's or the client's (a CSV of spend fields, or any\nCSV through config/import/NAME.yaml). Each pair is matched within the\ntolerance of rules/reconciliation.lua, else disputed; one side missing is\ndisputed. Writes one reconciliation per pair (updating an open one of the\nsame project, line and period) in one transaction; --dry-run writes nothing.\n"},
    {"export", "usage: kam export COLLECTION [--where LUA] [--format csv|json|yaml] [--excel]\n\nWrites every field of the collection's entities to standard output, in a\nform kam import reads back. CSV lines end in CRLF; --excel also starts the\nfile with a UTF-8 byte-order mark, so that Excel reads Vietnamese text.\n"},
    {"get", "usage: kam get COLLECTION ID [--history]\n\nShows one entity. Exit 1 if there is no such id. --history: also every version\nit had, newest first (who, through what, each field old → new), from the audit.\n"},
    {"ls", "usage: kam ls COLLECTION [--where LUA] [--fields a,b] [--sort FIELD[:desc]] [--limit N]\n\n--where takes a filter table ({status = \"overdue\"}), a function, or an\nexpression over the fields (amount > 1e8 and status == \"overdue\").\n"},
    {"eval", "usage: kam eval 'LUA'\n\nRuns the chunk against the book and prints what it returns, in --format.\nWrites go through kam.tx(function() ... end).\n"},
    {"run", "usage: kam run SCRIPT.lua [ARGS...]\n\nRuns a Lua script; its arguments are in the table arg (arg[0] is the script).\nA name without a folder is also looked for in scripts/. - reads standard input.\nCtrl-C stops it: its open kam.tx rolls back, and kam exits with 130.\n"},
    {"repl", "usage: kam repl [--bail] [--format table|json|csv|yaml|lua]\n\nA Lua prompt over the book: an expression prints its value, a statement runs;\nwrites go through kam.tx. .help lists the dot commands (.schema, .mode, .read ...).\nWith input that is not a terminal (kam repl < file.lua) statements run without\nprompts; --bail stops at the first error with exit 1. History: $KAM_HISTORY or\n~/.kam_history.\n"},
    {"stats", "usage: kam stats\n\nThe book's file, map, and the entities and index entries of each collection.\n"},
    {"policy", "usage: kam policy list | show NAME | eval NAME [--id ID] [--explain] [--commit] [--strict] [--jobs N]\n"
               "       kam policy whatif NAME --with FILE [--sum FIELD_OR_EXPR] [--jobs N] | history ID [NAME]\n"
               "       kam policy changes NAME [--since DATE|Nd]\n\n"
               "eval decides for every subject (or --id) in one snapshot and shows what changed since the\n"
               "last committed decision; --commit stores the decisions and sets the policy's field.\n"
               "eval and whatif share a whole book among N processes (--jobs; by default one per core,\n"
               "one per 1000 subjects at most); the output is the same as one process gives.\n"
               "whatif decides with FILE (an edited copy, or rules/NAME.lua after an edit) over the whole\n"
               "book and compares with what the book holds: each subject's last committed decision, else\n"
               "the policy's field as it is now; it says which, and writes nothing. history shows one\n"
               "subject's decisions and whether the data or the policy changed them. changes lists every\n"
               "subject whose committed decision changed since DATE (or N days ago), old -> new, the\n"
               "reasons, and whether the data or the policy changed it.\n"},
    {"test", "usage: kam test [PATH...] [--coverage]\n\nRuns the policy tests (*_test.lua, rules/ by default); each test gets a fresh book\nfrom its fixture. Ends with \"N passed, N failed\" (--format json: every test, with\nfile, line and message of a failure).\n"},
    {"check", "usage: kam check [PATH...]\n\nCompiles policies and scripts (rules/ and scripts/ by default) without running them and\nreports syntax errors, globals, unknown names and fields, and thresholds off the convention\nof rules/README.md: bands with gaps or overlaps, ladders that do not increase, keys never\nread, values of the wrong type. Each problem is file:line:column: message; --format json\ngives a list of {file, line, column, rule, message}. kam.yaml and schema.yaml are checked too.\n"},
    {"verify", "usage: kam verify [--limit N]\n\nReads the book (read-only, in one snapshot) and checks that it agrees with itself:\n"
               "the stored counts against a scan, every record decodes with the schema's types,\n"
               "every index holds exactly one entry per record with the right key and carried\n"
               "values, and the field dictionary, id sequences, audit, runs and decisions.\n"
               "Prints one line per problem (the first N, 20 by default, then a count) and a\n"
               "summary. Exit 0 sound, 1 a problem found, 4 the book cannot be read.\n"},
    {"tick", "usage: kam tick [--now TIME]\n\nRuns once whatever kam.yaml's schedules have due, for cron (* * * * * kam tick)\nor a systemd timer. Each run is claimed in the book first, so it happens once\nhowever many ticks run; missed and skipped occurrences are recorded too.\n--now (or KAM_NOW) sets the clock: 2026-12-01T01:30+07:00, or @UNIX.\n"},
    {"scheduler", "usage: kam scheduler [--now TIME --until TIME]\n\nkam tick in a loop, sleeping until the next due time. SIGTERM or Ctrl-C stops\nit once the running job has finished; SIGHUP reads kam.yaml again. With --now\nand --until it walks a fake clock from one due time to the next, without\nsleeping (a week in seconds).\n"},
    {"schedule", "usage: kam schedule list\n       kam schedule next (NAME | --cron EXPR [--tz ZONE]) [-n N] [--from TIME]\n       kam schedule run NAME\n       kam schedule history [NAME] [--since DATE]\n\nlist: each schedule, its next time (local and UTC) and its last run. next:\nthe next N times (10) as cron reads the expression, as systemd-analyze\ncalendar shows them. run: now, by hand, as its owner (the owner or an admin\nmay). history: every run, newest first: due, status, how long, summary or\nerror. --now sets the clock as for kam tick.\n"},
    {"alerts", "usage: kam alerts [--mine] [--open] [--owner ID]\n\nThe alerts the nightly job raised (scripts/alerts.lua): kind, severity,\nclient, owner, message, first and last seen. --mine: yours; --open: not yet\nresolved; --owner: one person's.\n"},
    {"request", "usage: kam request KIND --subject ID --amount N [--margin-after X] [--cr CR-ID] --reason TEXT [--preview]\n       kam request show ID\n       kam request reroute ID\n\nRaises a request (KIND: scope_change, discount, budget_overrun, investment,\nhiring). rules/approval.lua decides who signs, in which order, and the chain is\nkept on the request with the policy's hash and reasons. --preview shows the\nchain and why, and writes nothing. --cr: the change request a scope change is\nfor (its delta and margin are the request's). show: the chain, who signed\nwhen, who is next, how long it waited. reroute: a new request, routed afresh.\n"},
    {"requests", "usage: kam requests [--pending] [--mine] [--waiting-on-me]\n\nThe requests, with their step and how long they waited. --waiting-on-me:\nthose whose current step is yours to sign (your role, your team's).\n"},
    {"approve", "usage: kam approve ID [--note TEXT]\n\nSigns the request's current step: you hold that step's role (the team lead of\nthe client's team for a team lead's step; a director or the CEO may sign a\nlower step when the access rules let them approve the kind). Nobody signs\ntheir own request or two steps of one. The last approval applies the request\n(a scope change moves its contract's value) in the same transaction.\n"},
    {"reject", "usage: kam reject ID --reason TEXT\n\nRejects the request at its current step: the chain stops, nothing is applied.\n"},
    {"withdraw", "usage: kam withdraw ID\n\nThe requester takes back a pending request.\n"},
    {"whoami", "usage: kam whoami\n\nWho kam takes you for: the staff record whose os_user is your login (or\n--as), its role and team, how kam.yaml's auth treats --as, and the access\nrules in force.\n"},
    {"access", "usage: kam access explain USER ACTION COLLECTION [ID]\n       kam access matrix [--role ROLE]\n\nexplain: whether USER (a staff id or login) may do ACTION (read, insert,\nupdate, delete, import, export, commit, approve, admin) on COLLECTION (a\npolicy for commit, a request kind for approve), and the rules that decide,\nwith their file:line. matrix: role x collection x action, as a table.\n"},
    {"audit", "usage: kam audit [--id ID] [--user U] [--coll C] [--since DATE] [--limit N]\n"
              "                 [--format table|json|csv]\n\n"
              "The audit trail, newest first: when, who (staff id and role; \"X as Y\" when\n"
              "--as was used), via (cli, run, repl, import, policy), the operation, the\n"
              "collection, the id, and the fields changed as old → new (an update: the fields\n"
              "that differ; an insert: the new values; a delete: the old ones). An import is\n"
              "one entry per collection, its id \"N rows\". json and csv add the command line\n"
              "and the SHA-256 of the script or command. --id and --coll match exactly, --user\n"
              "the writer or the one acting through --as; --since YYYY-MM-DD keeps entries of\n"
              "that day or later; --limit N the newest N. Reads only: no command edits or\n"
              "removes entries.\n"},
    {"report", "usage: kam report executive|account ID|team [--period P] [--format html|md|csv|json]\n"
               "                  [--lang vi|en] [-o FILE]\n\n"
               "A report of the book as one page: executive (for the board), account ID\n"
               "(for the client: never cost or margin), team (KPI scorecards, workload).\n"
               "--period 2026-Q4, 2026-11, 2026-H2 or 2026 (this quarter when not given);\n"
               "--format html (one file, charts inside; the default), md, csv or json (the\n"
               "same figures); --lang vi (the default) or en. -o FILE writes the page\n"
               "there, else to standard output (on a terminal, html goes to\n"
               "var/reports/). The reports are scripts/reports/*.lua.\n"},
    {"summary", "usage: kam summary [--format table|json]\n\nOne screen: clients by tier and industry, revenue over 12 months, overdue\ninvoices by owner, pipeline by stage. --format json gives the same figures\n(money in whole đồng, an absent value null).\n"},
    {NULL, NULL}};

/* ---- options ------------------------------------------------------------ */

static const char *opt(cli *c, const char *name) {
  size_t n = strlen(name);
  for (int i = 0; i < c->nopts; i++)
    if (!strncmp(c->opts[i], name, n) && (c->opts[i][n] == 0 || c->opts[i][n] == '='))
      return c->opts[i][n] == '=' ? c->opts[i] + n + 1 : "";
  return NULL;
}

static int check_opts(cli *c, const char *cmd, const char *const *allowed) {
  for (int i = 0; i < c->nopts; i++) {
    int ok = 0;
    for (int k = 0; allowed[k] && !ok; k++) {
      size_t n = strlen(allowed[k]);
      ok = !strncmp(c->opts[i], allowed[k], n) && (c->opts[i][n] == 0 || c->opts[i][n] == '=');
    }
    if (!ok) {
      char name[128];
      snprintf(name, sizeof name, "%s", c->opts[i]);
      char *eq = strchr(name, '=');
      if (eq) *eq = 0;
      return fail(KAM_EUSAGE, "%s: unknown option %s (kam %s --help)", cmd, name, cmd);
    }
  }
  return 0;
}

/* options that take a value */
static int takes_value(const char *o) {
  static const char *const v[] = {"--db", "--config", "--as", "--format", "--into", "--where",
                                   "--fields", "--sort", "--limit", "--id", "--with", "--sum",
                                   "--user", "--coll", "--since", "--role", "--now", "--until", "--cron",
                                   "--tz", "-n", "--from", "--owner", "--subject", "--amount", "--margin-after",
                                   "--cr", "--reason", "--note", "--map", "--period", "--theirs", "--lang", "-o", "--jobs", NULL};
  for (int i = 0; v[i]; i++) if (!strcmp(v[i], o)) return 1;
  return 0;
}

/* ---- set-up ------------------------------------------------------------- */

static int load_config(cli *c) {
  kam_err e;
  char path[1024];
  if (config_find(path, sizeof path, c->config, &e) || config_load(&c->cfg, path, &e)) return fail(e.code, "%s", e.msg);
  date_set_utc_offset(c->cfg->utc_offset);
  if (schema_load(&c->sc, c->cfg->schema, &e)) return fail(e.code, "%s", e.msg);
  return 0;
}

static const char *book_path(cli *c) { return c->db ? c->db : getenv("KAM_DB") ? getenv("KAM_DB") : c->cfg->db; }

static int open_book(cli *c, int flags) {
  kam_err e;
  if (store_open(&c->st, book_path(c), c->sc, flags, c->cfg->map_size, &e)) return fail(e.code, "%s", e.msg);
  return 0;
}

/* Who acts (identity.h), under which rules (access.h), and how the audit
 * names their writes: channel (cli, run, repl, import), the command line
 * and its hash (a script's own text, when run_file sets it). A login
 * without a staff record stops here, before anything is read. */
static int resolve_user(cli *c, const char *channel) {
  kam_err e;
  if (!c->who_done) {
    MDB_txn *txn;
    if (store_begin(c->st, 0, &txn, &e)) return fail(e.code, "%s", e.msg);
    int rc = identity_resolve(c->st, txn, c->cfg, c->as, &c->who, &e);
    store_abort(txn);
    if (rc) return fail(e.code, "%s", e.msg);
    /* named from the project folder, as config/access.yaml */
    const char *path = c->cfg->access, *root = c->cfg->root;
    size_t rl = strlen(root);
    const char *shown = rl && !strncmp(path, root, rl) && path[rl] == '/' ? path + rl + 1 : path;
    if (access_load(&c->access, path, shown, c->sc, &e)) return fail(e.code, "%s", e.msg);
    c->who_done = 1;
    if (!c->hash[0]) sha256_hex(c->source, strlen(c->source), c->hash);
  }
  c->ctx.who = &c->who;
  c->ctx.access = c->access;
  kam_actor a = {identity_who(&c->who), c->who.role, c->who.by[0] ? c->who.by : NULL, channel, c->source, c->hash};
  c->ctx.actor = a;
  return 0;
}

static int open_lua_as(cli *c, int allow_write, const char *channel) {
  kam_err e;
  int rc = resolve_user(c, channel);
  if (rc) return rc;
  c->ctx.st = c->st;
  c->ctx.sc = c->sc;
  c->ctx.cfg = c->cfg;
  c->ctx.allow_write = allow_write;
  c->ctx.open_api = policy_open_api; /* kam.request, kam.approve ... for scripts */
  c->ctx.guards = &guard_hooks;       /* the write guards of rules/, on every write */
  if (sandbox_open(&c->ctx, &e)) return fail(e.code, "%s", e.msg);
  return 0;
}

static int open_lua(cli *c, int allow_write) { return open_lua_as(c, allow_write, "cli"); }

static void close_all(cli *c) {
  sandbox_close(&c->ctx);
  access_free(c->access);
  store_close(c->st);
  schema_free(c->sc);
  config_free(c->cfg);
}

/* Prints a Lua error: the message, and the lines of the traceback that are
 * in the user's own chunks. */
static void print_frame(const char *frame, size_t n, void *shown) {
  if (!(*(int *)shown)++) fputs("  in:\n", stderr);
  fprintf(stderr, "  \t%.*s\n", (int)n, frame);
}

static int lua_fail(lua_State *L) {
  size_t n;
  const char *msg = sandbox_error_message(L, &n);
  int code = sandbox_error_code(L); /* a C error's own code, else a script error */
  fprintf(stderr, "kam: %.*s\n", (int)n, msg);
  int shown = 0;
  if (code != KAM_EUSAGE) sandbox_error_frames(L, 8, NULL, print_frame, &shown); /* the user's own frames */
  return code;
}

/* Printing runs Lua (a query's rows, an entity's fields) and may raise, so
 * it runs protected too. */
static int l_print_values(lua_State *L) {
  cli *c = lua_touserdata(L, lua_upvalueindex(1));
  out_opts o = {c->fmt, 1, 40, NULL, 0};
  for (int i = 1; i <= lua_gettop(L); i++) out_value(L, i, &o, stdout);
  return 0;
}

static int print_results(cli *c, int first, int last) {
  lua_State *L = c->ctx.L;
  lua_pushlightuserdata(L, c);
  lua_pushcclosure(L, l_print_values, 1);
  for (int i = first; i <= last; i++) lua_pushvalue(L, i);
  return sandbox_pcall(L, last - first + 1, 0);
}

/* Ctrl-C while a chunk runs, as in the REPL: the handler only asks the
 * sandbox's hook to raise "interrupted", which unwinds through kam.tx (its
 * transaction is aborted) and which no pcall can catch; the handler goes back
 * to the default on delivery, so a second Ctrl-C ends a process stuck in C. */
static lua_State *sig_L;
static void on_sigint(int sig) {
  (void)sig;
  sandbox_interrupt(sig_L);
}

static void catch_sigint(lua_State *L, int on) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sig_L = L;
  sa.sa_handler = on ? on_sigint : SIG_DFL;
  sa.sa_flags = on ? SA_RESETHAND : 0;
  sigaction(SIGINT, &sa, NULL);
}

/* Says what Ctrl-C stopped and what became of its writes; 130 as a shell
 * gives a command ended by SIGINT. */
static int interrupted(cli *c, const char *what, int bar_erased, const long before[3]) {
  kam_ctx *x = &c->ctx;
  if (!bar_erased && isatty(2)) fputc('\n', stderr); /* after the ^C the terminal echoed */
  char done[160];
  int any = kam_written_since(x, before[0], before[1], before[2], done, sizeof done);
  fprintf(stderr, "kam: %s: interrupted (Ctrl-C)%s; %s%s\n", what,
          x->tx_interrupted ? ", the open kam.tx rolled back" : "", any ? "written before: " : "nothing written",
          any ? done : "");
  return 130;
}

/* Runs the chunk on top of the stack with nargs; prints results when asked.
 * what names it if Ctrl-C stops it, or if it fails after a kam.tx committed:
 * a stop or an error ends the run, not the writes already in the book, and
 * the user must not be left to think nothing was written. */
static int run_chunk(cli *c, int nargs, int print, const char *what) {
  lua_State *L = c->ctx.L;
  int base = lua_gettop(L) - nargs - 1;
  long before[3] = {c->ctx.n_ins, c->ctx.n_upd, c->ctx.n_del};
  catch_sigint(L, 1);
  int st = sandbox_pcall(L, nargs, LUA_MULTRET);
  if (st == LUA_OK && print) st = print_results(c, base + 1, lua_gettop(L));
  catch_sigint(L, 0);
  int bar = progress_reset(); /* an error or the end takes the bar's line */
  kam_end_snapshots(&c->ctx);
  if (st != LUA_OK) {
    if (sandbox_stopping()) return interrupted(c, what, bar, before);
    int rc = lua_fail(L);
    char done[160];
    if (kam_written_since(&c->ctx, before[0], before[1], before[2], done, sizeof done))
      fprintf(stderr, "kam: %s: what it wrote before it failed stays in the book: %s\n", what, done);
    return rc;
  }
  lua_settop(L, base);
  return 0;
}

/* ---- commands ----------------------------------------------------------- */

/* Pushes the script at path, compiled in the sandbox, and its arguments
 * (c->args from nargs_from on; also the global arg, as lua.c gives it). */
static int push_script(cli *c, const char *path, const char *chunkname, int nargs_from) {
  kbuf b = {0};
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return fail(KAM_EDATA, "%s: cannot open: %s", path, strerror(errno));
  int rerr = kbuf_read(&b, f, 0);
  if (f != stdin) fclose(f);
  if (rerr) { kbuf_free(&b); return fail(KAM_EDATA, "%s: read error", path); }
  lua_State *L = c->ctx.L;
  lua_createtable(L, c->nargs, 1);
  lua_pushstring(L, path);
  lua_rawseti(L, -2, 0);
  for (int i = nargs_from; i < c->nargs; i++) {
    lua_pushstring(L, c->args[i]);
    lua_rawseti(L, -2, i - nargs_from + 1);
  }
  lua_setglobal(L, "arg");
  const char *src = (const char *)b.p;
  size_t len = b.len;
  if (len && src[0] == '#') { /* a #! line */
    while (len && *src != '\n') { src++; len--; }
  }
  if (sandbox_load(L, src, len, chunkname) != LUA_OK) {
    kbuf_free(&b);
    return lua_fail(L);
  }
  sha256_hex(b.p, b.len, c->hash); /* the audit names a script by its whole text, as sha256sum does */
  kbuf_free(&b);
  for (int i = nargs_from; i < c->nargs; i++) lua_pushstring(L, c->args[i]);
  return 0;
}

static int run_file(cli *c, const char *path, const char *chunkname, int nargs_from, int print) {
  int rc = push_script(c, path, chunkname, nargs_from);
  if (rc) return rc;
  return run_chunk(c, c->nargs - nargs_from, print, chunkname + (chunkname[0] == '@'));
}

static int cmd_init(cli *c) {
  static const char *const ok[] = {"--demo", "--force", NULL};
  int rc = check_opts(c, "init", ok);
  if (rc) return rc;
  const char *path = book_path(c);
  struct stat sb;
  if (!stat(path, &sb)) {
    if (!opt(c, "--force"))
      return fail(KAM_EDATA, "%s: a book is already here (give another --db, or --force to replace it)", path);
    /* replacing a book is the admin's: asked of the book being replaced */
    if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = resolve_user(c, "cli"))) return rc;
    kam_err e;
    if (access_may(c->access, &c->who, ACT_ADMIN, "init", &e)) return fail(e.code, "%s", e.msg);
    store_close(c->st);
    c->st = NULL;
    access_free(c->access);
    c->access = NULL;
    c->who_done = 0; /* the new book has no staff: its maker sets it up */
    if (store_remove(path)) return fail(KAM_EDATA, "%s: cannot remove: %s", path, strerror(errno));
  }
  if ((rc = open_book(c, STORE_CREATE))) return rc;
  if (!opt(c, "--demo")) {
    printf("created an empty book at %s\n", path);
    return 0;
  }
  if ((rc = open_lua(c, 1))) return rc;
  char demo[1100];
  snprintf(demo, sizeof demo, "%s/config/demo/demo.lua", c->cfg->root);
  rc = run_file(c, demo, "@config/demo/demo.lua", c->nargs, 1); /* prints its summary line */
  if (rc) {
    /* leave no half-made book behind */
    store_close(c->st);
    c->st = NULL;
    store_remove(path);
    return rc;
  }
  /* the script returns a summary line */
  printf("created %s\n", path);
  return 0;
}

/* An import needs the right to import the collection; its rows are then
 * held to the insert rules, one by one unless they cover every row. */
static int import_coll_ok(void *ud, const coll_def *cd, int *each_row, kam_err *e) {
  cli *c = ud;
  if (access_may(c->access, &c->who, ACT_IMPORT, cd->name, e)) return e->code;
  /* quotes are checked one by one: an accepted one needs its discount approved */
  *each_row = !access_whole(c->access, &c->who, ACT_INSERT, cd) || (!c->who.bootstrap && !strcmp(cd->name, "quotes"));
  return 0;
}

static int import_row_ok(void *ud, MDB_txn *txn, const coll_def *cd, const kval *vals, kam_err *e) {
  cli *c = ud;
  if (!c->who.bootstrap && approved_check(cd, OP_INSERT, vals, NULL, e)) return e->code;
  return access_write(c->access, &c->who, c->st, txn, cd, OP_INSERT, vals, NULL, e);
}

/* kam import --map NAME: the map loaded (--into defaults to its collection)
 * and each file converted into a temporary CSV of kam's headers (colmap.h);
 * what is wrong is said here, and nothing is imported. */
static int import_map(cli *c, colmap **map, colmap_staged *stg, import_opts *io) {
  kam_err e;
  if (colmap_load(map, c->cfg->root, opt(c, "--map"), c->sc, &e)) {
    if (e.code == KAM_EUSAGE) return fail(e.code, "import: %s", e.msg);
    return fail(e.code, "%s", e.msg);
  }
  const char *into = colmap_into(*map)->name;
  if (io->into && strcmp(io->into, into)) {
    fail(KAM_EUSAGE, "import: --into %s: the map %s fills %s", io->into, colmap_path(*map), into);
    colmap_free(*map);
    return KAM_EUSAGE;
  }
  io->into = into;
  kbuf errs = {0};
  int nerr = 0, rc = colmap_stage(*map, c->args, c->nargs, stg, &errs, &nerr, &e);
  if (rc && nerr) {
    fprintf(stderr, "kam: %s\n", (const char *)kbuf_cstr(&errs));
    if (nerr > 10) fprintf(stderr, "kam: ... and %d more error%s\n", nerr - 10, nerr - 10 == 1 ? "" : "s");
    fputs("kam: nothing was imported\n", stderr);
  } else if (rc) {
    fprintf(stderr, "kam: %s\n", e.msg);
  }
  kbuf_free(&errs);
  if (rc) {
    colmap_unstage(stg);
    colmap_free(*map);
  }
  return rc;
}

static int cmd_import(cli *c) {
  static const char *const ok[] = {"--into", "--dry-run", "--map", NULL};
  int rc = check_opts(c, "import", ok);
  if (rc) return rc;
  if (c->nargs < 1) return fail(KAM_EUSAGE, "import: which files? (kam import FILE... [--into COLLECTION])");
  if (opt(c, "--into") && !schema_coll(c->sc, opt(c, "--into")))
    return fail(KAM_EUSAGE, "import: --into %s: no such collection", opt(c, "--into"));
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = resolve_user(c, "import"))) return rc;
  import_access ia = {import_coll_ok, import_row_ok, c};
  /* the write guards run in a Lua state of their own, over the import's transaction */
  if ((rc = open_lua_as(c, 1, "import"))) return rc;
  import_guard ig;
  guard_import_hooks(&c->ctx, &ig);
  import_opts io = {opt(c, "--into"), opt(c, "--dry-run") != NULL, &c->ctx.actor, 10, &ia, &ig};
  colmap *map = NULL;
  colmap_staged stg = {0};
  if (opt(c, "--map") && (rc = import_map(c, &map, &stg, &io))) return rc;
  import_stats stats;
  memset(&stats, 0, sizeof stats);
  kam_err e;
  char *const *files = map ? stg.paths : c->args;
  /* this process ends with its import: its heap can be laid out for one */
  size_t total = 0;
  for (int i = 0; i < c->nargs; i++) {
    struct stat sb;
    if (!stat(files[i], &sb)) total += (size_t)sb.st_size;
  }
  heap_prepare_bulk(total * 8);
  if (import_files(c->st, files, c->nargs, &io, &stats, &e)) {
    if (map) { /* the foreign file's name, line and column, not the temporary file's */
      kbuf m = {0};
      colmap_relocate(&stg, e.msg, &m);
      snprintf(e.msg, sizeof e.msg, "%s", (const char *)kbuf_cstr(&m));
      kbuf_free(&m);
    }
    colmap_unstage(&stg);
    colmap_free(map);
    fprintf(stderr, "kam: %s\n", e.msg);
    if (e.code == KAM_EDATA) fputs("kam: nothing was imported\n", stderr);
    return e.code;
  }
  colmap_unstage(&stg);
  colmap_free(map);
  printf("%s %ld row%s", io.dry_run ? "checked" : "imported", stats.rows, stats.rows == 1 ? "" : "s");
  const char *sep = ": ";
  for (int i = 0; i < c->sc->ncolls && i < 256; i++)
    if (stats.per_coll[i]) { printf("%s%s %ld", sep, c->sc->colls[i].name, stats.per_coll[i]); sep = ", "; }
  printf("%s\n", io.dry_run ? " (dry run: nothing written)" : "");
  return 0;
}

/* Pushes the query db.COLL filtered by --where (a table, a function or an
 * expression over the fields). */
static int push_filtered(cli *c, const char *coll, const char *where) {
  lua_State *L = c->ctx.L;
  if (!schema_coll(c->sc, coll)) return fail(KAM_EUSAGE, "%s: no such collection (see kam stats)", coll);
  lua_getglobal(L, "db");
  lua_getfield(L, -1, coll);
  lua_remove(L, -2);
  if (!where) return 0;
  const char *w = where;
  while (*w == ' ') w++;
  kbuf src = {0};
  int expr = !(*w == '{' || !strncmp(w, "function", 8));
  if (expr) {
    /* fields read as names: amount > 1e8 and status == "overdue" */
    kbuf_str(&src, "local __e = ... ; return function(__r) local _ENV = setmetatable({}, {__index = function(_, k) "
                   "if k == 'kam' or k == 'db' or k == 'math' or k == 'string' then return __e[k] end return __r[k] end}) return (");
    kbuf_str(&src, where);
    kbuf_str(&src, " ) end");
  } else {
    kbuf_str(&src, "return ");
    kbuf_str(&src, where);
  }
  if (sandbox_load(L, (const char *)src.p, src.len, "=--where") != LUA_OK) {
    kbuf_free(&src);
    return lua_fail(L);
  }
  kbuf_free(&src);
  kam_err qe;
  if (expr && query_check_expr(schema_coll(c->sc, coll), where, &qe)) /* as where{} does: a value the field never holds */
    return fail(qe.code, "where: %s", qe.msg);
  if (expr) lua_pushglobaltable(L);
  if (sandbox_pcall(L, expr ? 1 : 0, 1) != LUA_OK) return lua_fail(L);
  if (!lua_istable(L, -1) && !lua_isfunction(L, -1)) return fail(KAM_EUSAGE, "--where: expected a table, a function or an expression");
  lua_getfield(L, -2, "where");
  lua_pushvalue(L, -3);
  lua_pushvalue(L, -3);
  if (sandbox_pcall(L, 2, 1) != LUA_OK) return lua_fail(L);
  lua_remove(L, -2);
  lua_remove(L, -2);
  return 0;
}

static int cmd_ls(cli *c) {
  static const char *const ok[] = {"--where", "--fields", "--sort", "--limit", NULL};
  int rc = check_opts(c, "ls", ok);
  if (rc) return rc;
  if (c->nargs != 1) return fail(KAM_EUSAGE, "ls: which collection? (kam ls COLLECTION)");
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua(c, 0))) return rc;
  coll_def *coll = schema_coll(c->sc, c->args[0]);
  if ((rc = push_filtered(c, c->args[0], opt(c, "--where")))) return rc;
  lua_State *L = c->ctx.L;
  const char *sort = opt(c, "--sort");
  if (sort) {
    char f[128];
    snprintf(f, sizeof f, "%s", sort);
    char *colon = strchr(f, ':');
    int desc = 0;
    if (colon) { *colon = 0; desc = !strcmp(colon + 1, "desc"); }
    if (coll_field(coll, f) < 0) return fail(KAM_EUSAGE, "ls: --sort %s: %s has no such field", f, coll->name);
    lua_getfield(L, -1, "sort");
    lua_insert(L, -2);
    lua_pushstring(L, f);
    lua_pushstring(L, desc ? "desc" : "asc");
    if (sandbox_pcall(L, 3, 1) != LUA_OK) return lua_fail(L);
  }
  const char *lim = opt(c, "--limit");
  if (lim) {
    char *end;
    long n = strtol(lim, &end, 10);
    if (*end || n < 0 || !*lim) return fail(KAM_EUSAGE, "ls: --limit %s: expected a count", lim);
    lua_getfield(L, -1, "limit");
    lua_insert(L, -2);
    lua_pushinteger(L, n);
    if (sandbox_pcall(L, 2, 1) != LUA_OK) return lua_fail(L);
  }
  int fields[64], nf = 0;
  const char *fl = opt(c, "--fields");
  if (fl) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", fl);
    for (char *t = strtok(buf, ","); t && nf < 64; t = strtok(NULL, ",")) {
      while (*t == ' ') t++;
      int fi = coll_field(coll, t);
      if (fi < 0) return fail(KAM_EUSAGE, "ls: --fields: %s has no field '%s'", coll->name, t);
      fields[nf++] = fi;
    }
  }
  lua_getfield(L, -1, "list");
  lua_insert(L, -2);
  if (sandbox_pcall(L, 1, 1) != LUA_OK) return lua_fail(L);
  out_opts o = {c->fmt, 1, 40, fl ? fields : NULL, nf};
  out_entities(L, -1, coll, &o, stdout);
  return 0;
}

static int cmd_get(cli *c) {
  static const char *const ok[] = {"--history", NULL};
  int rc = check_opts(c, "get", ok);
  if (rc) return rc;
  if (c->nargs != 2) return fail(KAM_EUSAGE, "get: expected COLLECTION ID");
  if (!schema_coll(c->sc, c->args[0])) return fail(KAM_EUSAGE, "get: %s: no such collection", c->args[0]);
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua(c, 0))) return rc;
  lua_State *L = c->ctx.L;
  lua_getglobal(L, "db");
  lua_getfield(L, -1, c->args[0]);
  lua_getfield(L, -1, "get");
  lua_insert(L, -2);
  lua_pushstring(L, c->args[1]);
  if (sandbox_pcall(L, 2, 1) != LUA_OK) return lua_fail(L);
  if (lua_isnil(L, -1)) return fail(KAM_EDATA, "%s %s: no such id", c->args[0], c->args[1]);
  out_opts o = {c->fmt, 1, 60, NULL, 0};
  if (!opt(c, "--history")) {
    out_value(L, -1, &o, stdout);
    return 0;
  }
  /* --history: the entity now, then every version it had, newest first, as
   * the audit keeps them (who, through what, each field old → new); a
   * contract's value moved by an approved scope change shows its request's
   * channel. Only rows one may read have a history to show. */
  if (c->fmt == FMT_TABLE) {
    out_value(L, -1, &o, stdout);
    printf("\nhistory, newest first:\n");
  }
  lua_pop(L, 1);
  kam_end_snapshots(&c->ctx);
  audit_filter f = {c->args[1], NULL, c->args[0], NULL, 0, 0};
  kam_err e;
  int fmt = c->fmt == FMT_JSON ? AUDIT_JSON : c->fmt == FMT_CSV ? AUDIT_CSV : AUDIT_TABLE;
  if (audit_print(c->st, NULL, &f, fmt, stdout, &e)) return fail(e.code, "%s", e.msg);
  return 0;
}

/* export streams: one entity at a time, never the whole collection in memory */
typedef struct export_st { out_fmt fmt; const coll_def *c; long n; kbuf b; } export_st;

static int l_export_row(lua_State *L) {
  export_st *x = lua_touserdata(L, lua_upvalueindex(1));
  const coll_def *c = x->c;
  kbuf_reset(&x->b);
  if (x->fmt == FMT_JSON) kbuf_str(&x->b, x->n ? ",\n  {" : "\n  {");
  int first = 1;
  kbuf tmp = {0};
  for (int i = 0; i < c->nfields; i++) {
    kval v;
    kam_entity_kval(L, 1, i, &v); /* stored values: lists and maps keep their order */
    if (x->fmt == FMT_CSV) {
      if (i) kbuf_byte(&x->b, ',');
      if (v.tag == KV_NULL) continue;
      kbuf_reset(&tmp);
      if (v.tag == KV_STR) kbuf_put(&tmp, v.u.s.p, v.u.s.len);
      else if (v.tag == KV_NUM) kbuf_printf(&tmp, "%.17g", v.u.n);
      else json_kval(&tmp, &v);
      int q = 0;
      for (size_t k = 0; k < tmp.len && !q; k++) q = tmp.p[k] == ',' || tmp.p[k] == '"' || tmp.p[k] == '\n' || tmp.p[k] == '\r';
      if (q) {
        kbuf_byte(&x->b, '"');
        for (size_t k = 0; k < tmp.len; k++) { if (tmp.p[k] == '"') kbuf_byte(&x->b, '"'); kbuf_byte(&x->b, tmp.p[k]); }
        kbuf_byte(&x->b, '"');
      } else kbuf_put(&x->b, tmp.p, tmp.len);
    } else if (v.tag != KV_NULL) {
      if (x->fmt == FMT_JSON) {
        kbuf_str(&x->b, first ? "" : ", ");
        json_str(&x->b, c->fields[i].name, strlen(c->fields[i].name));
        kbuf_str(&x->b, ": ");
      } else {
        kbuf_str(&x->b, first ? "  - " : "    ");
        kbuf_printf(&x->b, "%s: ", c->fields[i].name);
      }
      first = 0;
      json_kval(&x->b, &v); /* JSON values are YAML flow values too */
      if (x->fmt == FMT_YAML) kbuf_byte(&x->b, '\n');
    }
  }
  kbuf_free(&tmp);
  if (x->fmt == FMT_CSV) kbuf_str(&x->b, "\r\n");
  if (x->fmt == FMT_JSON) kbuf_byte(&x->b, '}');
  fwrite(x->b.p, 1, x->b.len, stdout);
  x->n++;
  return 0;
}

static int cmd_export(cli *c) {
  static const char *const ok[] = {"--where", "--excel", NULL};
  int rc = check_opts(c, "export", ok);
  if (rc) return rc;
  if (c->nargs != 1) return fail(KAM_EUSAGE, "export: which collection? (kam export COLLECTION)");
  out_fmt fmt = c->fmt_set ? c->fmt : FMT_CSV;
  if (fmt == FMT_TABLE || fmt == FMT_LUA) return fail(KAM_EUSAGE, "export: --format csv, json or yaml");
  if (opt(c, "--excel") && fmt != FMT_CSV) return fail(KAM_EUSAGE, "export: --excel is for --format csv");
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua(c, 0))) return rc;
  kam_err e;
  if (schema_coll(c->sc, c->args[0]) && access_may(c->access, &c->who, ACT_EXPORT, c->args[0], &e))
    return fail(e.code, "%s", e.msg);
  if ((rc = push_filtered(c, c->args[0], opt(c, "--where")))) return rc;
  lua_State *L = c->ctx.L;
  export_st x = {fmt, schema_coll(c->sc, c->args[0]), 0, {0}};
  if (fmt == FMT_CSV) {
    if (opt(c, "--excel")) fputs("\xEF\xBB\xBF", stdout); /* without it Excel reads UTF-8 as the system's code page */
    for (int i = 0; i < x.c->nfields; i++) printf("%s%s", i ? "," : "", x.c->fields[i].name);
    printf("\r\n");
  } else if (fmt == FMT_JSON) printf("{\"%s\": [", x.c->name);
  else printf("%s:\n", x.c->name);
  const char *loop = "local q, emit = ... for e in q:each() do emit(e) end";
  luaL_loadbufferx(L, loop, strlen(loop), "=export", "t");
  lua_insert(L, -2);
  lua_pushlightuserdata(L, &x);
  lua_pushcclosure(L, l_export_row, 1);
  rc = sandbox_pcall(L, 2, 0);
  kbuf_free(&x.b);
  if (rc != LUA_OK) return lua_fail(L);
  if (fmt == FMT_JSON) printf("%s]}\n", x.n ? "\n" : "");
  else if (fmt == FMT_YAML && !x.n) printf("  []\n");
  return 0;
}

static int cmd_eval(cli *c) {
  static const char *const ok[] = {NULL};
  int rc = check_opts(c, "eval", ok);
  if (rc) return rc;
  if (c->nargs < 1) return fail(KAM_EUSAGE, "eval: expected a Lua chunk, like kam eval 'return db.clients:count()'");
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua(c, 1))) return rc;
  lua_State *L = c->ctx.L;
  const char *code = c->args[0];
  /* like the Lua REPL: an expression first, then a statement */
  kbuf b = {0};
  kbuf_str(&b, "return ");
  kbuf_str(&b, code);
  kbuf_str(&b, ";");
  if (sandbox_load(L, (const char *)b.p, b.len, "=eval") != LUA_OK) {
    lua_pop(L, 1);
    if (sandbox_load(L, code, strlen(code), "=eval") != LUA_OK) { kbuf_free(&b); return lua_fail(L); }
  }
  kbuf_free(&b);
  lua_createtable(L, c->nargs, 0);
  for (int i = 1; i < c->nargs; i++) { lua_pushstring(L, c->args[i]); lua_rawseti(L, -2, i); }
  lua_setglobal(L, "arg");
  return run_chunk(c, 0, 1, "eval");
}

static int cmd_run(cli *c) {
  static const char *const ok[] = {NULL};
  int rc = check_opts(c, "run", ok);
  if (rc) return rc;
  if (c->nargs < 1) return fail(KAM_EUSAGE, "run: which script? (kam run SCRIPT.lua [ARGS...])");
  const char *path = c->args[0];
  char alt[2048], name[2100];
  struct stat sb;
  if (strcmp(path, "-") && stat(path, &sb) && !strchr(path, '/')) {
    snprintf(alt, sizeof alt, "%s/scripts/%s%s", c->cfg->root, path, strstr(path, ".lua") ? "" : ".lua");
    if (!stat(alt, &sb)) path = alt;
  }
  if (strcmp(path, "-") && stat(path, &sb)) return fail(KAM_EDATA, "%s: no such script", c->args[0]);
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua_as(c, 1, "run"))) return rc;
  snprintf(name, sizeof name, "@%s", !strcmp(path, "-") ? "stdin" : c->args[0]);
  return run_file(c, path, name, 1, 1);
}

/* Counts for kam stats, read in one snapshot before anything is printed,
 * so that a failing read prints nothing half way. */
typedef struct book_counts { size_t audit, *n, *ixn; } book_counts;

static int count_book(kam_store *st, const schema *sc, book_counts *bc, kam_err *e) {
  bc->n = calloc(2 * (size_t)sc->ncolls + 1, sizeof(size_t));
  if (!bc->n) return kam_errf(e, KAM_EINTERNAL, "out of memory");
  bc->ixn = bc->n + sc->ncolls;
  MDB_txn *txn;
  if (store_begin(st, 0, &txn, e)) return e->code;
  int rc = store_entries(txn, st->audit, "audit", &bc->audit, e);
  for (int i = 0; !rc && i < sc->ncolls; i++) {
    const coll_def *cd = &sc->colls[i];
    rc = store_count(txn, cd, &bc->n[i], e);
    bc->ixn[i] = 0;
    for (int x = 0; !rc && x < cd->nindexes; x++) {
      size_t k;
      rc = store_entries(txn, cd->indexes[x].dbi, cd->indexes[x].name, &k, e);
      bc->ixn[i] += k;
    }
  }
  store_abort(txn);
  return rc;
}

static const char *auth_line(const cli *c);

static int cmd_stats(cli *c) {
  static const char *const ok[] = {NULL};
  int rc = check_opts(c, "stats", ok);
  if (rc) return rc;
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = resolve_user(c, "cli"))) return rc;
  kam_err e;
  book_counts bc = {0};
  if (count_book(c->st, c->sc, &bc, &e)) { free(bc.n); return fail(e.code, "%s", e.msg); }
  struct stat sb;
  stat(book_path(c), &sb);
  char size[64], map[64];
  fmt_money(size, sizeof size, (long long)sb.st_size / 1024, 0);
  fmt_money(map, sizeof map, (long long)(c->st->mapsize >> 20), 0);
  if (c->fmt == FMT_JSON) {
    printf("{\"book\": \"%s\", \"bytes\": %lld, \"map_bytes\": %zu, \"audit\": %zu, \"auth\": \"%s\", \"collections\": {", book_path(c),
           (long long)sb.st_size, c->st->mapsize, bc.audit, c->cfg->auth_trust ? "trust" : "os");
    for (int i = 0; i < c->sc->ncolls; i++) {
      coll_def *cd = &c->sc->colls[i];
      int whole = access_read_scope(c->access, &c->who, cd) == SCOPE_ALL;
      printf("%s\"%s\": {\"entities\": ", i ? ", " : "", cd->name);
      if (whole) printf("%zu", bc.n[i]);
      else printf("null");
      printf(", \"indexes\": %d}", cd->nindexes);
    }
    printf("}}\n");
    free(bc.n);
    return 0;
  }
  printf("book      %s\nfile      %s KiB (map %s MiB)\naudit     %zu entries\nauth      %s\n\n", book_path(c), size, map, bc.audit,
         auth_line(c));
  printf("%-18s %12s %8s %14s\n", "collection", "entities", "indexes", "index entries");
  size_t total = 0;
  int hidden = 0;
  for (int i = 0; i < c->sc->ncolls; i++) {
    coll_def *cd = &c->sc->colls[i];
    char a[64], b2[64];
    /* a count of rows one may not read all of says too much: not shown */
    if (access_read_scope(c->access, &c->who, cd) != SCOPE_ALL) {
      printf("%-18s %12s %8d %14s\n", cd->name, "-", cd->nindexes, "-");
      hidden++;
      continue;
    }
    fmt_money(a, sizeof a, (long long)bc.n[i], 0);
    fmt_money(b2, sizeof b2, (long long)bc.ixn[i], 0);
    printf("%-18s %12s %8d %14s\n", cd->name, a, cd->nindexes, b2);
    total += bc.n[i];
  }
  char t[64];
  fmt_money(t, sizeof t, (long long)total, 0);
  printf("%-18s %12s%s\n", "total", t, hidden ? "  (- : collections you read only in part)" : "");
  free(bc.n);
  return 0;
}

static int cmd_summary(cli *c) {
  static const char *const ok[] = {NULL};
  int rc = check_opts(c, "summary", ok);
  if (rc) return rc;
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua(c, 0))) return rc;
  if (c->fmt_set && c->fmt != FMT_TABLE && c->fmt != FMT_JSON) return fail(KAM_EUSAGE, "summary: --format table or json");
  char path[1100];
  snprintf(path, sizeof path, "%s/scripts/summary.lua", c->cfg->root);
  c->nargs = 0;
  static char json_arg[] = "json";
  if (c->fmt == FMT_JSON) c->args[c->nargs++] = json_arg; /* the script's arg[1]: it prints the figures as JSON */
  return run_file(c, path, "@scripts/summary.lua", 0, 1);
}

/* kam policy ..., kam test, kam check: the policy engine (policy.c) */
static int run_policy(cli *c, const char *cmd, const char *const *ok) {
  int rc = check_opts(c, cmd, ok);
  if (rc) return rc;
  /* test and check need no book of the user's: a temporary one will do */
  char tmp[300] = "";
  struct stat sb;
  if (strcmp(cmd, "policy") && stat(book_path(c), &sb)) {
    snprintf(tmp, sizeof tmp, "%s/kam-check.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) return fail(KAM_EINTERNAL, "%s: cannot make a temporary folder", cmd);
    strcat(tmp, "/book.db");
    c->db = tmp;
    rc = open_book(c, STORE_CREATE);
  } else {
    rc = open_book(c, STORE_MUST_EXIST);
  }
  if (!rc) rc = open_lua(c, 1);
  if (!rc) rc = policy_command(&c->ctx, cmd, c->args, c->nargs, c->opts, c->nopts, c->fmt);
  if (tmp[0]) {
    sandbox_close(&c->ctx);
    store_close(c->st);
    c->st = NULL;
    store_remove(tmp);
    *strrchr(tmp, '/') = 0;
    rmdir(tmp);
  }
  return rc;
}

static int cmd_repl(cli *c) {
  static const char *const ok[] = {"--bail", NULL};
  int rc = check_opts(c, "repl", ok);
  if (rc) return rc;
  if (c->nargs) return fail(KAM_EUSAGE, "repl: no arguments (kam repl < FILE reads statements from a file)");
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua_as(c, 1, "repl"))) return rc;
  repl_opts o = {c->fmt, opt(c, "--bail") != NULL, book_path(c)};
  return repl_run(&c->ctx, &o);
}

static int cmd_policy(cli *c) {
  static const char *const ok[] = {"--id", "--explain", "--commit", "--strict", "--with", "--sum", "--since", "--jobs",
                                   "--worker-part", NULL};
  if (c->nargs < 1) return fail(KAM_EUSAGE, "policy: list, show NAME, eval NAME, whatif NAME --with FILE, history ID or changes NAME");
  workers_allow(); /* eval shares a whole book among processes (commands.lua) */
  return run_policy(c, "policy", ok);
}

static int cmd_test(cli *c) {
  static const char *const ok[] = {"--coverage", NULL};
  return run_policy(c, "test", ok);
}

static int cmd_check(cli *c) {
  static const char *const ok[] = {NULL};
  int rc = run_policy(c, "check", ok);
  /* the access rules loaded when kam check began: a rule that cannot apply */
  kbuf b = {0};
  if (c->access && access_lint(c->access, &b)) {
    for (char *line = (char *)kbuf_cstr(&b), *nl; line && *line; line = nl ? nl + 1 : NULL) {
      nl = strchr(line, '\n');
      fprintf(stderr, "kam: %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
    }
    if (!rc) rc = KAM_EDATA;
  }
  kbuf_free(&b);
  /* the schedules: a step's script that is not there, and cron's either-day rule */
  for (int i = 0; i < c->cfg->nsched; i++) {
    const kam_schedule *sc = &c->cfg->sched[i];
    kam_cron cr;
    kam_err ce;
    char msg[300];
    if (!cron_parse(&cr, sc->cron, &ce) && cron_either_day(&cr, msg, sizeof msg))
      fprintf(stderr, "kam: %s:%d: schedules.%s: cron \"%s\": %s (a day matching either fires)\n", c->cfg->path, sc->line,
              sc->name, sc->cron, msg);
    for (int k = 0; k < sc->nsteps; k++) {
      char script[600], full[1700];
      struct stat sb;
      report_args ra;
      kam_err re;
      if (!strncmp(sc->steps[k], "report ", 7) && !report_step_parse(sc->steps[k], &ra, &re))
        snprintf(script, sizeof script, "scripts/reports/%s.lua", ra.kind); /* the report a step makes */
      else if (!strncmp(sc->steps[k], "policy ", 7) || sscanf(sc->steps[k], "%599s", script) != 1) continue;
      snprintf(full, sizeof full, "%s/%s", c->cfg->root, script);
      if (stat(full, &sb) || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "kam: %s:%d: schedules.%s: %s: no such script\n", c->cfg->path, sc->line, sc->name, script);
        if (!rc) rc = KAM_EDATA;
      }
    }
  }
  return rc;
}

/* kam verify: problems go to stderr as they are found, the summary last */
static int cmd_verify(cli *c) {
  static const char *const ok[] = {"--limit", NULL};
  int rc = check_opts(c, "verify", ok);
  if (rc) return rc;
  if (c->nargs) return fail(KAM_EUSAGE, "verify: no arguments (--db names the book)");
  long max = 20;
  const char *lim = opt(c, "--limit");
  if (lim) {
    char *end;
    max = strtol(lim, &end, 10);
    if (!*lim || *end || max < 0) return fail(KAM_EUSAGE, "verify: --limit %s: expected a count", lim);
  }
  verify_opts o = {max, stderr, stdout};
  verify_stats vs;
  kam_err e;
  if ((rc = verify_book(book_path(c), c->sc, &o, &vs, &e)))
    return fail(rc == KAM_EPERM ? KAM_EPERM : KAM_EINTERNAL, "verify: %s", e.msg);
  char n[7][32];
  size_t v[7] = {vs.colls, vs.records, vs.indexes, vs.index_entries, vs.audit, vs.decisions, vs.runs};
  for (int i = 0; i < 7; i++) fmt_money(n[i], sizeof n[i], (long long)v[i], 0);
  char sum[400];
  snprintf(sum, sizeof sum, "%s collections, %s records, %s indexes checked (%s index entries); %s audit entries, %s decisions in %s run%s",
           n[0], n[1], n[2], n[3], n[4], n[5], n[6], vs.runs == 1 ? "" : "s");
  if (!vs.problems) {
    printf("ok: %s\n", sum);
    return 0;
  }
  fflush(stdout);
  char more[32], np[32];
  fmt_money(np, sizeof np, (long long)vs.problems, 0);
  if (vs.problems > (size_t)max) {
    fmt_money(more, sizeof more, (long long)(vs.problems - (size_t)max), 0);
    fprintf(stderr, "kam: verify: ... and %s more\n", more);
  }
  return fail(KAM_EDATA, "verify: %s problem%s found; %s", np, vs.problems == 1 ? "" : "s", sum);
}

static int cmd_audit(cli *c) {
  static const char *const ok[] = {"--id", "--user", "--coll", "--since", "--limit", NULL};
  int rc = check_opts(c, "audit", ok);
  if (rc) return rc;
  if (c->nargs) return fail(KAM_EUSAGE, "audit: no arguments (--id, --user, --coll, --since filter)");
  if (c->fmt_set && c->fmt != FMT_TABLE && c->fmt != FMT_JSON && c->fmt != FMT_CSV)
    return fail(KAM_EUSAGE, "audit: --format table, json or csv");
  audit_filter f = {opt(c, "--id"), opt(c, "--user"), opt(c, "--coll"), opt(c, "--since"), 0, 0};
  const char *lim = opt(c, "--limit");
  if (lim) {
    char *end;
    long n = strtol(lim, &end, 10);
    if (!*lim || *end || n < 0) return fail(KAM_EUSAGE, "audit: --limit %s: expected a count", lim);
    f.limit = (size_t)n;
    f.none = !n; /* --limit 0: none (a limit of 0 is no limit) */
  }
  kam_err e;
  if (audit_check_filter(c->sc, &f, &e)) return fail(e.code, "audit: %s", e.msg);
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = resolve_user(c, "cli"))) return rc;
  int fmt = c->fmt == FMT_JSON ? AUDIT_JSON : c->fmt == FMT_CSV ? AUDIT_CSV : AUDIT_TABLE;
  if (audit_print(c->st, NULL, &f, fmt, stdout, &e)) return fail(e.code, "%s", e.msg);
  return 0;
}

static const char *auth_line(const cli *c) {
  return c->cfg->auth_trust ? "trust (--as works for anyone: a demo or test setting)"
                            : "os (the login of the process; --as only for an admin)";
}

static int cmd_whoami(cli *c) {
  static const char *const ok[] = {NULL};
  int rc = check_opts(c, "whoami", ok);
  if (rc) return rc;
  if (c->nargs) return fail(KAM_EUSAGE, "whoami: no arguments");
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = resolve_user(c, "cli"))) return rc;
  const kam_principal *p = &c->who;
  char label[256];
  if (c->fmt == FMT_JSON) {
    printf("{\"id\": \"%s\", \"staff\": \"%s\", \"login\": \"%s\", \"role\": \"%s\", \"team\": \"%s\", "
           "\"as_by\": \"%s\", \"os_login\": \"%s\", \"auth\": \"%s\", \"guest\": %s, \"new_book\": %s}\n",
           identity_who(p), p->staff, p->login, p->role, p->team, p->by, p->os_login,
           c->cfg->auth_trust ? "trust" : "os", p->guest ? "true" : "false", p->bootstrap ? "true" : "false");
    return 0;
  }
  printf("you act as  %s\n", identity_label(p, label, sizeof label));
  if (p->staff[0]) printf("staff       %s %s\n", p->staff, p->name);
  if (p->team[0]) printf("team        %s\n", p->team);
  if (p->by[0]) printf("really      %s (--as)\n", p->by_login);
  printf("login       %s (uid %u)\n", p->os_login, (unsigned)getuid());
  printf("auth        %s\n", auth_line(c));
  printf("rules       %s\n", access_path(c->access));
  if (p->superuser) printf("note        root: the OS lets root rewrite the book, so kam does not refuse it\n");
  else if (p->bootstrap) printf("note        the book has no staff yet: you may do anything until it has\n");
  if (p->guest) printf("note        no staff record names your login: you may read, not write\n");
  return 0;
}

/* kam access explain USER ACTION THING [ID] | kam access matrix [--role R] */
static int cmd_access(cli *c) {
  static const char *const ok[] = {"--role", NULL};
  int rc = check_opts(c, "access", ok);
  if (rc) return rc;
  const char *sub = c->nargs ? c->args[0] : "";
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = resolve_user(c, "cli"))) return rc;
  kam_err e;
  if (!strcmp(sub, "explain")) {
    if (c->nargs < 4 || c->nargs > 5)
      return fail(KAM_EUSAGE, "access explain USER ACTION COLLECTION [ID] (USER: a staff id or login; ACTION: read, insert, update, delete, import, export, commit, approve, admin)");
    int act = access_action(c->args[2]);
    if (act < 0) return fail(KAM_EUSAGE, "access explain: %s: not an action (read, insert, update, delete, import, export, commit, approve, admin)", c->args[2]);
    kam_principal p;
    memset(&p, 0, sizeof p);
    MDB_txn *txn;
    if (store_begin(c->st, 0, &txn, &e)) return fail(e.code, "%s", e.msg);
    int f = identity_staff(c->st, txn, c->args[1], &p, &e);
    if (f <= 0) {
      store_abort(txn);
      return f < 0 ? fail(e.code, "%s", e.msg) : fail(KAM_EUSAGE, "access explain: %s: no staff record has that id or os_user", c->args[1]);
    }
    kbuf out = {0};
    int r = access_explain(c->access, &p, c->st, txn, act, c->args[3], c->nargs == 5 ? c->args[4] : NULL, &out, &e);
    store_abort(txn);
    if (r < 0) { kbuf_free(&out); return fail(e.code, "%s", e.msg); }
    fwrite(out.p, 1, out.len, stdout);
    kbuf_free(&out);
    return 0;
  }
  if (!strcmp(sub, "matrix")) {
    if (c->nargs != 1) return fail(KAM_EUSAGE, "access matrix [--role ROLE]");
    const char **roles;
    int nr = access_roles(c->access, &roles);
    const char *only = opt(c, "--role");
    int seen = 0;
    for (int i = 0; only && i < nr; i++) seen |= !strcmp(roles[i], only);
    if (only && !seen) return fail(KAM_EUSAGE, "access matrix: --role %s: no such role (staff.role's values)", only);
    int json = c->fmt == FMT_JSON, csv = c->fmt == FMT_CSV, n = 0;
    if (json) printf("[");
    else if (csv) printf("role,collection,read,insert,update,delete,import,export\r\n");
    else printf("%-20s %-17s %-7s %-7s %-7s %-7s %-7s %s\n", "role", "collection", "read", "insert", "update", "delete", "import", "export");
    for (int i = 0; i < nr; i++) {
      if (only && strcmp(roles[i], only)) continue;
      for (int k = 0; k < c->sc->ncolls; k++) {
        char cell[ACT_EXPORT + 1][16];
        for (int a = ACT_READ; a <= ACT_EXPORT; a++) access_cell(c->access, roles[i], a, c->sc->colls[k].name, cell[a], sizeof cell[a]);
        if (json) {
          printf("%s\n  {\"role\": \"%s\", \"collection\": \"%s\"", n++ ? "," : "", roles[i], c->sc->colls[k].name);
          for (int a = ACT_READ; a <= ACT_EXPORT; a++) printf(", \"%s\": \"%s\"", access_action_names[a], cell[a]);
          printf("}");
        } else if (csv) {
          printf("%s,%s", roles[i], c->sc->colls[k].name);
          for (int a = ACT_READ; a <= ACT_EXPORT; a++) printf(",%s", cell[a]);
          printf("\r\n");
        } else {
          printf("%-20s %-17s", roles[i], c->sc->colls[k].name);
          for (int a = ACT_READ; a <= ACT_EXPORT; a++) printf(a < ACT_EXPORT ? " %-7s" : " %s", cell[a]);
          printf("\n");
        }
      }
    }
    if (json) printf("\n]\n");
    else if (!csv) printf("\nall/team/own: the rows a grant covers; * limited to some fields or values; - not granted;\n"
                          "forbid: refused whatever grants say. Rules: %s\n", access_path(c->access));
    return 0;
  }
  return fail(KAM_EUSAGE, "access: explain USER ACTION COLLECTION [ID], or matrix [--role ROLE]");
}

/* ---- the scheduler ---------------------------------------------------------- */

/* now: --now, else KAM_NOW, else the clock; *fake when given */
static int clock_now(cli *c, int64_t *now, int *fake) {
  const char *v = opt(c, "--now");
  *fake = 0;
  if (v) {
    if (!instant_parse(v, now)) return fail(KAM_EUSAGE, "--now %s: expected a time like 2026-12-01T01:30+07:00 (or @UNIX)", v);
    *fake = 1;
    /* the jobs' own clock (audit times, kam.today) moves with it */
    char at[32];
    snprintf(at, sizeof at, "@%lld", (long long)*now);
    setenv("KAM_NOW", at, 1);
    return 0;
  }
  *fake = getenv("KAM_NOW") != NULL;
  *now = kam_clock();
  return 0;
}

static int sched_open(cli *c, sched_host *h) {
  int rc = open_book(c, STORE_MUST_EXIST);
  if (!rc) rc = resolve_user(c, "cli");
  if (rc) return rc;
  memset(h, 0, sizeof *h);
  h->cfg = c->cfg;
  h->sc = c->sc;
  h->st = c->st;
  h->access = c->access;
  h->fmt = c->fmt;
  return 0;
}

static int cmd_tick(cli *c) {
  static const char *const ok[] = {"--now", NULL};
  int rc = check_opts(c, "tick", ok);
  if (rc) return rc;
  if (c->nargs) return fail(KAM_EUSAGE, "tick: no arguments (it runs whatever kam.yaml's schedules have due)");
  sched_host h;
  int64_t now;
  int fake, failed = 0;
  if ((rc = clock_now(c, &now, &fake)) || (rc = sched_open(c, &h))) return rc;
  h.fake_clock = fake;
  kam_err e;
  if (scheduler_tick(&h, now, &failed, &e)) return fail(e.code, "%s", e.msg);
  if (failed) return fail(KAM_EDATA, "tick: %d run%s failed (kam schedule history)", failed, failed == 1 ? "" : "s");
  return 0;
}

static volatile sig_atomic_t sched_stop, sched_reload;
static void on_stop(int sig) { (void)sig; sched_stop = 1; }
static void on_hup(int sig) { (void)sig; sched_reload = 1; }

/* kam scheduler: tick, sleep until the next due time (a minute at most),
 * again; SIGTERM or SIGINT ends it once the running job has finished,
 * SIGHUP reads kam.yaml again. With --now and --until it walks a fake
 * clock from due time to due time instead, without sleeping. */
static int cmd_scheduler(cli *c) {
  static const char *const ok[] = {"--now", "--until", NULL};
  int rc = check_opts(c, "scheduler", ok);
  if (rc) return rc;
  if (c->nargs) return fail(KAM_EUSAGE, "scheduler: no arguments");
  sched_host h;
  int64_t now, until = 0;
  int fake, failed = 0;
  if ((rc = clock_now(c, &now, &fake)) || (rc = sched_open(c, &h))) return rc;
  h.fake_clock = fake;
  if (opt(c, "--until") && (!fake || !instant_parse(opt(c, "--until"), &until)))
    return fail(KAM_EUSAGE, "scheduler: --until TIME walks a fake clock from --now to TIME");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_hup;
  sigaction(SIGHUP, &sa, NULL);
  kam_err e;
  if (!until) printf("kam scheduler: %d schedule%s; SIGTERM or Ctrl-C stops it after the running job\n",
                     c->cfg->nsched, c->cfg->nsched == 1 ? "" : "s");
  fflush(stdout);
  while (!sched_stop) {
    if (sched_reload) {
      sched_reload = 0;
      kam_config *fresh = NULL;
      char path[1024];
      snprintf(path, sizeof path, "%s", c->cfg->path);
      if (config_load(&fresh, path, &e)) {
        fprintf(stderr, "kam: scheduler: kam.yaml not reloaded: %s\n", e.msg);
      } else {
        config_free(c->cfg);
        c->cfg = h.cfg = fresh;
        printf("kam scheduler: kam.yaml reloaded: %d schedule%s\n", fresh->nsched, fresh->nsched == 1 ? "" : "s");
        fflush(stdout);
      }
    }
    if (fake) {
      char at[32];
      snprintf(at, sizeof at, "@%lld", (long long)now);
      setenv("KAM_NOW", at, 1);
    }
    if (scheduler_tick(&h, now, &failed, &e)) return fail(e.code, "%s", e.msg);
    int64_t next = scheduler_next(&h, now);
    if (fake) {
      if (next == INT64_MAX || next > until) break;
      now = next;
      continue;
    }
    /* sleep to the next due time, waking each second to notice a signal */
    for (int64_t t = kam_clock(); !sched_stop && !sched_reload && t < next && t < now + 60; t = kam_clock()) {
      struct timespec ts = {1, 0};
      nanosleep(&ts, NULL);
    }
    now = kam_clock();
  }
  if (!until) printf("kam scheduler: stopped\n");
  return 0;
}

static int cmd_schedule(cli *c) {
  static const char *const ok[] = {"--now", "--cron", "--tz", "-n", "--from", "--since", NULL};
  int rc = check_opts(c, "schedule", ok);
  if (rc) return rc;
  const char *sub = c->nargs ? c->args[0] : "";
  kam_err e;
  int64_t now;
  int fake;
  if ((rc = clock_now(c, &now, &fake))) return rc;
  if (!strcmp(sub, "next")) {
    /* needs no book: an expression and a zone */
    const char *expr = opt(c, "--cron"), *tz = opt(c, "--tz");
    const kam_schedule *s = NULL;
    if (c->nargs == 2 && !expr) {
      if (!(s = scheduler_find(c->cfg, c->args[1]))) return fail(KAM_EUSAGE, "schedule next: %s: no such schedule in kam.yaml", c->args[1]);
      expr = s->cron;
    } else if (c->nargs != 1 || !expr) {
      return fail(KAM_EUSAGE, "schedule next (NAME | --cron EXPR [--tz ZONE]) [-n N] [--from TIME]");
    }
    if (!tz) tz = scheduler_zone(c->cfg, s);
    else if (cron_zone_check(tz, &e)) return fail(KAM_EUSAGE, "--tz: %s", e.msg);
    int n = 10;
    const char *ns = opt(c, "-n");
    if (ns) {
      char *end;
      long v = strtol(ns, &end, 10);
      if (!*ns || *end || v < 1 || v > 1000) return fail(KAM_EUSAGE, "-n %s: expected a count from 1 to 1000", ns);
      n = (int)v;
    }
    int64_t from = now;
    if (opt(c, "--from") && !instant_parse(opt(c, "--from"), &from))
      return fail(KAM_EUSAGE, "--from %s: expected a time like 2026-12-01T01:30+07:00 (or @UNIX)", opt(c, "--from"));
    if (scheduler_print_next(expr, tz, from, n, c->fmt, &e)) return fail(e.code, "--cron %s: %s", expr, e.msg);
    return 0;
  }
  sched_host h;
  if ((rc = sched_open(c, &h))) return rc;
  h.fake_clock = fake;
  if (!strcmp(sub, "list") && c->nargs == 1) rc = scheduler_list(&h, now, &e);
  else if (!strcmp(sub, "history") && c->nargs <= 2) {
    int64_t since = 0;
    const char *sv = opt(c, "--since");
    if (sv) {
      int y, m, d;
      if (!date_parse(sv, strlen(sv), &y, &m, &d)) return fail(KAM_EUSAGE, "--since %s: expected YYYY-MM-DD", sv);
      since = days_from_civil(y, m, d) * 86400 - c->cfg->utc_offset;
    }
    rc = scheduler_history(&h, c->nargs == 2 ? c->args[1] : NULL, since, &e);
  } else if (!strcmp(sub, "run") && c->nargs == 2) {
    const kam_schedule *s = scheduler_find(c->cfg, c->args[1]);
    if (!s) return fail(KAM_EUSAGE, "schedule run: %s: no such schedule in kam.yaml (kam schedule list)", c->args[1]);
    /* by hand, a job runs with its owner's rights: asked of its owner or an admin */
    if (strcmp(c->who.staff, s->owner) && access_may(c->access, &c->who, ACT_ADMIN, "config", &e))
      return fail(KAM_EPERM, "permission denied: only %s (the owner) or an admin may run schedule %s by hand", s->owner, s->name);
    int failed = 0;
    rc = scheduler_run_now(&h, c->args[1], now, &failed, &e);
    if (!rc && failed) return fail(KAM_EDATA, "schedule run %s: failed (kam schedule history %s)", c->args[1], c->args[1]);
  } else {
    return fail(KAM_EUSAGE, "schedule: list, next (NAME | --cron EXPR), run NAME or history [NAME] [--since DATE]");
  }
  if (rc) return fail(e.code, "%s", e.msg);
  return 0;
}

/* kam alerts: scripts/alerts.lua's list, as a table of fixed columns */
static int l_print_alerts(lua_State *L) {
  cli *c = lua_touserdata(L, lua_upvalueindex(1));
  static const char *const cols[] = {"id", "severity", "kind", "client", "owner", "message", "last_seen", "status", NULL};
  out_opts o = {c->fmt, 1, 40, NULL, 0};
  if (lua_istable(L, 1)) out_rows(L, 1, cols, &o, stdout);
  else out_value(L, 1, &o, stdout);
  return 0;
}

static int cmd_alerts(cli *c) {
  static const char *const ok[] = {"--mine", "--open", "--owner", NULL};
  int rc = check_opts(c, "alerts", ok);
  if (rc) return rc;
  if (c->nargs) return fail(KAM_EUSAGE, "alerts: no arguments ([--mine] [--open] [--owner ID])");
  char path[1100];
  snprintf(path, sizeof path, "%s/scripts/alerts.lua", c->cfg->root);
  const char *args[6];
  int n = 0;
  args[n++] = "list";
  if (opt(c, "--mine")) args[n++] = "--mine";
  if (opt(c, "--open")) args[n++] = "--open";
  if (opt(c, "--owner")) { args[n++] = "--owner"; args[n++] = opt(c, "--owner"); }
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua(c, 0))) return rc;
  kbuf b = {0};
  FILE *f = fopen(path, "rb");
  if (!f) return fail(KAM_EDATA, "scripts/alerts.lua: cannot open: %s", strerror(errno));
  int rerr = kbuf_read(&b, f, 0);
  fclose(f);
  if (rerr) { kbuf_free(&b); return fail(KAM_EDATA, "scripts/alerts.lua: read error"); }
  lua_State *L = c->ctx.L;
  lua_createtable(L, n, 1);
  lua_pushstring(L, "scripts/alerts.lua");
  lua_rawseti(L, -2, 0);
  for (int i = 0; i < n; i++) { lua_pushstring(L, args[i]); lua_rawseti(L, -2, i + 1); }
  lua_setglobal(L, "arg");
  int st = sandbox_load(L, (const char *)b.p, b.len, "@scripts/alerts.lua");
  kbuf_free(&b);
  if (st != LUA_OK) return lua_fail(L);
  for (int i = 0; i < n; i++) lua_pushstring(L, args[i]);
  if (sandbox_pcall(L, n, 1) != LUA_OK) return lua_fail(L);
  lua_pushlightuserdata(L, c);
  lua_pushcclosure(L, l_print_alerts, 1);
  lua_insert(L, -2);
  if (sandbox_pcall(L, 1, 0) != LUA_OK) return lua_fail(L);
  kam_end_snapshots(&c->ctx);
  return 0;
}

/* ---- requests (core/policy/requests.lua) ------------------------------------ */

static int request_cmd(cli *c, const char *verb, int first_arg, int write) {
  int rc;
  char *args[8];
  int n = 0;
  args[n++] = (char *)verb;
  for (int i = first_arg; i < c->nargs && n < 8; i++) args[n++] = c->args[i];
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua_as(c, write, "cli"))) return rc;
  return policy_command(&c->ctx, "request", args, n, c->opts, c->nopts, c->fmt);
}

static int cmd_request(cli *c) {
  static const char *const ok[] = {"--subject", "--amount", "--margin-after", "--cr", "--reason", "--preview", NULL};
  int rc = check_opts(c, "request", ok);
  if (rc) return rc;
  if (c->nargs >= 1 && !strcmp(c->args[0], "show")) return request_cmd(c, "show", 1, 0);
  if (c->nargs >= 1 && !strcmp(c->args[0], "reroute")) return request_cmd(c, "reroute", 1, 1);
  if (c->nargs != 1) return fail(KAM_EUSAGE, "request KIND --subject ID --amount N [--margin-after X] [--cr CR-ID] --reason TEXT [--preview]; request show ID; request reroute ID");
  return request_cmd(c, "raise", 0, 1);
}

static int cmd_requests(cli *c) {
  static const char *const ok[] = {"--pending", "--mine", "--waiting-on-me", NULL};
  int rc = check_opts(c, "requests", ok);
  if (rc) return rc;
  if (c->nargs) return fail(KAM_EUSAGE, "requests: no arguments ([--pending] [--mine] [--waiting-on-me])");
  return request_cmd(c, "list", 0, 0);
}

static int cmd_approve(cli *c) {
  static const char *const ok[] = {"--note", NULL};
  int rc = check_opts(c, "approve", ok);
  if (rc) return rc;
  if (c->nargs != 1) return fail(KAM_EUSAGE, "approve ID [--note TEXT]");
  return request_cmd(c, "approve", 0, 1);
}

static int cmd_reject(cli *c) {
  static const char *const ok[] = {"--reason", NULL};
  int rc = check_opts(c, "reject", ok);
  if (rc) return rc;
  if (c->nargs != 1) return fail(KAM_EUSAGE, "reject ID --reason TEXT");
  return request_cmd(c, "reject", 0, 1);
}

static int cmd_withdraw(cli *c) {
  static const char *const ok[] = {NULL};
  int rc = check_opts(c, "withdraw", ok);
  if (rc) return rc;
  if (c->nargs != 1) return fail(KAM_EUSAGE, "withdraw ID");
  return request_cmd(c, "withdraw", 0, 1);
}

/* kam reconcile: core/policy/reconcile.lua, one kam.tx */
static int cmd_reconcile(cli *c) {
  static const char *const ok[] = {"--period", "--theirs", "--map", "--dry-run", NULL};
  int rc = check_opts(c, "reconcile", ok);
  if (rc) return rc;
  if (c->nargs) return fail(KAM_EUSAGE, "reconcile: no arguments (kam reconcile --period P --theirs FILE [--map NAME])");
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua_as(c, !opt(c, "--dry-run"), "cli"))) return rc;
  return policy_command(&c->ctx, "reconcile", NULL, 0, c->opts, c->nopts, c->fmt);
}

/* The reports of scripts/reports/, for the usage line: "executive, team" */
static void report_names(const char *root, char *out, size_t n) {
  char dir[1100];
  snprintf(dir, sizeof dir, "%s/scripts/reports", root);
  out[0] = 0;
  DIR *d = opendir(dir);
  if (!d) return;
  char *names[64];
  int k = 0;
  struct dirent *de;
  while ((de = readdir(d)) && k < 64) {
    size_t len = strlen(de->d_name);
    if (len < 5 || strcmp(de->d_name + len - 4, ".lua")) continue;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(len - 4), de->d_name);
    if (!report_name_ok(name) || strstr(name, "_test")) continue;
    names[k++] = strdup(name);
  }
  closedir(d);
  for (int i = 1; i < k; i++) /* sorted: the same line every time */
    for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) { char *t = names[j]; names[j] = names[j - 1]; names[j - 1] = t; }
  size_t used = 0;
  for (int i = 0; i < k; i++) {
    if (used < n) used += (size_t)snprintf(out + used, n - used, "%s%s", i ? ", " : "", names[i]);
    free(names[i]);
  }
}

/* kam report KIND [ID]: scripts/reports/KIND.lua, read-only in one
 * snapshot, gets the global `report` {kind, id, period, lang, format,
 * as_of} and returns its page as text; the page goes to -o FILE (written
 * whole or not at all) or to standard output. */
static int cmd_report(cli *c) {
  static const char *const ok[] = {"--period", "--lang", "-o", NULL};
  int rc = check_opts(c, "report", ok);
  if (rc) return rc;
  char names[600];
  report_names(c->cfg->root, names, sizeof names);
  if (c->nargs < 1) return fail(KAM_EUSAGE, "report: which one? (%s; kam report --help)", names[0] ? names : "none in scripts/reports/");
  const char *kind = c->args[0];
  char path[1100];
  snprintf(path, sizeof path, "%s/scripts/reports/%s.lua", c->cfg->root, kind);
  struct stat sb;
  if (!report_name_ok(kind) || stat(path, &sb))
    return fail(KAM_EUSAGE, "report: no report %s (scripts/reports/ has: %s)", kind, names[0] ? names : "none");
  if (c->nargs > 2) return fail(KAM_EUSAGE, "report: %s: one subject at most (kam report --help)", kind);
  const char *format = c->fmt_set ? c->fmt_name : "html";
  const char *lang = opt(c, "--lang") ? opt(c, "--lang") : "vi";
  kam_err e;
  if (report_check_lang_format(lang, format, "report", &e)) return fail(e.code, "%s", e.msg);
  const char *out = opt(c, "-o");
  if (out && !*out) return fail(KAM_EUSAGE, "report: -o needs a file name");
  char deflt[1200];
  if (!out && !strcmp(format, "html") && isatty(1)) {
    /* a page of HTML is for a browser, not a terminal: into var/reports/, said where */
    char id[70] = "";
    if (c->nargs > 1) { /* the subject in the name, as letters a file name may hold */
      snprintf(id, sizeof id, "-%.64s", c->args[1]);
      for (char *p = id + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')) *p = '_';
    }
    snprintf(deflt, sizeof deflt, "%s/var/reports/%s%s.html", c->cfg->root, kind, id);
    out = deflt;
  }
  const char *period = opt(c, "--period");
  if (period && !*period) return fail(KAM_EUSAGE, "report: --period needs a value (2026-Q4, 2026-11, 2026)");
  report_args ra = {0};
  snprintf(ra.kind, sizeof ra.kind, "%s", kind);
  if (c->nargs > 1 && snprintf(ra.id, sizeof ra.id, "%s", c->args[1]) >= (int)sizeof ra.id)
    return fail(KAM_EUSAGE, "report: %s: %.40s...: too long for an id", kind, c->args[1]);
  if (period && snprintf(ra.period, sizeof ra.period, "%s", period) >= (int)sizeof ra.period)
    return fail(KAM_EUSAGE, "report %s --period %.40s...: not a period (2026-Q4, 2026-11, 2026)", kind, period);
  snprintf(ra.lang, sizeof ra.lang, "%s", lang);
  snprintf(ra.format, sizeof ra.format, "%s", format);
  if ((rc = open_book(c, STORE_MUST_EXIST)) || (rc = open_lua(c, 0))) return rc;
  char as_of[64];
  if (report_as_of(c->st, as_of, sizeof as_of, &e)) return fail(e.code, "%s", e.msg);
  lua_State *L = c->ctx.L;
  if (report_push(L, c->cfg->root, &ra, as_of, &e)) return fail(e.code, "%s", e.msg);
  char chunk[120];
  snprintf(chunk, sizeof chunk, "@scripts/reports/%s.lua", kind);
  int base = lua_gettop(L) - 1;
  long before[3] = {c->ctx.n_ins, c->ctx.n_upd, c->ctx.n_del}; /* a report writes nothing */
  catch_sigint(L, 1);
  int st = sandbox_pcall(L, 0, 1);
  catch_sigint(L, 0);
  progress_reset();
  if (st != LUA_OK) {
    kam_end_snapshots(&c->ctx);
    return sandbox_stopping() ? interrupted(c, chunk + 1, 1, before) : lua_fail(L);
  }
  size_t len = 0;
  const char *text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
  if (!text) {
    kam_end_snapshots(&c->ctx);
    return fail(KAM_EDATA, "%s: returned %s, not the page's text", chunk + 1, luaL_typename(L, -1));
  }
  if (out) {
    rc = report_write(out, text, len, &e) ? fail(e.code, "%s", e.msg) : 0;
    if (!rc) printf("%s report: %s (%zu KiB)\n", kind, out, (len + 1023) / 1024);
  } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout)) {
    rc = fail(KAM_EINTERNAL, "report: standard output: %s", strerror(errno));
  }
  lua_settop(L, base);
  kam_end_snapshots(&c->ctx);
  return rc;
}

typedef struct command { const char *name; int (*fn)(cli *); int needs_config; } command;
static const command commands[] = {
    {"init", cmd_init, 1}, {"import", cmd_import, 1}, {"export", cmd_export, 1},
    {"get", cmd_get, 1}, {"ls", cmd_ls, 1}, {"eval", cmd_eval, 1}, {"run", cmd_run, 1}, {"repl", cmd_repl, 1},
    {"stats", cmd_stats, 1}, {"summary", cmd_summary, 1}, {"policy", cmd_policy, 1},
    {"test", cmd_test, 1}, {"check", cmd_check, 1}, {"verify", cmd_verify, 1},
    {"audit", cmd_audit, 1}, {"whoami", cmd_whoami, 1}, {"access", cmd_access, 1},
    {"tick", cmd_tick, 1}, {"scheduler", cmd_scheduler, 1}, {"schedule", cmd_schedule, 1}, {"alerts", cmd_alerts, 1},
    {"request", cmd_request, 1}, {"requests", cmd_requests, 1}, {"approve", cmd_approve, 1}, {"reject", cmd_reject, 1},
    {"withdraw", cmd_withdraw, 1}, {"reconcile", cmd_reconcile, 1}, {"report", cmd_report, 1},
    {NULL, NULL, 0}};

int kam_main(int argc, char **argv) {
  kam_err te;
  if (grouppass_parts_from_env(&te)) return fail(te.code, "%s", te.msg);
  cli c;
  memset(&c, 0, sizeof c);
  c.args = calloc((size_t)argc + 1, sizeof(char *));
  c.opts = calloc((size_t)argc + 1, sizeof(char *));
  const char *cmd = NULL;
  int help = 0, rc = 0, rest = 0;
  workers_set_argv(argc, argv);
  char **owned = calloc((size_t)argc + 1, sizeof(char *));
  int nowned = 0;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (rest || a[0] != '-' || !strcmp(a, "-")) {
      if (!cmd) cmd = a;
      else {
        c.args[c.nargs++] = a;
        /* after `run SCRIPT` or `eval CHUNK`, everything belongs to the script */
        if ((!strcmp(cmd, "run") || !strcmp(cmd, "eval")) && c.nargs == 1) rest = 1;
      }
      continue;
    }
    if (!strcmp(a, "--")) { rest = 1; continue; }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) { help = 1; continue; }
    if (!strcmp(a, "--version")) { puts("kam 0.1.0"); rc = 0; goto done; }
    char name[64];
    const char *val = NULL;
    const char *eq = strchr(a, '=');
    if (eq) { snprintf(name, sizeof name, "%.*s", (int)(eq - a), a); val = eq + 1; }
    else snprintf(name, sizeof name, "%s", a);
    if (!val && takes_value(name)) {
      if (i + 1 >= argc) { rc = fail(KAM_EUSAGE, "%s needs a value", name); goto done; }
      val = argv[++i];
    }
    if (!strcmp(name, "--db")) c.db = val;
    else if (!strcmp(name, "--config")) c.config = val;
    else if (!strcmp(name, "--as")) c.as = val;
    else if (!strcmp(name, "--format")) {
      c.fmt_other = !out_fmt_parse(val, &c.fmt);
      c.fmt_name = val;
      c.fmt_set = 1;
    } else {
      size_t n = strlen(name) + (val ? strlen(val) + 2 : 1);
      char *o = malloc(n);
      snprintf(o, n, "%s%s%s", name, val ? "=" : "", val ? val : "");
      owned[nowned++] = o;
      c.opts[c.nopts++] = o;
    }
  }
  if (!cmd) {
    fputs(usage_text, help ? stdout : stderr);
    rc = help ? 0 : KAM_EUSAGE;
    goto done;
  }
  if (!strcmp(cmd, "help")) {
    const char *topic = c.nargs ? c.args[0] : NULL;
    for (int i = 0; topic && helps[i].name; i++)
      if (!strcmp(helps[i].name, topic)) { fputs(helps[i].text, stdout); goto done; }
    fputs(usage_text, stdout);
    goto done;
  }
  const command *found = NULL;
  for (int i = 0; commands[i].name; i++) if (!strcmp(commands[i].name, cmd)) found = &commands[i];
  if (!found) { rc = fail(KAM_EUSAGE, "%s: no such command (kam --help lists them)", cmd); goto done; }
  if (c.fmt_other && strcmp(cmd, "report")) {
    rc = fail(KAM_EUSAGE, "--format %s: expected table, json, csv or yaml", c.fmt_name);
    goto done;
  }
  if (help) {
    for (int i = 0; helps[i].name; i++)
      if (!strcmp(helps[i].name, cmd)) { fputs(helps[i].text, stdout); goto done; }
    fputs(usage_text, stdout);
    goto done;
  }
  /* the command line as the audit names it */
  int sl = snprintf(c.source, sizeof c.source, "kam");
  for (int i = 1; i < argc && sl < (int)sizeof c.source; i++)
    sl += snprintf(c.source + sl, sizeof c.source - (size_t)sl, " %s", argv[i]);
  if ((rc = load_config(&c))) goto done;
  rc = found->fn(&c);
  fflush(stdout);
done:
  close_all(&c);
  for (int i = 0; i < nowned; i++) free(owned[i]);
  free(owned);
  free(c.args);
  free(c.opts);
  return rc;
}
