# SPDX-License-Identifier: Apache-2.0
"""One client connection of the agent, served by its own OS thread
(docs/agent-protocol.md, "Frames" and "Commands"): reads requests,
checks their arguments, answers them through the agent, and streams the
observations of its watches, then their `end`.

Loaded by peeka_agent.py from its source, as every module of the agent
(see _loader there: `_load` is set in this namespace before it runs).
Standard library only, CPython 3.8 - 3.14.
"""

import select
import socket
import time

_proto = _load("peeka_proto")           # noqa: F821 (_load: set by the loader)
_expr = _load("peeka_expr")             # noqa: F821
_base = _load("peeka_base")             # noqa: F821
_rendering = _load("peeka_render")      # noqa: F821
_hooks = _load("peeka_hooks")           # noqa: F821
_allocate_lock, _poll, _tls = _base._allocate_lock, _base._poll, _base._tls
_BadRequest = _base._BadRequest
_exc_text = _rendering._exc_text
_count_value = _hooks._count_value

ACCEPT_TIMEOUT = 0.25      # the accept loop and idle connections see a stop
STREAM_WAIT = 0.05         # a streaming connection polls its socket
READ_TIMEOUT = 5.0         # for the rest of a frame once its head arrived
END_GRACE = 1.0            # wait for observations being rendered
LOCATIONS = ("AtEnter", "AtExit", "AtExceptionExit")


# ---------------------------------------------------------------------------
# Request arguments
# ---------------------------------------------------------------------------

def _only(args, allowed, cmd):
    for key in args:
        if key not in allowed:
            raise _BadRequest("unknown argument %r for %s"
                              % (str(key)[:50], cmd))


def _int_arg(args, name, default, low, high):
    v = args.get(name)
    if v is None:
        return default
    if type(v) is not int or not low <= v <= high:
        raise _BadRequest("%r must be an integer from %d to %d"
                          % (name, low, high))
    return v


def _watch_args(args):
    _only(args, ("pattern", "n", "condition", "depth", "at"), "watch")
    pattern = args.get("pattern")
    if type(pattern) is not str or not pattern or len(pattern) > 1000:
        raise _BadRequest("watch needs a 'pattern' (module.func, "
                          "module.Class.method)")
    n = _int_arg(args, "n", 100, 1, 1000000)
    depth = _int_arg(args, "depth", 1, 0, 4)
    condition = args.get("condition")
    if condition is not None and type(condition) is not str:
        raise _BadRequest("'condition' must be a string")
    at = args.get("at")
    if at is None:
        at = ["AtExit", "AtExceptionExit"]
    if type(at) is not list or not at or \
            not all(type(a) is str and a in LOCATIONS for a in at):
        raise _BadRequest("'at' must be a non-empty list of: %s"
                          % ", ".join(LOCATIONS))
    return pattern, n, condition, depth, at


def _compile(condition):
    if condition is None:
        return None
    try:
        cond = _expr.compile_condition(condition)
        _expr.check_constants(cond)
    except _expr.ExprError as e:
        raise _BadRequest("condition refused: %s" % e)
    return cond


# ---------------------------------------------------------------------------
# The connection
# ---------------------------------------------------------------------------

def _waiter(sock):
    """A function(timeout) telling whether @sock has something to read
    (or was closed), for any descriptor number (select.select stops at
    1024): poll, or where there is none, a timeout and recv(MSG_PEEK)."""
    if _poll is not None:
        poller = _poll()
        poller.register(sock.fileno(), getattr(select, "POLLIN", 1))

        def readable(timeout):
            return bool(poller.poll(int(timeout * 1000)))
        return readable

    def peek(timeout):
        sock.settimeout(timeout)
        try:
            sock.recv(1, socket.MSG_PEEK)
            return True
        except (socket.timeout, BlockingIOError):
            return False
        finally:
            sock.settimeout(None)
    return peek


class _Gone(Exception):
    """The client went away."""


