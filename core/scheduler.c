/* scheduler.c — schedules planned, claimed, run and listed (see scheduler.h). */
#include "guard.h"
#include "scheduler.h"
#include "budget.h"
#include "cron.h"
#include "decisions.h"
#include "fmt.h"
#include "identity.h"
#include "kdate.h"
#include "loader.h"
#include "lua_entity.h"
#include "lua_tx.h"
#include "output.h"
#include "policy.h"
#include "report.h"
#include "sandbox.h"
#include "schedule.h"
#include "sha256.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_OWED 1000 /* occurrences looked at per schedule and tick: a year of hourly runs */

const kam_schedule *scheduler_find(const kam_config *cfg, const char *name) {
  for (int i = 0; i < cfg->nsched; i++)
    if (!strcmp(cfg->sched[i].name, name)) return &cfg->sched[i];
  return NULL;
}

const char *scheduler_zone(const kam_config *cfg, const kam_schedule *s) {
  static char fixed[32];
  if (s && s->tz) return s->tz;
  if (cfg->tz) return cfg->tz;
  /* a book written with a fixed offset: the Etc zone of that offset (whole hours) */
  if (cfg->utc_offset % 3600) return "UTC";
  int h = cfg->utc_offset / 3600;
  if (!h) return "UTC";
  snprintf(fixed, sizeof fixed, "Etc/GMT%+d", -h); /* Etc's signs are POSIX's: GMT-7 is +07:00 */
  return fixed;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static kval text(const char *s) { return s ? kv_str(s, strlen(s)) : kv_null(); }

static void show_kv(char *out, size_t n, const kval *v) {
  if (v->tag == KV_STR) snprintf(out, n, "%.*s", (int)v->u.s.len, v->u.s.p);
  else out[0] = 0;
}

/* "1,2 s" / "35 ms": how long a run took */
static void duration(char *out, size_t n, int64_t ms) {
  if (ms < 0) snprintf(out, n, "-");
  else if (ms < 1000) snprintf(out, n, "%lld ms", (long long)ms);
  else snprintf(out, n, "%lld,%lld s", (long long)(ms / 1000), (long long)(ms % 1000) / 100);
}

/* ---- one job ------------------------------------------------------------------ */

typedef struct job {
  sched_host *h;
  const kam_schedule *s;
  kam_ctx ctx;
  kam_principal who;
  kbuf summary, error, texts; /* texts: what the job ran, for its hash */
  char source[300];
} job;

/* The newest run of the policy engine, as its summary line, with how many
 * subjects' field the commit wrote (a first commit "changes" every
 * decision; the writes are what moved). */
static void policy_summary(job *j, const char *name, long written) {
  MDB_txn *txn;
  kam_err e;
  if (store_begin(j->h->st, 0, &txn, &e)) return;
  MDB_cursor *cur;
  MDB_val k, d;
  if (!mdb_cursor_open(txn, j->h->st->runs, &cur)) {
    if (!mdb_cursor_get(cur, &k, &d, MDB_LAST)) {
      kval pol, ev, ch, fa;
      if (rec_find(d.mv_data, d.mv_size, RUN_POLICY, &pol) && pol.tag == KV_STR && pol.u.s.len == strlen(name) &&
          !memcmp(pol.u.s.p, name, pol.u.s.len) && rec_find(d.mv_data, d.mv_size, RUN_EVALUATED, &ev) &&
          rec_find(d.mv_data, d.mv_size, RUN_CHANGED, &ch) && rec_find(d.mv_data, d.mv_size, RUN_FAILED, &fa))
        kbuf_printf(&j->summary, "%s%s: %lld evaluated, %lld changed, %ld written, %lld failed", j->summary.len ? "; " : "",
                    name, (long long)ev.u.i, (long long)ch.u.i, written, (long long)fa.u.i);
    }
    mdb_cursor_close(cur);
  }
  store_abort(txn);
}

/* `policy NAME --commit`: the engine's own command, its table kept out of
 * the scheduler's output and its errors kept for the run's record. */
static int policy_step(job *j, const char *name) {
  fflush(stdout);
  fflush(stderr);
  int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);
  FILE *cap = tmpfile();
  if (out < 0 || err < 0 || null < 0 || !cap) {
    if (out >= 0) close(out);
    if (err >= 0) close(err);
    if (null >= 0) close(null);
    if (cap) fclose(cap);
    kbuf_printf(&j->error, "policy %s: cannot set its output aside", name);
    return 4;
  }
  dup2(null, 1);
  dup2(fileno(cap), 2);
  char *args[2] = {"eval", (char *)name}, *opts[1] = {"--commit"};
  long upd = j->ctx.n_upd;
  int rc = policy_command(&j->ctx, "policy", args, 2, opts, 1, FMT_JSON);
  fflush(stdout);
  fflush(stderr);
  dup2(out, 1);
  dup2(err, 2);
  close(out);
  close(err);
  close(null);
  if (rc) {
    rewind(cap);
    char line[600];
    int k = 0;
    while (fgets(line, sizeof line, cap) && k++ < 3) {
      line[strcspn(line, "\n")] = 0;
      kbuf_printf(&j->error, "%s%s", j->error.len ? " | " : "", strncmp(line, "kam: ", 5) ? line : line + 5);
    }
    if (!j->error.len) kbuf_printf(&j->error, "policy %s --commit failed (exit %d)", name, rc);
  } else {
    policy_summary(j, name, j->ctx.n_upd - upd);
  }
  fclose(cap);
  kbuf_printf(&j->texts, "policy %s --commit\n", name);
  return rc;
}

