# SPDX-License-Identifier: Apache-2.0
"""The agent's channel (src/agent/peeka_proto.py), under every test
interpreter: framing, size caps, private directory and socket modes, and
SO_PEERCRED refusing another user (run as root: a child switches to uid
65534 and must be turned away).

    python tests/agent/test_proto.py
"""
import os
import socket
import stat
import struct
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "src", "agent"))
import peeka_proto as proto  # noqa: E402


class Framing(unittest.TestCase):
    def test_round_trip(self):
        a, b = socket.socketpair()
        with a, b:
            proto.send_frame(a, {"type": "ping", "n": [1, 2], "s": "é"})
            self.assertEqual(proto.recv_frame(b),
                             {"type": "ping", "n": [1, 2], "s": "é"})
            a.close()
            self.assertIsNone(proto.recv_frame(b))

    def test_refused_frames(self):
        for raw in (struct.pack(">I", proto.MAX_FRAME + 1),
                    struct.pack(">I", 5) + b"nope!",
                    struct.pack(">I", 2) + b"[]",
                    struct.pack(">I", 10) + b"{}"):
            a, b = socket.socketpair()
            with a, b:
                a.sendall(raw)
                a.shutdown(socket.SHUT_WR)
                with self.assertRaises(proto.ProtocolError):
                    proto.recv_frame(b)

    def test_too_large_to_send(self):
        with self.assertRaises(proto.ProtocolError):
            proto.encode({"x": "a" * (proto.MAX_FRAME + 1)})


class Listener(unittest.TestCase):
    def test_modes_and_peer(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = os.path.join(tmp, "agent")
            lst, path = proto.make_listener(d)
            with lst:
                self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700)
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
                got = []

                def serve():
                    conn, _ = lst.accept()
                    with conn:
                        got.append(proto.peer_allowed(conn))
                        if got[-1]:
                            proto.send_frame(conn, {"type": "hello"})
                t = threading.Thread(target=serve)
                t.start()
                c = socket.socket(socket.AF_UNIX)
                c.connect(path)
                with c:
                    self.assertEqual(proto.recv_frame(c), {"type": "hello"})
                t.join(5)
                self.assertEqual(got, [True])

    def test_umask_untouched(self):
        # The umask is process-wide: make_listener must never change it
        # (another thread creating a file meanwhile would get the wrong
        # mode), and must still give exactly 0700 / 0600 whatever the
        # umask, including one stricter than 077.
        calls = []
        real = os.umask

        def spy(mask):
            calls.append(mask)
            return real(mask)
        for mask in (0o000, 0o022, 0o077, 0o277, 0o777):
            with self.subTest(umask=oct(mask)), \
                    tempfile.TemporaryDirectory() as tmp:
                old = real(mask)
                os.umask = spy
                try:
                    d = os.path.join(tmp, "agent")
                    lst, path = proto.make_listener(d)
                    lst.close()
                finally:
                    os.umask = real
                    real(old)
                self.assertEqual(calls, [])
                self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700)
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_not_private_directory(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = os.path.join(tmp, "open")
            os.mkdir(d, 0o755)
            os.chmod(d, 0o755)
            with self.assertRaises(proto.ProtocolError):
                proto.make_listener(d)

    @unittest.skipUnless(os.getuid() == 0, "needs root to switch users")
    def test_other_user_refused(self):
        # Another uid cannot even reach the socket (0700 directory); and
        # if it could, SO_PEERCRED turns it away.
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)
            d = os.path.join(tmp, "agent")
            lst, path = proto.make_listener(d)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                try:
                    os.setgid(65534)
                    os.setuid(65534)
                    c = socket.socket(socket.AF_UNIX)
                    try:
                        c.connect(path)
                        os.write(w, b"connected")
                    except OSError:
                        os.write(w, b"refused")
                finally:
                    os._exit(0)
            os.close(w)
            result = os.read(r, 64)
            os.waitpid(pid, 0)
            self.assertEqual(result, b"refused")
            # The credential check itself, with the directory opened.
            os.chmod(d, 0o711)
            os.chmod(path, 0o666)
            pid = os.fork()
            if pid == 0:
                try:
                    os.setgid(65534)
                    os.setuid(65534)
                    c = socket.socket(socket.AF_UNIX)
                    c.connect(path)
                    c.recv(1)
                finally:
                    os._exit(0)
            conn, _ = lst.accept()
            with conn:
                self.assertFalse(proto.peer_allowed(conn))
                self.assertEqual(proto.peer_uid(conn), 65534)
            os.waitpid(pid, 0)
            lst.close()


if __name__ == "__main__":
    print("peeka_proto under", sys.version.split()[0], file=sys.stderr)
    unittest.main()
