/* bunc-child: the container's setup program. bunc clones, then execs this sealed memfd with the
 * plan in another memfd (argv[1] is its fd number); it decodes the plan and runs child_main. */
#include "child.h"
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static struct plan plan;

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int fd = 0;
  for (const char *c = argv[1]; *c >= '0' && *c <= '9'; c++) fd = fd * 10 + (*c - '0');
  struct stat st;
  if (fstat(fd, &st) < 0) return 3;
  const uint8_t *buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (buf == MAP_FAILED) return 3;
  close(fd);
  if (plan_decode(buf, (size_t)st.st_size, &plan) < 0) {
    static const char msg[] = "bunc-child: the plan does not decode (bunc and bunc-child from different builds?)\n";
    (void)!write(2, msg, sizeof msg - 1);
    return 3;
  }
  child_main(&plan);
}
