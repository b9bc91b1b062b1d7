/* lua_error.h — a C error (kam_err) as a Lua value.
 *
 * When C raises an error into Lua it raises a kam error: a userdata that
 * holds the kam_err code and the message. A script that catches it with
 * pcall gets that value back; raising it again (error(err, 0)) keeps the
 * code, so the exit code says what went wrong (1 data or script, 2 usage,
 * 3 permission, 4 internal) however the error travelled. The value reads
 * like its message: tostring(err), "..." .. err, err:match(...) and the
 * other string methods work on the message; err.code, err.kind ("data",
 * "usage", "permission", "internal") and err.message read its parts. It
 * cannot be changed, and its metatable is hidden.
 *
 * Any other error value (a string, a table a script raised) is a script
 * error: code 1. No function here runs Lua code of a script. */
#ifndef KAM_LUA_ERROR_H
#define KAM_LUA_ERROR_H
#include <lua.h>
#include <stddef.h>

/* Registers the metatable (lerr_push does it when it is missing). */
void lerr_open(lua_State *L);
/* Pushes a kam error (the message is copied). */
void lerr_push(lua_State *L, int code, const char *msg, size_t n);
/* Raises a kam error; does not return. C must have released what it holds. */
int lerr_raise(lua_State *L, int code, const char *msg);
/* Is the value at idx a kam error? */
int lerr_is(lua_State *L, int idx);
/* The kam_err code of the error value at idx: its own for a kam error,
 * else 1 (KAM_EDATA: the script's error). */
int lerr_code(lua_State *L, int idx);
/* The message of the error value at idx: a kam error's message or a
 * string (numbers are converted in place, as lua_tolstring does); NULL for
 * anything else. Valid while the value stays on the stack. */
const char *lerr_message(lua_State *L, int idx, size_t *n);
/* The traceback the message handler gave a kam error (see budget.h), or
 * NULL; valid while the value stays on the stack. */
const char *lerr_traceback(lua_State *L, int idx);
/* Gives the kam error at idx its traceback, once: where it was first
 * raised, not where a script raised it again. */
void lerr_set_traceback(lua_State *L, int idx, const char *tb);

#endif
