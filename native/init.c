/*
 * bunc-init: the small static program bunc starts, from a sealed memfd, as the last step of
 * every container process. The container's setup code ends with
 *
 *   execveat(init_memfd, "", { "bunc-init", MODE, PATH, ARG0, ARG1, ..., NULL }, envp, AT_EMPTY_PATH)
 *
 * where PATH is the already-resolved absolute path of the user's program and ARG0.. are
 * process.args. MODE is one of:
 *
 *   exec       execve(PATH, ARG0.., envp) and nothing else. The image the container process
 *              runs between bunc's setup and the user's program is then a sealed memfd, never
 *              the host's bunc binary, so /proc/self/exe can not be used to rewrite bunc
 *              (CVE-2019-5736).
 *   init       a PID 1 in the manner of tini/catatonit: run PATH as a child, reap every
 *              zombie, forward signals to the child, exit with the child's status.
 *   init-pgrp  like init, but signals go to the child's whole process group.
 *   pause      the Kubernetes pause container: PATH and args are ignored (and may be absent);
 *              sleep, reap orphans, exit 0 on SIGINT or SIGTERM.
 *
 * Written in the style of code that runs after fork: no stdio, no allocation, messages are
 * built in a stack buffer and written with one write(2). It opens no file descriptors (it
 * waits for signals with sigwaitinfo, not a signalfd), so the child inherits exactly the fds
 * bunc's setup left open. It installs no signal handlers: it blocks signals and takes them
 * synchronously, so the child it forks starts with the dispositions init was given.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The untranslated message: glibc's strerror may load locale data; strerrordesc_np is a
 * table lookup. musl's strerror is one already.
 */
#ifdef __GLIBC__
#define error_text strerrordesc_np
#else
#define error_text strerror
#endif

#define EXIT_USAGE 2
#define EXIT_NOT_RUNNABLE 126 /* found but could not be executed, as shells report it */
#define EXIT_NOT_FOUND 127    /* any other exec failure */

/* Write "bunc-init: A B C[: strerror(err)]\n" to stderr in one write. */
static void say(const char *a, const char *b, const char *c, int err)
{
	char buf[1024];
	size_t n = 0;
	const char *parts[] = { "bunc-init: ", a, b, c, err ? ": " : "", err ? error_text(err) : "" };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		const char *s = parts[i] ? parts[i] : "(unknown error)";
		size_t len = strlen(s);
		if (len > sizeof(buf) - 1 - n)
			len = sizeof(buf) - 1 - n;
		memcpy(buf + n, s, len);
		n += len;
	}
	buf[n++] = '\n';
	/* Nothing sensible is left to do when stderr itself fails. */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

/* execve the user's program; only returns by exiting with a shell-like status. */
static void __attribute__((noreturn)) exec_program(const char *path, char **argv, char **envp)
{
	execve(path, argv, envp);
	int err = errno;
	say("exec ", path, "", err);
	_exit(err == EACCES || err == ENOEXEC ? EXIT_NOT_RUNNABLE : EXIT_NOT_FOUND);
}

/*
 * The signals init keeps for itself: those the kernel raises because init itself faulted.
 * Forwarding them would confuse the child; blocking them would hide init's own crash.
 */
static const int fault_signals[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS };

/*
 * Block every signal init is going to take with sigwaitinfo. Blocked signals are queued even
 * for the PID 1 of a PID namespace (the kernel only drops signals a namespace init leaves at
 * SIG_DFL and unblocked), so this is also what makes SIGTERM from inside the container work.
 */
static void block_signals(sigset_t *waited, sigset_t *original)
{
	sigfillset(waited);
	for (size_t i = 0; i < sizeof(fault_signals) / sizeof(fault_signals[0]); i++)
		sigdelset(waited, fault_signals[i]);
	sigprocmask(SIG_SETMASK, waited, original);
}

/*
 * Outside a PID namespace of our own, orphans of the container would be re-parented past us;
 * as a child subreaper we get them and reap them. Not fatal: the program still runs.
 */
static void become_reaper(void)
{
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		say("cannot become a child subreaper, orphans will be reaped by the host", "", "", errno);
}

