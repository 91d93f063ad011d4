# SPDX-License-Identifier: Apache-2.0
"""The in-process agent of peeka (docs/agent-protocol.md).

Loaded by the bootstrap from its source, exec(compile(source, path,
"exec"), module.__dict__) into a types.ModuleType with __file__ set (it is
in neither sys.modules nor sys.path, and no bytecode is written), and
started with run(directory) in a daemon OS thread.  Its two siblings,
peeka_proto.py and peeka_expr.py, are loaded the same way.  It listens on
directory/agent.sock, serves up to MAX_CONNECTIONS clients, each in its
own OS thread, and returns after a `detach` request, having restored
every hook and removed its files; or when its socket file disappears
(checked every SOCKET_CHECK seconds), after doing the same.  In the child
of an os.fork() it undoes itself without any thread (_Agent.after_fork).

Hooks (agent.md section 7): on 3.12+ a Python function is watched with
sys.monitoring (local PY_START and PY_RETURN on its code object, the
global PY_UNWIND filtered by code object); on 3.8-3.11, for inherited
methods and for callables that are not Python functions, the attribute is
replaced where it is defined by a wrapper, and put back (the same object)
afterwards.  Nothing a hook does may reach the application: its errors
are swallowed, and values are rendered without running application code.

Standard library only, CPython 3.8 - 3.14.  No threading.Thread objects
are made and threading is never imported (importing it first from a
non-main thread would make this thread its "main thread").
"""

import _thread
import collections
import functools
import itertools
import math
import operator
import os
import select
import socket
import sys
import time
import types

VERSION = "0.1.0"
MAX_CONNECTIONS = 8
BUFFER = 1000              # observations waiting for the client, per watch
ACCEPT_TIMEOUT = 0.25      # the accept loop and idle connections see a stop
SOCKET_CHECK = 2.0         # how often the agent checks its socket file
STREAM_WAIT = 0.05         # a streaming connection polls its socket
READ_TIMEOUT = 5.0         # for the rest of a frame once its head arrived
END_GRACE = 1.0            # wait for observations being rendered
JOIN_TIMEOUT = 2.0         # wait for connection threads at shutdown
MAX_PENDING = 65536        # unmatched entries (monitoring) per function
PURGE_AT = 1024            # generator code: look for dead entries from here
MAX_STR = 1000
MAX_ITEMS = 100
MAX_VALUES = 2000
MAX_CHARS = 50000          # string characters per observation
MAX_DIGITS = 200
LOCATIONS = ("AtEnter", "AtExit", "AtExceptionExit")
KNOWN_FILES = ("agent.sock", "peeka_agent.py", "peeka_proto.py",
               "peeka_expr.py", "boot.py", "agent.error")
CO_VARARGS, CO_VARKEYWORDS = 0x04, 0x08
CO_GENERATOR, CO_COROUTINE = 0x20, 0x80
CO_ITERABLE_COROUTINE, CO_ASYNC_GENERATOR = 0x100, 0x200
CO_SUSPENDS = CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR


def _load_sibling(name, filename):
    """A sibling file as a module that is not registered anywhere, made
    from its source as the bootstrap makes this one: nothing is written
    to __pycache__ or PYTHONPYCACHEPREFIX."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), filename)
    with open(path, "rb") as f:
        source = f.read()
    module = types.ModuleType(name)
    module.__file__ = path
    exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)
    return module


_proto = _load_sibling("_peeka_proto", "peeka_proto.py")
_expr = _load_sibling("_peeka_expr", "peeka_expr.py")


def _originals():
    """The thread, lock, poll and socket primitives as they were before
    gevent or eventlet monkey-patching (the agent's threads are OS
    threads, never greenlets)."""
    o = {"start": _thread.start_new_thread, "lock": _thread.allocate_lock,
         "local": _thread._local, "poll": getattr(select, "poll", None),
         "socket": socket.socket}
    wanted = (("start", "_thread", "start_new_thread"),
              ("lock", "_thread", "allocate_lock"),
              ("local", "_thread", "_local"),
              ("poll", "select", "poll"), ("socket", "socket", "socket"))
    gevent = sys.modules.get("gevent.monkey")
    eventlet = sys.modules.get("eventlet.patcher")
    for key, module, name in wanted:
        try:
            if gevent is not None:
                o[key] = gevent.get_original(module, name)
            elif eventlet is not None:
                o[key] = getattr(eventlet.original(module), name)
        except Exception:
            pass
    return o


_ORIG = _originals()
_start_thread = _ORIG["start"]
_allocate_lock = _ORIG["lock"]
_poll = _ORIG["poll"]
_clock = time.perf_counter


class _Flags(_ORIG["local"]):
    """Per OS thread: `busy` is set in the agent's own threads, and while
    a hook runs, so that nothing the agent does is observed."""
    busy = False


_tls = _Flags()

# Reading types without running code of metaclasses.
_MRO = type.__dict__["__mro__"].__get__
_TYPE_DICT = type.__dict__["__dict__"].__get__
_TYPE_QUALNAME = type.__dict__["__qualname__"].__get__
_TYPE_MODULE = type.__dict__["__module__"].__get__
_EXC_ARGS = BaseException.__dict__["args"].__get__
_FunctionType = types.FunctionType
_MISSING = object()


class _BadRequest(Exception):
    """A request refused with an `error` reply; nothing was changed."""


# ---------------------------------------------------------------------------
# Rendering values (never running application code)
# ---------------------------------------------------------------------------

class _Budget:
    __slots__ = ("values", "chars")

    def __init__(self):
        self.values = MAX_VALUES
        self.chars = MAX_CHARS


def _in_mro(mro, klass):
    for k in mro:
        if k is klass:
            return True
    return False


def _type_name(t):
    """module.Qualname of a class, read through type's own descriptors."""
    try:
        qual = _TYPE_QUALNAME(t)
        module = _TYPE_MODULE(t)
    except Exception:
        return "?"
    if type(qual) is not str:
        qual = "?"
    if type(module) is not str:
        return qual
    return module + "." + qual


def _instance_dict(v, t):
    """v.__dict__ when it is the plain per-instance dict, else None."""
    try:
        for k in _MRO(t):
            desc = _TYPE_DICT(k).get("__dict__", _MISSING)
            if desc is _MISSING:
                continue
            if type(desc) is types.GetSetDescriptorType or \
                    type(desc) is types.MemberDescriptorType:
                d = desc.__get__(v, t)
                return d if type(d) is dict else None
            return None
    except Exception:
        pass
    return None


def _slot_values(v, t):
    """(name, value) of the __slots__ (member descriptors) that are set."""
    out = []
    for k in _MRO(t):
        for name, desc in list(_TYPE_DICT(k).items()):
            if type(desc) is types.MemberDescriptorType and \
                    type(name) is str and name != "__dict__":
                try:
                    out.append((name, desc.__get__(v, t)))
                except Exception:
                    pass
    return out