/* `policy changes NAME [--since X]`: a report; its first line (how many
 * subjects changed) is the step's summary, the rest stays in the book's
 * decisions for `kam policy changes` to show again. */
static int changes_step(job *j, const char *step) {
  char name[128], since[64] = "";
  int k = 0;
  sscanf(step, "policy changes %127s%n", name, &k);
  sscanf(step + k, " --since %63s", since);
  fflush(stdout);
  int out = dup(1);
  FILE *cap = tmpfile();
  if (out < 0 || !cap) {
    if (out >= 0) close(out);
    if (cap) fclose(cap);
    kbuf_printf(&j->error, "%s: cannot set its output aside", step);
    return 4;
  }
  dup2(fileno(cap), 1);
  char opt[80];
  snprintf(opt, sizeof opt, "--since=%s", since);
  char *args[2] = {"changes", name}, *opts[1] = {opt};
  int rc = policy_command(&j->ctx, "policy", args, 2, opts, since[0] ? 1 : 0, FMT_TABLE);
  fflush(stdout);
  dup2(out, 1);
  close(out);
  rewind(cap);
  char line[600] = "";
  if (fgets(line, sizeof line, cap)) line[strcspn(line, "\n")] = 0;
  fclose(cap);
  if (rc) kbuf_printf(&j->error, "%s failed (exit %d)", step, rc);
  else if (line[0]) kbuf_printf(&j->summary, "%s%s", j->summary.len ? "; " : "", line);
  kbuf_printf(&j->texts, "%s\n", step);
  return rc;
}

/* A script of the project, as `kam run` runs it; its returned text is the
 * step's summary. */
