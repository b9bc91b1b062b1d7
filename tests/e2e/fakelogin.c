/* fakelogin.c — another login than the test's: preloaded into kam
 * (LD_PRELOAD) with FAKE_LOGIN=NAME, getuid() answers a non-zero uid
 * (FAKE_UID, else 4242) and getpwuid_r() a passwd entry for it whose
 * pw_name is NAME, so kam takes the process for that login, not root.
 * Without FAKE_LOGIN both are the system's own. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *fake(void) {
  const char *n = getenv("FAKE_LOGIN");
  return n && *n ? n : NULL;
}

static uid_t fake_uid(void) {
  const char *u = getenv("FAKE_UID");
  long v = u && *u ? strtol(u, NULL, 10) : 4242;
  return (uid_t)(v > 0 ? v : 4242);
}

uid_t getuid(void) {
  if (fake()) return fake_uid();
  uid_t (*real)(void) = (uid_t(*)(void))dlsym(RTLD_NEXT, "getuid");
  return real ? real() : 0;
}

int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t n, struct passwd **res) {
  const char *name = fake();
  if (!name) {
    int (*real)(uid_t, struct passwd *, char *, size_t, struct passwd **) =
        (int (*)(uid_t, struct passwd *, char *, size_t, struct passwd **))dlsym(RTLD_NEXT, "getpwuid_r");
    if (real) return real(uid, pw, buf, n, res);
    *res = NULL;
    return ENOSYS;
  }
  *res = NULL;
  if (uid != fake_uid()) return 0; /* no entry for another uid */
  static const char shell[] = "/bin/sh", home[] = "/nonexistent";
  size_t need = strlen(name) + 1 + sizeof shell + sizeof home + 2;
  if (n < need) return ERANGE;
  char *p = buf;
  memset(pw, 0, sizeof *pw);
  pw->pw_name = strcpy(p, name), p += strlen(name) + 1;
  pw->pw_passwd = strcpy(p, "x"), p += 2;
  pw->pw_dir = strcpy(p, home), p += sizeof home;
  pw->pw_shell = strcpy(p, shell);
  pw->pw_uid = uid;
  pw->pw_gid = uid;
  *res = pw;
  return 0;
}