/*
 * Reap every child that has exited. Returns 1 and sets *status when `main_child` was among
 * them. With main_child 0 (pause) it just empties the zombie list.
 */
static int reap(pid_t main_child, int *status)
{
	int found = 0;
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			return found; /* 0: children left, none exited; -1: ECHILD or EINTR */
		if (pid == main_child) {
			*status = st;
			found = 1;
		}
	}
}

/*
 * Do not pin the directory we were started in for our whole life (someone may want to
 * unmount it, as podman found with catatonit). init touches no file, so failure is harmless.
 */
static void leave_cwd(void)
{
	if (chdir("/") < 0)
		return;
}

/* In the forked child: its own process group, the terminal's foreground, then the program. */
static void __attribute__((noreturn)) start_child(const sigset_t *original, const char *path, char **argv, char **envp)
{
	setpgid(0, 0);
	/*
	 * All signals are still blocked here, so tcsetpgrp from what is momentarily a background
	 * group cannot stop us with SIGTTOU. ENOTTY: stdin is a tty but not our controlling one.
	 */
	if (isatty(STDIN_FILENO) && tcsetpgrp(STDIN_FILENO, getpid()) < 0 && errno != ENOTTY && errno != ENXIO)
		say("cannot make the program the terminal's foreground", "", "", errno);
	sigprocmask(SIG_SETMASK, original, NULL);
	exec_program(path, argv, envp);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255; /* not reachable: waitpid without WUNTRACED/WCONTINUED reports only deaths */
}

static void forward(pid_t child, int to_group, int sig)
{
	/* ESRCH for the group: the child left it (setsid/setpgid) and nobody else is in it. */
	if (to_group && kill(-child, sig) == 0)
		return;
	kill(child, sig);
}

static int run_init(int to_group, const char *path, char **argv, char **envp)
{
	sigset_t waited, original;
	block_signals(&waited, &original);
	become_reaper();

	pid_t child = fork();
	if (child < 0) {
		say("fork: cannot start ", path, "", errno);
		return EXIT_NOT_FOUND;
	}
	if (child == 0)
		start_child(&original, path, argv, envp);

	/*
	 * Also from this side, so that a signal forwarded to the group before the child ran its
	 * own setpgid still finds the group. Fails harmlessly once the child has exec'd.
	 */
	setpgid(child, child);
	leave_cwd();

	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(&waited, &info);
		int status;
		switch (sig) {
		case -1: /* EINTR (e.g. after SIGCONT from a stop) */
			break;
		case SIGCHLD:
			if (reap(child, &status))
				return exit_code(status);
			break;
		case SIGTTIN:
		case SIGTTOU:
			/*
			 * The terminal's complaint that *init*, in the background, touched it (it
			 * cannot, with these blocked, but a user can send them): about init, not the
			 * child, so not forwarded. SIGTSTP is never raised by the terminal for init
			 * (the child owns the foreground), so a SIGTSTP here is a user's and is forwarded.
			 */
			break;
		default:
			forward(child, to_group, sig);
			break;
		}
	}
}

static int run_pause(void)
{
	sigset_t waited, original;
	block_signals(&waited, &original);
	become_reaper();
	leave_cwd();

	for (;;) {
		siginfo_t info;
		int unused;
		switch (sigwaitinfo(&waited, &info)) {
		case SIGCHLD:
			reap(0, &unused);
			break;
		case SIGINT:
		case SIGTERM:
			return 0;
		default: /* everything else is ignored, as a Kubernetes pause running as PID 1 does */
			break;
		}
	}
}

int main(int argc, char **argv, char **envp)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "pause") == 0)
		return run_pause();
	if (argc < 4) {
		say("usage: bunc-init exec|init|init-pgrp PATH ARG0 [ARG...] | bunc-init pause", "", "", 0);
		return EXIT_USAGE;
	}
	if (strcmp(mode, "exec") == 0)
		exec_program(argv[2], &argv[3], envp);
	if (strcmp(mode, "init") == 0)
		return run_init(0, argv[2], &argv[3], envp);
	if (strcmp(mode, "init-pgrp") == 0)
		return run_init(1, argv[2], &argv[3], envp);
	say("unknown mode ", mode, " (want exec, init, init-pgrp or pause)", 0);
	return EXIT_USAGE;
}
