/* lpattern.c — see lpattern.h. A backtracking matcher that reads the pattern
 * as it goes, as the reference manual describes it: errors in a pattern show
 * only when matching reaches them (as in Lua), and the places where it keeps
 * a continuation on the C stack are the ones that count towards "pattern too
 * complex". It holds nothing but C stack, so the budget's error (a longjmp)
 * may come at any poll; results go on the Lua stack only. */
#include "lpattern.h"
#include "budget.h"
#include <lauxlib.h>
#include <ctype.h>
#include <locale.h>
#include <string.h>

#define MAX_CAPTURES 32   /* a 33rd is "too many captures", as in Lua */
#define MAX_DEPTH 200     /* nested continuations before "pattern too complex" */
#define POLL_EVERY 1000   /* matcher steps between looks at the budget */

#define uchar(c) ((unsigned char)(c))

/* ---- character classes ---------------------------------------------------- */

/* What each byte is in the C locale, and what %x asks for: a table, so that
 * %a means the same whatever locale the REPL set, and the same as for the
 * lua binary (which never calls setlocale). */
enum {
  K_ALPHA = 1 << 0, K_CNTRL = 1 << 1, K_DIGIT = 1 << 2, K_GRAPH = 1 << 3,
  K_LOWER = 1 << 4, K_PUNCT = 1 << 5, K_SPACE = 1 << 6, K_UPPER = 1 << 7,
  K_ALNUM = 1 << 8, K_XDIGIT = 1 << 9,
  K_NUL = 1 << 10,     /* %z: deprecated, yet Lua 5.4 still matches it */
  K_NEGATE = 1 << 15   /* an upper-case class letter: the complement */
};
static unsigned short char_kinds[256];
static unsigned short class_kinds[256]; /* 0: after %, a plain character */

static void build_tables(void) {
  static int built;
  if (built) return;
  locale_t cl = newlocale(LC_CTYPE_MASK, "C", (locale_t)0);
#define IS(f, i) (cl ? f##_l(i, cl) : f(i))
  for (int i = 0; i < 256; i++) {
    unsigned k = 0;
    if (IS(isalpha, i)) k |= K_ALPHA;
    if (IS(iscntrl, i)) k |= K_CNTRL;
    if (IS(isdigit, i)) k |= K_DIGIT;
    if (IS(isgraph, i)) k |= K_GRAPH;
    if (IS(islower, i)) k |= K_LOWER;
    if (IS(ispunct, i)) k |= K_PUNCT;
    if (IS(isspace, i)) k |= K_SPACE;
    if (IS(isupper, i)) k |= K_UPPER;
    if (IS(isalnum, i)) k |= K_ALNUM;
    if (IS(isxdigit, i)) k |= K_XDIGIT;
    if (i == 0) k |= K_NUL;
    char_kinds[i] = (unsigned short)k;
  }
#undef IS
  if (cl) freelocale(cl);
  static const char letters[] = "acdglpsuwxz";
  static const unsigned short kinds[] = {K_ALPHA, K_CNTRL, K_DIGIT, K_GRAPH, K_LOWER, K_PUNCT,
                                         K_SPACE, K_UPPER, K_ALNUM, K_XDIGIT, K_NUL};
  for (int i = 0; letters[i]; i++) {
    class_kinds[uchar(letters[i])] = kinds[i];
    class_kinds[uchar(letters[i]) - 'a' + 'A'] = kinds[i] | K_NEGATE;
  }
  built = 1;
}

/* Does byte c belong to %cl? */
static inline int class_match(int c, int cl) {
  unsigned k = class_kinds[cl];
  if (!k) return c == cl;
  return ((char_kinds[c] & k) != 0) ^ (k >> 15);
}

/* Does byte c belong to the set [ ... ] from p (its '[') to last (its ']')? */
static int set_match(int c, const char *p, const char *last) {
  int inside = 1;
  p++;
  if (*p == '^') { inside = 0; p++; }
  for (; p < last; p++) {
    if (*p == '%') {
      p++;
      if (class_match(c, uchar(*p))) return inside;
    } else if (p + 2 < last && p[1] == '-') {
      if (uchar(p[0]) <= c && c <= uchar(p[2])) return inside;
      p += 2;
    } else if (uchar(*p) == c) return inside;
  }
  return !inside;
}

/* ---- the matcher ------------------------------------------------------------ */

enum { CAP_OPEN = -1, CAP_POSITION = -2 };

typedef struct {
  const char *at;
  ptrdiff_t len; /* or CAP_OPEN while unclosed, CAP_POSITION for () */
} capture;

