/* SPDX-License-Identifier: Apache-2.0 */
/* Find or inject the agent, and wait until it answers. */
#include "agent_attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_boot.h"
#include "errors.h"
#include "inject_pep768.h"
#include "inject_ptrace.h"
#include "log.h"
#include "proc_task.h"
#include "py_gil.h"
#include "py_thread.h"
#include "rec_clock.h"
#include "sys_names.h"

#define HELLO_TIMEOUT_MS 3000
#define SLOW_NOTE_S 3.0
#define MAX_PICK 64
#define STALE_S 30
#define STARTING_GRACE_S 60.0

static double wall_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double mono_s(void)
{
	return (double)rec_clock__now() / 1e9;
}

static void fill_from_hello(struct agent_session *s, const struct json_val *r)
{
	const struct json_val *d = json_in__get(r, "data");

	snprintf(s->agent_version, sizeof(s->agent_version), "%s",
		 json_in__str(d, "agent", "?"));
	if (json_in__str(d, "method", NULL))
		snprintf(s->method, sizeof(s->method), "%s",
			 json_in__str(d, "method", ""));
}

/* Connect to the agent of directory @d and ask hello. */
static int hello(struct agent_session *s, struct agent_conn *c, char *err,
		 size_t errlen)
{
	struct json_val *r = NULL;
	int ret = agent_conn__open(c, s->dir.sock, s->owner.pid, err, errlen);

	if (ret)
		return ret;
	ret = agent_conn__call(c, "hello", NULL, HELLO_TIMEOUT_MS, &r, err,
			       errlen);
	if (ret) {
		agent_conn__close(c);
		return ret;
	}
	fill_from_hello(s, r);
	json_in__free(r);
	return 0;
}

int agent_attach__find(int pid, struct agent_session *s,
		       struct agent_conn *c, char *err, size_t errlen)
{
	struct agent_dir found[AGENT_FILES_MAX];
	size_t n;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = agent_files__owner(pid, &s->owner);
	if (ret) {
		snprintf(err, errlen, "cannot read /proc/%d/status: %s", pid,
			 peeka_strerror(ret));
		return ret;
	}
	n = agent_files__find(&s->owner, found, AGENT_FILES_MAX);
	for (size_t i = 0; i < n; i++) {
		char e[256];

		s->dir = found[i];
		if (access(s->dir.sock, F_OK))
			continue;
		ret = hello(s, c, e, sizeof(e));
		if (!ret) {
			s->reused = true;
			if (!s->method[0])
				snprintf(s->method, sizeof(s->method), "unknown");
			return 0;
		}
		if (ret == -ECONNREFUSED) {
			struct stat st;

			/* The agent of an earlier process with this pid, or one
			 * killed with it: nobody listens, clear it away.  Not
			 * one that was touched lately: it may be starting
			 * (bound, not yet listening). */
			if (!stat(s->dir.host, &st) &&
			    time(NULL) - st.st_mtime > STALE_S)
				agent_files__remove(&s->owner, &s->dir);
		} else if (ret != -ENOENT) {
			snprintf(err, errlen, "%s", e);
			return ret;
		}
	}
	memset(&s->dir, 0, sizeof(s->dir));
	return -ENOENT;
}

static bool blocking_call(long nr)
{
	static const char *const names[] = {
		"read", "readv", "recvfrom", "recvmsg", "recvmmsg", "accept",
		"accept4", "poll", "ppoll", "select", "pselect6", "epoll_wait",
		"epoll_pwait", "epoll_pwait2", "clock_nanosleep", "nanosleep",
		"wait4", "waitid", "futex", "pause", "rt_sigtimedwait",
		"rt_sigsuspend", "connect", "sendto", "sendmsg", "write",
	};
	const char *n = sys_names__get(nr);

	for (size_t i = 0; n && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(n, names[i]))
			return true;
	return false;
}