static int script_step(job *j, const char *step) {
  char path[600], full[1700];
  int n = 0;
  sscanf(step, "%599s%n", path, &n);
  snprintf(full, sizeof full, "%s/%s", j->h->cfg->root, path);
  FILE *f = fopen(full, "rb");
  if (!f) { kbuf_printf(&j->error, "%s: cannot open: %s", path, strerror(errno)); return KAM_EDATA; }
  kbuf b = {0};
  int rerr = kbuf_read(&b, f, 0);
  fclose(f);
  if (rerr) { kbuf_free(&b); kbuf_printf(&j->error, "%s: read error", path); return KAM_EDATA; }
  kbuf_put(&j->texts, b.p, b.len);
  char hash[65];
  sha256_hex(b.p, b.len, hash);
  snprintf(j->source, sizeof j->source, "schedule %s: %s", j->s->name, step);
  j->ctx.actor.source = j->source;
  j->ctx.actor.hash = hash;
  lua_State *L = j->ctx.L;
  lua_settop(L, 0);
  /* arg, as kam run gives it */
  char args[16][200];
  int na = 0, k;
  const char *p = step + n;
  while (na < 16 && sscanf(p, "%199s%n", args[na], &k) == 1) { na++; p += k; }
  lua_createtable(L, na, 1);
  lua_pushstring(L, path);
  lua_rawseti(L, -2, 0);
  for (int i = 0; i < na; i++) { lua_pushstring(L, args[i]); lua_rawseti(L, -2, i + 1); }
  lua_setglobal(L, "arg");
  const char *src = (const char *)b.p;
  size_t len = b.len;
  if (len && src[0] == '#') while (len && *src != '\n') { src++; len--; }
  char chunk[620];
  snprintf(chunk, sizeof chunk, "@%s", path);
  int rc = 0;
  if (sandbox_load(L, src, len, chunk) != LUA_OK) {
    size_t ml;
    const char *m = sandbox_error_message(L, &ml);
    kbuf_printf(&j->error, "%.*s", (int)ml, m);
    rc = KAM_EDATA;
  } else {
    for (int i = 0; i < na; i++) lua_pushstring(L, args[i]);
    sandbox_arm(L, j->h->cfg->script_seconds);
    long ins = j->ctx.n_ins, upd = j->ctx.n_upd, del = j->ctx.n_del;
    if (sandbox_pcall(L, na, 1) != LUA_OK) {
      size_t ml;
      const char *m = sandbox_error_message(L, &ml);
      char done[160];
      kbuf_printf(&j->error, "%.*s", (int)ml, m);
      /* its committed kam.tx stay: the run's record must not read as nothing done */
      if (kam_written_since(&j->ctx, ins, upd, del, done, sizeof done))
        kbuf_printf(&j->error, " (what it wrote before stays in the book: %s)", done);
      rc = sandbox_error_code(L);
      if (!rc) rc = KAM_EDATA;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      kbuf_printf(&j->summary, "%s%s", j->summary.len ? "; " : "", lua_tostring(L, -1));
    }
  }
  kam_end_snapshots(&j->ctx);
  lua_settop(L, 0);
  kbuf_free(&b);
  j->ctx.actor.hash = NULL; /* the buffer ends here */
  return rc;
}

/* `report NAME [ID] [--period P] [--lang L] [--format F] -o FILE`: the
 * report read-only, as kam report makes it, written to FILE (relative to
 * the project; {today} in it is the job's day). Its summary says where. */
static int report_step(job *j, const char *step) {
  report_args a;
  kam_err e;
  kbuf_printf(&j->texts, "%s\n", step);
  if (report_step_parse(step, &a, &e)) { kbuf_printf(&j->error, "%s", e.msg); return e.code; }
  char today[11], out[1600], *at;
  date_today(today);
  while ((at = strstr(a.out, "{today}"))) { /* the file of each run apart: executive-2026-12-04.html */
    char rest[512];
    snprintf(rest, sizeof rest, "%s", at + 7);
    snprintf(at, sizeof a.out - (size_t)(at - a.out), "%s%s", today, rest);
  }
  int n = a.out[0] == '/' ? snprintf(out, sizeof out, "%s", a.out)
                           : snprintf(out, sizeof out, "%s/%s", j->h->cfg->root, a.out);
  if (n < 0 || (size_t)n >= sizeof out) { kbuf_printf(&j->error, "report %s: -o %s: path too long", a.kind, a.out); return KAM_EDATA; }
  char as_of[64];
  if (report_as_of(j->h->st, as_of, sizeof as_of, &e)) { kbuf_printf(&j->error, "%s", e.msg); return e.code; }
  lua_State *L = j->ctx.L;
  lua_settop(L, 0);
  if (report_push(L, j->h->cfg->root, &a, as_of, &e)) { kbuf_printf(&j->error, "%s", e.msg); return e.code; }
  j->ctx.allow_write = 0; /* a report only reads, as from the command line */
  sandbox_arm(L, j->h->cfg->script_seconds);
  int rc = 0;
  if (sandbox_pcall(L, 0, 1) != LUA_OK) {
    size_t ml;
    const char *m = sandbox_error_message(L, &ml);
    kbuf_printf(&j->error, "%.*s", (int)ml, m);
    rc = sandbox_error_code(L);
    if (!rc) rc = KAM_EDATA;
  } else if (lua_type(L, -1) != LUA_TSTRING) {
    kbuf_printf(&j->error, "scripts/reports/%s.lua: returned %s, not the page's text", a.kind, luaL_typename(L, -1));
    rc = KAM_EDATA;
  } else {
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    if (report_write(out, text, len, &e)) { kbuf_printf(&j->error, "%s", e.msg); rc = e.code; }
    else kbuf_printf(&j->summary, "%s%s report: %s (%zu KiB)", j->summary.len ? "; " : "", a.kind, a.out, (len + 1023) / 1024);
  }
  j->ctx.allow_write = 1;
  kam_end_snapshots(&j->ctx);
  lua_settop(L, 0);
  return rc;
}

