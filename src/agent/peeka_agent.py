# SPDX-License-Identifier: Apache-2.0
"""The in-process agent of peeka (docs/agent-protocol.md): the server.

Loaded by the bootstrap from its source, exec(compile(source, path,
"exec"), module.__dict__) into a types.ModuleType with __file__ set (it is
in neither sys.modules nor sys.path, and no bytecode is written), and
started with run(directory) in a daemon OS thread.  It loads its
siblings, found next to its __file__, the same way (_loader):

  peeka_base.py    what they share: original thread primitives, the
                   per-thread busy flag, the clock, type descriptors
  peeka_render.py  values rendered without running application code
  peeka_target.py  what a pattern names; how its calls bind to params
  peeka_hooks.py   watches and hooks (sys.monitoring, wrappers)
  peeka_proto.py   frames on the socket
  peeka_expr.py    the condition language
  peeka_conn.py    one client connection: requests, replies, streams

It listens on directory/agent.sock, serves up to MAX_CONNECTIONS
clients, each in its own OS thread, and returns after a `detach`
request, having restored every hook and removed its files; or when its
socket file disappears (checked every SOCKET_CHECK seconds), after doing
the same.  In the child of an os.fork() it undoes itself without any
thread (_Agent.after_fork).

Standard library only, CPython 3.8 - 3.14.  No threading.Thread objects
are made and threading is never imported (importing it first from a
non-main thread would make this thread its "main thread").
"""

import os
import socket
import sys
import time
import types

VERSION = "0.1.0"
MAX_CONNECTIONS = 8
SOCKET_CHECK = 2.0         # how often the agent checks its socket file
JOIN_TIMEOUT = 2.0         # wait for connection threads at shutdown
KNOWN_FILES = ("agent.sock", "peeka_agent.py", "peeka_proto.py",
               "peeka_expr.py", "peeka_base.py", "peeka_render.py",
               "peeka_target.py", "peeka_hooks.py", "peeka_conn.py",
               "boot.py", "agent.error", "started")


def _loader(directory):
    """load(stem): the module of directory/<stem>.py, made from its
    source as the bootstrap makes this one (nothing is written to
    __pycache__ or PYTHONPYCACHEPREFIX), once: later calls return the
    same module, so what a module defines exists once.  Before a
    module's source runs, `_load` in its namespace is set to this
    function: it gets the modules it needs with _load("peeka_base") and
    the like.  A cycle is refused."""
    loaded = {}

    def load(stem):
        module = loaded.get(stem)
        if module is not None:
            return module
        if stem in loaded:
            raise ImportError("%s.py needs itself (a load cycle)" % stem)
        loaded[stem] = None
        try:
            path = os.path.join(directory, stem + ".py")
            with open(path, "rb") as f:
                source = f.read()
            module = types.ModuleType("_" + stem)
            module.__file__ = path
            module._load = load
            exec(compile(source, path, "exec", dont_inherit=True),
                 module.__dict__)
        except BaseException:
            del loaded[stem]
            raise
        loaded[stem] = module
        return module
    return load


# A module loads those it needs itself (peeka_conn loads peeka_expr);
# none needs one that comes after it here.
_load = _loader(os.path.dirname(os.path.abspath(__file__)))
_base = _load("peeka_base")
_rendering = _load("peeka_render")
_target = _load("peeka_target")
_hooks = _load("peeka_hooks")
_proto = _load("peeka_proto")
_conn = _load("peeka_conn")
_ORIG, _start_thread = _base._ORIG, _base._start_thread
_allocate_lock, _tls = _base._allocate_lock, _base._tls
_FunctionType, _BadRequest = _base._FunctionType, _base._BadRequest
_exc_text, _SAFE_REPR = _rendering._exc_text, _rendering._SAFE_REPR
_safe_repr_types = _rendering._safe_repr_types
_resolve, _Sig = _target._resolve, _target._Sig
_Watch, _Monitor = _hooks._Watch, _hooks._Monitor
_MonHook, _WrapHook = _hooks._MonHook, _hooks._WrapHook
_Conn, _conn_main = _conn._Conn, _conn._conn_main
ACCEPT_TIMEOUT = _conn.ACCEPT_TIMEOUT


# ---------------------------------------------------------------------------
# The agent: hooks registry, connections, lifetime
# ---------------------------------------------------------------------------