/* How a match can start, to skip hopeless positions without a call. */
enum { LEAD_UNKNOWN, LEAD_ANY, LEAD_CHAR, LEAD_ITEM };

typedef struct {
  lua_State *L;
  const char *s0, *send; /* the subject */
  const char *p0, *pend; /* the pattern, after a '^' anchor */
  int depth;             /* nested calls still allowed */
  ptrdiff_t steps;       /* until the next look at the budget */
  int ncap;
  int lead;
  const char *lead_p, *lead_ep; /* LEAD_CHAR, LEAD_ITEM: the first item */
  capture cap[MAX_CAPTURES];
} matcher;

static void matcher_init(matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
  m->L = L;
  m->s0 = s;
  m->send = s + ls;
  m->p0 = p;
  m->pend = p + lp;
  m->steps = POLL_EVERY;
  m->lead = LEAD_UNKNOWN;
}

/* Counts n steps of work; now and then lets the budget (or Ctrl-C) stop the
 * script, which it does with a Lua error. */
static inline void tick(matcher *m, ptrdiff_t n) {
  m->steps -= n;
  if (m->steps <= 0) {
    m->steps = POLL_EVERY;
    sandbox_poll(m->L);
  }
}

/* The end of the single-character item at p (a character, '.', %x or a set). */
static const char *item_end(matcher *m, const char *p) {
  if (*p == '%') {
    if (p + 1 >= m->pend) luaL_error(m->L, "malformed pattern (ends with '%%')");
    return p + 2;
  }
  if (*p != '[') return p + 1;
  p++;
  if (p < m->pend && *p == '^') p++;
  /* the first member may be ']' itself; '%]' does not close the set */
  do {
    if (p >= m->pend) luaL_error(m->L, "malformed pattern (missing ']')");
    if (*p++ == '%' && p < m->pend) p++;
  } while (p >= m->pend || *p != ']');
  return p + 1;
}

/* Does byte c match the item from p to ep? */
static inline int item_match(int c, const char *p, const char *ep) {
  switch (*p) {
  case '.': return 1;
  case '%': return class_match(c, uchar(p[1]));
  case '[': return set_match(c, p, ep - 1);
  default: return uchar(*p) == c;
  }
}

/* The character an item at p must match, when it is a plain character that
 * has to be there (no '*', '?' or '-' after it); else -1. */
static int required_char(const matcher *m, const char *p) {
  if (p >= m->pend) return -1;
  switch (*p) {
  case '(': case ')': case '%': case '[': case '.': case '$': return -1;
  }
  if (p + 1 < m->pend && (p[1] == '*' || p[1] == '?' || p[1] == '-')) return -1;
  return uchar(*p);
}

static const char *match_here(matcher *m, const char *s, const char *p);

/* item* (and item+ after its first): the longest run first, then shorter. */
static const char *match_greedy(matcher *m, const char *s, const char *p, const char *ep) {
  ptrdiff_t n = 0;
  while (s + n < m->send && item_match(uchar(s[n]), p, ep)) n++;
  tick(m, n);
  const char *rest = ep + 1;
  int next = required_char(m, rest);
  for (; n >= 0; n--) {
    /* a call that fails at once is skipped, unless it would have been the
     * one to find the pattern too complex */
    if (next >= 0 && m->depth > 0 && (s + n == m->send || uchar(s[n]) != next)) continue;
    const char *r = match_here(m, s + n, rest);
    if (r) return r;
  }
  return NULL;
}

/* item-: the shortest run first, then one more. */
static const char *match_lazy(matcher *m, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *r = match_here(m, s, ep + 1);
    if (r) return r;
    if (s < m->send && item_match(uchar(*s), p, ep)) s++;
    else return NULL;
  }
}

/* %bxy at s, p pointing at x. */
static const char *match_balance(matcher *m, const char *s, const char *p) {
  if (p + 1 >= m->pend) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
  if (s >= m->send || *s != *p) return NULL;
  const char *from = s;
  int open = *p, close = p[1], level = 1;
  while (++s < m->send) {
    if (*s == close) {
      if (--level == 0) { tick(m, s - from); return s + 1; }
    } else if (*s == open) level++;
  }
  tick(m, s - from);
  return NULL;
}

/* %1 ... %9 (and the error for %0) at s. */
static const char *match_backref(matcher *m, const char *s, int digit) {
  int i = digit - '1';
  if (i < 0 || i >= m->ncap || m->cap[i].len == CAP_OPEN)
    luaL_error(m->L, "invalid capture index %%%d", i + 1);
  ptrdiff_t len = m->cap[i].len;
  if (len < 0) return NULL; /* a position capture matches no text */
  tick(m, len >> 8);
  if (m->send - s >= len && memcmp(m->cap[i].at, s, (size_t)len) == 0) return s + len;
  return NULL;
}

