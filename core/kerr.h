/* kerr.h — errors as values: a code and a message, mapped to exit codes at
 * the command-line boundary. */
#ifndef KAM_KERR_H
#define KAM_KERR_H

enum {
  KAM_OK = 0,
  KAM_EDATA = 1,     /* data, policy or script error the user must fix */
  KAM_EUSAGE = 2,    /* bad command line */
  KAM_EPERM = 3,     /* permission denied */
  KAM_EINTERNAL = 4  /* storage or system failure */
};

typedef struct kam_err {
  int code;
  char msg[1024];
} kam_err;

/* Sets e (if not NULL) and returns code; the message is "where: what". */
int kam_errf(kam_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