/* Runs the job's steps as its owner: 0 ok, else the failing step's code. */
static int run_steps(job *j, char *why, size_t whylen) {
  sched_host *h = j->h;
  kam_err e;
  MDB_txn *txn;
  if (store_begin(h->st, 0, &txn, &e)) { snprintf(why, whylen, "%s", e.msg); return e.code; }
  int f = identity_staff(h->st, txn, j->s->owner, &j->who, &e);
  store_abort(txn);
  if (f <= 0) {
    snprintf(why, whylen, f < 0 ? "%s" : "owner %s: no staff record has that id (schedules.%s in kam.yaml)",
             f < 0 ? e.msg : j->s->owner, j->s->name);
    return f < 0 ? e.code : KAM_EUSAGE;
  }
  snprintf(j->who.system, sizeof j->who.system, "system:schedule %s", j->s->name);
  memset(&j->ctx, 0, sizeof j->ctx);
  j->ctx.st = h->st;
  j->ctx.sc = h->sc;
  j->ctx.cfg = h->cfg;
  j->ctx.who = &j->who;
  j->ctx.access = h->access;
  j->ctx.allow_write = 1;
  snprintf(j->source, sizeof j->source, "schedule %s", j->s->name);
  kam_actor a = {j->who.system, j->who.role, j->who.staff, "schedule", j->source, NULL};
  j->ctx.actor = a;
  j->ctx.guards = &guard_hooks; /* a job's writes meet the write guards like anyone's */
  if (sandbox_open(&j->ctx, &e)) { snprintf(why, whylen, "%s", e.msg); return e.code; }
  int rc = 0;
  for (int i = 0; i < j->s->nsteps && !rc; i++) {
    const char *step = j->s->steps[i];
    char pol[128];
    int k = 0;
    if (!strncmp(step, "policy changes ", 15))
      rc = changes_step(j, step);
    else if (!strncmp(step, "report ", 7))
      rc = report_step(j, step);
    else if (!strncmp(step, "policy ", 7) && sscanf(step, "policy %127s --commit%n", pol, &k) == 1)
      rc = policy_step(j, pol);
    else
      rc = script_step(j, step);
    if (rc) snprintf(why, whylen, "step %d (%s): %s", i + 1, step, j->error.len ? (char *)kbuf_cstr(&j->error) : "failed");
  }
  sandbox_close(&j->ctx);
  return rc;
}

static void say(sched_host *h, const kam_schedule *s, int64_t due, const char *status, int64_t ms, const char *what) {
  (void)h;
  char when[64], took[32];
  cron_local(scheduler_zone(h->cfg, s), due, when, sizeof when);
  duration(took, sizeof took, ms);
  printf("%-12s %s  %-9s %8s  %s\n", s->name, when, status, ms < 0 ? "" : took, what ? what : "");
  fflush(stdout);
}