static const char *open_capture(matcher *m, const char *s, const char *p, ptrdiff_t kind) {
  if (m->ncap >= MAX_CAPTURES) luaL_error(m->L, "too many captures");
  m->cap[m->ncap].at = s;
  m->cap[m->ncap].len = kind;
  m->ncap++;
  const char *r = match_here(m, s, p);
  if (!r) m->ncap--;
  return r;
}

static const char *close_capture(matcher *m, const char *s, const char *p) {
  int i = m->ncap - 1;
  while (i >= 0 && m->cap[i].len != CAP_OPEN) i--;
  if (i < 0) luaL_error(m->L, "invalid pattern capture");
  m->cap[i].len = s - m->cap[i].at;
  const char *r = match_here(m, s, p);
  if (!r) m->cap[i].len = CAP_OPEN;
  return r;
}

/* Matches the pattern from p on against the subject from s: the end of the
 * match, or NULL. Plain sequences loop here; a nested call is made only
 * where a way back must be kept. */
static const char *match_here(matcher *m, const char *s, const char *p) {
  if (m->depth-- == 0) luaL_error(m->L, "pattern too complex");
  tick(m, 1);
  while (p < m->pend) {
    switch (*p) {
    case '(':
      if (p + 1 < m->pend && p[1] == ')') s = open_capture(m, s, p + 2, CAP_POSITION);
      else s = open_capture(m, s, p + 1, CAP_OPEN);
      goto done;
    case ')':
      s = close_capture(m, s, p + 1);
      goto done;
    case '$':
      if (p + 1 == m->pend) { /* only the last '$' anchors */
        if (s != m->send) s = NULL;
        goto done;
      }
      break;
    case '%':
      if (p + 1 >= m->pend) break; /* item_end reports it */
      if (p[1] == 'b') {
        s = match_balance(m, s, p + 2);
        if (!s) goto done;
        p += 4;
        continue;
      }
      if (p[1] == 'f') {
        const char *set = p + 2;
        if (set >= m->pend || *set != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
        const char *after = item_end(m, set);
        int before = s == m->s0 ? 0 : uchar(s[-1]);
        int here = s < m->send ? uchar(*s) : 0; /* the end counts as '\0' */
        if (set_match(before, set, after - 1) || !set_match(here, set, after - 1)) { s = NULL; goto done; }
        p = after;
        continue;
      }
      if (p[1] >= '0' && p[1] <= '9') {
        s = match_backref(m, s, p[1]);
        if (!s) goto done;
        p += 2;
        continue;
      }
      break;
    }
    /* a single-character item with an optional '*', '+', '-' or '?' */
    const char *ep = item_end(m, p);
    int suffix = ep < m->pend ? uchar(*ep) : 0;
    if (!(s < m->send && item_match(uchar(*s), p, ep))) {
      if (suffix == '*' || suffix == '?' || suffix == '-') { p = ep + 1; continue; }
      s = NULL;
      goto done;
    }
    switch (suffix) {
    case '?': {
      const char *r = match_here(m, s + 1, ep + 1);
      if (r) { s = r; goto done; }
      p = ep + 1;
      continue;
    }
    case '+': s = match_greedy(m, s + 1, p, ep); goto done;
    case '*': s = match_greedy(m, s, p, ep); goto done;
    case '-': s = match_lazy(m, s, p, ep); goto done;
    default: s++; p = ep; continue;
    }
  }
done:
  m->depth++;
  return s;
}

/* Works out, at the first attempt (when Lua would first read the first item,
 * so a malformed one raises at the same moment), whether positions can be
 * skipped without trying the whole pattern there. */
static void find_lead(matcher *m) {
  const char *p = m->p0;
  m->lead = LEAD_ANY;
  if (p >= m->pend || *p == '(' || *p == ')' || *p == '.') return;
  if (*p == '$' && p + 1 == m->pend) return;
  if (*p == '%' && p + 1 < m->pend && (p[1] == 'b' || p[1] == 'f' || (p[1] >= '0' && p[1] <= '9'))) return;
  const char *ep = item_end(m, p);
  if (ep < m->pend && (*ep == '*' || *ep == '?' || *ep == '-')) return;
  m->lead = (*p == '%' || *p == '[') ? LEAD_ITEM : LEAD_CHAR;
  m->lead_p = p;
  m->lead_ep = ep;
}

/* Tries the pattern at from, and (unless anchored) at each later position up
 * to the end of the subject, for a match that does not end at not_at (an
 * empty match where the previous one ended). Returns its end and sets *at to
 * its start, or returns NULL. */
static const char *scan(matcher *m, const char *from, const char *not_at, int anchored, const char **at) {
  const char *s = from;
  for (;;) {
    if (!anchored) {
      if (m->lead == LEAD_UNKNOWN) find_lead(m);
      if (m->lead == LEAD_CHAR) {
        s = s < m->send ? memchr(s, uchar(*m->lead_p), (size_t)(m->send - s)) : NULL;
        if (!s) return NULL;
      } else if (m->lead == LEAD_ITEM) {
        while (s < m->send && !item_match(uchar(*s), m->lead_p, m->lead_ep)) s++;
        if (s == m->send) return NULL;
      }
    }
    m->ncap = 0;
    m->depth = MAX_DEPTH;
    const char *e = match_here(m, s, m->p0);
    if (e && e != not_at) { *at = s; return e; }
    if (anchored || s >= m->send) return NULL;
    s++;
  }
}

/* ---- results ------------------------------------------------------------------ */

/* Capture i of the last match, or the whole match (at to e) when asked for
 * capture 0 of a pattern without captures. A position capture is pushed and
 * -1 returned; else *text and the length. */
static ptrdiff_t get_capture(matcher *m, int i, const char *at, const char *e, const char **text) {
  if (i >= m->ncap) {
    if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
    *text = at;
    return e - at;
  }
  const capture *c = &m->cap[i];
  if (c->len == CAP_OPEN) luaL_error(m->L, "unfinished capture");
  if (c->len == CAP_POSITION) {
    lua_pushinteger(m->L, (lua_Integer)(c->at - m->s0) + 1);
    return -1;
  }
  *text = c->at;
  return c->len;
}

static void push_capture(matcher *m, int i, const char *at, const char *e) {
  const char *text;
  ptrdiff_t len = get_capture(m, i, at, e, &text);
  if (len >= 0) lua_pushlstring(m->L, text, (size_t)len);
}

/* Pushes the captures, or the whole match when there are none and at is
 * given (find passes NULL: it returns the positions instead). */
static int push_captures(matcher *m, const char *at, const char *e) {
  int n = (m->ncap == 0 && at) ? 1 : m->ncap;
  luaL_checkstack(m->L, n, "too many captures");
  for (int i = 0; i < n; i++) push_capture(m, i, at, e);
  return n;
}

/* A 1-based, possibly negative, start as a 0-based offset (may exceed len). */
static size_t start_offset(lua_Integer pos, size_t len) {
  if (pos > 0) return (size_t)pos - 1;
  if (pos == 0 || pos < -(lua_Integer)len) return 0;
  return len - (size_t)(-pos);
}

/* Does the pattern need the matcher? find searches plainly if not. */
static int has_specials(const char *p, size_t lp) {
  for (size_t i = 0; i < lp; i++)
    switch (p[i]) {
    case '^': case '$': case '*': case '+': case '?': case '.': case '(': case '[': case '%': case '-':
      return 1;
    }
  return 0;
}

static const char *plain_find(const char *s, size_t ls, const char *p, size_t lp) {
  if (lp == 0) return s;
  if (lp > ls) return NULL;
  /* a few looks at where the first byte occurs settle the usual short case
   * without memmem's set-up; memmem then keeps the rest linear */
  const char *stop = s + (ls - lp) + 1; /* past the last possible start */
  for (int tries = 0; tries < 4; tries++) {
    const char *at = memchr(s, uchar(*p), (size_t)(stop - s));
    if (!at) return NULL;
    if (memcmp(at + 1, p + 1, lp - 1) == 0) return at;
    s = at + 1;
  }
  return memmem(s, (size_t)(stop - s) + lp - 1, p, lp);
}

/* ---- the string functions ---------------------------------------------------- */

static int find_or_match(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
  if (init > ls) { luaL_pushfail(L); return 1; }
  if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
    const char *at = plain_find(s + init, ls - init, p, lp);
    if (!at) { luaL_pushfail(L); return 1; }
    lua_pushinteger(L, (lua_Integer)(at - s) + 1);
    lua_pushinteger(L, (lua_Integer)(at - s + lp));
    return 2;
  }
  int anchored = *p == '^'; /* a Lua string ends in '\0', so this reads p[0] at worst */
  if (anchored) { p++; lp--; }
  matcher m;
  matcher_init(&m, L, s, ls, p, lp);
  const char *at, *e = scan(&m, s + init, NULL, anchored, &at);
  if (!e) { luaL_pushfail(L); return 1; }
  if (!find) return push_captures(&m, at, e);
  lua_pushinteger(L, (lua_Integer)(at - s) + 1);
  lua_pushinteger(L, (lua_Integer)(e - s));
  return 2 + push_captures(&m, NULL, e);
}

