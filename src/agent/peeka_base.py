# SPDX-License-Identifier: Apache-2.0
"""What the agent's modules share, defined once: the thread, lock, poll
and socket primitives as they were before gevent or eventlet
monkey-patching, the per-thread `busy` flag, the clock, type's own
descriptors (to read classes without running metaclass code), and the
exception that refuses a request.

Loaded first by peeka_agent.py, from its source (docs/agent-protocol.md,
"The bootstrap"); the other modules take these objects from it.
Standard library only, CPython 3.8 - 3.14.
"""

import _thread
import select
import socket
import sys
import time
import types


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


def _in_mro(mro, klass):
    for k in mro:
        if k is klass:
            return True
    return False


class _BadRequest(Exception):
    """A request refused with an `error` reply; nothing was changed."""