/* Runs one claimed occurrence and writes how it ended. */
static int run_claimed(sched_host *h, const kam_schedule *s, int64_t due, int64_t now, const char *trigger,
                       int *failed, kam_err *e) {
  if (h->fake_clock) { /* the job sees the fake day as today */
    char day[40];
    time_t t = (time_t)now + h->cfg->utc_offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%d", &tm);
    setenv("KAM_TODAY", day, 1);
  }
  job j;
  memset(&j, 0, sizeof j);
  j.h = h;
  j.s = s;
  char why[1200] = "";
  int64_t t0 = mono_ms(), start = h->fake_clock ? now * 1000 : wall_ms();
  int rc = run_steps(&j, why, sizeof why);
  int64_t took = mono_ms() - t0;
  char hash[65];
  sha256_hex(j.texts.p ? (const char *)j.texts.p : "", j.texts.len, hash);
  sched_run r;
  memset(&r, 0, sizeof r);
  r.schedule = text(s->name);
  r.due = due;
  r.status = text(rc ? "failed" : "ok");
  r.start = start;
  r.end = start + took;
  char who[128];
  snprintf(who, sizeof who, "system:schedule %s", s->name);
  r.who = text(who);
  r.hash = text(hash);
  r.summary = j.summary.len ? kv_str((const char *)j.summary.p, j.summary.len) : kv_null();
  r.error = rc ? text(why) : kv_null();
  r.host = kv_null();
  r.trigger = text(trigger);
  MDB_txn *txn;
  int wrc = store_begin(h->st, 1, &txn, e);
  if (!wrc && !(wrc = sched_put(txn, h->st, &r, 0, NULL, e))) wrc = store_commit(h->st, txn, e);
  else if (!wrc) store_abort(txn);
  say(h, s, due, rc ? "failed" : "ok", took, rc ? why : (j.summary.len ? kbuf_cstr(&j.summary) : ""));
  if (rc) (*failed)++;
  kbuf_free(&j.summary);
  kbuf_free(&j.error);
  kbuf_free(&j.texts);
  return wrc;
}

/* ---- planning ------------------------------------------------------------------ */

static sched_run claim_of(const kam_schedule *s, int64_t due, int64_t now, const char *status, const char *note,
                          const char *trigger, char *who, size_t whon) {
  sched_run r;
  memset(&r, 0, sizeof r);
  snprintf(who, whon, "system:schedule %s", s->name);
  r.schedule = text(s->name);
  r.due = due;
  r.status = text(status);
  r.start = now * 1000;
  r.who = text(who);
  r.summary = text(note);
  r.error = r.hash = r.host = kv_null();
  r.trigger = text(trigger);
  if (!strcmp(status, "running")) {
    r.pid = (int64_t)getpid();
    r.pstart = sched_proc_start();
  } else {
    r.end = now * 1000;
  }
  return r;
}

/* In one write transaction: the schedule's owed occurrences since its last
 * record, what becomes of each (missed, skipped, or claimed to run), and a
 * dead claimer's run marked abandoned. The claimed dues go to run[]. */
