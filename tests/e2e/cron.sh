#!/usr/bin/env bash
# cron.sh CRON_REF — core/cron.c (through tests/unit/cron_ref) against two
# references, in Python:
#  1. python3-croniter, in UTC: 10,000 random valid expressions (lists,
#     ranges, steps, names in any case, 7 for Sunday, @macros, day-of-month
#     and day-of-week both restricted in some) from random start times, the
#     next 3 times each; all must agree.
#  2. daylight saving, against a minute-by-minute walk over Python's zoneinfo
#     (its own reading of the tz database) with cron.h's rules: a local time
#     skipped by a spring-forward gap fires when the gap ends, one that happens
#     twice fires the first time. Start times near the changes of zones north
#     and south, with half-hour changes and odd offsets, up to 2070.
# Skips (exit 0) only when python3-croniter is missing; scripts/install-deps
# installs it.
set -u
REF=${1:?usage: cron.sh CRON_REF}
case $REF in /*) ;; *) REF=$PWD/$REF ;; esac
# Debian's python: python3-croniter installs for it, not for a python of
# pyenv or a virtualenv that may come first on PATH
PY=/usr/bin/python3
if [[ ! -x $PY ]] || ! $PY -c 'import croniter' 2>/dev/null; then
  echo "cron.sh: python3-croniter is not installed (scripts/install-deps installs it); skipped"
  exit 0
fi
exec $PY - "$REF" <<'PYTHON'
import random, subprocess, sys, time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo
from croniter import croniter

REF = sys.argv[1]
EPOCH = date(1970, 1, 1)
rnd = random.Random(20260329)
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()
MOST = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
FIELDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]

def run_ref(tz, lines):
    """cron_ref --stdin: one process for all lines; a list of lists of instants (or an error text)"""
    p = subprocess.run([REF, "--stdin", tz], input="".join(l + "\n" for l in lines),
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("cron_ref failed: %s" % p.stderr)
    out = []
    for row in p.stdout.splitlines():
        times, _, err = row.partition("error: ")
        out.append([int(x) for x in times.split()] + (["none"] if "does not fire in the 5 years" in err else
                                                       ["error: " + err] if err else []))
    if len(out) != len(lines):
        sys.exit("cron_ref: %d lines out for %d in" % (len(out), len(lines)))
    return out

def expand(text, lo, hi):
    vals = set()
    for part in text.split(","):
        rng, _, step = part.partition("/")
        a, b = (lo, hi) if rng == "*" else (int(rng.split("-")[0]), int(rng.split("-")[-1]))
        vals |= set(range(a, b + 1, int(step or 1)))
    return vals

def cased(name):
    return rnd.choice([name, name.upper(), name.capitalize()])

def value(f, v):
    """v as text: a name in some month and day fields, 7 for some Sundays"""
    if f == 3 and rnd.random() < 0.4:
        return cased(MONTHS[v - 1])
    if f == 4 and v <= 6 and rnd.random() < 0.4:
        return cased(DAYS[v])
    return str(v)

def item(f):
    """one list item and the values it sets"""
    lo, hi = FIELDS[f]
    k = rnd.random()
    if k < 0.45:
        v = rnd.randint(lo, hi)
        return value(f, v), {v}
    a = rnd.randint(lo, hi)
    b = rnd.randint(a, hi)
    if k < 0.8:
        return "%s-%s" % (value(f, a), value(f, b)), set(range(a, b + 1))
    n = rnd.randint(1, max(1, (b - a) // 2 + 1))
    return "%s-%s/%d" % (value(f, a), value(f, b), n), set(range(a, b + 1, n))

def field(f, restricted):
    """(text, values, begins with '*')"""
    lo, hi = FIELDS[f]
    if not restricted:
        if rnd.random() < 0.7:
            return "*", set(range(lo, hi + 1)), True
        n = rnd.randint(1, hi - lo + 1)
        return "*/%d" % n, set(range(lo, hi + 1, n)), True
    parts, vals = [], set()
    for _ in range(rnd.choice([1, 1, 1, 2, 3])):
        t, v = item(f)
        parts.append(t)
        vals |= v
    return ",".join(parts), vals, False

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}

