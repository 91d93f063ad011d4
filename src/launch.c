/* SPDX-License-Identifier: Apache-2.0 */
/* fork/exec of the profiled command and collection of its status. */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int launch__start(char *const argv[], pid_t *pid)
{
	int fds[2], err = 0;
	ssize_t n;
	pid_t p;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	p = fork();
	if (p < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (p == 0) {
		close(fds[0]);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		err = errno;
		if (write(fds[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	do
		n = read(fds[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n == (ssize_t)sizeof(err)) {
		waitpid(p, NULL, 0);
		return -err;
	}
	*pid = p;
	return 0;
}

static int shell_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

int launch__poll(pid_t pid, int *status)
{
	int st;
	pid_t r = waitpid(pid, &st, WNOHANG);

	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	*status = shell_status(st);
	return 1;
}

int launch__wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return shell_status(st);
}