class _Agent:
    def __init__(self, directory):
        self.directory = directory
        self.lock = _allocate_lock()
        self.hooks = {}             # key -> _Hook
        self.watches = {}           # watch id -> _Watch (running)
        self.next_id = 1
        self.orphans = []           # restore errors not yet reported
        self.conns = set()
        self.stopping = False
        self.started = time.time()
        self.monitor = _Monitor() if sys.version_info >= (3, 12) and \
            hasattr(sys, "monitoring") else None
        self.nap = _allocate_lock()
        self.nap.acquire()
        self.installing = None      # a hook between install() and hooks
        self.listener = None
        self.sock_path = os.path.join(directory, "agent.sock")
        self.sock_id = self.dir_id = None

    def sleep(self, seconds):
        self.nap.acquire(True, seconds)

    def hello(self):
        """The data of the reply to `hello`."""
        data = {"pid": os.getpid(), "python": sys.version.split()[0],
                "agent": VERSION, "directory": self.directory,
                "started": self.started, "watches": len(self.watches)}
        marker = getattr(sys, "_peeka_agent", None)
        if type(marker) is dict and type(marker.get("method")) is str:
            data["method"] = marker["method"]     # how it was injected
        return data

    # -- watches ------------------------------------------------------------

    def start_watch(self, conn, req_id, pattern, n, cond, depth, at):
        """A watch for @conn (its arguments checked and its condition
        compiled by the connection), on a hook installed if it is new."""
        target = _resolve(pattern)
        _SAFE_REPR[0] = _safe_repr_types()
        with self.lock:
            if self.stopping:
                raise _BadRequest("the agent is detaching")
            hook = self._hook_for(target)
            w = _Watch(self.next_id, req_id, conn, pattern, n, cond, depth,
                       at)
            self.next_id += 1
            w.hook = hook
            hook.names.add(pattern)
            hook.set_watches(hook.watches + (w,))
            if not hook.live:
                self.installing = hook      # seen by after_fork()
                try:
                    hook.install()
                except Exception as e:
                    self.installing = None
                    hook.set_watches(())
                    if isinstance(e, _BadRequest):
                        raise
                    raise _BadRequest("cannot hook %s: %s"
                                      % (pattern, _exc_text(e)))
                self.hooks[hook.key] = hook
                self.installing = None
            self.watches[w.id] = w
            conn.streams[w.id] = w
        return w, hook

    def _hook_for(self, t):
        """The existing hook of @t, or a new one (not yet installed)."""
        use_monitoring = self.monitor is not None and t.code is not None \
            and not t.inherited and type(t.call) is _FunctionType \
            and self.monitor.available()
        if use_monitoring:
            key = ("code", id(t.code))
        else:
            key = ("attr", id(t.owner), t.name)
        hook = self.hooks.get(key)
        if hook is not None:
            return hook
        skip = 1 if t.kind in ("method", "class") else 0
        sig = _Sig(t.inner, skip) if t.inner is not None else None
        if use_monitoring:
            return _MonHook(self, key, t, sig)
        return _WrapHook(self, key, t, sig)

    def end_watch(self, w, reason, message=None):
        """Ends @w (no more observations) and closes it; the stream's own
        thread sends `end`.  Agent threads only (it takes the lock)."""
        with self.lock:
            self._close(w, reason, message)
        w.conn.wake_up()

    def _close(self, w, reason=None, message=None):
        """Under the lock: @w ends (unless it already has a reason) and
        leaves its hook, which is removed when it was the last watch."""
        if w.closed:
            return
        w.closed = True
        if w.reason is None:
            w.message = message
            w.ended_at = time.monotonic()
            w.reason = reason
        self.watches.pop(w.id, None)
        h = w.hook
        h.set_watches(tuple(x for x in h.watches if x is not w))
        if not h.watches and self.hooks.get(h.key) is h:
            error = self._drop(h)
            if error:
                self.orphans.append({"func": h.name, "message": error})

    def sweep(self):
        """Closes the watches that application threads ended (limit,
        error in the hook) and whose connection did not yet."""
        ended = [w for w in list(self.watches.values())
                 if w.reason is not None]
        if ended:
            with self.lock:
                for w in ended:
                    self._close(w)
            for w in ended:
                w.conn.wake_up()

    def _drop(self, h):
        """Under the lock: uninstalls @h, then forgets it (in this order,
        so that a fork in between still finds it in the child)."""
        try:
            error = h.uninstall()
        except Exception as e:
            error = "cannot restore %s: %s" % (h.name, _exc_text(e))
        self.hooks.pop(h.key, None)
        return error

    def reset(self, pattern, reason):
        """Removes the hooks of @pattern (all when None)."""
        restored, errors, woken = [], [], []
        with self.lock:
            for h in list(self.hooks.values()):
                if pattern is not None and pattern not in h.names:
                    continue
                ws = h.watches
                for w in ws:
                    w.closed = True
                    if w.reason is None:
                        w.ended_at = time.monotonic()
                        w.reason = reason
                    self.watches.pop(w.id, None)
                    woken.append(w)
                h.set_watches(())
                error = self._drop(h)
                if error:
                    errors.append({"func": h.name, "message": error})
                else:
                    restored.append({"func": h.name, "method": h.method,
                                     "watches": len(ws)})
            keep = []
            for o in self.orphans:
                if pattern is None or o["func"] == pattern:
                    errors.append(o)
                else:
                    keep.append(o)
            self.orphans = keep
        for w in woken:
            w.conn.wake_up()
        return {"restored": restored, "errors": errors}

    def detach(self):
        with self.lock:
            self.stopping = True
        data = self.reset(None, "detach")
        # The marker goes before the directory: once peeka sees the
        # directory gone, nothing of the agent is visible any more.
        self.drop_marker()
        removed, problems = self.remove_files()
        data["removed"] = removed
        data["errors"].extend(problems)
        return data

    def drop_marker(self):
        """Deletes sys._peeka_agent if it is this agent's (a new agent may
        already have set its own)."""
        mark = sys.__dict__.get("_peeka_agent")
        if type(mark) is dict and mark.get("dir") == self.directory:
            try:
                del sys._peeka_agent
            except AttributeError:
                pass

    def remove_files(self, keep=()):
        """Deletes the files the agent knows of (but those in @keep),
        then the directory."""
        d, removed, errors = self.directory, [], []

        def unlink(path):
            try:
                os.unlink(path)
                removed.append(path)
            except FileNotFoundError:
                pass
            except OSError as e:
                errors.append({"func": None, "message": "cannot remove %s: "
                               "%s" % (path, os.strerror(e.errno))})

        for name in KNOWN_FILES:
            if name not in keep:
                unlink(os.path.join(d, name))
        cache = os.path.join(d, "__pycache__")
        stems = tuple(n[:-3] + "." for n in KNOWN_FILES if n.endswith(".py"))
        try:
            entries = os.listdir(cache)
        except OSError:
            entries = None
        if entries is not None:
            for entry in entries:
                if entry.startswith(stems) and entry.endswith(".pyc"):
                    unlink(os.path.join(cache, entry))
            try:
                os.rmdir(cache)
                removed.append(cache)
            except OSError:
                pass
        try:
            os.rmdir(d)
            removed.append(d)
        except OSError as e:
            errors.append({"func": None, "message": "%s left in place: %s"
                           % (d, os.strerror(e.errno))})
        return removed, errors

    # -- lifetime -----------------------------------------------------------

    def run(self):
        was_busy = _tls.busy
        _tls.busy = True
        _register_at_fork()
        state = getattr(sys, "_peeka_agent", None)
        if type(state) is dict and state.get("dir") == self.directory:
            state["after_fork"] = self.after_fork
        listener, path = _proto.make_listener(self.directory)
        self.listener = listener = _native_socket(listener)
        clean = False
        try:
            st = os.lstat(path)
            self.sock_id = (st.st_dev, st.st_ino)
            st = os.lstat(self.directory)
            self.dir_id = (st.st_dev, st.st_ino)
            listener.settimeout(ACCEPT_TIMEOUT)
            if type(state) is dict:
                state["state"] = "running"
            self.accept_loop(listener)
            clean = True
        finally:
            listener.close()
            if not clean:
                with self.lock:
                    self.stopping = True
                self.reset(None, "error")
            self.wait_connections()
            if clean:
                self.drop_marker()
            _tls.busy = was_busy

    def accept_loop(self, listener):
        failures = 0
        check = time.monotonic() + SOCKET_CHECK
        while not self.stopping:
            if time.monotonic() >= check:
                if self.socket_gone():
                    self.vanish()
                    return
                check = time.monotonic() + SOCKET_CHECK
            self.sweep()
            try:
                sock, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                failures += 1
                if failures > 100:
                    raise
                self.sleep(0.05)
                continue
            failures = 0
            self.admit(sock)

    def socket_gone(self):
        """Whether directory/agent.sock is no longer the socket this agent
        bound: unlinked, replaced, or its directory removed."""
        try:
            st = os.lstat(self.sock_path)
        except (FileNotFoundError, NotADirectoryError):
            return True
        except OSError:
            return False            # unreadable for now: not proof
        return (st.st_dev, st.st_ino) != self.sock_id

    def vanish(self):
        """The socket file is gone, so no client can reach the agent any
        more: as on detach, every hook is restored, every stream ended and
        the marker dropped; then the files the agent knows of are removed,
        if the directory is still its own, but never agent.sock (whatever
        is at that path now is someone else's)."""
        with self.lock:
            self.stopping = True
        self.reset(None, "detach")
        self.drop_marker()
        try:
            st = os.lstat(self.directory)
            own = (st.st_dev, st.st_ino) == self.dir_id
        except OSError:
            own = False
        if own:
            self.remove_files(keep=("agent.sock",))

    def after_fork(self):
        """In the child of os.fork(), through the handler of
        _register_at_fork(): no agent thread lives there, and the locks
        other threads held stay held.  So without taking any lock: new
        locks, every hook removed (the exact originals back), the
        sys.monitoring tool freed, the inherited listener and connection
        sockets closed (only closed: nothing is sent or shut down, they
        are the parent's too) and the marker dropped.  The agent's files
        belong to the parent and stay."""
        self.stopping = True
        self.lock = _allocate_lock()
        self.nap = _allocate_lock()
        self.nap.acquire()
        hooks = list(self.hooks.values())
        if self.installing is not None and \
                not any(h is self.installing for h in hooks):
            hooks.append(self.installing)
        for h in hooks:
            try:
                h.set_watches(())
                h.uninstall()
            except Exception:
                pass
        self.hooks, self.installing = {}, None
        for w in list(self.watches.values()):
            w.closed = True
            if w.reason is None:
                w.reason = "detach"
        self.watches = {}
        if self.monitor is not None:
            try:
                self.monitor.hooks.clear()
                self.monitor.release()
            except Exception:
                pass
        socks = [self.listener] + [c.sock for c in list(self.conns)]
        for conn in list(self.conns):
            conn.wake = _allocate_lock()
        self.conns = set()
        for sock in socks:
            try:
                if sock is not None:
                    sock.close()
            except Exception:
                pass
        self.drop_marker()

    def admit(self, sock):
        try:
            sock.setblocking(True)
            if not _proto.peer_allowed(sock):
                sock.close()
                return
        except OSError:
            sock.close()
            return
        with self.lock:
            full = len(self.conns) >= MAX_CONNECTIONS or self.stopping
            conn = None if full else _Conn(self, sock)
            if conn is not None:
                self.conns.add(conn)
        if conn is None:
            try:
                sock.sendall(_proto.encode({
                    "id": None, "type": "error",
                    "message": "too many connections to the agent"}),
                    socket.MSG_NOSIGNAL)
            except OSError:
                pass
            sock.close()
            return
        try:
            _start_thread(_conn_main, (self, conn))
        except Exception:
            with self.lock:
                self.conns.discard(conn)
            sock.close()

    def wait_connections(self):
        """Bounded: connections end their streams and stop; one that is
        stuck (a client that does not read) is shut down."""
        deadline = time.monotonic() + JOIN_TIMEOUT
        while self.conns and time.monotonic() < deadline:
            self.sleep(0.01)
        for conn in list(self.conns):
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + JOIN_TIMEOUT
        while self.conns and time.monotonic() < deadline:
            self.sleep(0.01)

    def conn_done(self, conn):
        with self.lock:
            self.conns.discard(conn)


