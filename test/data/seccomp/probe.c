// Test helper for test/unit/seccomp-kernel.test.ts: loads a compiled seccomp filter into the
// kernel for itself, then makes the system calls named on the command line and prints what
// each returned.
//
//   probe FILTER_FILE FLAGS OP...
//
// FILTER_FILE holds raw struct sock_filter[] (what compileSeccomp returns); FLAGS are the
// SECCOMP_FILTER_FLAG_* bits. OPs (numbers in C syntax, e.g. 0x1234):
//   mkdirat:PATH        mkdirat(AT_FDCWD, PATH, 0700)
//   getcwd              getcwd()
//   sys:NR[:ARG...]     syscall(NR, ARG...) on the native ABI
//   int80:NR[:ARG...]   the same through int $0x80, i.e. the i386 ABI (x86_64 only)
//   notify:NR           needs a listener (FLAGS has NEW_LISTENER): a child makes syscall NR, this
//                       process receives the notification and answers 4242
// Output: one line per OP, "OP ret=R errno=E". A SIGSYS from SCMP_ACT_TRAP prints
// "trap nr=N" and exits 42; SCMP_ACT_KILL* kills the process with SIGSYS.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_sigsys(int sig, siginfo_t *info, void *ctx) {
	(void)sig;
	(void)ctx;
	dprintf(1, "trap nr=%d\n", info->si_syscall);
	_exit(42);
}

static int parse_args(char *spec, long *nr, unsigned long args[6]) {
	int n = 0;
	char *save = NULL;
	char *tok = strtok_r(spec, ":", &save);
	if (!tok) return -1;
	*nr = strtol(tok, NULL, 0);
	memset(args, 0, 6 * sizeof args[0]);
	while ((tok = strtok_r(NULL, ":", &save)) && n < 6) args[n++] = strtoul(tok, NULL, 0);
	return 0;
}

static long int80(long nr, unsigned long a[6]) {
#if defined(__x86_64__)
	long ret;
	// i386 ABI: eax = nr, ebx, ecx, edx, esi, edi, ebp = args; the result comes back in eax.
	__asm__ volatile("push %%rbp\n\tmov %7, %%rbp\n\tint $0x80\n\tpop %%rbp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4]), "g"(a[5])
			 : "memory");
	return (int)ret; // eax is sign-extended from 32 bits
#else
	(void)nr;
	(void)a;
	return -ENOSYS;
#endif
}

static void report(const char *op, long ret, int err) {
	dprintf(1, "%s ret=%ld errno=%d\n", op, ret, ret < 0 ? err : 0);
}

static int notify(int listener, long nr) {
	pid_t child = fork();
	if (child < 0) return -1;
	if (child == 0) {
		errno = 0;
		long ret = syscall(nr);
		dprintf(1, "notify ret=%ld errno=%d\n", ret, ret < 0 ? errno : 0);
		_exit(0);
	}
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	memset(&req, 0, sizeof req);
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return -1;
	memset(&resp, 0, sizeof resp);
	resp.id = req.id;
	resp.val = req.data.nr == nr ? 4242 : -1;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) return -1;
	int status;
	return waitpid(child, &status, 0) == child ? 0 : -1;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: probe FILTER_FILE FLAGS OP...\n");
		return 2;
	}
	static struct sock_filter insns[4096];
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) return perror("open"), 2;
	ssize_t n = read(fd, insns, sizeof insns);
	close(fd);
	if (n <= 0 || n % sizeof insns[0]) return fprintf(stderr, "bad filter size %zd\n", n), 2;
	struct sock_fprog prog = { .len = (unsigned short)(n / sizeof insns[0]), .filter = insns };
	unsigned long flags = strtoul(argv[2], NULL, 0);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return perror("prctl"), 2;
	long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (listener < 0) return dprintf(2, "seccomp: %s\n", strerror(errno)), 3;
	dprintf(1, "loaded listener=%ld\n", (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? listener : -1L);

	for (int i = 3; i < argc; i++) {
		char op[256];
		snprintf(op, sizeof op, "%s", argv[i]);
		char *colon = strchr(op, ':');
		char *rest = colon ? colon + 1 : NULL;
		if (colon) *colon = 0;
		long nr;
		unsigned long a[6];
		long ret;
		errno = 0;
		if (!strcmp(op, "mkdirat") && rest) {
			ret = mkdirat(AT_FDCWD, rest, 0700);
		} else if (!strcmp(op, "getcwd")) {
			char buf[4096];
			ret = getcwd(buf, sizeof buf) ? (long)strlen(buf) : -1;
		} else if (!strcmp(op, "sys") && rest && !parse_args(rest, &nr, a)) {
			ret = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		} else if (!strcmp(op, "int80") && rest && !parse_args(rest, &nr, a)) {
			ret = int80(nr, a);
			if (ret < 0) errno = (int)-ret, ret = -1;
		} else if (!strcmp(op, "notify") && rest) {
			ret = notify((int)listener, strtol(rest, NULL, 0));
		} else {
			fprintf(stderr, "bad op %s\n", argv[i]);
			return 2;
		}
		report(argv[i], ret, errno);
	}
	return 0;
}
