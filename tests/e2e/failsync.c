/* failsync.c — a disk that fails: preloaded into kam (LD_PRELOAD), it makes
 * every fdatasync/fsync fail with EIO, as a dying disk or a full remote
 * file system does. LMDB syncs the data pages before it writes the meta
 * page, so a commit fails whole: kam must exit 4 (internal) and the book
 * must read as before. Reads never sync, so they go on working. */
#include <errno.h>
#include <unistd.h>

int fdatasync(int fd) {
  (void)fd;
  errno = EIO;
  return -1;
}

int fsync(int fd) {
  (void)fd;
  errno = EIO;
  return -1;
}