static int plan(sched_host *h, const kam_schedule *s, int64_t now, int64_t *run, int *nrun, kam_err *e) {
  *nrun = 0;
  kam_cron cr;
  if (cron_parse(&cr, s->cron, e)) return e->code;
  const char *tz = scheduler_zone(h->cfg, s);
  MDB_txn *txn;
  int rc = store_begin(h->st, 1, &txn, e);
  if (rc) return rc;
  int64_t since;
  sched_run last;
  char who[128];
  if ((rc = sched_seen(txn, h->st, s->name, now, &since, e))) goto fail;
  int have = sched_last(txn, h->st, s->name, &last, e);
  if (have < 0) { rc = e->code; goto fail; }
  int64_t from = have && last.due > since ? last.due : since;
  int running = 0;
  if (have && kval_is_text(&last.status, "running")) {
    if (sched_alive(last.pid, last.pstart)) {
      running = 1;
    } else { /* its process died: the run ended, not well */
      sched_run ab = last;
      char note[160];
      snprintf(note, sizeof note, "the process (pid %lld) ended before the run did", (long long)last.pid);
      ab.status = text("abandoned");
      ab.end = now * 1000;
      ab.error = text(note);
      ab.pid = ab.pstart = 0;
      if ((rc = sched_put(txn, h->st, &ab, 0, NULL, e))) goto fail;
      say(h, s, last.due, "abandoned", -1, note);
    }
  }
  int64_t owed[MAX_OWED];
  int n = 0;
  int64_t t = from;
  kam_err ce;
  while (n < MAX_OWED && !cron_next(&cr, tz, t, &t, &ce) && t <= now) owed[n++] = t;
  /* which of them run */
  int first_run = n; /* owed[first_run..] run, the rest are missed */
  if (s->catch_up == SCHED_ALL) first_run = n > s->catch_n ? n - s->catch_n : 0;
  else if (n) first_run = n - 1;
  if (s->catch_up == SCHED_NONE && n && now - owed[n - 1] >= 60) first_run = n; /* only one due this minute */
  for (int i = 0; i < n; i++) {
    int late = s->deadline && now - owed[i] > s->deadline;
    const char *status = "running", *note = NULL;
    char buf[200];
    if (i < first_run || late) {
      status = "missed";
      if (late) snprintf(buf, sizeof buf, "its start would be %lld min late, past the deadline", (long long)(now - owed[i]) / 60);
      else snprintf(buf, sizeof buf, "not run: kam was not ticking then (catch_up: %s)",
                    s->catch_up == SCHED_ALL ? "all N" : s->catch_up == SCHED_NONE ? "none" : "latest");
      note = buf;
    } else if (running) {
      status = "skipped";
      snprintf(buf, sizeof buf, "still running: the run due %lld s earlier (pid %lld)", (long long)(owed[i] - last.due),
               (long long)last.pid);
      note = buf;
    }
    sched_run r = claim_of(s, owed[i], now, status, note, "cron", who, sizeof who);
    int taken;
    if ((rc = sched_put(txn, h->st, &r, 1, &taken, e))) goto fail;
    if (!taken) continue; /* another process has it */
    if (!strcmp(status, "running")) run[(*nrun)++] = owed[i]; /* this process runs them, in order */
    else say(h, s, owed[i], status, -1, note);
  }
  return store_commit(h->st, txn, e);
fail:
  store_abort(txn);
  return rc;
}

int scheduler_tick(sched_host *h, int64_t now, int *failed, kam_err *e) {
  for (int i = 0; i < h->cfg->nsched; i++) {
    const kam_schedule *s = &h->cfg->sched[i];
    int64_t run[MAX_OWED];
    int nrun, rc = plan(h, s, now, run, &nrun, e);
    if (rc == KAM_EFULL && !store_grow(h->st, e)) rc = plan(h, s, now, run, &nrun, e);
    if (rc) return rc;
    /* claimed in due order: a later one is claimed only while this process holds the schedule */
    for (int k = 0; k < nrun; k++)
      if ((rc = run_claimed(h, s, run[k], now, "cron", failed, e))) return rc;
  }
  return 0;
}

int64_t scheduler_next(sched_host *h, int64_t now) {
  int64_t best = INT64_MAX;
  for (int i = 0; i < h->cfg->nsched; i++) {
    kam_cron cr;
    kam_err e;
    int64_t t;
    if (!cron_parse(&cr, h->cfg->sched[i].cron, &e) &&
        !cron_next(&cr, scheduler_zone(h->cfg, &h->cfg->sched[i]), now, &t, &e) && t < best)
      best = t;
  }
  return best;
}

int scheduler_run_now(sched_host *h, const char *name, int64_t now, int *failed, kam_err *e) {
  const kam_schedule *s = scheduler_find(h->cfg, name);
  if (!s) return kam_errf(e, KAM_EUSAGE, "schedule %s: no such schedule in kam.yaml (kam schedule list)", name);
  MDB_txn *txn;
  int rc = store_begin(h->st, 1, &txn, e);
  if (rc) return rc;
  sched_run last;
  int have = sched_last(txn, h->st, s->name, &last, e);
  if (have < 0) { store_abort(txn); return e->code; }
  if (have && kval_is_text(&last.status, "running") &&
      sched_alive(last.pid, last.pstart)) {
    store_abort(txn);
    return kam_errf(e, KAM_EDATA, "schedule %s: still running (pid %lld); two runs of one schedule never overlap",
                    name, (long long)last.pid);
  }
  char who[128];
  int64_t due = now;
  int taken = 0;
  for (int tries = 0; !taken && tries < 60; tries++, due++) { /* by hand: the second it was asked */
    sched_run r = claim_of(s, due, now, "running", NULL, "hand", who, sizeof who);
    if ((rc = sched_put(txn, h->st, &r, 1, &taken, e))) { store_abort(txn); return rc; }
  }
  if ((rc = store_commit(h->st, txn, e))) return rc;
  return run_claimed(h, s, due - 1, now, "hand", failed, e);
}

