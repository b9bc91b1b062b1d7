/* fmt.h — numbers as Vietnamese managers read them, in plain C (no Lua):
 * 1234567 -> "1.234.567" or "1.234.567 ₫". */
#ifndef KAM_FMT_H
#define KAM_FMT_H
#include <stddef.h>

/* Formats integer đồng into out (n bytes; 48 are plenty), with " ₫" when
 * with_symbol. */
void fmt_money(char *out, size_t n, long long v, int with_symbol);

#endif