/* Thread @tid is in a blocking system call, and not waiting for the GIL. */
static bool in_blocking_call(int pid, int tid, const struct py_gil *g,
			     struct proc_syscall *sc)
{
	if (proc_task__syscall(pid, tid, sc) || sc->state != PROC_SC_IN)
		return false;
	return blocking_call(sc->nr) && !(g && py_gil__waiting(g, sc));
}

/* Voluntary plus involuntary context switches of thread @tid: a thread
 * that stays in one system call does not switch. */
static long long switches(int pid, int tid)
{
	char path[96], line[128];
	long long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "ctxt_switches:"))
			n += strtoll(strchr(line, ':') + 1, NULL, 10);
	fclose(f);
	return n;
}

/* The main thread stays in one blocking call (no wake-up) over ~60 ms:
 * a pending call would wait until that call returns. */
static bool main_blocked(int pid, const struct py_gil *g)
{
	struct proc_syscall sc, first;
	long long before = switches(pid, pid);

	for (int i = 0; i < 4; i++) {
		if (i)
			usleep(20000);
		if (!in_blocking_call(pid, pid, g, &sc)) {
			log_debug("pid %d: main thread not in a blocking call (%d %ld)",
				  pid, sc.state, sc.nr);
			return false;
		}
		if (!i)
			first = sc;
		else if (sc.nr != first.nr)
			return false;
	}
	log_info("pid %d: the main thread stays in %s: its blocking call is not returning",
		 pid, sys_names__get(first.nr) ? sys_names__get(first.nr) : "a system call");
	return before >= 0 && switches(pid, pid) == before;
}

static bool alive(int pid)
{
	char st = proc_task__state(pid, pid);

	return st != '?' && st != 'Z' && st != 'X';
}

/*
 * Wait until the agent in @s->dir answers, at most until @until (mono
 * seconds).  @what names the step for the timeout message.
 */
static int wait_agent(const struct agent_attach_opts *o,
		      struct agent_session *s, struct agent_conn *c,
		      double until, const char *what, char *err, size_t errlen)
{
	double start = mono_s();
	bool noted = false, started = false;
	char started_path[PATH_MAX + 16];

	snprintf(started_path, sizeof(started_path), "%s/started", s->dir.host);
	for (;;) {
		char why[512];

		if (agent_files__error(&s->owner, &s->dir, why, sizeof(why))) {
			snprintf(err, errlen, "the agent failed to start in process %d: %s",
				 s->owner.pid, why);
			return -EIO;
		}
		if (!access(s->dir.sock, F_OK) &&
		    !hello(s, c, why, sizeof(why)))
			return 0;
		if (!alive(s->owner.pid)) {
			snprintf(err, errlen, "process %d exited", s->owner.pid);
			return -ESRCH;
		}
		/* The bootstrap ran: the agent's thread is loading, which
		 * takes long in a program that keeps the GIL busy (every
		 * file it reads waits for a GIL switch). */
		if (!started && !access(started_path, F_OK)) {
			started = true;
			if (until < mono_s() + STARTING_GRACE_S)
				until = mono_s() + STARTING_GRACE_S;
		}
		if (mono_s() >= until) {
			snprintf(err, errlen, "%s", started
				 ? "the agent's thread started but did not answer within 60 s (is the GIL held by a thread that never lets go?)"
				 : what);
			return -ETIMEDOUT;
		}
		if (!noted && o->note && mono_s() - start > SLOW_NOTE_S) {
			snprintf(why, sizeof(why), started
				 ? "the agent is starting in process %d (%.0f s; its threads keep the GIL busy, so loading takes a while)"
				 : "still waiting for process %d to run the agent's bootstrap (%.0f s)",
				 s->owner.pid, mono_s() - start);
			o->note(o->ctx, why);
			noted = true;
		}
		usleep(20000);
	}
}

/*
 * The thread states to ask on 3.14: the main thread's; or, when it is
 * blocked in a system call, every thread's: whichever runs bytecode first
 * starts the agent (the bootstrap runs once; the others are withdrawn).
 * A GIL holder seen by sampling may sleep just after, so asking it alone
 * is not enough.
 */
