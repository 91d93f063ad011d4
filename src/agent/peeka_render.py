# SPDX-License-Identifier: Apache-2.0
"""Rendering values as JSON values without running any of the
application's code (no __repr__, __len__, properties, metaclass code),
within the bounds of docs/agent-protocol.md, "Observations"; and the
observation of one event, rendered.

Loaded by peeka_agent.py from its source, as every module of the agent
(see _loader there: `_load` is set in this namespace before it runs).
Standard library only, CPython 3.8 - 3.14.
"""

import _thread
import math
import sys
import time
import types

_base = _load("peeka_base")             # noqa: F821 (_load: set by the loader)
_MRO, _TYPE_DICT = _base._MRO, _base._TYPE_DICT
_TYPE_QUALNAME, _TYPE_MODULE = _base._TYPE_QUALNAME, _base._TYPE_MODULE
_EXC_ARGS, _FunctionType = _base._EXC_ARGS, _base._FunctionType
_MISSING, _in_mro = _base._MISSING, _base._in_mro

MAX_STR = 1000
MAX_ITEMS = 100
MAX_VALUES = 2000
MAX_CHARS = 50000          # string characters per observation
MAX_DIGITS = 200


class _Budget:
    __slots__ = ("values", "chars")

    def __init__(self):
        self.values = MAX_VALUES
        self.chars = MAX_CHARS


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


def _observation(w, location, bound, result, exc, dur):
    """The `observation` message of one event taken by the watch @w."""
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