/* ---- listings ------------------------------------------------------------------ */

/* a text as JSON, escaped as every JSON kam writes (output.h) */
static void put_json(const char *s) {
  kbuf b = {0};
  json_str(&b, s, strlen(s));
  fwrite(b.p, 1, b.len, stdout);
  kbuf_free(&b);
}

static void utc_text(int64_t t, char *out, size_t n) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

int scheduler_list(sched_host *h, int64_t now, kam_err *e) {
  MDB_txn *txn;
  int rc = store_begin(h->st, 0, &txn, e);
  if (rc) return rc;
  int json = h->fmt == FMT_JSON;
  if (json) printf("[");
  else printf("%-12s %-16s %-26s %-20s %s\n", "schedule", "cron", "next (local)", "next (UTC)", "last run");
  for (int i = 0; i < h->cfg->nsched; i++) {
    const kam_schedule *s = &h->cfg->sched[i];
    const char *tz = scheduler_zone(h->cfg, s);
    kam_cron cr;
    kam_err ce;
    int64_t next = 0;
    char local[64] = "-", utc[64] = "-", lastline[400] = "never";
    if (!cron_parse(&cr, s->cron, &ce) && !cron_next(&cr, tz, now, &next, &ce)) {
      cron_local(tz, next, local, sizeof local);
      utc_text(next, utc, sizeof utc);
    }
    sched_run r;
    int have = sched_last(txn, h->st, s->name, &r, e);
    if (have < 0) { store_abort(txn); return e->code; }
    char st[16] = "", sum[300] = "", took[32] = "", when[64] = "";
    if (have) {
      show_kv(st, sizeof st, &r.status);
      show_kv(sum, sizeof sum, kval_is_text(&r.status, "failed") ? &r.error : &r.summary);
      duration(took, sizeof took, r.end && r.start ? r.end - r.start : -1);
      cron_local(tz, r.due, when, sizeof when);
      snprintf(lastline, sizeof lastline, "%.40s %.15s, %.20s%s%.250s", when, st, took, sum[0] ? ": " : "", sum);
    }
    if (json) {
      printf("%s\n  {\"schedule\": ", i ? "," : "");
      put_json(s->name);
      printf(", \"cron\": ");
      put_json(s->cron);
      printf(", \"timezone\": ");
      put_json(tz);
      printf(", \"owner\": ");
      put_json(s->owner);
      printf(", \"next\": %lld, \"next_local\": ", (long long)next);
      put_json(local);
      printf(", \"last\": ");
      if (!have) printf("null");
      else {
        printf("{\"due\": %lld, \"status\": ", (long long)r.due);
        put_json(st);
        printf(", \"ms\": %lld, \"summary\": ", (long long)(r.end && r.start ? r.end - r.start : -1));
        put_json(sum);
        printf("}");
      }
      printf("}");
    } else {
      printf("%-12s %-16s %-26s %-20s %s\n", s->name, s->cron, local, utc, lastline);
    }
  }
  if (json) printf("%s]\n", h->cfg->nsched ? "\n" : "");
  else if (!h->cfg->nsched) printf("(no schedules: kam.yaml has no schedules:)\n");
  store_abort(txn);
  return 0;
}

typedef struct hist { sched_run *r; int n, cap; } hist;

static int collect(void *ud, const sched_run *r, kam_err *e) {
  (void)e;
  hist *x = ud;
  if (x->n == x->cap) {
    x->cap = x->cap ? x->cap * 2 : 64;
    x->r = realloc(x->r, sizeof *x->r * (size_t)x->cap);
  }
  x->r[x->n++] = *r;
  return 0;
}

static int by_due_desc(const void *a, const void *b) {
  const sched_run *x = a, *y = b;
  return x->due < y->due ? 1 : x->due > y->due ? -1 : 0;
}

