# SPDX-License-Identifier: Apache-2.0
"""What a watch pattern names, found without running application code:
the module or class that defines it, the object there and how to hook
it (_resolve); and how a call of it maps to params / kwargs / target
(_Sig, precomputed from the innermost Python function's code object).

Loaded by peeka_agent.py from its source, as every module of the agent
(see _loader there: `_load` is set in this namespace before it runs).
Standard library only, CPython 3.8 - 3.14.
"""

import operator
import sys
import types

_base = _load("peeka_base")             # noqa: F821 (_load: set by the loader)
_rendering = _load("peeka_render")      # noqa: F821
_MRO, _TYPE_DICT = _base._MRO, _base._TYPE_DICT
_TYPE_QUALNAME, _FunctionType = _base._TYPE_QUALNAME, _base._FunctionType
_MISSING, _in_mro = _base._MISSING, _base._in_mro
_BadRequest = _base._BadRequest
_instance_dict = _rendering._instance_dict

CO_VARARGS, CO_VARKEYWORDS = 0x04, 0x08


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
