# SPDX-License-Identifier: Apache-2.0
"""The agent's side of the CLI <-> agent channel (agent.md section 2).

A Unix stream socket, 0600, in a directory only the target's user can
enter (0700).  Every message is a frame: a 4-byte big-endian length, then
that many bytes of UTF-8 JSON (an object), at most MAX_FRAME bytes.  A
peer is served only when SO_PEERCRED says it runs as the same uid as the
agent, or as root.  No pickle, and nothing the client sends is ever
evaluated as code.  Standard library only, CPython 3.8 - 3.14.
"""

import json
import os
import socket
import stat
import struct

MAX_FRAME = 1 << 20


class ProtocolError(Exception):
    """A malformed, oversized or truncated frame, or a refused peer."""


def encode(obj):
    """One frame for the JSON object @obj."""
    data = json.dumps(obj, separators=(",", ":"), default=str).encode()
    if len(data) > MAX_FRAME:
        raise ProtocolError("frame too large (%d bytes)" % len(data))
    return struct.pack(">I", len(data)) + data


def _read_exact(sock, n):
    chunks = []
    while n:
        chunk = sock.recv(min(n, 65536))
        if not chunk:
            raise ProtocolError("connection closed mid-frame")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock):
    """The next JSON object from @sock, or None at a clean end."""
    head = sock.recv(4)
    if not head:
        return None
    if len(head) < 4:
        head += _read_exact(sock, 4 - len(head))
    (n,) = struct.unpack(">I", head)
    if n > MAX_FRAME:
        raise ProtocolError("frame too large (%d bytes)" % n)
    try:
        obj = json.loads(_read_exact(sock, n).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError("not a JSON frame: %s" % e)
    if not isinstance(obj, dict):
        raise ProtocolError("a frame must hold a JSON object")
    return obj


def send_frame(sock, obj):
    sock.sendall(encode(obj))


def peer_uid(sock):
    """The uid of the process at the other end (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                            struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def peer_allowed(sock):
    """Same uid as this process, or root."""
    uid = peer_uid(sock)
    return uid == os.getuid() or uid == 0


def make_listener(directory, name="agent.sock"):
    """A listening socket at directory/name; the directory is created
    0700 (or must already be ours and 0700), the socket is made 0600.

    The process umask is never changed (it is process-wide: another
    thread of the application creating a file meanwhile would get the
    wrong mode).  A directory made here is chmod-ed to exactly 0700 (a
    umask stricter than 077 would leave it without some of those bits);
    the socket is bound inside it, where no other user can reach it, and
    only then made 0600."""
    try:
        os.mkdir(directory, 0o700)
        os.chmod(directory, 0o700)
    except FileExistsError:
        st = os.lstat(directory)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or \
                stat.S_IMODE(st.st_mode) != 0o700:
            raise ProtocolError("%s exists and is not a private directory"
                                % directory)
    path = os.path.join(directory, name)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, 0o600)
        sock.listen(4)
    except BaseException:
        sock.close()
        raise
    return sock, path
