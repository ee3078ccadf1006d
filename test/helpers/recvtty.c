/* A console-socket peer for tests (like runc's recvtty): listen on PATH, accept one
 * connection, take the pty master sent with SCM_RIGHTS, write INPUT (argv[2], optional) to it,
 * then copy everything the container writes to stdout until the pty closes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
  unlink(argv[1]);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0) { perror("bind"); return 1; }
  printf("listening\n");
  fflush(stdout);
  int c = accept(s, NULL, NULL);
  if (c < 0) { perror("accept"); return 1; }
  char name[256];
  struct iovec iov = { name, sizeof name };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr al; } u;
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t n = recvmsg(c, &m, 0);
  struct cmsghdr *h = CMSG_FIRSTHDR(&m);
  if (n < 0 || !h || h->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no fd received\n"); return 1; }
  int fd;
  memcpy(&fd, CMSG_DATA(h), sizeof fd);
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