_AT_FORK_SOURCE = """
def after_fork_in_child():
    try:
        mark = sys.__dict__.get("_peeka_agent")
        if type(mark) is dict:
            handler = mark.get("after_fork")
            if handler is not None:
                handler()
            else:                   # an agent still starting: its thread
                del sys._peeka_agent    # is not in this process
    except BaseException:
        pass
"""


def _register_at_fork():
    """Once per process, whatever the number of agents loaded one after
    the other (os.register_at_fork cannot be undone): the handler, kept
    in sys._peeka_at_fork, calls the after_fork of the agent the marker
    names, so it does nothing once no agent runs.  It is made in a
    namespace of its own, so that it keeps no agent module alive."""
    register = getattr(os, "register_at_fork", None)
    if register is None or "_peeka_at_fork" in sys.__dict__:
        return
    namespace = {"sys": sys}
    exec(_AT_FORK_SOURCE, namespace)
    handler = namespace["after_fork_in_child"]
    if sys.__dict__.setdefault("_peeka_at_fork", handler) is handler:
        register(after_in_child=handler)


def _native_socket(sock):
    """@sock as the original socket class (not a gevent/eventlet one)."""
    cls = _ORIG["socket"]
    if type(sock) is cls:
        return sock
    return cls(sock.family, sock.type, 0, sock.detach())


def run(directory):
    """Serve on directory/agent.sock until `detach`; then every hook is
    restored, every stream ended, the agent's files and the directory
    removed, sys._peeka_agent deleted, and no agent thread is left."""
    _Agent(directory).run()