static int l_find(lua_State *L) { return find_or_match(L, 1); }
static int l_match(lua_State *L) { return find_or_match(L, 0); }

/* The iterator: upvalues subject, pattern, where to go on (0-based; past
 * the end: done) and where the last match ended (-1: none yet). */
static int gmatch_next(lua_State *L) {
  size_t ls, lp;
  const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  lua_Integer from = lua_tointeger(L, lua_upvalueindex(3));
  lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
  if (from > (lua_Integer)ls) return 0;
  matcher m;
  matcher_init(&m, L, s, ls, p, lp); /* a '^' is a plain character here */
  const char *at, *e = scan(&m, s + from, last < 0 ? NULL : s + last, 0, &at);
  if (!e) {
    lua_pushinteger(L, (lua_Integer)ls + 1); /* no later call can match */
    lua_replace(L, lua_upvalueindex(3));
    return 0;
  }
  /* moved on before the captures are pushed, which may raise */
  lua_pushinteger(L, (lua_Integer)(e - s));
  lua_pushvalue(L, -1);
  lua_replace(L, lua_upvalueindex(3));
  lua_replace(L, lua_upvalueindex(4));
  return push_captures(&m, at, e);
}

static int l_gmatch(lua_State *L) {
  size_t ls;
  luaL_checklstring(L, 1, &ls);
  luaL_checkstring(L, 2);
  size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
  if (init > ls) init = ls + 1;
  lua_settop(L, 2);
  lua_pushinteger(L, (lua_Integer)init);
  lua_pushinteger(L, -1);
  lua_pushcclosure(L, gmatch_next, 4);
  return 1;
}

