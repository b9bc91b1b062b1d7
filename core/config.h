/* config.h — config/kam.yaml: which one is read, and its settings. People
 * are staff records (identity.h), not a list here. */
#ifndef KAM_CONFIG_H
#define KAM_CONFIG_H
#include "kerr.h"
#include "ydoc.h"
#include <stddef.h>

typedef struct kam_config {
  char path[1024];
  char root[1024];       /* the project folder: rules/, scripts/, config/ */
  char *db;              /* book path; kam.yaml's relative paths are from root */
  char *schema;          /* schema path, the same */
  int auth_trust;        /* `auth: trust`: --as is honoured for anyone */
  int utc_offset;        /* seconds, from `timezone: +07:00` */
  size_t map_size;       /* initial map size in bytes */
  double script_seconds; /* a script or chunk running longer is stopped (0: never) */
  double policy_seconds; /* the same for one evaluation of a policy */
  size_t memory_bytes;   /* the Lua heap may not grow past this (0: no cap) */
  size_t policy_memory_bytes; /* nor by more than this during one policy evaluation (0: no cap) */
  int unknown_read;      /* `unknown_logins: read`: a login no staff record names may read */
  char *access;          /* the access rules (config/access.yaml) */
  ydoc doc;              /* kept for kam.config */
} kam_config;

/* Which kam.yaml to read, into path: `given` (--config), else $KAM_CONFIG,
 * else config/kam.yaml in the current folder or the nearest folder above
 * it, else the one installed with kam (PREFIX/share/kam/config/kam.yaml
 * beside PREFIX/bin/kam). A usage error (2) when there is none. */
int config_find(char *path, size_t n, const char *given, kam_err *e);
int config_load(kam_config **out, const char *path, kam_err *e);
void config_free(kam_config *c);

#endif
