/* keyenc.h — order-preserving index keys: memcmp order of the encoded bytes
 * is the natural order of the values, for every indexable type.
 *
 *   component := 0x01                      nil (sorts first)
 *              | 0x02 payload
 *   string, enum, ref, datetime:  bytes (no NUL), 0x00; cut at KEY_STR_MAX
 *   date:        3 bytes big endian, days since 0001-01-01 (4 bytes a part
 *                where the text took 12); decoded back to its YYYY-MM-DD
 *   int, money:  8 bytes big endian, sign bit flipped
 *   number:      8 bytes big endian of the IEEE bits, all bits flipped when
 *                negative, else the sign bit set
 *   bool:        0x00 or 0x01
 * An index entry's key is its components followed by the entity id; its
 * value holds the carried fields as a record (record.h).
 */
#ifndef KAM_KEYENC_H
#define KAM_KEYENC_H
#include "buf.h"
#include "record.h"
#include "schema.h"

#define KEY_STR_MAX 160

/* Appends one component; v must already satisfy field_check. */
void key_put(kbuf *b, ftype t, const kval *v);
/* Bytes key_put appends for v (to check a key's size before building it). */
size_t key_size(ftype t, const kval *v);
/* Whether key_put writes v itself, so that byte order against it is value
 * order: not a text cut at KEY_STR_MAX, nor a bound on a date that is no
 * date (it is written as the first date after it, right for a seek only). */
int key_exact(ftype t, const kval *v);
/* Decodes one component at p; returns bytes used (0 if malformed). A
 * decoded string of KEY_STR_MAX bytes may have been cut. */
size_t key_get(const uint8_t *p, const uint8_t *end, ftype t, kval *out);
static inline int ftype_is_text(ftype t) {
  return t == FT_STRING || t == FT_ENUM || t == FT_REF || t == FT_DATE || t == FT_DATETIME;
}

#endif
