/* budget.c — see budget.h. */
#include "budget.h"
#include "pool.h"
#include "kerr.h"
#include "lua_error.h"
#include <lauxlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>


static int killed; /* a budget ran out or Ctrl-C: no pcall may catch that */

/* where luaL_traceback's part of a message starts: the handler adds it, the
 * readers below cut it off */
#define TRACEBACK_HEAD "stack traceback:"
#define TRACEBACK "\n" TRACEBACK_HEAD

/* The one message handler: the traceback, added once (an error leaving
 * kam.tx already has one). A kam error keeps its code and gets the
 * traceback beside its message; any other error becomes its message with
 * the traceback after it. An error object's __tostring is not called after
 * a stop: the handler then runs with hooks off, where an endless
 * __tostring could not be stopped. */
int sandbox_msgh(lua_State *L) {
  if (lerr_is(L, 1)) {
    if (!lerr_traceback(L, 1)) {
      luaL_traceback(L, L, NULL, 1);
      lerr_set_traceback(L, 1, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_settop(L, 1);
    return 1;
  }
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (!killed && luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  if (strstr(msg, TRACEBACK)) return 1;
  luaL_traceback(L, L, msg, 1);
  return 1;
}


/* ---- limits ------------------------------------------------------------------ */

/* The heap is counted by the allocator; past the cap an allocation fails and
 * Lua raises "not enough memory" (a string.rep bomb ends there). */
typedef struct heap {
  size_t used, cap;
  size_t eval_base, eval_cap; /* one policy evaluation: growth over eval_base (0: no cap) */
  int eval_hit;               /* the last stop was eval_cap */
  int cap_hit;                /* the last stop was cap */
} heap;
static heap the_heap;
static size_t armed_ctx_policy_memory; /* limits.policy_memory_mb, in bytes */
static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  heap *h = ud;
  if (!ptr) osize = 0;
  if (nsize == 0) { pool_realloc(ptr, osize, 0); h->used -= osize; return NULL; }
  if (nsize > osize) {
    size_t after = h->used + (nsize - osize);
    int eval_over = h->eval_cap && after > h->eval_base && after - h->eval_base > h->eval_cap;
    if ((h->cap && after > h->cap) || eval_over) {
      killed = 1; /* like the time budget: the script ends, whatever pcalls it */
      h->eval_hit = eval_over;
      h->cap_hit = !eval_over;
      return NULL;
    }
  }
  void *p = pool_realloc(ptr, osize, nsize);
  if (p) h->used += nsize - osize;
  return p;
}

/* The time budget and Ctrl-C share one hook, and neither keeps a hook on
 * while a script runs: a count hook slows the interpreter about twice over.
 * While a budget is armed an interval timer ticks (SIGALRM, 20 times a
 * second); a budget is a deadline in ticks, so arming one per policy
 * evaluation is a store, not a system call. When a tick finds a deadline
 * passed, or at Ctrl-C, the signal handler only asks for the hook at the next
 * instruction (as lua.c's laction does). Once either fires, the hook comes
 * back every few thousand instructions, so a pcall that swallows the error
 * cannot keep the script alive. */
#define TICKS_PER_SECOND 20
static volatile sig_atomic_t ticks;           /* since the ticker started */
static volatile sig_atomic_t script_deadline; /* in ticks; 0: none */
static volatile sig_atomic_t policy_deadline;
static volatile sig_atomic_t policy_fired;    /* which budget ran out */
static int ticking;
static double budget_seconds, policy_seconds;
static const char *policy_name = "limits.policy_seconds";
static volatile sig_atomic_t stop_requested, expired;
static lua_State *armed_L;
/* The thread running Lua code now: a hook is per thread, so a stop must be
 * asked of the coroutine that runs, not only of the main thread (an endless
 * loop inside coroutine.wrap would never see it). Set around every resume. */
static lua_State *volatile running_L;

/* asks for the hook on the running thread and on the main one */
static void hook_all(int mask, int count);

static void sandbox_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (stop_requested) sandbox_raise_stop(L);
  if (!expired) { lua_sethook(L, NULL, 0, 0); return; }
  killed = 1;
  lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1000);
  hook_all(LUA_MASKCOUNT, 1000);
  char secs[32]; /* lua_pushfstring has no %g */
  snprintf(secs, sizeof secs, "%.10g", policy_fired ? policy_seconds : budget_seconds);
  if (policy_fired) luaL_error(L, "stopped: it ran longer than %s s (%s in kam.yaml)", secs, policy_name);
  luaL_error(L, "stopped: it ran longer than %s s (limits.script_seconds in kam.yaml)", secs);
}

