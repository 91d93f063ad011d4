# SPDX-License-Identifier: Apache-2.0
"""Hooking (docs/agent-protocol.md, "Hooks"): the watches (_Watch), the
dispatcher of one hooked function (_Hook) and its two kinds: on 3.12+
sys.monitoring events on the function's code object (_MonHook, the tool
shared in _Monitor, the callbacks of _monitoring_callbacks); on 3.8-3.11,
for inherited methods and for callables that are not Python functions,
a wrapper put where the attribute is defined (_WrapHook, _make_wrapper),
the very same original put back afterwards.

This is the code that runs in the application's threads, at every call
of a watched function: nothing it does may reach the application (its
errors are swallowed), it takes no lock, and what it uses at each call
is bound in closures or module globals of this module.

Loaded by peeka_agent.py from its source, as every module of the agent
(see _loader there: `_load` is set in this namespace before it runs).
Standard library only, CPython 3.8 - 3.14.
"""

import collections
import functools
import itertools
import sys
import time
import types

_base = _load("peeka_base")             # noqa: F821 (_load: set by the loader)
_rendering = _load("peeka_render")      # noqa: F821
_target = _load("peeka_target")         # noqa: F821
_tls, _clock = _base._tls, _base._clock
_FunctionType, _MISSING = _base._FunctionType, _base._MISSING
_BadRequest = _base._BadRequest
_exc_text, _observation = _rendering._exc_text, _rendering._observation
_bind_plain, _own_dict = _target._bind_plain, _target._own_dict
_set_attr = _target._set_attr

BUFFER = 1000              # observations waiting for the client, per watch
MAX_PENDING = 65536        # unmatched entries (monitoring) per function
PURGE_AT = 1024            # generator code: look for dead entries from here
CO_GENERATOR, CO_COROUTINE = 0x20, 0x80
CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR = 0x100, 0x200
CO_SUSPENDS = CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR


# ---------------------------------------------------------------------------
# Watches and hooks
# ---------------------------------------------------------------------------

_KEEP, _LAST = 1, 2        # an event taken by a watch: render it; the n-th


def _count_value(counter):
    """The next value of an itertools.count, read without taking it."""
    text = repr(counter)
    return int(text[text.index("(") + 1:].split(",")[0].rstrip(")"))


class _Watch:
    """One `watch` stream: its filter, its bounded buffer and counters.
    The producing side takes no lock: counters are itertools.count
    objects and the buffer a deque (both atomic under the GIL).

    A watch ends in two steps: `reason` set (it produces nothing more;
    an application thread may do this, at its limit or on an error in
    the hook, without taking any lock), then `closed` (taken out of its
    hook, the hook removed when it was the last; only the agent's own
    threads do this, under the agent's lock)."""

    __slots__ = ("id", "req_id", "conn", "func_name", "n", "cond", "depth",
                 "at_enter", "at_exit", "at_exc", "buf", "taken", "drops",
                 "sent", "reason", "message", "ended_at", "hook", "closed")

    def __init__(self, wid, req_id, conn, func_name, n, cond, depth, at):
        self.id, self.req_id, self.conn = wid, req_id, conn
        self.func_name, self.n = func_name, n
        self.cond, self.depth = cond, depth
        self.at_enter = "AtEnter" in at
        self.at_exit = "AtExit" in at
        self.at_exc = "AtExceptionExit" in at
        self.buf = collections.deque()
        self.taken = itertools.count(1)
        self.drops = itertools.count()
        self.sent = 0
        self.reason = self.message = None
        self.ended_at = 0.0
        self.hook = None
        self.closed = False

    def done(self, reason, message=None):
        """Stops producing, from any thread and without a lock; the
        connection (or the agent's) thread removes the hook and sends
        `end`."""
        if self.reason is None:
            self.message = message
            self.ended_at = time.monotonic()
            self.reason = reason
        self.conn.wake_up()

    def put(self, obs):
        buf = self.buf
        buf.append(obs)
        if len(buf) == 1:
            self.conn.wake_up()

    def settled(self):
        """Whether every observation taken was sent or dropped."""
        produced = min(_count_value(self.taken) - 1, self.n)
        return self.sent + _count_value(self.drops) >= produced


