/* keyenc.h — order-preserving index keys: memcmp order of the encoded bytes
 * is the natural order of the values, for every indexable type.
 *
 *   date:        3 bytes big endian: 0 for nil, else days since 0001-01-01
 *                plus one; decoded back to its YYYY-MM-DD
 *   string, enum, datetime:  0x00 for nil, else the bytes (no NUL), cut at
 *                KEY_STR_MAX, then 0x00; an empty text, or one that starts
 *                with 0x01, has an 0x01 before it
 *   ref:         0x00 for nil, else the text packed as an id of the
 *                collection it points to (key_put_id below), then 0x00:
 *                CL-004814 of clients takes 6 bytes where its text took 11
 *   int, money, number, bool:  0x01 for nil, else 0x02 and
 *     int, money:  8 bytes big endian, sign bit flipped
 *     number:      8 bytes big endian of the IEEE bits, all bits flipped
 *                  when negative, else the sign bit set
 *     bool:        0x00 or 0x01
 * nil sorts first in every type. A part needs no tag byte of its own where
 * its values leave a byte for nil: a date's number is never 0, and no text
 * part starts with 0x00.
 * An index entry's key is its components followed by the entity id; its
 * value holds the carried fields as a record (record.h).
 *
 * The id is written compactly and in the order of its text (key_put_id):
 *   class:  0x01 below the collection's prefix, 0x02 after the prefix
 *           (written without it), 0x03 above every id with the prefix
 *   then the text with each run of digits packed: the run's first digit as
 *   is, the rest as nibbles (digit + 1), then a nibble that ends the run —
 *   0 when what follows sorts below '0' (or nothing follows), 15 when it
 *   sorts above '9' — and a pad nibble 15 to a whole byte.
 * INV-00131508 of invoices takes 6 bytes for 12. Comparing two such forms
 * bytewise orders them as their texts: within a run a digit meets a digit
 * at the same nibble, and a run's end meets the next digit of a longer
 * run with the order of the character that ended it. No byte is 0x00.
 */
#ifndef KAM_KEYENC_H
#define KAM_KEYENC_H
#include "buf.h"
#include "record.h"
#include "schema.h"

#define KEY_STR_MAX 160

/* Appends one component of field f; v must already satisfy field_check. */
void key_put(kbuf *b, const field_def *f, const kval *v);
/* Bytes key_put appends for v (to check a key's size before building it). */
size_t key_size(const field_def *f, const kval *v);
#define KEY_ID_MAX 200 /* an id's bytes at most (store.c refuses longer) */
/* Appends id (n bytes, 1..KEY_ID_MAX, no byte below 0x21) as an index key's
 * last part, for a collection whose ids start with prefix. */
void key_put_id(kbuf *b, const char *prefix, const char *id, size_t n);
size_t key_id_size(const char *prefix, const char *id, size_t n);
/* Decodes an id written by key_put_id (p to end: the rest of the key) into
 * out; returns its length, 0 if malformed. */
size_t key_get_id(const uint8_t *p, const uint8_t *end, const char *prefix, char out[KEY_ID_MAX]);
/* Whether key_put writes v itself, so that byte order against it is value
 * order: not a text cut at KEY_STR_MAX, nor a bound on a date that is no
 * date (it is written as the first date after it, right for a seek only). */
int key_exact(const field_def *f, const kval *v);
/* Decodes one component at p; returns bytes used (0 if malformed). A
 * decoded string of KEY_STR_MAX bytes may have been cut. A text points
 * into the key, a date into kdate's table, a ref into scratch (it lives as
 * long as scratch is not reused). */
size_t key_get(const uint8_t *p, const uint8_t *end, const field_def *f, kval *out, char scratch[KEY_ID_MAX]);
/* Whether the component at p is nil, undecoded. */
int key_part_null(const field_def *f, const uint8_t *p, const uint8_t *end);
static inline int ftype_is_text(ftype t) {
  return t == FT_STRING || t == FT_ENUM || t == FT_REF || t == FT_DATE || t == FT_DATETIME;
}

#endif
