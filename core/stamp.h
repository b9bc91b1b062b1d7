/* stamp.h — instants as kam writes them (created_at, updated_at, a
 * decision's time), packed into an integer in stored bytes.
 *
 * A text that is exactly YYYY-MM-DDTHH:MM:SS+hh:mm (25 bytes, a real date,
 * seconds 00-59, an offset of whole quarter hours within ±14:00, never
 * -00:00) packs into a number of about 6 bytes that gives back the same
 * 25 bytes; any other text is not packed. A decoded value must point at
 * text that outlives it, as a date's points at kdate's table: the texts of
 * the instants decoded are kept once each for the life of the process
 * (kam writes one instant per second of writing, so a book holds few). */
#ifndef KAM_STAMP_H
#define KAM_STAMP_H
#include <stddef.h>
#include <stdint.h>

#define STAMP_LEN 25

/* 1 and *out when s is such a text, else 0. */
int stamp_pack(const char *s, size_t n, uint64_t *out);
/* The 25 bytes of a packed instant (not NUL-terminated, never moved or
 * freed), or NULL when v is not one stamp_pack makes. Thread-safe. */
const char *stamp_text(uint64_t v);

#endif
