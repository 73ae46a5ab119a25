#!/usr/bin/env python3
"""BACKING never holds a partial or unjudged frame under its final name
(namfs/inflight.h): a frame being written sits under an in-flight name
while the mount shows it under its own; at the instant close() returns,
BACKING has it, identical. A rewrite of a landed frame works on a copy:
until the new bytes land, BACKING and its manifests keep the landed frame,
and a refused rewrite leaves it as it was. Facts are read from BACKING
with os.listdir, cmp-like byte comparison, xxhsum and namctl verify.

Usage: inflight_cases.py NAMFS NAMGEN NAMCTL
"""
import errno
import os
import subprocess
import sys
import tempfile

import harness
from harness import Mount, check, namfs_digest, xxh128

NAMFS, NAMGEN, NAMCTL = sys.argv[1:4]
work = tempfile.mkdtemp(prefix="namfs-inflight-")
harness.use(NAMFS, work)
SEQ = harness.SEQ
PROFILE = harness.small_profile(work)


def frame(n):
    return "%s/%s.%04d.dpx" % (SEQ, SEQ, n)


def made(name, *args):
    path = os.path.join(work, name)
    subprocess.run([NAMGEN, "dpx", path, *args], check=True, capture_output=True)
    return open(path, "rb").read()


def in_flight(folder):
    return [n for n in os.listdir(folder) if n.startswith(".namfs~")]


def slow_writer():
    """Half a frame written and the writer pausing: BACKING has nothing
    under the frame's name, the mount shows it; close(), and BACKING has
    it whole, byte for byte, with nothing left in flight."""
    data = made("slow.dpx")
    with Mount("slow", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        shown, kept = os.path.join(m.point, frame(1)), os.path.join(m.backing, frame(1))
        fd = os.open(shown, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, data[:len(data) // 2])
        check(not os.path.exists(kept) and len(in_flight(os.path.join(m.backing, SEQ))) == 1,
              "mid-frame: BACKING has no file under its name, one in flight: %r"
              % os.listdir(os.path.join(m.backing, SEQ)))
        check(os.path.basename(shown) in os.listdir(os.path.join(m.point, SEQ)) and
              os.stat(shown).st_size == len(data) // 2,
              "mid-frame: the mount shows it under its name, at the size written so far")
        os.write(fd, data[len(data) // 2:])
        os.close(fd)
        check(os.path.exists(kept) and open(kept, "rb").read() == data and
              in_flight(os.path.join(m.backing, SEQ)) == [],
              "after close(): BACKING has it, identical, nothing in flight")
        check(namfs_digest(shown) == xxh128(kept), "and its digest is xxhsum's")


def rewrite_keeps_the_landed_frame():
    """A landed frame rewritten in place (no truncate): while the writer
    has it open, BACKING keeps the landed bytes and namctl verify accepts
    BACKING; once it closes, BACKING has the new bytes, digest and all."""
    old, new = made("old.dpx"), made("new.dpx", "--seed", "9")
    with Mount("rewrite", "-o", "profile=" + PROFILE + ",quiet=0.1") as m:
        os.makedirs(os.path.join(m.point, SEQ))
        shown, kept = os.path.join(m.point, frame(1)), os.path.join(m.backing, frame(1))
        open(shown, "wb").write(old)
        landed = namfs_digest(shown)
        fd = os.open(shown, os.O_WRONLY)
        os.pwrite(fd, new[4096:], 4096)  # same header, other pixels
        # (no subprocess while fd is open: a fork's exec closes a copy of it,
        # and that close() is the one that lands the rewrite)
        check(open(kept, "rb").read() == old and namfs_digest(shown) is None,
              "mid-rewrite: BACKING keeps the landed frame (%s); the rewrite has no digest yet"
              % landed)
        os.close(fd)
        expected = old[:4096] + new[4096:]
        check(open(kept, "rb").read() == expected and namfs_digest(shown) == xxh128(kept),
              "after close(): BACKING has the rewrite, with its digest")
    run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
    check(run.returncode == 0, "namctl verify accepts BACKING: " + run.stdout.strip()[-200:])


def refused_rewrite_leaves_it():
    """A rewrite that breaks a rule (8-bit DPX, R2): the write that makes
    the header bad fails with EINVAL, and the landed frame stays in BACKING
    as it was, with its digest; the refused bytes are in the quarantine."""
    good, bad = made("good.dpx"), made("bad.dpx", "--bits", "8")
    with Mount("refused", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        shown, kept = os.path.join(m.point, frame(1)), os.path.join(m.backing, frame(1))
        open(shown, "wb").write(good)
        landed = namfs_digest(shown)
        fd = os.open(shown, os.O_WRONLY)
        try:
            os.pwrite(fd, bad[:2048], 0)
            told = 0
        except OSError as e:
            told = e.errno
        try:
            os.close(fd)
        except OSError:
            pass
        check(told == errno.EINVAL, "the write of a bad header fails with EINVAL (%s)" % told)
        check(open(kept, "rb").read() == good and namfs_digest(shown) == landed,
              "the landed frame stays in BACKING, with its digest")
        quarantined = os.path.join(m.backing + ".namfs", "quarantine", frame(1))
        reason = open(quarantined + ".reason").read() if os.path.exists(quarantined + ".reason") \
            else ""
        check("\tR2\t" in reason, "the refused rewrite is in the quarantine (R2): " + reason)


harness.run_cases([slow_writer, rewrite_keeps_the_landed_frame, refused_rewrite_leaves_it],
                  "INFLIGHT_CASES")