class _Conn:
    """One client connection, served by its own thread."""

    def __init__(self, agent, sock):
        self.agent, self.sock = agent, sock
        self.streams = {}           # watch id -> _Watch, until `end` sent
        self.wake = _allocate_lock()
        self.wake.acquire()

    def wake_up(self):
        try:
            self.wake.release()
        except RuntimeError:        # already signalled
            pass

    def send(self, obj):
        try:
            self.sock.sendall(_proto.encode(obj), socket.MSG_NOSIGNAL)
        except OSError:
            raise _Gone()

    def serve(self):
        readable = _waiter(self.sock)
        while True:
            self.flush()
            if self.agent.stopping and not self.streams:
                return
            timeout = 0 if self.streams else ACCEPT_TIMEOUT
            try:
                ready = readable(timeout)
            except (OSError, ValueError):
                return
            if not ready:
                if self.streams:
                    self.wake.acquire(True, STREAM_WAIT)
                continue
            request = self.read()
            if request is None:
                return
            self.handle(request)

    def read(self):
        """The next request, or None at the end of the connection."""
        try:
            self.sock.settimeout(READ_TIMEOUT)
            try:
                return _proto.recv_frame(self.sock)
            finally:
                self.sock.settimeout(None)
        except _proto.ProtocolError as e:
            try:
                self.send({"id": None, "type": "error", "message": str(e)})
            except _Gone:
                pass
        except OSError:
            pass
        return None

    def close(self):
        for w in list(self.streams.values()):
            self.agent.end_watch(w, "disconnect")
        self.streams.clear()
        try:
            self.sock.close()
        except OSError:
            pass

    # -- streams ------------------------------------------------------------

    def flush(self):
        for w in list(self.streams.values()):
            self.flush_one(w)

    def flush_one(self, w):
        """Sends what @w has buffered, and `end` once it is over; True
        when the stream is finished."""
        buf = w.buf
        while True:
            try:
                obs = buf.popleft()
            except IndexError:
                break
            self.send_observation(obs)
            w.sent += 1
        if w.reason is None:
            return False
        if not w.closed:                # its hook goes before `end`
            self.agent.end_watch(w, w.reason)
        if not w.settled() and time.monotonic() - w.ended_at < END_GRACE:
            return False                # some are still being rendered
        end = {"id": w.req_id, "type": "end", "watch_id": w.id,
               "reason": w.reason, "count": w.sent,
               "dropped": _count_value(w.drops)}
        if w.message:
            end["message"] = w.message
        self.send(end)
        del self.streams[w.id]
        return True

    def finish(self, w):
        while w.id in self.streams and not self.flush_one(w):
            self.wake.acquire(True, 0.01)

    def send_observation(self, obs):
        try:
            data = _proto.encode(obs)
        except (_proto.ProtocolError, ValueError, TypeError) as e:
            obs["data"] = {"error": "observation not sent: %s" % e}
            data = _proto.encode(obs)
        try:
            self.sock.sendall(data, socket.MSG_NOSIGNAL)
        except OSError:
            raise _Gone()

    # -- requests -----------------------------------------------------------

    def handle(self, req):
        rid = req.get("id")
        if type(rid) is not int:
            self.send({"id": None, "type": "error",
                       "message": "a request needs an integer 'id'"})
            return
        cmd, args = req.get("cmd"), req.get("args")
        if args is None:
            args = {}
        handler = {"hello": self.cmd_hello, "watch": self.cmd_watch,
                   "stop": self.cmd_stop, "reset": self.cmd_reset,
                   "detach": self.cmd_detach}.get(cmd) \
            if type(cmd) is str else None
        try:
            if handler is None:
                raise _BadRequest("unknown command %r" % (
                    cmd[:50] if type(cmd) is str else cmd,))
            if type(args) is not dict:
                raise _BadRequest("'args' must be an object")
            handler(rid, args)
        except _BadRequest as e:
            self.send({"id": rid, "type": "error", "message": str(e)})
        except _Gone:
            raise
        except Exception as e:
            self.send({"id": rid, "type": "error",
                       "message": "internal error: " + _exc_text(e)})

    def result(self, rid, data):
        self.send({"id": rid, "type": "result", "data": data})

    def cmd_hello(self, rid, args):
        _only(args, (), "hello")
        self.result(rid, self.agent.hello())

    def cmd_watch(self, rid, args):
        pattern, n, condition, depth, at = _watch_args(args)
        cond = _compile(condition)
        w, hook = self.agent.start_watch(self, rid, pattern, n, cond, depth,
                                         at)
        self.send({"id": rid, "type": "start", "watch_id": w.id,
                   "func_name": w.func_name, "method": hook.method})

    def cmd_stop(self, rid, args):
        _only(args, ("watch_id",), "stop")
        wid = args.get("watch_id")
        if type(wid) is not int:
            raise _BadRequest("stop needs an integer 'watch_id'")
        w = self.streams.get(wid)
        if w is None:
            raise _BadRequest("no running watch %d on this connection" % wid)
        self.agent.end_watch(w, "user")
        self.finish(w)
        self.result(rid, {"watch_id": wid})

    def cmd_reset(self, rid, args):
        _only(args, ("pattern",), "reset")
        pattern = args.get("pattern")
        if pattern is not None and type(pattern) is not str:
            raise _BadRequest("'pattern' must be a string")
        self.result(rid, self.agent.reset(pattern, "reset"))

    def cmd_detach(self, rid, args):
        _only(args, (), "detach")
        self.result(rid, self.agent.detach())


def _conn_main(agent, conn):
    _tls.busy = True
    try:
        conn.serve()
    except Exception:
        pass
    finally:
        try:
            conn.close()
        except Exception:
            pass
        agent.conn_done(conn)