static void on_alarm(int sig) {
  (void)sig;
  sig_atomic_t t = ++ticks;
  int pol = policy_deadline && t >= policy_deadline;
  if (!pol && !(script_deadline && t >= script_deadline)) return;
  policy_fired = pol;
  expired = 1;
  hook_all(LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void hook_all(int mask, int count) {
  lua_State *r = running_L;
  if (r) lua_sethook(r, sandbox_hook, mask, count);
  if (armed_L && armed_L != r) lua_sethook(armed_L, sandbox_hook, mask, count);
}

static void ticker(int on) {
  static int installed;
  if (!installed) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    installed = 1;
  }
  if (on == ticking) return;
  struct itimerval it;
  memset(&it, 0, sizeof it);
  if (on) {
    it.it_interval.tv_usec = 1000000 / TICKS_PER_SECOND;
    it.it_value = it.it_interval;
  }
  setitimer(ITIMER_REAL, &it, NULL);
  ticking = on;
}

/* a deadline `seconds` from now, in ticks; 0 for none. A fraction is
 * rounded up to whole ticks, and one tick more is added because the next
 * tick may come at once: a budget is never shorter than asked, nor longer
 * by more than a tick (0.25 s stops after 0.25 to 0.30 s). */
static sig_atomic_t deadline(double seconds) {
  if (!(seconds > 0)) return 0;
  double t = seconds * TICKS_PER_SECOND - 1e-9; /* 0.35 * 20 is not quite 7 */
  sig_atomic_t n = (sig_atomic_t)t;
  if (n < t) n++;
  return ticks + n + 1;
}

void sandbox_interrupt(lua_State *L) {
  stop_requested = 1;
  lua_sethook(L, sandbox_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
  hook_all(LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

int sandbox_killed(void) { return killed; }

int sandbox_stopping(void) { return stop_requested; }

int sandbox_should_stop(void) { return stop_requested || expired; }

int sandbox_raise_err(lua_State *L, int code, const char *msg) {
  return lerr_raise(L, code, msg);
}

const char *sandbox_error_message(lua_State *L, size_t *n) {
  const char *msg = sandbox_memory_stop(); /* not Lua's bare "not enough memory" */
  if (msg || !(msg = lerr_message(L, -1, n))) {
    if (!msg) msg = "(error without a message)";
    *n = strlen(msg);
    return msg;
  }
  if (lerr_is(L, -1)) return msg; /* its traceback is beside it */
  const char *tb = strstr(msg, TRACEBACK);
  if (tb) *n = (size_t)(tb - msg);
  return msg;
}

int sandbox_error_frames(lua_State *L, int max, const char *skip,
                         void (*fn)(const char *frame, size_t n, void *ud), void *ud) {
  const char *p = lerr_traceback(L, -1);
  if (!p) {
    const char *msg = lua_tostring(L, -1);
    p = msg ? strstr(msg, TRACEBACK) : NULL;
  }
  if (!p || !(p = strstr(p, TRACEBACK_HEAD))) return 0;
  p += strlen(TRACEBACK_HEAD);
  int shown = 0;
  while (*p && shown < max) {
    const char *e = strchr(p + 1, '\n');
    const char *fr = p + 1; /* after the newline, tabs */
    const char *end = e ? e : p + strlen(p);
    while (fr < end && *fr == '\t') fr++;
    size_t n = (size_t)(end - fr);
    int ours = n > 0 && strncmp(fr, "[C]", 3) && strncmp(fr, "(...tail", 8) &&
               !(skip && !strncmp(fr, skip, strlen(skip)));
    if (ours) { fn(fr, n, ud); shown++; }
    if (!e) break;
    p = e;
  }
  return shown;
}

int sandbox_error_code(lua_State *L) { return lerr_code(L, -1); }

void sandbox_poll(lua_State *L) {
  if (stop_requested || expired) sandbox_hook(L, NULL);
}

int sandbox_raise_stop(lua_State *L) {
  killed = 1;
  lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1000);
  hook_all(LUA_MASKCOUNT, 1000);
  return luaL_error(L, "interrupted");
}

void sandbox_arm(lua_State *L, double seconds) {
  budget_seconds = seconds;
  the_heap.cap_hit = 0;
  killed = 0;
  stop_requested = 0;
  expired = 0;
  armed_L = L;
  lua_sethook(L, NULL, 0, 0);
  policy_deadline = 0;
  script_deadline = deadline(seconds);
  ticker(seconds > 0);
}

void sandbox_arm_for(lua_State *L, double seconds, const char *limit) {
  the_heap.eval_base = the_heap.used;
  the_heap.eval_cap = armed_ctx_policy_memory;
  the_heap.eval_hit = 0;
  policy_name = limit;
  policy_seconds = seconds;
  killed = 0;
  expired = 0;
  armed_L = L;
  lua_sethook(L, NULL, 0, 0);
  policy_deadline = deadline(seconds);
  if (seconds > 0) ticker(1);
}

void sandbox_gc_tune(lua_State *L) {
  /* a minor collection comes after the heap grew by minormul percent: on a
   * big heap (a long policy run keeps its results) that young generation
   * outgrows the caches, and every new object is a cache miss. Keep it
   * near 2 MiB. */
  int kib = lua_gc(L, LUA_GCCOUNT);
  int pct = kib > 0 ? (int)(2048LL * 100 / kib) : 20;
  if (pct < 2) pct = 2;
  if (pct > 20) pct = 20;
  lua_gc(L, LUA_GCGEN, pct, 0);
}

const char *sandbox_memory_stop(void) {
  static char msg[160];
  if (!killed) return NULL;
  if (the_heap.eval_hit)
    snprintf(msg, sizeof msg, "stopped: it used more than %zu MiB (limits.policy_memory_mb in kam.yaml)",
             the_heap.eval_cap >> 20);
  else if (the_heap.cap_hit)
    snprintf(msg, sizeof msg, "stopped: it used more than %zu MiB (limits.memory_mb in kam.yaml)",
             the_heap.cap >> 20);
  else return NULL;
  return msg;
}

void sandbox_disarm_for(lua_State *L, double script_seconds) {
  (void)L;
  the_heap.eval_cap = 0;
  policy_deadline = 0;
  /* the rest of the command has the script budget again, from now */
  script_deadline = deadline(script_seconds);
  budget_seconds = script_seconds;
  if (script_seconds <= 0) ticker(0);
}


void sandbox_disarm_inner(lua_State *L) {
  (void)L;
  the_heap.eval_cap = 0;
  policy_deadline = 0;
  /* the ticker keeps going: stopping and starting it would be two system
   * calls per guarded row, and a tick with no deadline does nothing */
}

lua_State *limits_new_state(size_t memory_bytes, size_t policy_memory_bytes) {
  the_heap.used = 0;
  the_heap.cap = memory_bytes;
  the_heap.eval_cap = 0;
  armed_ctx_policy_memory = policy_memory_bytes;
  return lua_newstate(limited_alloc, &the_heap);
}

void limits_close(void) {
  ticker(0);
  armed_L = NULL;
  running_L = NULL;
}

lua_State *limits_enter(lua_State *co) {
  lua_State *prev = running_L;
  running_L = co;
  if (expired || stop_requested) lua_sethook(co, sandbox_hook, LUA_MASKCOUNT, 1);
  return prev;
}

void limits_leave(lua_State *prev) { running_L = prev; }
