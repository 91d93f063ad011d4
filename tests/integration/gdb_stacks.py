# SPDX-License-Identifier: Apache-2.0
# Run inside gdb (-x): print each thread's real (not inlined) frames as
# JSON: {"<tid>": [[name or "??", pc], ...innermost first]}.
import json

import gdb

stacks = {}
for th in gdb.selected_inferior().threads():
    th.switch()
    frames = []
    f = gdb.newest_frame()
    while f is not None and len(frames) < 512:
        # Inlined functions and tail calls (DWARF call sites) are not
        # frames of their own on the stack: an unwinder cannot see them.
        if f.type() == gdb.NORMAL_FRAME:
            frames.append([f.name() or "??", f.pc()])
        try:
            f = f.older()
        except gdb.error:
            break
    stacks[str(th.ptid[1])] = frames
print("GDB-STACKS " + json.dumps(stacks))
