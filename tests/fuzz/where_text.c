/* where_text.c — fuzz target: `kam ls COLLECTION --where TEXT` run by
 * kam_main, so that the --where text goes through the command's own
 * handling (push_filtered: a table, a function, or an expression over the
 * fields compiled to Lua in the sandbox), the query, its plan and the table
 * printed. The book holds the Lua tests' fixtures; kam.yaml gives scripts a
 * 2 s budget and 256 MiB. Input: the --where text; the collection is
 * invoices, or the one named by a first line "-- NAME" (a Lua comment, so
 * the text stays a valid filter). Standard output goes to /dev/null; run
 * with -close_fd_mask=2 to silence the command's error messages. */
#include "cli.h"
#include "fuzz_common.h"

static char cfg_path[700], book_path[700];

static const char kam_yaml[] =
    "db: var/kam.db\n"
    "auth: trust\n"
    "timezone: \"+07:00\"\n"
    "map_size_mb: 64\n"
    "limits: {script_seconds: 2, memory_mb: 256, policy_seconds: 1, policy_memory_mb: 64}\n"
    "agency: {name: \"Fuzz\"}\n"
    "unknown_logins: read\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_init(argc, argv);
  fz_mkdir("config");
  fz_path(cfg_path, sizeof cfg_path, "config/kam.yaml");
  fz_write(cfg_path, kam_yaml, sizeof kam_yaml - 1);
  char sp[700];
  fz_path(sp, sizeof sp, "config/schema.yaml");
  fz_write(sp, fz_schema_text, fz_schema_text_len);
  fz_book b;
  fz_book_make(&b, "where.db");
  store_close(b.st);
  free(b.pristine);
  snprintf(book_path, sizeof book_path, "%s", b.path);
  if (!freopen("/dev/null", "w", stdout)) perror("/dev/null");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_begin();
  char *text = strndup((const char *)data, size); /* argv: up to the first NUL */
  char coll[64] = "invoices";
  if (!strncmp(text, "-- ", 3)) {
    size_t n = strspn(text + 3, "abcdefghijklmnopqrstuvwxyz_");
    if (n && n < sizeof coll && (text[3 + n] == '\n' || text[3 + n] == '\r')) snprintf(coll, sizeof coll, "%.*s", (int)n, text + 3);
  }
  char *argv[] = {"kam", "--config", cfg_path, "--db", book_path, "ls", coll, "--where", text, NULL};
  kam_main(9, argv);
  fflush(stdout);
  free(text);
  fz_end();
  return 0;
}