def gen(croniter_safe):
    """(expression, its sets) for a valid expression. With croniter_safe, not
    in the corners where croniter 1.3.5 is not Vixie cron:
    - the either-day rule: Vixie applies it when neither day field begins
      with '*'; croniter when neither lists every value. So "*/2" counts as
      `*` for Vixie but not for croniter, and "1-31" or "mon-7" the other way.
    - days 29-31 in a day-of-month that is not every day ("30", "*/15"):
      croniter measures every month
      with the length of the month its search starts in (proc_day_of_month
      reads the start's `month`), so from February "0 0 1,30 * *" skips
      March 1st; and with the either rule, a day that no allowed month has
      ("31 in feb-jun/2") makes it give up ("failed to find next date")
      instead of taking the weekdays.
    - croniter reads "5/15" as 5-59/15 and "fri-sun" as fri-7: cron refuses
      both, so does cron_parse, and neither is made here at all.
    The corners are checked against the day-by-day walk instead."""
    if rnd.random() < 0.04:
        e = rnd.choice(sorted(MACROS))
        f = MACROS[e].split()
        sets = (expand(f[0], 0, 59), expand(f[1], 0, 23), expand(f[2], 1, 31), expand(f[3], 1, 12),
                expand(f[4], 0, 7), f[2] == "*", f[4] == "*")
        return e, sets
    while True:
        fs = [field(i, rnd.random() < 0.6) for i in range(5)]
        dom, dow = fs[2], fs[4]
        dows = {0 if v == 7 else v for v in dow[1]}
        vixie_or = not dom[2] and not dow[2]
        if croniter_safe:
            if vixie_or != (len(dom[1]) < 31 and len(dows) < 7):
                continue
            if len(dom[1]) < 31 and max(dom[1]) > 28:
                continue
        # it fires: a restricted day-of-month with a `*` day-of-week needs a month that has the day
        if not dom[2] and dow[2] and not any(d <= MOST[m - 1] for m in fs[3][1] for d in dom[1]):
            continue
        return " ".join(f[0] for f in fs), (fs[0][1], fs[1][1], dom[1], fs[3][1], dows, dom[2], dow[2])

HORIZON = 1827 * 86400  # cron.h: none within 5 years is an error

def walk_days(sets, after, n):
    """the next n instants by Vixie's rules, day by day; "none" past the horizon"""
    mins, hours, doms, months, dows, dstar, wstar = sets
    dows = {0 if v == 7 else v for v in dows}
    offs = sorted(h * 3600 + m * 60 for h in hours for m in mins)
    out, day = [], after // 86400
    while len(out) < n:
        if day * 86400 > after + HORIZON:
            return out + ["none"]
        d = EPOCH + timedelta(days=day)
        dm, wm = d.day in doms, d.isoweekday() % 7 in dows
        if d.month in months and ((dm and wm) if dstar or wstar else (dm or wm)):
            for o in offs:
                t = day * 86400 + o
                if t > after:
                    if t > after + HORIZON:
                        return out + ["none"]
                    out.append(t)
                    after = t
                    if len(out) == n:
                        break
        day += 1
    return out

def compare_utc(cases, with_croniter):
    ours = run_ref("UTC", ["%s|%d|%d" % (e, s, K) for e, _, s in cases])
    bad = 0
    for (e, sets, s), got in zip(cases, ours):
        refs = [("walk", walk_days(sets, s, K))]
        if with_croniter:
            it = croniter(e, datetime.fromtimestamp(s, timezone.utc))
            try:
                refs.append(("croniter", [int(it.get_next(float)) for _ in range(K)]))
            except Exception as x:
                refs.append(("croniter", "%s" % x))
        for name, want in refs:
            if got != want:
                bad += 1
                if bad <= 20:
                    print("DIFFER: %-40s from %d (%s): cron_ref %s, %s %s" %
                          (repr(e), s, datetime.fromtimestamp(s, timezone.utc).isoformat(), got, name, want))
    return bad

def start():
    s, r = rnd.randint(631152000, 2840140800), rnd.random()  # 1990 .. 2060
    if r < 0.3:
        return s - s % 60                                     # on a minute
    if r < 0.4:
        return s - s % 60 - 1                                 # a second before one
    return s

def either(e):
    f = MACROS.get(e, e).split()
    return f[2][0] != "*" and f[4][0] != "*"

