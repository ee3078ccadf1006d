/* A seccomp agent for tests: listens on PATH, takes one container's listener fd (SCM_RIGHTS,
 * with the container process state as JSON, as runc and bunc send it), prints the JSON on a
 * line, then answers every notification with the error ERRNO (argv[2]) until the fd closes. */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include "fd-peer.h"

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  static char json[65536];
  ssize_t n;
  int fd = receive_one_fd(argv[1], json, sizeof json - 1, &n);
  if (fd < 0) return 1;
  json[n] = 0;
  printf("%s\n", json);
  fflush(stdout);
  int err = atoi(argv[2]);
  for (;;) {
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
      if (errno == EINTR) continue;
      break; /* the filter's last user is gone */
    }
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.error = -err;
    printf("notified nr=%d\n", req.data.nr);
    fflush(stdout);
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
  return 0;
}
