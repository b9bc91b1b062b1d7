/* progress.h — a progress bar on standard error for work over many entities:
 * count, rate and time left, drawn only when stderr is a terminal and the
 * work has gone on long enough to be worth watching.
 *
 * One bar is on screen at a time (the first that needed one); the others
 * count silently. A bar is a plain struct the caller owns: it must be ended
 * with progress_end before its memory goes. */
#ifndef KAM_PROGRESS_H
#define KAM_PROGRESS_H
#include <lua.h>

typedef struct progress {
  long total;          /* <= 0: unknown (no bar, no ETA: a count and a rate) */
  long done;
  unsigned calls, mask;/* the clock is read when calls & mask == 0 */
  double start, last_check, last_draw, delay;
  int on;              /* stderr is a terminal */
  char label[40];
} progress;

/* Starts counting; the bar appears once the work has run `delay` seconds. */
void progress_start(progress *p, const char *label, long total, double delay);
/* Sets the count and draws when due. */
void progress_update(progress *p, long done);
/* The cheap call for a loop: reads the clock only now and then. */
static inline void progress_tick(progress *p, long done) {
  if (p->on && !(++p->calls & p->mask)) progress_update(p, done);
}
/* Erases the bar if this one is on screen. */
void progress_end(progress *p);
/* Erases whatever bar is on screen, before other output takes the line; the
 * bar comes back at its next update. */
void progress_hide(void);
/* Erases the bar and frees the screen line (a statement has ended);
 * returns 1 if a bar was on screen. */
int progress_reset(void);

/* kam.progress(total [, label]) -> a ticker: tick() adds 1, tick(k) adds k. */
int progress_lua(lua_State *L);

#endif