int scheduler_history(sched_host *h, const char *name, int64_t since, kam_err *e) {
  if (name && !scheduler_find(h->cfg, name)) {
    /* a schedule since removed from kam.yaml still has its history */
  }
  MDB_txn *txn;
  int rc = store_begin(h->st, 0, &txn, e);
  if (rc) return rc;
  hist x = {0};
  rc = sched_each(txn, h->st, name, since, collect, &x, e);
  if (rc) { store_abort(txn); free(x.r); return rc; }
  qsort(x.r, (size_t)x.n, sizeof *x.r, by_due_desc);
  int json = h->fmt == FMT_JSON;
  if (json) printf("[");
  else printf("%-12s %-26s %-9s %8s  %s\n", "schedule", "due (local)", "status", "took", "summary or error");
  for (int i = 0; i < x.n; i++) {
    sched_run *r = &x.r[i];
    char nm[80], st[16], sum[600], err[600], who[128], hash[70], trig[16], when[64], took[32];
    show_kv(nm, sizeof nm, &r->schedule);
    show_kv(st, sizeof st, &r->status);
    show_kv(sum, sizeof sum, &r->summary);
    show_kv(err, sizeof err, &r->error);
    show_kv(who, sizeof who, &r->who);
    show_kv(hash, sizeof hash, &r->hash);
    show_kv(trig, sizeof trig, &r->trigger);
    cron_local(scheduler_zone(h->cfg, scheduler_find(h->cfg, nm)), r->due, when, sizeof when);
    int64_t ms = r->end && r->start ? r->end - r->start : -1;
    duration(took, sizeof took, ms);
    if (json) {
      printf("%s\n  {\"schedule\": ", i ? "," : "");
      put_json(nm);
      printf(", \"due\": %lld, \"due_local\": ", (long long)r->due);
      put_json(when);
      printf(", \"status\": ");
      put_json(st);
      printf(", \"start_ms\": %lld, \"end_ms\": %lld, \"who\": ", (long long)r->start, (long long)r->end);
      put_json(who);
      printf(", \"trigger\": ");
      put_json(trig);
      printf(", \"hash\": ");
      if (hash[0]) put_json(hash); else printf("null");
      printf(", \"summary\": ");
      if (sum[0]) put_json(sum); else printf("null");
      printf(", \"error\": ");
      if (err[0]) put_json(err); else printf("null");
      printf("}");
    } else {
      printf("%-12s %-26s %-9s %8s  %s%s\n", nm, when, st, ms < 0 ? "" : took, err[0] ? err : sum,
             !strcmp(trig, "hand") ? " (by hand)" : "");
    }
  }
  if (json) printf("%s]\n", x.n ? "\n" : "");
  else if (!x.n) printf("(no runs%s%s)\n", name ? " of " : "", name ? name : "");
  store_abort(txn);
  free(x.r);
  return 0;
}

int scheduler_print_next(const char *expr, const char *tz, int64_t from, int n, int fmt, kam_err *e) {
  kam_cron cr;
  if (cron_parse(&cr, expr, e)) return e->code;
  int json = fmt == FMT_JSON;
  char note[300];
  if (!json) {
    printf("  Original form: %s\n  Time zone: %s\n", expr, tz);
    if (cron_either_day(&cr, note, sizeof note)) printf("  Note: %s\n", note);
  } else {
    printf("[");
  }
  int64_t t = from;
  for (int i = 0; i < n; i++) {
    if (cron_next(&cr, tz, t, &t, e)) { if (json) printf("]\n"); return e->code; }
    char local[64], utc[64];
    cron_local(tz, t, local, sizeof local);
    utc_text(t, utc, sizeof utc);
    if (json) {
      printf("%s\n  {\"unix\": %lld, \"local\": ", i ? "," : "", (long long)t);
      put_json(local);
      printf(", \"utc\": ");
      put_json(utc);
      printf("}");
    } else {
      if (i) printf("       Iter. #%d: %s\n", i + 1, local);
      else printf("    Next elapse: %s\n", local);
      printf("       (in UTC): %s\n", utc);
    }
  }
  if (json) printf("%s]\n", n ? "\n" : "");
  return 0;
}
