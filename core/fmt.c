/* fmt.c — see fmt.h. */
#include "fmt.h"
#include <stdio.h>

void fmt_money(char *out, size_t n, long long v, int with_symbol) {
  char digits[32], tmp[48];
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  int len = snprintf(digits, sizeof digits, "%llu", u);
  int k = 0;
  if (v < 0) tmp[k++] = '-';
  for (int i = 0; i < len; i++) {
    if (i && (len - i) % 3 == 0) tmp[k++] = '.';
    tmp[k++] = digits[i];
  }
  tmp[k] = 0;
  snprintf(out, n, "%s%s", tmp, with_symbol ? " \xe2\x82\xab" : "");
}
