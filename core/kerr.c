#include "kerr.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int kam_errf(kam_err *e, int code, const char *fmt, ...) {
  if (e) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
  }
  return code;
}
