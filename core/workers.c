/* workers.c — see workers.h. */
#include "workers.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int saved_argc;
static char **saved_argv;
static int allowed;
static char exe[4096];

void workers_set_argv(int argc, char **argv) {
  saved_argc = argc;
  saved_argv = argv;
}

void workers_allow(void) { allowed = 1; }

int workers_available(void) {
  if (!allowed || !saved_argv) return 0;
  if (!exe[0]) {
    /* this very program, whatever PATH says now */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || (size_t)n >= sizeof exe - 1) { exe[0] = 0; return 0; }
    exe[n] = 0;
  }
  return 1;
}

int workers_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* an unlinked file in TMPDIR: gone with its last descriptor */
static int temp_file(kam_err *e) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  char path[4200];
  snprintf(path, sizeof path, "%s/kam-worker.XXXXXX", dir);
  fd = mkostemp(path, O_CLOEXEC);
  if (fd < 0) return -kam_errf(e, KAM_EINTERNAL, "workers: cannot make a temporary file in %s: %s", dir, strerror(errno));
  unlink(path);
  return fd;
}

int worker_start(worker *w, const char *extra, kam_err *e) {
  w->pid = 0;
  w->fd = w->ofd = -1;
  if (!workers_available()) return kam_errf(e, KAM_EINTERNAL, "workers: this command cannot start workers");
  int fd = temp_file(e);
  if (fd < 0) return -fd;
  int ofd = temp_file(e);
  if (ofd < 0) { close(fd); return -ofd; }
  char **argv = calloc((size_t)saved_argc + 2, sizeof *argv);
  if (!argv) { close(fd); close(ofd); return kam_errf(e, KAM_EINTERNAL, "workers: out of memory"); }
  /* the option first: after a "--" it would be an argument */
  argv[0] = saved_argv[0];
  argv[1] = (char *)extra;
  for (int i = 1; i < saved_argc; i++) argv[i + 1] = saved_argv[i];
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, WORKER_DATA_FD);
  posix_spawn_file_actions_adddup2(&fa, ofd, STDOUT_FILENO);
  posix_spawnattr_init(&at);
  /* no signal blocked; an ignored one stays ignored (a command started in
   * the background ignores Ctrl-C, and so must its workers), a handled one
   * is at its default until the worker sets up its own */
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
  fflush(NULL); /* nothing buffered here is written twice */
  pid_t pid;
  int rc = posix_spawn(&pid, exe, &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  free(argv);
  if (rc) {
    close(fd);
    close(ofd);
    return kam_errf(e, KAM_EINTERNAL, "workers: cannot start %s: %s", exe, strerror(rc));
  }
  w->pid = pid;
  w->fd = fd;
  w->ofd = ofd;
  return 0;
}

static int wait_for(pid_t pid, int *status) {
  int st;
  pid_t r;
  do r = waitpid(pid, &st, 0); while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
  return 0;
}

/* appends the whole file at fd to out */
static int read_all(int fd, kbuf *out, kam_err *e) {
  struct stat sb;
  if (fstat(fd, &sb)) return kam_errf(e, KAM_EINTERNAL, "workers: reading a worker's output: %s", strerror(errno));
  size_t left = (size_t)sb.st_size;
  off_t at = 0;
  kbuf_reserve(out, left);
  while (left) {
    ssize_t n = pread(fd, out->p + out->len, left, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return kam_errf(e, KAM_EINTERNAL, "workers: reading a worker's output: %s", n ? strerror(errno) : "cut short");
    out->len += (size_t)n;
    at += n;
    left -= (size_t)n;
  }
  return 0;
}

static void close_files(worker *w) {
  if (w->fd >= 0) close(w->fd);
  if (w->ofd >= 0) close(w->ofd);
  w->fd = w->ofd = -1;
}

int worker_finish(worker *w, kbuf *data, kbuf *printed, int *status, kam_err *e) {
  int rc = 0;
  *status = 1;
  if (w->pid > 0 && wait_for(w->pid, status))
    rc = kam_errf(e, KAM_EINTERNAL, "workers: waiting for process %ld: %s", (long)w->pid, strerror(errno));
  w->pid = 0;
  if (!rc && *status == 0 && w->fd >= 0 && w->ofd >= 0) {
    rc = read_all(w->fd, data, e);
    if (!rc) rc = read_all(w->ofd, printed, e);
  }
  close_files(w);
  return rc;
}

void worker_stop(worker *w) {
  if (w->pid > 0) {
    kill(w->pid, SIGTERM);
    int st;
    wait_for(w->pid, &st);
  }
  w->pid = 0;
  close_files(w);
}

void worker_tie_to(long parent) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if ((long)getppid() != parent) _exit(143); /* it ended before the tie was made */
}
