/* config_load.c — fuzz target: config/kam.yaml as every command loads it:
 * config_load (keys, limits, timezone, unknown_logins, access), and the
 * Lua state a command opens, which turns the whole document into the
 * read-only table kam.config. Input: the text of kam.yaml. */
#include "config.h"
#include "fuzz_common.h"
#include "sandbox.h"

static char cfg_path[700];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_init(argc, argv);
  fz_mkdir("config");
  fz_path(cfg_path, sizeof cfg_path, "config/kam.yaml");
  fz_schema();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_begin();
  fz_write(cfg_path, data, size);
  kam_config *cfg;
  kam_err e;
  if (config_load(&cfg, cfg_path, &e) == 0) {
    date_set_utc_offset(cfg->utc_offset);
    kam_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.sc = fz_schema();
    ctx.cfg = cfg;
    static kam_principal who = {.staff = "ST-000001", .login = "fuzz", .role = "admin"};
    ctx.who = &who;
    if (sandbox_open(&ctx, &e) == 0) sandbox_close(&ctx);
    config_free(cfg);
  }
  fz_end();
  return 0;
}
