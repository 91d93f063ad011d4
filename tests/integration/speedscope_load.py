#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Load a profile into the real speedscope web app in headless Chromium.

  speedscope_load.py DIST PROFILE WANT

DIST is speedscope's built app (the directory speedscope_schema.sh keeps);
the app and PROFILE are served on a free local port and the app is opened
with #profileURL pointing at the profile.  speedscope sets the page title
to "<profile name> - speedscope" only after an import succeeds (on failure
no title is set), so the check is that the dumped DOM's title contains
WANT.  Prints the title; exit 0 when it matches, 1 otherwise.
"""
import functools
import http.server
import os
import re
import signal
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse


def main(argv):
    dist, profile, want = argv[1], argv[2], argv[3]

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path):
            if path.split("?")[0] == "/profile":
                return profile
            return super().translate_path(path)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=dist))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    url = "http://127.0.0.1:%d/index.html#profileURL=%s" % (
        port, urllib.parse.quote("http://127.0.0.1:%d/profile" % port, safe=""))
    data = tempfile.mkdtemp()
    proc = subprocess.Popen(
        ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--no-first-run",
         "--user-data-dir=" + data, "--virtual-time-budget=8000",
         "--dump-dom", url],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True)
    try:
        # A failed import opens an alert that holds the page: a time-out.
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        out = ""
    finally:
        shutil.rmtree(data, ignore_errors=True)
        server.shutdown()
    m = re.search(r"<title>([^<]*)</title>", out)
    title = m.group(1) if m else None
    print("title: %r" % title)
    return 0 if title and want in title else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
