/* lua_value.h — stored values (kval) as Lua values, and Lua values as
 * stored field values: lists and maps become tables and back, an entity
 * stands for its id.
 *
 * Lifetimes: a pushed value is Lua's own (copied, collected by Lua). A kval
 * filled from Lua owns nothing: its text points into the Lua string (valid
 * while that string is reachable, e.g. on the stack or in a table on it),
 * its list or map body into the caller's buffer (valid until the caller
 * resets or frees it). */
#ifndef KAM_LUA_VALUE_H
#define KAM_LUA_VALUE_H
#include "ctx.h"

/* Pushes a stored value as Lua: lists and maps as fresh tables (nested
 * deeper than 64 levels, as empty tables). */
void kam_push_kval(lua_State *L, const kval *v);
/* Converts the Lua value at idx to a value of field f: a table only for a
 * list or map field (encoded into *buf, which the caller frees; its old
 * content is dropped). Returns NULL, or what was expected, for a message
 * ("text, a number, true/false or a table"). Raises no Lua error. */
const char *kam_to_field(lua_State *L, int idx, const field_def *f, kval *out, kbuf *buf);

#endif
