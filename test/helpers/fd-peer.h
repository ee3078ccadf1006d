/* What both C test peers (recvtty.c, seccomp-agent.c) do on their socket: listen on a unix
 * path, print "listening" (the tests wait for it), accept one connection and take the one fd
 * its first message carries (SCM_RIGHTS), with that message's bytes. */
#ifndef BUNC_TEST_FD_PEER_H
#define BUNC_TEST_FD_PEER_H
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

/* The fd received on path, its message in buf (*len bytes); -1 (and a message) on failure. */
static int receive_one_fd(const char *path, char *buf, size_t size, ssize_t *len) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  unlink(path);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0) { perror("bind"); return -1; }
  printf("listening\n");
  fflush(stdout);
  int c = accept(s, NULL, NULL);
  if (c < 0) { perror("accept"); return -1; }
  struct iovec iov = { buf, size };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr al; } u;
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  *len = recvmsg(c, &m, 0);
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  if (*len <= 0 || !h || h->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no fd received\n"); return -1; }
  int fd;
  memcpy(&fd, CMSG_DATA(h), sizeof fd);
  return fd;
}

#endif
