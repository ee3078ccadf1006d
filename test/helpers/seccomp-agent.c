/* A seccomp agent for tests: listens on PATH, takes one container's listener fd (SCM_RIGHTS,
 * with the container process state as JSON, as runc and bunc send it), prints the JSON on a
 * line, then answers every notification with the error ERRNO (argv[2]) until the fd closes. */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
  unlink(argv[1]);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0) { perror("bind"); return 1; }
  printf("listening\n");
  fflush(stdout);
  int c = accept(s, NULL, NULL);
  static char json[65536];
  struct iovec iov = { json, sizeof json - 1 };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr al; } u;
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t n = recvmsg(c, &m, 0);
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  if (n <= 0 || !h || h->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no fd\n"); return 1; }
  int fd;
  memcpy(&fd, CMSG_DATA(h), sizeof fd);
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
