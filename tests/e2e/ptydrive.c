/* ptydrive.c — runs a program on a pseudo-terminal and drives it from a
 * script, the way a person at a keyboard would: the REPL tests use it to type
 * lines, press Tab and Ctrl-C, and wait for what the screen shows.
 *
 *   ptydrive [-t SECONDS] [-w COLS] [-o TRANSCRIPT] SCRIPT -- PROGRAM ARGS...
 *
 * Script lines (blank lines and # comments are skipped):
 *   send TEXT      write TEXT to the terminal; \r \n \t \e \\ \xHH escapes
 *   expect TEXT    wait until TEXT shows after the last match (escapes too)
 *   absent TEXT    the output since the last match does not hold TEXT
 *   mark NAME      print "NAME <ms since start>" (start-up timings)
 *   sleep MS
 *   exit CODE      wait for the program to end with CODE
 *
 * Matching is on the text the program writes with terminal control
 * sequences and carriage returns taken out. On failure the script line and
 * the tail of the output are printed and the exit code is 1. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *out;          /* cleaned output */
static size_t outlen, outcap, matched;
static int esc_state;      /* 0 text, 1 after ESC, 2 in CSI, 3 in OSC */
static FILE *transcript;
static double t0;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void add_clean(const char *p, size_t n) {
  if (transcript) fwrite(p, 1, n, transcript);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (esc_state == 1) { esc_state = c == '[' ? 2 : c == ']' ? 3 : 0; continue; }
    if (esc_state == 2) { if (c >= 0x40 && c <= 0x7e) esc_state = 0; continue; }
    if (esc_state == 3) { if (c == 7) esc_state = 0; continue; }
    if (c == 27) { esc_state = 1; continue; }
    if (c == '\r' || c == '\b' || c == 7) continue;
    if (outlen + 1 >= outcap) {
      outcap = outcap ? outcap * 2 : 65536;
      out = realloc(out, outcap);
    }
    out[outlen++] = (char)c;
  }
  if (out) out[outlen] = 0;
}

/* reads what is available within ms; returns 0 at the program's end, 2
 * when something was read, 1 when nothing came */
static int pump(int fd, int ms) {
  struct pollfd pf = {fd, POLLIN, 0};
  int r = poll(&pf, 1, ms);
  if (r <= 0) return 1;
  char buf[4096];
  ssize_t k = read(fd, buf, sizeof buf);
  if (k <= 0) return 0; /* EIO: the other side closed */
  add_clean(buf, (size_t)k);
  return 2;
}

static size_t unescape(const char *s, char *d) {
  size_t n = 0;
  for (; *s; s++) {
    if (*s != '\\' || !s[1]) { d[n++] = *s; continue; }
    s++;
    switch (*s) {
    case 'r': d[n++] = '\r'; break;
    case 'n': d[n++] = '\n'; break;
    case 't': d[n++] = '\t'; break;
    case 'e': d[n++] = 27; break;
    case 'x': {
      char h[3] = {s[1], s[1] ? s[2] : 0, 0};
      d[n++] = (char)strtol(h, NULL, 16);
      s += 2;
      break;
    }
    default: d[n++] = *s;
    }
  }
  d[n] = 0;
  return n;
}

static void show_tail(void) {
  size_t from = outlen > 1500 ? outlen - 1500 : 0;
  fprintf(stderr, "---- output (last %zu bytes, from the last match at %zu) ----\n%s\n----\n",
          outlen - from, matched, out ? out + from : "");
}

int main(int argc, char **argv) {
  double timeout = 10;
  int cols = 100, i = 1;
  for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i += 2) {
    if (i + 1 >= argc) break;
    if (!strcmp(argv[i], "-t")) timeout = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "-w")) cols = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-o")) transcript = fopen(argv[i + 1], "w");
  }
  if (i + 2 >= argc || strcmp(argv[i + 1], "--")) {
    fprintf(stderr, "usage: ptydrive [-t SECONDS] [-w COLS] [-o TRANSCRIPT] SCRIPT -- PROGRAM ARGS...\n");
    return 2;
  }
  const char *script = argv[i];
  FILE *sf = fopen(script, "r");
  if (!sf) { perror(script); return 2; }
  struct winsize ws = {30, (unsigned short)cols, 0, 0};
  int fd;
  t0 = now_ms();
  pid_t pid = forkpty(&fd, NULL, NULL, &ws);
  if (pid < 0) { perror("forkpty"); return 2; }
  if (pid == 0) {
    execvp(argv[i + 2], argv + i + 2);
    perror(argv[i + 2]);
    _exit(127);
  }
  char line[8192], arg[8192];
  int lineno = 0, alive = 1, status = 0, rc = 0;
  while (fgets(line, sizeof line, sf)) {
    lineno++;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (!n || line[0] == '#') continue;
    char *sp = strchr(line, ' ');
    const char *a = sp ? sp + 1 : "";
    if (sp) *sp = 0;
    size_t an = unescape(a, arg);
    if (!strcmp(line, "send")) {
      /* type when the program is idle: a line editor prints its prompt a
       * moment before it turns the terminal's echo off */
      for (double end = now_ms() + 1000; alive && now_ms() < end;) {
        int p = pump(fd, 30);
        if (p == 0) alive = 0;
        if (p != 2) break;
      }
      if (write(fd, arg, an) != (ssize_t)an) { fprintf(stderr, "%s:%d: write failed\n", script, lineno); rc = 1; break; }
    } else if (!strcmp(line, "expect")) {
      double end = now_ms() + timeout * 1e3;
      char *hit = NULL;
      while (!(hit = out ? strstr(out + matched, arg) : NULL) && now_ms() < end && alive)
        alive = pump(fd, 20);
      if (!hit) hit = out ? strstr(out + matched, arg) : NULL;
      if (!hit) {
        fprintf(stderr, "%s:%d: %s waiting for: %s\n", script, lineno, alive ? "timed out" : "the program ended", a);
        show_tail();
        rc = 1;
        break;
      }
      matched = (size_t)(hit - out) + an;
    } else if (!strcmp(line, "absent")) {
      for (double end = now_ms() + 200; alive && now_ms() < end;) alive = pump(fd, 20);
      if (out && strstr(out + matched, arg)) {
        fprintf(stderr, "%s:%d: should not show: %s\n", script, lineno, a);
        show_tail();
        rc = 1;
        break;
      }
    } else if (!strcmp(line, "mark")) {
      printf("%s %.1f\n", a, now_ms() - t0);
      fflush(stdout);
    } else if (!strcmp(line, "sleep")) {
      double end = now_ms() + atof(a);
      while (now_ms() < end && alive) alive = pump(fd, 10);
    } else if (!strcmp(line, "exit")) {
      double end = now_ms() + timeout * 1e3;
      pid_t w = 0;
      while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < end) pump(fd, 20);
      while (pump(fd, 0) && fd >= 0) { struct pollfd pf = {fd, POLLIN, 0}; if (poll(&pf, 1, 0) <= 0) break; }
      if (w != pid) {
        fprintf(stderr, "%s:%d: the program did not end\n", script, lineno);
        show_tail();
        rc = 1;
        break;
      }
      pid = -1;
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (code != atoi(a)) {
        fprintf(stderr, "%s:%d: exit code %d, expected %s\n", script, lineno, code, a);
        show_tail();
        rc = 1;
      }
      break;
    } else {
      fprintf(stderr, "%s:%d: unknown command %s\n", script, lineno, line);
      rc = 2;
      break;
    }
  }
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  if (transcript) fclose(transcript);
  fclose(sf);
  free(out);
  return rc;
}