class _Hook:
    """The dispatcher of one hooked function: every watch on it."""

    method = "?"

    def __init__(self, agent, key, name, kind, sig):
        self.agent, self.key, self.name, self.kind = agent, key, name, kind
        self.sig = sig
        self.skip = 1 if kind in ("method", "class") else 0
        self.names = {name}
        self.live = False
        self.errors = 0
        self.set_watches(())

    def set_watches(self, watches):
        self.watches = tuple(watches)
        self.enter_ws = tuple(w for w in watches if w.at_enter)
        self.ret_ws = tuple(w for w in watches if w.at_exit)
        self.exc_ws = tuple(w for w in watches if w.at_exc)
        self.exit_ws = self.ret_ws + self.exc_ws

    def fire(self, ws, location, raw, result, exc, dur):
        """Offers one event to the watches @ws, in the application's
        thread.  Dropping (buffer full, no condition) is the fast path:
        no lock, no binding.  Everything slower runs with `busy` set, so
        that application code it may trigger (an __eq__ in a condition,
        a __del__ run by the collector) is not observed in turn."""
        bound = names = None
        for w in ws:
            if w.reason is not None:
                continue
            if w.cond is not None:
                if bound is None:
                    bound = self.bind(raw)
                if names is None:
                    names = {"params": bound[1], "kwargs": bound[2],
                             "target": bound[0], "result": result,
                             "exception": exc,
                             "cost": None if dur is None else dur * 1000.0}
                _tls.busy = True
                try:
                    # closures without state: safe from any thread
                    ok = w.cond.test(names)
                finally:
                    _tls.busy = False
                if not ok:
                    continue
            # Take the event: the per-call cost when nothing is rendered.
            p = next(w.taken)
            if p > w.n:
                continue
            r = _LAST if p == w.n else 0
            if len(w.buf) < BUFFER:
                r |= _KEEP
            else:
                next(w.drops)
            if r:
                _tls.busy = True
                try:
                    if r & _KEEP:
                        try:
                            if bound is None:
                                bound = self.bind(raw)
                            obs = _observation(w, location, bound, result,
                                               exc, dur)
                        except Exception:
                            next(w.drops)       # keeps the counts settled
                            raise
                        w.put(obs)
                    if r & _LAST:
                        # No lock here: the connection thread removes
                        # the hook (an application thread taking the
                        # agent's lock could deadlock with it).
                        w.done("limit")
                finally:
                    _tls.busy = False

    def failed(self, e):
        """An error inside the hook: counted, and its watches end (they
        stop producing now; the hook is removed by an agent thread)."""
        self.errors += 1
        _tls.busy = True
        try:
            try:
                message = "internal error in the hook: " + _exc_text(e)
            except Exception:
                message = "internal error in the hook"
            for w in self.watches:
                w.done("error", message)
        except Exception:
            pass
        finally:
            _tls.busy = False


class _WrapHook(_Hook):
    """The attribute is replaced where it is defined (agent.md 7.3)."""

    method = "wrapper"

    def __init__(self, agent, key, target, sig):
        _Hook.__init__(self, agent, key, target.pattern, target.kind, sig)
        self.target = target
        self.installed = None

    def bind(self, raw):
        args, kwargs = raw
        if self.sig is None:
            return _bind_plain(self.skip, args, kwargs)
        return self.sig.from_call(args, kwargs)

    def on_enter(self, args, kwargs):
        try:
            self.fire(self.enter_ws, "AtEnter", (args, kwargs), None, None,
                      None)
        except Exception as e:
            self.failed(e)

    def on_exit(self, args, kwargs, dur, result, exc):
        ws = self.ret_ws if exc is None else self.exc_ws
        if not ws:
            return
        try:
            self.fire(ws, "AtExit" if exc is None else "AtExceptionExit",
                      (args, kwargs), result, exc, dur)
        except Exception as e:
            self.failed(e)

    def install(self):
        t = self.target
        wrapper = _make_wrapper(self, t.call, t.flags)
        self.wrapper = wrapper
        self.snapshot = _copy_metadata(wrapper, t.call)
        if t.wrap_as == "static":
            installed = staticmethod(wrapper)
        elif t.wrap_as == "class":
            installed = classmethod(wrapper)
        else:
            installed = wrapper
        current = _own_dict(t.owner).get(t.name, _MISSING)
        expected = _MISSING if t.inherited else t.raw
        if current is not expected:
            raise _BadRequest("%s changed while the hook was being made"
                              % t.pattern)
        self.installed = installed      # first: see _Agent.after_fork()
        _set_attr(t.owner, t.name, installed)
        self.live = True

    def uninstall(self):
        """None, or why the original could not be put back."""
        self.live = False
        t = self.target
        if self.installed is None:
            return None
        if _own_dict(t.owner).get(t.name, _MISSING) is not self.installed:
            return ("%s was replaced by someone else after the hook was "
                    "installed; left as it is" % t.pattern)
        try:
            if t.inherited:
                type.__delattr__(t.owner, t.name)
            else:
                _set_attr(t.owner, t.name, t.raw)
        except Exception as e:
            return "cannot restore %s: %s" % (t.pattern, _exc_text(e))
        self.installed = None
        _give_back(self.wrapper, self.snapshot, t.call)
        return None