# ---- 1. croniter, UTC ----------------------------------------------------------
N, K = 10000, 3
t0 = time.time()
cases = [gen(True) + (start(),) for _ in range(N)]
bad = compare_utc(cases, True)
print("croniter: %d expressions x %d times: %s (%d with the either-day rule; %.1f s)" %
      (N, K, "all agree" if not bad else "%d DIFFER" % bad, sum(either(c[0]) for c in cases), time.time() - t0))
# croniter's corners, against the walk alone
t0 = time.time()
corners = [gen(False) + (start(),) for _ in range(3000)]
cbad = compare_utc(corners, False)
print("croniter's corners: %d expressions x %d times against a day-by-day walk: %s (%.1f s)" %
      (len(corners), K, "all agree" if not cbad else "%d DIFFER" % cbad, time.time() - t0))
bad += cbad

# ---- 2. daylight saving, zoneinfo -----------------------------------------------
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
         "America/Sao_Paulo", "Pacific/Chatham", "America/St_Johns", "Asia/Ho_Chi_Minh",
         "Asia/Kathmandu", "Europe/London", "America/Santiago", "Asia/Tehran"]
MIN_S = ["*", "0", "30", "*/15", "0,30", "5-10", "*/7", "59", "45"]
HOUR_S = ["*", "1-3", "2", "2,3", "0-4/2", "*/3", "1", "3", "0-5", "23,0-1", "22-23"]

def transitions(zone, year):
    """instants of the year where the offset changes (to the second)"""
    tz, out = ZoneInfo(zone), []
    off = lambda t: datetime.fromtimestamp(t, tz).utcoffset()
    t = int(datetime(year, 1, 1, tzinfo=timezone.utc).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=timezone.utc).timestamp())
    while t < end:
        if off(t) != off(t + 86400):
            a, b = t, t + 86400
            while b - a > 1:
                m = (a + b) // 2
                a, b = (m, b) if off(m) == off(t) else (a, m)
            out.append(b)
        t += 86400
    return out

def walk(zone, mins, hours, dows, dow_star, after, n):
    """cron.h's rules, minute by minute: fire at UTC minute t when some
    matching wall-clock minute lies after every wall time already shown and
    at or before t's own (a gap's minutes come with its first instant, a
    repeated one is not after the highest shown)"""
    tz, out = ZoneInfo(zone), []
    t = (after - 86400) // 60 * 60
    high = None
    while len(out) < n and t < after + 40 * 86400:
        d = datetime.fromtimestamp(t, tz)
        wall = t + int(d.utcoffset().total_seconds())
        if high is None:
            high = wall - 60
        if wall > high:
            if t > after:
                for w in range(high + 60, wall + 1, 60):
                    dt = datetime.fromtimestamp(w, timezone.utc)
                    if dt.minute in mins and dt.hour in hours and \
                       (dow_star or (dt.isoweekday() % 7) in dows):
                        out.append(t)
                        break
            high = wall
        t += 60
    return out

t0 = time.time()
dst_cases, dst_bad = 0, 0
for zone in ZONES:
    lines, refs = [], []
    for year in rnd.sample(range(1995, 2071), 8):
        for tr in transitions(zone, year):
            for _ in range(6):
                m, h = rnd.choice(MIN_S), rnd.choice(HOUR_S)
                dstar = rnd.random() < 0.7
                dtext = "*" if dstar else ",".join(sorted({str(rnd.randint(0, 6)) for _ in range(3)}))
                e = "%s %s * * %s" % (m, h, dtext)
                after = tr + rnd.randint(-30 * 3600, 6 * 3600)
                lines.append("%s|%d|3" % (e, after))
                refs.append(walk(zone, expand(m, 0, 59), expand(h, 0, 23),
                                 expand(dtext, 0, 6) if not dstar else set(), dstar, after, 3))
    for line, got, want in zip(lines, run_ref(zone, lines), refs):
        dst_cases += 1
        if got != want:
            dst_bad += 1
            if dst_bad <= 20:
                print("DIFFER: %s %s: cron_ref %s, walk %s" % (zone, line, got, want))
print("daylight saving: %d cases in %d zones x 3 times: %s (%.1f s)" %
      (dst_cases, len(ZONES), "all agree" if not dst_bad else "%d DIFFER" % dst_bad, time.time() - t0))
sys.exit(1 if bad or dst_bad else 0)
PYTHON