static size_t pep768_targets(struct py_proc *pp, const struct py_gil *g,
			     uint64_t *ts, size_t cap)
{
	struct py_snapshot snap;
	size_t n = 0;
	bool blocked = main_blocked(pp->pid, g);

	if (py_snapshot__take_settled(pp, &snap, 0, 5))
		return 0;
	/* threads[0] is the main thread. */
	for (size_t i = 0; i < snap.n && n < cap && (blocked || !i); i++)
		ts[n++] = snap.threads[i].tstate;
	py_snapshot__release(&snap);
	return n;
}

static void withdraw(struct py_proc *pp, const uint64_t *ts, size_t n)
{
	struct py_snapshot snap;

	if (py_snapshot__take_settled(pp, &snap, 0, 5))
		return;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < snap.n; k++)
			if (snap.threads[k].tstate == ts[i]) {
				inject_pep768__cancel(pp, ts[i]);
				break;
			}
	py_snapshot__release(&snap);
}

static int via_pep768(struct py_proc *pp, const struct agent_attach_opts *o,
		      struct agent_session *s, struct agent_conn *c,
		      const struct py_gil *g, char *err, size_t errlen)
{
	uint64_t ts[MAX_PICK];
	char code[4096], path[512], msg[256];
	size_t n;
	int ret;

	snprintf(s->method, sizeof(s->method), "pep768");
	ret = agent_boot__source(code, sizeof(code), s->dir.target, s->method,
				 wall_now() + o->timeout);
	if (ret < 0)
		return snprintf(err, errlen, "bootstrap: %s", peeka_strerror(ret)), ret;
	ret = agent_files__write(&s->owner, &s->dir, "boot.py", code, path,
				 sizeof(path));
	if (ret)
		return snprintf(err, errlen, "cannot write %s/boot.py: %s",
				s->dir.target, peeka_strerror(ret)), ret;
	n = pep768_targets(pp, g, ts, MAX_PICK);
	if (!n)
		return snprintf(err, errlen, "process %d has no Python thread to ask",
				pp->pid), -ESRCH;
	for (size_t i = 0; i < n; i++) {
		log_info("pid %d: PEP 768 request to thread state %#llx (%zu of %zu)",
			 pp->pid, (unsigned long long)ts[i], i + 1, n);
		ret = inject_pep768__request(pp, ts[i], path, err, errlen);
		if (ret) {
			withdraw(pp, ts, i);
			return ret;
		}
	}
	snprintf(msg, sizeof(msg),
		 "no thread of process %d ran Python code within %.1f s to start the agent (PEP 768 requests run between bytecodes; are all threads blocked in C?); try --force-ptrace",
		 pp->pid, o->timeout);
	ret = wait_agent(o, s, c, mono_s() + o->timeout, msg, err, errlen);
	/* Requests that were not needed (or not taken) are withdrawn: the
	 * bootstrap would expire anyway, but leave nothing pending.  Only
	 * thread states that still exist are written to (a thread that ended
	 * meanwhile had its state freed). */
	withdraw(pp, ts, n);
	agent_files__unlink(&s->owner, &s->dir, "boot.py");
	return ret;
}

/*
 * inject__run in a child process of its own session: if peeka dies
 * (even by SIGKILL) in the middle, the child still finishes the call and
 * restores the thread, so the target is never left returning into
 * nothing.  The child reports through a pipe.
 */
struct isolated_result {
	int ret, rc;
	char err[512];
};

static void kill_parent_at(const char *name)
{
	const char *at = getenv("PEEKA_TEST_KILL_AT");
	pid_t parent = getppid();

	if (!at || strcmp(at, name) || parent <= 1)
		return;
	kill(parent, SIGKILL);
	for (int i = 0; i < 100 && getppid() == parent; i++)
		usleep(10000);
}