def _int(v):
    n = v.bit_length()
    if n <= 64:
        return v
    if n <= 660:                       # at most 199 digits
        return str(v)
    if n > 10000:                       # dividing would cost too much
        return "int(%d bits)" % n
    sign = "-" if v < 0 else ""
    v = -v if v < 0 else v
    cut = int(n * 0.30102999566398) - MAX_DIGITS
    head = str(v // 10 ** cut)
    return "%s%s…(%d digits)" % (sign, head[:MAX_DIGITS], len(head) + cut)


def _text(s, b):
    """An exact str, bounded and safe to encode."""
    n = len(s)
    if b.chars <= 0:
        return "str(len=%d)" % n
    if n > MAX_STR:
        s = s[:MAX_STR] + "…"
    b.chars -= len(s)
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:      # lone surrogates
            s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return s


def _bytes(v, t, b):
    s = repr(bytes(v[:MAX_STR]))
    if len(v) > MAX_STR:
        s += "…"
    if t is bytearray:
        s = "bytearray(%s)" % s
    b.chars -= len(s)
    return s


def _sequence(v, base, name, depth, b):
    n = base.__len__(v)
    if depth <= 0 or b.values <= 0:
        return "%s(len=%d)" % (name, n)
    out = []
    try:
        for item in base.__iter__(v):
            if len(out) >= MAX_ITEMS or b.values <= 0:
                break
            out.append(_render(item, depth - 1, b))
    except RuntimeError:                # a set changed size meanwhile
        out.append("…(changed while rendered)")
        return out
    if len(out) < n:
        out.append("…(%d more)" % (n - len(out)))
    return out


def _mapping(v, name, depth, b):
    n = dict.__len__(v)
    if depth <= 0 or b.values <= 0:
        return "%s(len=%d)" % (name, n)
    return _items(dict.items(v), n, depth, b, {})


def _items(pairs, n, depth, b, out):
    done = 0
    try:
        for key, value in pairs:
            if done >= MAX_ITEMS or b.values <= 0:
                break
            out[_key(key, b)] = _render(value, depth - 1, b)
            done += 1
    except RuntimeError:                # changed size meanwhile
        out["…"] = "…(changed while rendered)"
        return out
    if done < n:
        out["…"] = "…(%d more)" % (n - done)
    return out


def _key(k, b):
    """A dict key as a JSON object key."""
    if type(k) is str:
        return _text(k, b)
    r = _render(k, 1 if type(k) is tuple else 0, b)
    if type(r) is str:
        return r
    if type(r) is list:
        return "(%s)" % ", ".join(repr(x) if type(x) is str else str(x)
                                  for x in r)
    return "None" if r is None else str(r)


def _exc_text(e):
    """'Type: message', as a traceback's last line, without running the
    exception's own __str__ when the application defined one."""
    t = type(e)
    try:
        module = _TYPE_MODULE(t)
        name = _TYPE_QUALNAME(t) if module == "builtins" else _type_name(t)
        msg = _exc_message(e, t)
    except Exception:
        return _type_name(t)
    return "%s: %s" % (name, msg) if msg else name


def _plain(v):
    t = type(v)
    return v is None or t is str or t is bool or t is float or \
        t is bytes or (t is int and v.bit_length() < 4096)


def _exc_message(e, t):
    try:
        args = _EXC_ARGS(e)
    except Exception:
        return ""
    owner = None
    for k in _MRO(t):
        if "__str__" in _TYPE_DICT(k):
            owner = k
            break
    safe = type(args) is tuple and all(_plain(a) for a in args)
    if safe and _in_mro(_MRO(t), OSError):
        safe = _plain(OSError.__dict__["filename"].__get__(e)) and \
            _plain(OSError.__dict__["filename2"].__get__(e))
    if safe and owner is not None and _TYPE_MODULE(owner) == "builtins":
        try:
            msg = _TYPE_DICT(owner)["__str__"](e)
            if type(msg) is str:
                return _text(msg, _Budget())
        except Exception:
            pass
    if type(args) is not tuple:
        return ""
    if len(args) == 1 and type(args[0]) is str:
        return _text(args[0], _Budget())
    b = _Budget()
    return ", ".join(str(_render(a, 0, b)) for a in args[:10])


def _safe_repr_types():
    """Exact stdlib types whose repr runs no application code."""
    found = [complex, range]
    dt = sys.modules.get("datetime")
    if dt is not None:
        found += [getattr(dt, n, None) for n in ("date", "timedelta")]
    dec = sys.modules.get("decimal")
    if dec is not None:
        found.append(getattr(dec, "Decimal", None))
    return tuple(t for t in found if type(t) is type)


_SAFE_REPR = [_safe_repr_types()]


def _zoned_repr(v, t):
    """datetime.datetime/time when their tzinfo is None or a timezone."""
    dt = sys.modules.get("datetime")
    if dt is None or (t is not getattr(dt, "datetime", None) and
                      t is not getattr(dt, "time", None)):
        return None
    tz = t.__dict__["tzinfo"].__get__(v)
    if tz is None or type(tz) is getattr(dt, "timezone", None):
        return repr(v)
    return None


def _enum_text(v, t, b):
    d = _instance_dict(v, t) or {}
    name = d.get("_name_")
    if type(name) is str:
        return "%s.%s" % (_type_name(t), name)
    return "%s(%s)" % (_type_name(t), _render(d.get("_value_"), 0, b))


def _other(v, t, depth, b):
    """Anything that is not an exact builtin scalar or container."""
    for s in _SAFE_REPR[0]:
        if t is s:
            try:
                return _text(repr(v), b)
            except Exception:
                return "<%s object>" % _type_name(t)
    r = _zoned_repr(v, t)
    if r is not None:
        return r
    mro = _MRO(t)
    enum = sys.modules.get("enum")
    if enum is not None and _in_mro(mro, getattr(enum, "Enum", None)):
        return _enum_text(v, t, b)
    for k in mro:
        if k is BaseException:
            return _text(_exc_text(v), b)
        if k is type:
            return "<class '%s'>" % _type_name(v)
        if k is types.ModuleType:
            name = (_instance_dict(v, t) or {}).get("__name__")
            return "<module '%s'>" % (name if type(name) is str else "?")
        if k is _FunctionType:
            return "<function %s>" % _text(
                _FunctionType.__dict__["__qualname__"].__get__(v), b)
        if k is str:
            return _text(str.__str__(v), b)
        if k is int:
            return _int(int.__index__(v))
        if k is float:
            return _render(float.__float__(v), depth, b)
        if k is list or k is tuple or k is set or k is frozenset:
            return _sequence(v, k, _TYPE_QUALNAME(t), depth, b)
        if k is dict:
            return _mapping(v, _TYPE_QUALNAME(t), depth, b)
    return _object(v, t, depth, b)


def _object(v, t, depth, b):
    name = _type_name(t)
    summary = "<%s object at 0x%x>" % (name, id(v))
    d = _instance_dict(v, t)
    slots = _slot_values(v, t)
    if depth <= 0 or b.values <= 0 or (d is None and not slots):
        return summary
    out = {"@type": name}
    if d:
        _items(list(dict.items(d)), dict.__len__(d), depth, b, out)
    if slots:
        _items(slots, len(slots), depth, b, out)
    return out


def _render(v, depth, b):
    """@v as a JSON value (docs/agent-protocol.md, "Observations")."""
    b.values -= 1
    t = type(v)
    try:
        if v is None or t is bool:
            return v
        if t is int:
            return _int(v)
        if t is float:
            return v if math.isfinite(v) else repr(v)
        if t is str:
            return _text(v, b)
        if t is bytes or t is bytearray:
            return _bytes(v, t, b)
        if t is list or t is tuple or t is set or t is frozenset:
            return _sequence(v, t, t.__name__, depth, b)
        if t is dict:
            return _mapping(v, "dict", depth, b)
        return _other(v, t, depth, b)
    except Exception:
        return "<%s object at 0x%x>" % (_type_name(t), id(v))


def _render_params(params, kwargs, depth, b):
    """params and kwargs do not use up depth."""
    ps = []
    for p in params:
        if len(ps) >= MAX_ITEMS or b.values <= 0:
            ps.append("…(%d more)" % (len(params) - len(ps)))
            break
        ps.append(_render(p, depth, b))
    return ps, _items(kwargs.items(), len(kwargs), depth + 1, b, {})


def _thread_name():
    """The threading name of this thread, without making a _DummyThread."""
    ident = _thread.get_ident()
    th = sys.modules.get("threading")
    try:
        t = th._active.get(th.get_ident()) if th is not None else None
        if t is not None:
            name = (_instance_dict(t, type(t)) or {}).get("_name")
            if type(name) is str:
                return name[:MAX_STR]
    except Exception:
        pass
    return "Thread-%d" % ident


# ---------------------------------------------------------------------------
# Binding arguments to params / kwargs / target
# ---------------------------------------------------------------------------

class _Sig:
    """How (args, kwargs), or a frame's locals, map to params/kwargs,
    precomputed from the innermost Python function's code object."""

    def __init__(self, func, skip):
        code = func.__code__
        argc, kwc = code.co_argcount, code.co_kwonlyargcount
        names = code.co_varnames
        self.skip = skip
        self.pos = names[:argc]
        self.posonly = code.co_posonlyargcount
        self.kwonly = names[argc:argc + kwc]
        i = argc + kwc
        self.varargs = names[i] if code.co_flags & CO_VARARGS else None
        i += self.varargs is not None
        self.varkw = names[i] if code.co_flags & CO_VARKEYWORDS else None
        defaults = func.__defaults__
        self.defaults = defaults if type(defaults) is tuple else ()
        kwdefaults = func.__kwdefaults__
        self.kwdefaults = kwdefaults if type(kwdefaults) is dict else {}
        snap = self.pos + self.kwonly + tuple(
            n for n in (self.varargs, self.varkw) if n is not None)
        if len(snap) > 1:
            self.snapshot = operator.itemgetter(*snap)
        elif snap:
            only = snap[0]
            self.snapshot = lambda loc: (loc[only],)
        else:
            self.snapshot = lambda loc: ()

    def from_call(self, args, kwargs):
        """(target, params, kwargs) of a call."""
        skip = self.skip if args else 0
        target = args[0] if skip else None
        pos, nargs = self.pos, len(args)
        npos = len(pos)
        if nargs > npos and self.varargs is None:
            return target, list(args[skip:]), dict(kwargs)
        params = list(args[skip:npos])
        used = ()
        if nargs < npos:
            used = set()
            first_default = npos - len(self.defaults)
            for i in range(nargs, npos):
                name = pos[i]
                if i >= self.posonly and name in kwargs:
                    params.append(kwargs[name])
                    used.add(name)
                elif i >= first_default:
                    params.append(self.defaults[i - first_default])
                else:                   # a missing argument: the call fails
                    return target, list(args[skip:]), dict(kwargs)
        elif nargs > npos:
            params.extend(args[npos:])
        kw = {}
        for name in self.kwonly:
            if name in kwargs:
                kw[name] = kwargs[name]
            elif name in self.kwdefaults:
                kw[name] = self.kwdefaults[name]
        for name, value in kwargs.items():
            if name not in used and name not in kw:
                kw[name] = value
        return target, params, kw

    def from_snapshot(self, snap):
        """(target, params, kwargs) from the values self.snapshot took."""
        npos, nkw = len(self.pos), len(self.kwonly)
        skip = self.skip if npos else 0
        target = snap[0] if skip else None
        params = list(snap[skip:npos])
        kw = dict(zip(self.kwonly, snap[npos:npos + nkw]))
        i = npos + nkw
        if self.varargs is not None:
            params.extend(snap[i])
            i += 1
        if self.varkw is not None:
            kw.update(snap[i])
        return target, params, kw


def _bind_plain(skip, args, kwargs):
    """The binding for callables that are not Python functions."""
    skip = skip if args else 0
    return (args[0] if skip else None), list(args[skip:]), dict(kwargs)


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


def _observation(w, location, bound, result, exc, dur):
    b = _Budget()
    depth = w.depth
    target, params, kwargs = bound
    ps, kw = _render_params(params, kwargs, depth, b)
    data = {"params": ps, "kwargs": kw,
            "target": _render(target, depth, b),
            "result": _render(result, depth, b)
            if location == "AtExit" else None,
            "exception": _text(_exc_text(exc), b)
            if location == "AtExceptionExit" else None,
            "duration_ms": None if dur is None else dur * 1000.0,
            "thread_id": _thread.get_native_id(),
            "thread_name": _thread_name()}
    return {"id": w.req_id, "type": "observation", "watch_id": w.id,
            "timestamp": time.time(), "func_name": w.func_name,
            "location": location, "data": data}


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


def _own_dict(owner):
    """The namespace of a module or class (no code runs)."""
    if type(owner) is types.ModuleType or \
            _in_mro(_MRO(type(owner)), types.ModuleType):
        return types.ModuleType.__dict__["__dict__"].__get__(owner)
    return _TYPE_DICT(owner)


def _set_attr(owner, name, value):
    if _in_mro(_MRO(type(owner)), type):
        type.__setattr__(owner, name, value)
    else:
        _own_dict(owner)[name] = value


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

    def on_return(code, offset, value):
        t1 = clock()
        h = hooks.get(id(code))
        if h is None or h.code is not code:
            return
        frame = getframe(1)
        try:
            entry = h.pending.pop(id(frame), None)
            if entry is not None and entry[2] is frame and h.ret_ws:
                h.fire(h.ret_ws, "AtExit", (entry[0], frame), value, None,
                       t1 - entry[1])
        except Exception as e:
            h.failed(e)

    def on_unwind(code, offset, exc):
        t1 = clock()
        h = hooks.get(id(code))
        if h is None or h.code is not code:
            return
        frame = getframe(1)
        try:
            entry = h.pending.pop(id(frame), None)
            if entry is not None and entry[2] is frame and h.exc_ws:
                h.fire(h.exc_ws, "AtExceptionExit", (entry[0], frame), None,
                       exc, t1 - entry[1])
        except Exception as e:
            h.failed(e)

    return on_start, on_return, on_unwind


# ---------------------------------------------------------------------------
# Resolving a pattern
# ---------------------------------------------------------------------------

class _Target:
    """What a pattern names: where it is defined and how to hook it."""

    def __init__(self, pattern, owner, name, raw, inherited):
        self.pattern, self.owner, self.name = pattern, owner, name
        self.raw, self.inherited = raw, inherited
        self.kind = self.wrap_as = None
        self.call = None            # what the wrapper calls
        self.flags = 0              # co_flags of self.call
        self.inner = None           # innermost Python function
        self.code = None


def _lookup(owner, name):
    """(value, where found) in a module's namespace or a class's MRO."""
    if _in_mro(_MRO(type(owner)), type):
        for k in _MRO(owner):
            d = _TYPE_DICT(k)
            if name in d:
                return d[name], k
        return _MISSING, None
    return _own_dict(owner).get(name, _MISSING), owner


def _is_class(v):
    return _in_mro(_MRO(type(v)), type)


def _is_module(v):
    return _in_mro(_MRO(type(v)), types.ModuleType)


def _innermost(func):
    """The innermost Python function along the __wrapped__ chain."""
    inner = func if type(func) is _FunctionType else None
    for _ in range(100):
        d = _instance_dict(func, type(func))
        nxt = d.get("__wrapped__", _MISSING) if d else _MISSING
        if nxt is _MISSING:
            break
        func = nxt
        if type(func) is _FunctionType:
            inner = func
    return inner


def _has_get(v):
    for k in _MRO(type(v)):
        if "__get__" in _TYPE_DICT(k):
            return True
    return False


def _resolve(pattern):
    parts = pattern.split(".")
    if len(parts) < 2 or not all(p.isidentifier() for p in parts):
        raise _BadRequest("bad pattern %r: expected module.func, "
                          "module.Class.method or module.Outer.Inner.method"
                          % pattern[:200])
    for i in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is not None and _is_module(module):
            break
    else:
        raise _BadRequest("no module of %s is loaded (the agent never "
                          "imports anything)" % pattern)
    owner = module
    path = ".".join(parts[:i])
    for j, name in enumerate(parts[i:]):
        value, where = _lookup(owner, name)
        if value is _MISSING:
            raise _BadRequest("%s has no attribute %r" % (path, name))
        if j < len(parts) - i - 1:
            if not (_is_class(value) or _is_module(value)):
                raise _BadRequest("%s.%s is not a class" % (path, name))
            owner = value
            path += "." + name
            continue
        target = _Target(pattern, owner, name, value,
                         _is_class(owner) and where is not owner)
        _classify(target)
        return target


def _classify(t):
    """Sets kind (function, method, static, class, callable), what the
    wrapper calls and how it is re-wrapped."""
    raw, in_class = t.raw, _is_class(t.owner)
    mro = _MRO(type(raw))
    if type(raw) is _FunctionType:
        t.kind = "method" if in_class else "function"
        t.call = raw
    elif _in_mro(mro, staticmethod) or _in_mro(mro, classmethod):
        t.kind = "static" if _in_mro(mro, staticmethod) else "class"
        t.wrap_as = t.kind
        t.call = raw.__func__
        if not callable(t.call):
            raise _BadRequest("%s is not a function" % t.pattern)
    elif _is_class(raw):
        raise _BadRequest("%s is a class, not a function (watch one of its "
                          "methods, e.g. %s.__init__)" % (t.pattern,
                                                          t.pattern))
    elif not callable(raw):
        raise _BadRequest("%s is a %s, not a function" % (
            t.pattern, _TYPE_QUALNAME(type(raw))))
    else:
        t.call = raw
        if in_class and _has_get(raw):
            t.kind = "method"       # binds like a function
        else:
            t.kind = "callable"
            t.wrap_as = "static" if in_class else None
    if type(t.call) is _FunctionType:
        t.flags = t.call.__code__.co_flags
    t.inner = _innermost(t.call)
    if t.inner is not None:
        t.code = t.inner.__code__


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

    # -- watches ------------------------------------------------------------

    def start_watch(self, conn, req_id, args):
        pattern, n, condition, depth, at = _watch_args(args)
        cond = _compile(condition)
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
        a = self.agent
        data = {"pid": os.getpid(), "python": sys.version.split()[0],
                "agent": VERSION, "directory": a.directory,
                "started": a.started, "watches": len(a.watches)}
        marker = getattr(sys, "_peeka_agent", None)
        if type(marker) is dict and type(marker.get("method")) is str:
            data["method"] = marker["method"]     # how it was injected
        self.result(rid, data)

    def cmd_watch(self, rid, args):
        w, hook = self.agent.start_watch(self, rid, args)
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


def run(directory):
    """Serve on directory/agent.sock until `detach`; then every hook is
    restored, every stream ended, the agent's files and the directory
    removed, sys._peeka_agent deleted, and no agent thread is left."""
    _Agent(directory).run()