/* A replacement string: '%%' is '%', '%0' the match, '%1'...'%9' captures. */
static void add_template(matcher *m, luaL_Buffer *b, const char *r, size_t lr, const char *at, const char *e) {
  const char *rend = r + lr;
  for (;;) {
    const char *pc = memchr(r, '%', (size_t)(rend - r));
    if (!pc) break;
    luaL_addlstring(b, r, (size_t)(pc - r));
    int c = pc + 1 < rend ? uchar(pc[1]) : 0;
    if (c == '%') luaL_addchar(b, '%');
    else if (c == '0') luaL_addlstring(b, at, (size_t)(e - at));
    else if (c >= '1' && c <= '9') {
      const char *text;
      ptrdiff_t len = get_capture(m, c - '1', at, e, &text);
      if (len < 0) luaL_addvalue(b); /* a position, pushed as an integer */
      else luaL_addlstring(b, text, (size_t)len);
    } else luaL_error(m->L, "invalid use of '%c' in replacement string", '%');
    r = pc + 2;
  }
  luaL_addlstring(b, r, (size_t)(rend - r));
}

/* A function's result or a table's value replaces the match; nil or false
 * keeps it. */
static void add_looked_up(matcher *m, luaL_Buffer *b, int kind, const char *at, const char *e) {
  lua_State *L = m->L;
  if (kind == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    int n = push_captures(m, at, e);
    lua_call(L, n, 1);
  } else {
    push_capture(m, 0, at, e);
    lua_gettable(L, 3);
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(b, at, (size_t)(e - at));
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  } else luaL_addvalue(b);
}

static int l_gsub(lua_State *L) {
  size_t ls, lp, lr = 0;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  int kind = lua_type(L, 3);
  lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
  luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE,
                   3, "string/function/table");
  const char *r = kind == LUA_TNUMBER || kind == LUA_TSTRING ? lua_tolstring(L, 3, &lr) : NULL;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int anchored = *p == '^';
  if (anchored) { p++; lp--; }
  matcher m;
  matcher_init(&m, L, s, ls, p, lp);
  const char *src = s, *last = NULL, *end = s + ls;
  lua_Integer n = 0;
  while (n < max) {
    const char *at, *e = scan(&m, src, last, anchored, &at);
    if (!e) break;
    luaL_addlstring(&b, src, (size_t)(at - src));
    n++;
    if (r) add_template(&m, &b, r, lr, at, e);
    else add_looked_up(&m, &b, kind, at, e);
    src = last = e;
    if (anchored) break;
  }
  luaL_addlstring(&b, src, (size_t)(end - src));
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

void lpattern_install(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"find", l_find}, {"match", l_match}, {"gmatch", l_gmatch}, {"gsub", l_gsub}, {NULL, NULL}};
  build_tables();
  lua_getglobal(L, "string");
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 1);
}