static int run_isolated(struct py_proc *pp, const struct inject_syms *syms,
			int tid, enum inject_way way, const char *code, int *rc,
			int wait_ms, char *err, size_t errlen)
{
	struct isolated_result r = { -EIO, -1, "" };
	size_t got = 0;
	int fds[2], st;
	pid_t child;

	if (pipe2(fds, O_CLOEXEC))
		return snprintf(err, errlen, "pipe: %s", strerror(errno)), -errno;
	fflush(NULL);
	child = fork();
	if (child < 0) {
		close(fds[0]);
		close(fds[1]);
		return snprintf(err, errlen, "fork: %s", strerror(errno)), -errno;
	}
	if (child == 0) {
		close(fds[0]);
		setsid();
		signal(SIGPIPE, SIG_IGN);
		if (getenv("PEEKA_TEST_KILL_AT"))
			inject__step_hook = kill_parent_at;
		r.ret = inject__run(pp, syms, tid, way, code, &r.rc, r.err,
				    sizeof(r.err));
		if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	while (got < sizeof(r)) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, wait_ms) == 0) {
			/* Still inside the call (PyGILState_Ensure waiting for
			 * the GIL): it is never cut short; the child restores
			 * the thread when it returns, on its own. */
			close(fds[0]);
			snprintf(err, errlen, "the call in thread %d has not returned after %d s (waiting for the GIL?); process %d will restore the thread when it does",
				 tid, wait_ms / 1000, (int)child);
			return -ETIMEDOUT;
		}
		n = read(fds[0], (char *)&r + got, sizeof(r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (got < sizeof(r))
		return snprintf(err, errlen, "the injecting process died"), -EIO;
	*rc = r.rc;
	snprintf(err, errlen, "%s", r.err);
	return r.ret;
}

/* Lock-waiting functions whose futex is safe for PyGILState (agent.md
 * 5.3: a Python-level wait has released the GIL and holds nothing). */
static bool lock_wait(const char *fn)
{
	static const char *const ok[] = {
		"acquire", "wait", "get", "join", "_wait_for_tstate_lock",
		"sleep", "result", "select", "accept", "recv", "read",
	};

	for (size_t i = 0; fn && i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(fn, ok[i]))
			return true;
	return false;
}

/* A thread blocked in a GIL-released system call, the main thread
 * first; 0 when none. */
static int pick_once(struct py_proc *pp, const struct py_gil *g)
{
	struct py_snapshot snap;
	int tid = 0;

	if (py_snapshot__take_settled(pp, &snap, PY_SNAP_FRAMES, 3))
		return 0;
	for (size_t i = 0; i < snap.n && !tid; i++) {
		const struct py_thread *t = &snap.threads[i];
		struct proc_syscall sc;
		const char *top = t->nframes && t->frames[0].code
					  ? t->frames[0].code->name : NULL, *call;

		if (t->native_id <= 0 || t->gil ||
		    !in_blocking_call(pp->pid, t->native_id, g, &sc))
			continue;
		call = sys_names__get(sc.nr);
		if (call && !strcmp(call, "futex") && !lock_wait(top))
			continue;
		tid = t->native_id;
	}
	py_snapshot__release(&snap);
	return tid;
}

/* Threads come and go between their calls: look for ~300 ms. */
static int pick_gilstate_thread(struct py_proc *pp, const struct py_gil *g)
{
	int tid = 0;

	for (int i = 0; i < 15 && !tid; i++) {
		if (i)
			usleep(20000);
		tid = pick_once(pp, g);
	}
	return tid;
}

/* One thread held the GIL over ~200 ms without a switch: PyGILState_Ensure
 * would block behind it. */
static bool gil_stuck(struct py_proc *pp, const struct py_gil *g)
{
	struct py_gil_state a, b;

	if (!g || py_gil__read(pp, g, &a) || !a.locked)
		return false;
	for (int i = 0; i < 10; i++) {
		usleep(20000);
		if (py_gil__read(pp, g, &b) || !b.locked || b.holder != a.holder ||
		    b.switches != a.switches)
			return false;
	}
	return true;
}

static int via_ptrace(struct py_proc *pp, const struct agent_attach_opts *o,
		      struct agent_session *s, struct agent_conn *c,
		      const struct py_gil *g, char *err, size_t errlen)
{
	struct inject_syms syms;
	char code[4096], msg[256];
	double wait_a = o->timeout;
	int ret, rc = 0, tid;

	ret = inject__resolve(pp, &syms, err, errlen);
	if (ret)
		return ret;
	if (!main_blocked(pp->pid, g)) {
		snprintf(s->method, sizeof(s->method), "ptrace-pending-call");
		ret = agent_boot__source(code, sizeof(code), s->dir.target,
					 s->method, wall_now() + wait_a);
		if (ret < 0)
			return snprintf(err, errlen, "bootstrap: %s",
					peeka_strerror(ret)), ret;
		ret = run_isolated(pp, &syms, pp->pid, INJECT_PENDING_CALL, code,
				   &rc, 60000, err, errlen);
		if (ret)
			return ret;
		if (rc != 0)
			return snprintf(err, errlen, "Py_AddPendingCall refused the call (%d): the queue is full",
					rc), -EBUSY;
		snprintf(msg, sizeof(msg), "the main thread did not run the pending call");
		ret = wait_agent(o, s, c, mono_s() + wait_a, msg, err, errlen);
		if (ret != -ETIMEDOUT)
			return ret;
		if (o->note)
			o->note(o->ctx, "the main thread is busy in C code: trying a thread blocked with the GIL released");
	}
	/* Path B: synchronous, on a thread that released the GIL, unless one
	 * thread keeps the GIL for good (PyGILState_Ensure would block). */
	if (gil_stuck(pp, g))
		return snprintf(err, errlen, "one thread of process %d held the GIL for 200 ms without a switch (busy in C code?): attaching now would block; try again later",
				pp->pid), -EBUSY;
	tid = pick_gilstate_thread(pp, g);
	if (!tid)
		return snprintf(err, errlen, "no thread of process %d can run the agent: the main thread %s, and no other thread is blocked in a system call with the GIL released",
				pp->pid, s->method[0] ? "did not run a pending call" : "is blocked in C"),
		       -EBUSY;
	snprintf(s->method, sizeof(s->method), "ptrace-gilstate");
	ret = agent_boot__source(code, sizeof(code), s->dir.target, s->method,
				 wall_now() + 5.0);
	if (ret < 0)
		return snprintf(err, errlen, "bootstrap: %s", peeka_strerror(ret)), ret;
	ret = run_isolated(pp, &syms, tid, INJECT_GILSTATE, code, &rc,
			   (int)(o->timeout * 1000) + 10000, err, errlen);
	if (ret)
		return ret;
	if (rc != 0)
		return snprintf(err, errlen, "the bootstrap failed in thread %d of process %d",
				tid, pp->pid), -EIO;
	snprintf(msg, sizeof(msg), "the agent did not start within %.1f s after the bootstrap ran in thread %d",
		 o->timeout, tid);
	return wait_agent(o, s, c, mono_s() + o->timeout, msg, err, errlen);
}

int agent_attach__attach(struct py_proc *pp, const struct agent_attach_opts *o,
			 struct agent_session *s, struct agent_conn *c,
			 char *err, size_t errlen)
{
	char why[512];
	struct py_gil gil;
	const struct py_gil *g = NULL;
	int ret, pep;

	ret = agent_attach__find(pp->pid, s, c, err, errlen);
	if (ret != -ENOENT)
		return ret;
	ret = inject__preflight(pp, err, errlen);
	if (ret)
		return ret;
	pep = pp->layout.minor >= 14 ? inject_pep768__enabled(pp, why, sizeof(why))
				     : -1;
	if (pep == 0 && !o->force_ptrace)
		return snprintf(err, errlen, "%s", why), -EPERM;
	if (!py_gil__open(pp, &gil))
		g = &gil;
	ret = agent_files__create(&s->owner, &s->dir, err, errlen);
	if (ret)
		return ret;
	ret = pep == 1 && !o->force_ptrace ? via_pep768(pp, o, s, c, g, err, errlen)
		       : via_ptrace(pp, o, s, c, g, err, errlen);
	if (ret) {
		agent_files__remove(&s->owner, &s->dir);
		return ret;
	}
	return 0;
}
