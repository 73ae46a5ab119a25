#!/usr/bin/env python3
"""`namctl status --watch`, driven in tmux as a person would use it.

Usage: watch_cases.py NAMFS NAMGEN NAMCTL

The view runs in a detached tmux session (capture-pane reads what it
shows): its frame count grows while frames land through the mount, a
refused frame appears with its rule, the landing rate shows while frames
land, and `q` (send-keys) ends it, leaving the terminal as it was.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

import harness
from harness import Mount, check

NAMFS, NAMGEN, NAMCTL = sys.argv[1:4]
work = tempfile.mkdtemp(prefix="namfs-watch-")
harness.use(NAMFS, work)
PROFILE = harness.small_profile(work)
SEQ = harness.SEQ
SESSION = "namfs-watch-%d" % os.getpid()


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True)


def screen():
    return tmux("capture-pane", "-p", "-t", SESSION).stdout


def frames_shown():
    found = re.search(r"^frames (\d+)", screen(), re.M)
    return int(found.group(1)) if found else None


def shown(condition, seconds=10):
    """What the view shows within its next few redraws (it redraws twice a
    second on its own clock: this waits for the view, not for namfs)."""
    for _ in range(int(seconds / 0.1)):
        if condition():
            return True
        time.sleep(0.1)
    return False


def land(point, numbers, *args):
    for n in numbers:
        src = os.path.join(work, "f.dpx")
        subprocess.run([NAMGEN, "dpx", src, "--seed", str(n), *args], check=True)
        with open(src, "rb") as f:
            data = f.read()
        path = os.path.join(point, SEQ, "%s.%04d.dpx" % (SEQ, n))
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError:
            pass  # a refused frame's close fails; the view must show it


def watch_while_landing():
    with Mount("watch", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        land(m.point, (1, 2))
        run = tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40",
                   "%s status --watch %s" % (NAMCTL, m.point))
        check(run.returncode == 0, "tmux runs the view: %s" % run.stderr.strip())
        try:
            check(shown(lambda: frames_shown() == 2), "the view shows the 2 frames landed: %r"
                  % screen())
            land(m.point, range(3, 13))
            check(shown(lambda: frames_shown() == 12),
                  "the frame count grows as frames land (12): %r" % screen())
            land(m.point, range(13, 40))
            check(shown(lambda: "landing " in screen() and "files/s" in screen()),
                  "the rate of the last seconds shows while frames land: %r" % screen())
            land(m.point, (45,), "--bits", "8")
            check(shown(lambda: re.search(r"R2 +%s\.0045\.dpx: expected 16-bit DPX" % SEQ,
                                          screen()) is not None),
                  "a refusal appears as it happens, with its rule: %r" % screen())
            land(m.point, (46,))  # 40-45 missing from the landed range: 45 was refused
            check(shown(lambda: "gaps: 40-45" in screen()),
                  "the asset's gaps as ranges: %r" % screen())
            tmux("send-keys", "-t", SESSION, "q")
            check(shown(lambda: tmux("has-session", "-t", SESSION).returncode != 0, 5),
                  "q ends the view")
        finally:
            tmux("kill-session", "-t", SESSION)


harness.run_cases([watch_while_landing], "WATCH_CASES")
