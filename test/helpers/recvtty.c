/* A console-socket peer for tests (like runc's recvtty): listen on PATH, accept one
 * connection, take the pty master sent with SCM_RIGHTS, write INPUT (argv[2], optional) to it,
 * then copy everything the container writes to stdout until the pty closes. */
#include <errno.h>
#include "fd-peer.h"

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char name[256];
  ssize_t n;
  int fd = receive_one_fd(argv[1], name, sizeof name, &n);
  if (fd < 0) return 1;
  printf("received fd (%.*s)\n", (int)n, name);
  fflush(stdout);
  if (argc > 2) (void)!write(fd, argv[2], strlen(argv[2]));
  char buf[4096];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    fwrite(buf, 1, (size_t)r, stdout);
    fflush(stdout);
  }
  return 0;
}
