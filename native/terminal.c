/* process.terminal: a pty from the container's own devpts instance, made the controlling
 * terminal of the process; the master goes to the --console-socket (SCM_RIGHTS, as runc) or,
 * without one, to the parent, which proxies it. */
#include "child.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* runc sends the master with the pty's name as the message body; conmon and containerd only
 * read the fd, but keep the shape. */
static int send_console(int sock, int fd) {
  static const char name[] = "/dev/ptmx";
  return send_fd(sock, name, sizeof name - 1, fd);
}

void setup_terminal(const struct plan *p) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("terminal: open /dev/ptmx", NULL, errno);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die("terminal: unlock pty", NULL, errno);
  /* TIOCGPTPEER opens the slave through the master: no path lookup the rootfs could redirect. */
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die("terminal: open pty slave", NULL, errno);
  if (p->has_user && fchown(slave, p->uid, (gid_t)-1) < 0 && errno != EPERM) die("terminal: chown pty", NULL, errno);
  if (p->mode == MODE_CREATE) mount_console(slave);
  if (p->console_rows || p->console_cols) {
    struct winsize ws = { (unsigned short)p->console_rows, (unsigned short)p->console_cols, 0, 0 };
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  int r = p->console_fd >= 0 ? send_console(p->console_fd, master) : sync_send_fd(g_sync_fd, SYNC_PTY, master);
  if (r < 0) die("terminal: send the pty master", p->console_fd >= 0 ? "to the console socket" : "to bunc", -r);
  close(master);
  if (p->console_fd >= 0) close(p->console_fd);
  if (setsid() < 0 && errno != EPERM) die("terminal: setsid", NULL, errno);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die("terminal: set controlling terminal", NULL, errno);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) die("terminal: dup2 pty slave", NULL, errno);
  close(slave);
}