class _MonHook(_Hook):
    """sys.monitoring events on one code object (3.12+)."""

    method = "monitoring"

    def __init__(self, agent, key, target, sig):
        _Hook.__init__(self, agent, key, target.pattern, target.kind, sig)
        self.code = target.code
        # id(frame) -> (snapshot, start, frame).  Holding the frame keeps
        # its id from being reused by another call while the entry
        # exists, and exits check it.  A generator or coroutine may be
        # dropped while suspended without any exit event (3.13 closes
        # one without raising when its yield is not inside a try), so
        # for such code the entries of dead frames are looked for once
        # the dict grows past purge_at.
        self.pending = {}
        self.suspends = bool(self.code.co_flags & CO_SUSPENDS)
        self.purge_at = PURGE_AT if self.suspends else MAX_PENDING

    def purge(self):
        """Makes room in `pending` (in the thread of a call, no lock):
        drops the entries of frames only `pending` still holds (their
        generator is gone), then, if that is not enough, the older half;
        the next purge waits until the dict has doubled."""
        pending = self.pending
        if self.suspends:
            refs = sys.getrefcount
            for key, entry in list(pending.items()):
                # 2: the entry's tuple and the argument
                if refs(entry[2]) <= 2:
                    pending.pop(key, None)
        if len(pending) >= MAX_PENDING:
            for key in list(itertools.islice(pending, len(pending) // 2)):
                pending.pop(key, None)
        self.purge_at = min(max(PURGE_AT, 2 * len(pending)), MAX_PENDING) \
            if self.suspends else MAX_PENDING

    def bind(self, raw):
        snap, frame = raw
        if snap is None:        # not taken at entry: see on_start()
            snap = self.sig.snapshot(frame.f_locals)
        return self.sig.from_snapshot(snap)

    def install(self):
        self.agent.monitor.add(self)
        self.live = True

    def uninstall(self):
        self.live = False
        self.pending.clear()
        try:
            self.agent.monitor.remove(self)
        except Exception as e:
            return "cannot clear the monitoring events of %s: %s" % (
                self.name, _exc_text(e))
        return None


# ---------------------------------------------------------------------------
# The wrapper (3.8 - 3.11, inherited methods, other callables)
# ---------------------------------------------------------------------------

def _make_wrapper(h, func, flags):
    """A wrapper calling @func that reports to hook @h: async def for a
    coroutine function, a generator for a generator function (itself an
    iterable coroutine, awaitable, when @func is one: @types.coroutine),
    and for an async generator function a stand-in that inspect still
    takes for one (see _async_gen_stand_in)."""
    tls, clock = _tls, _clock

    if flags & CO_COROUTINE:
        async def wrapper(*args, **kwargs):
            if not h.live or tls.busy:
                return await func(*args, **kwargs)
            if h.enter_ws:
                h.on_enter(args, kwargs)
            t0 = clock()
            try:
                result = await func(*args, **kwargs)
            except BaseException as e:
                h.on_exit(args, kwargs, clock() - t0, None, e)
                raise
            h.on_exit(args, kwargs, clock() - t0, result, None)
            return result
        return wrapper

    if flags & CO_GENERATOR:
        def wrapper(*args, **kwargs):
            if not h.live or tls.busy:
                return (yield from func(*args, **kwargs))
            if h.enter_ws:
                h.on_enter(args, kwargs)
            t0 = clock()
            try:
                result = yield from func(*args, **kwargs)
            except BaseException as e:
                h.on_exit(args, kwargs, clock() - t0, None, e)
                raise
            h.on_exit(args, kwargs, clock() - t0, result, None)
            return result
        if flags & CO_ITERABLE_COROUTINE:
            wrapper = types.coroutine(wrapper)      # sets the flag
        return wrapper

    def wrapper(*args, **kwargs):
        if not h.live or tls.busy:
            return func(*args, **kwargs)
        if h.enter_ws:
            h.on_enter(args, kwargs)
        if not h.exit_ws:
            return func(*args, **kwargs)
        t0 = clock()
        try:
            result = func(*args, **kwargs)
        except BaseException as e:
            h.on_exit(args, kwargs, clock() - t0, None, e)
            raise
        dur = clock() - t0
        ws = h.ret_ws                   # h.on_exit(), inlined
        if ws:
            try:
                h.fire(ws, "AtExit", (args, kwargs), result, None, dur)
            except Exception as error:
                h.failed(error)
        return result

    if flags & CO_ASYNC_GENERATOR:
        return _async_gen_stand_in(func, wrapper)
    return wrapper


def _async_gen_stand_in(func, call):
    """What replaces an async generator function @func: calling it runs
    @call, the plain wrapper, which times only the creation of the async
    generator and returns that very object (its iteration is not
    observed: the result is the async generator, the duration that of
    the call).  It is a functools.partial of @func, because inspect
    looks through partial objects (isasyncgenfunction stays true, on
    every version), binds like a function in a class, and reads the
    function's attributes from @func."""

    class hooked_function(functools.partial):
        __slots__ = ()

        def __call__(self, *args, **kwargs):
            return call(*args, **kwargs)

        def __get__(self, obj, cls=None):
            return self if obj is None else types.MethodType(self, obj)

        def __getattr__(self, name):
            return getattr(func, name)

        def __repr__(self):
            return _FunctionType.__repr__(func)

        def __reduce__(self):
            return _FunctionType.__dict__["__qualname__"].__get__(func)

    return hooked_function(func)


_FUNCTION_ATTRS = ("__module__", "__name__", "__qualname__", "__doc__",
                   "__defaults__", "__kwdefaults__") + tuple(
    n for n in ("__type_params__",) if n in _FunctionType.__dict__)
_ANNOTATE = "__annotate__" in _FunctionType.__dict__      # 3.14: PEP 649


def _copy_metadata(wrapper, func):
    """What functools.update_wrapper copies, and __defaults__ and
    __kwdefaults__, so that inspect.signature and the like see the
    original while it is hooked: __wrapped__ is @func, and the wrapper's
    __dict__ a copy of the function's.  On 3.14 __annotate__ is copied,
    not __annotations__ (reading those would evaluate them).  Returns
    the wrapper's __dict__ as it is now, for _give_back()."""
    if type(func) is _FunctionType:
        if type(wrapper) is _FunctionType:
            for name in _FUNCTION_ATTRS:
                setattr(wrapper, name, getattr(func, name))
            annotate = func.__annotate__ if _ANNOTATE else None
            if annotate is not None:
                wrapper.__annotate__ = annotate
            else:
                wrapper.__annotations__ = func.__annotations__
            wrapper.__dict__ = dict(func.__dict__)
        else:                   # the async generator stand-in
            d = wrapper.__dict__
            d.update(func.__dict__)
            d["__module__"] = func.__module__
            d["__doc__"] = func.__doc__
    elif type(func) is types.BuiltinFunctionType:
        wrapper.__name__ = func.__name__
        wrapper.__qualname__ = func.__qualname__
        wrapper.__doc__ = func.__doc__
    wrapper.__dict__["__wrapped__"] = func
    return dict(wrapper.__dict__)


def _give_back(wrapper, snapshot, func):
    """Attributes the application set on (or deleted from) the function
    while it was hooked, that is on the wrapper, are carried over to the
    original function."""
    if type(func) is not _FunctionType:
        return
    try:
        now = wrapper.__dict__
        for name, value in list(now.items()):
            if type(name) is str and name != "__wrapped__" and \
                    snapshot.get(name, _MISSING) is not value:
                setattr(func, name, value)
        for name in snapshot:
            if type(name) is str and name not in now:
                try:
                    delattr(func, name)
                except AttributeError:
                    pass
    except Exception:
        pass


# ---------------------------------------------------------------------------
# sys.monitoring (3.12+)
# ---------------------------------------------------------------------------

class _Monitor:
    """The sys.monitoring tool shared by every _MonHook (agent.md 7.1)."""

    PREFERRED = (4, 3, 5, 0, 1, 2)

    def __init__(self):
        self.m = sys.monitoring
        ev = self.m.events
        self.events = (ev.PY_START, ev.PY_RETURN, ev.PY_UNWIND)
        self.local = ev.PY_START | ev.PY_RETURN
        self.unwind = ev.PY_UNWIND
        self.tool = None
        self.hooks = {}                 # id(code) -> _MonHook
        self.callbacks = _monitoring_callbacks(self.hooks)

    def claim(self):
        for tool in self.PREFERRED:
            if self.m.get_tool(tool) is not None:
                continue
            try:
                self.m.use_tool_id(tool, "peeka")
            except ValueError:
                continue
            return tool
        return None

    def available(self):
        """Whether a hook can be added (a tool id is ours or free)."""
        if self.tool is not None:
            return True
        return any(self.m.get_tool(t) is None for t in self.PREFERRED)

    def add(self, hook):
        if self.tool is None:
            tool = self.claim()
            if tool is None:
                raise RuntimeError("no sys.monitoring tool id is free")
            try:
                for event, cb in zip(self.events, self.callbacks):
                    self.m.register_callback(tool, event, cb)
                self.m.set_events(tool, self.unwind)
            except Exception:
                self.tool = tool
                self.release()
                raise
            self.tool = tool
        self.hooks[id(hook.code)] = hook
        try:
            self.m.set_local_events(self.tool, hook.code, self.local)
        except Exception:
            self.remove(hook)
            raise

    def remove(self, hook):
        if self.hooks.get(id(hook.code)) is hook:
            del self.hooks[id(hook.code)]
        try:
            if self.tool is not None:
                self.m.set_local_events(self.tool, hook.code, 0)
        finally:
            if not self.hooks:
                self.release()

    def release(self):
        tool, self.tool = self.tool, None
        if tool is None:
            return
        try:
            self.m.set_events(tool, 0)
            for event in self.events:
                self.m.register_callback(tool, event, None)
        finally:
            self.m.free_tool_id(tool)


def _monitoring_callbacks(hooks):
    """PY_START, PY_RETURN and PY_UNWIND callbacks.  The frame of the
    monitored call is sys._getframe(1); entry and exit are matched by its
    id, and the entry holds the frame (so that id is not reused while the
    entry exists) which the exit checks, so recursion, threads and
    generators pair correctly.  The arguments are copied at entry (the
    values passed, even if the function rebinds its parameters), unless
    every exit watch would drop the event anyway; _MonHook.bind() then
    reads them at exit.
    CPython delivers no event while a callback runs, so `busy` matters
    only for the agent's own threads, and only at entry: an exit without
    a recorded entry is ignored."""
    getframe, tls, clock = sys._getframe, _tls, _clock

    def on_start(code, offset):
        h = hooks.get(id(code))
        if h is None or h.code is not code or tls.busy:
            return
        frame = getframe(1)
        try:
            snap = None
            ws = h.enter_ws
            if ws:
                snap = h.sig.snapshot(frame.f_locals)
                h.fire(ws, "AtEnter", (snap, frame), None, None, None)
            ws = h.exit_ws
            if ws:
                if snap is None:
                    for w in ws:
                        if w.cond is not None or len(w.buf) < BUFFER:
                            snap = h.sig.snapshot(frame.f_locals)
                            break
                pending = h.pending
                if len(pending) >= h.purge_at:
                    h.purge()
                pending[id(frame)] = (snap, clock(), frame)
        except Exception as e:
            h.failed(e)

    def on_exit(location, watches):
        """The PY_RETURN or PY_UNWIND callback: pair the exit with its
        entry (same frame object) and offer it to the hook's watches."""
        is_return = location == "AtExit"

        def callback(code, offset, value):
            t1 = clock()
            h = hooks.get(id(code))
            if h is None or h.code is not code:
                return
            frame = getframe(1)
            try:
                entry = h.pending.pop(id(frame), None)
                ws = getattr(h, watches)
                if entry is not None and entry[2] is frame and ws:
                    h.fire(ws, location, (entry[0], frame),
                           value if is_return else None,
                           None if is_return else value, t1 - entry[1])
            except Exception as e:
                h.failed(e)
        return callback

    on_return = on_exit("AtExit", "ret_ws")
    on_unwind = on_exit("AtExceptionExit", "exc_ws")

    return on_start, on_return, on_unwind
