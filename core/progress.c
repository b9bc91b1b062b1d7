/* progress.c — see progress.h. */
#include "progress.h"
#include "fmt.h"
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MT_PROGRESS "kam.progress"

/* The bar on screen. Only compared, never followed: a bar that was freed
 * without progress_end cannot be drawn through it. */
static const progress *owner;
static int visible;
static int tty = -1;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_start(progress *p, const char *label, long total, double delay) {
  memset(p, 0, sizeof *p);
  if (tty < 0) tty = isatty(2);
  p->on = tty;
  p->total = total;
  p->delay = delay;
  p->start = p->last_check = now_s();
  snprintf(p->label, sizeof p->label, "%s", label ? label : "");
}

static void erase(void) {
  fputs("\r\033[K", stderr);
  fflush(stderr);
}

static void clock_text(char *out, size_t n, double s) {
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

static void draw(const progress *p, double t) {
  struct winsize ws;
  int cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
  if (cols > 120) cols = 120;
  double el = t - p->start;
  char done[32], total[32], rate[32], when[32], tail[160];
  fmt_money(done, sizeof done, p->done, 0);
  fmt_money(rate, sizeof rate, el > 0 ? (long long)(p->done / el) : 0, 0);
  if (p->total > 0) {
    fmt_money(total, sizeof total, p->total, 0);
    double left = p->done > 0 ? el * (double)(p->total - p->done) / (double)p->done : 0;
    if (p->done > 0) clock_text(when, sizeof when, left < 0 ? 0 : left);
    else snprintf(when, sizeof when, "?");
    int pct = (int)(100.0 * (double)p->done / (double)p->total);
    if (pct > 100) pct = 100;
    snprintf(tail, sizeof tail, " %3d%%  %s/%s  %s/s  ETA %s", pct, done, total, rate, when);
  } else {
    clock_text(when, sizeof when, el);
    snprintf(tail, sizeof tail, "  %s  %s/s  %s", done, rate, when);
  }
  char line[1024];
  int k = snprintf(line, sizeof line, "\r%s", p->label);
  int used = (int)strlen(p->label) + (int)strlen(tail) + 4; /* display columns so far */
  int barw = p->total > 0 ? cols - used - 1 : 0;
  if (barw > 40) barw = 40;
  if (barw >= 10) {
    int fill = (int)((double)barw * (double)p->done / (double)p->total);
    if (fill > barw) fill = barw;
    k += snprintf(line + k, sizeof line - (size_t)k, "  ");
    for (int i = 0; i < barw && k < (int)sizeof line - 8; i++)
      k += snprintf(line + k, sizeof line - (size_t)k, "%s", i < fill ? "\xe2\x96\x88" : "\xe2\x96\x91");
  }
  snprintf(line + k, sizeof line - (size_t)k, "%s\033[K", tail);
  fputs(line, stderr);
  fflush(stderr);
}

void progress_update(progress *p, long done) {
  if (!p->on) return;
  p->done = done;
  double t = now_s();
  /* read the clock about every few milliseconds, however fast the loop */
  double dt = t - p->last_check;
  if (dt < 0.002 && p->mask < 0xffff) p->mask = p->mask * 2 + 1;
  else if (dt > 0.05 && p->mask) p->mask >>= 1;
  p->last_check = t;
  if (t - p->start < p->delay) return;
  if (owner && owner != p) return;
  if (owner == p && visible && t - p->last_draw < 0.1) return;
  owner = p;
  visible = 1;
  p->last_draw = t;
  draw(p, t);
}

void progress_end(progress *p) {
  if (owner != p) return;
  if (visible) erase();
  owner = NULL;
  visible = 0;
}

void progress_hide(void) {
  if (visible) erase();
  visible = 0;
}

int progress_reset(void) {
  int was = visible;
  progress_hide();
  owner = NULL;
  return was;
}

/* ---- kam.progress --------------------------------------------------------- */

static int ticker_call(lua_State *L) {
  progress *p = luaL_checkudata(L, 1, MT_PROGRESS);
  lua_Integer k = luaL_optinteger(L, 2, 1);
  luaL_argcheck(L, k >= 0 && k <= ((lua_Integer)1 << 52), 2, "a step from 0 to 2^52");
  if (p->done < ((long)1 << 53)) p->done += (long)k;
  if (p->total > 0 && p->done >= p->total) progress_end(p);
  else progress_tick(p, p->done);
  return 0;
}

static int ticker_end(lua_State *L) {
  progress_end(luaL_checkudata(L, 1, MT_PROGRESS));
  return 0;
}

static int ticker_tostring(lua_State *L) {
  progress *p = luaL_checkudata(L, 1, MT_PROGRESS);
  lua_pushfstring(L, "progress %s (%d of %d)", p->label, (int)p->done, (int)p->total);
  return 1;
}

int progress_lua(lua_State *L) {
  lua_Integer total = luaL_checkinteger(L, 1);
  /* counts are longs and the bar multiplies them by 100 in doubles */
  luaL_argcheck(L, total >= 0 && total <= ((lua_Integer)1 << 52), 1, "a count from 0 to 2^52");
  const char *label = luaL_optstring(L, 2, "");
  progress *p = lua_newuserdatauv(L, sizeof *p, 0);
  progress_start(p, label, (long)total, 0.3);
  if (luaL_newmetatable(L, MT_PROGRESS)) {
    lua_pushcfunction(L, ticker_call); lua_setfield(L, -2, "__call");
    lua_pushcfunction(L, ticker_end); lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, ticker_end); lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, ticker_tostring); lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "progress"); lua_setfield(L, -2, "__name");
    lua_pushboolean(L, 0); lua_setfield(L, -2, "__metatable"); /* its __gc stays kam's */
  }
  lua_setmetatable(L, -2);
  return 1;
}
