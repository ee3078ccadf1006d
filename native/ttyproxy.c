/* Foreground terminal proxy for `run`/`exec` with a terminal and no --console-socket: the host
 * terminal goes raw, two threads copy stdin -> pty master and master -> stdout, and the window
 * size follows the host's. Runs in the bunc process (not after clone): threads are fine here. */
#include <errno.h>
#include <pthread.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>

#define EXPORT __attribute__((visibility("default")))

static struct termios saved;
static int saved_ok;

struct pump { int from, to; };
static struct pump in_pump, out_pump;

static void *pump_main(void *arg) {
  struct pump *p = arg;
  char buf[8192];
  for (;;) {
    ssize_t n = read(p->from, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* EIO on the master once the last slave fd closes */
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(p->to, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return NULL;
      off += w;
    }
  }
  return NULL;
}

static pthread_t out_thread;

EXPORT int bunc_tty_resize(int master) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) < 0) return -errno;
  return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

EXPORT int bunc_tty_proxy(int master) {
  if (isatty(0) && tcgetattr(0, &saved) == 0) {
    saved_ok = 1;
    struct termios raw = saved;
    cfmakeraw(&raw);
    tcsetattr(0, TCSANOW, &raw);
    bunc_tty_resize(master);
  }
  pthread_t t;
  in_pump.from = 0; in_pump.to = master;
  out_pump.from = master; out_pump.to = 1;
  if (pthread_create(&t, NULL, pump_main, &in_pump) == 0) pthread_detach(t);
  if (pthread_create(&out_thread, NULL, pump_main, &out_pump) != 0) return -EAGAIN;
  return 0;
}

/* Wait until the container's output is drained, then give the host terminal back. */
EXPORT int bunc_tty_finish(void) {
  pthread_join(out_thread, NULL);
  if (saved_ok) tcsetattr(0, TCSANOW, &saved);
  return 0;
}
