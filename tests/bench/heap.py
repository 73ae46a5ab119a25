#!/usr/bin/env python3
"""namfs's own heap per landed frame, as heaptrack (KDE's heap profiler,
Debian's heaptrack) attributes it (issue 17's memory target: < 100 bytes per
frame of namfs's own, beside libfuse's and SQLite's).

The daemon runs under heaptrack while N small frames land in one asset
folder; each is stat'ed once more afterwards (the kernel keeps their
inodes, and so libfuse its nodes). heaptrack's stacks at the peak of the
heap are then split by owner: the innermost frame of each stack that
belongs to SQLite or to namfs (its functions and sources) gets the bytes;
libfuse's threads and fuse_main's the rest. Done for two frame counts: the
growth between them, per frame, is what a landed frame costs each owner
(fixed buffers cancel out).

usage: heap.py BUILDDIR [--frames SMALL,LARGE]      (default 5000,20000)
"""
import argparse
import collections
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale import PROFILE, SEQ, mounted  # noqa: E402

SOURCES = {os.path.basename(p) for d in ("core", "fs/namfs")
           for p in glob.glob(os.path.join(os.path.dirname(__file__), "../..", d, "*.c"))}

# Owners by function name: SQLite's, and namfs's by its functions and
# sources. libfuse 3.14 comes without symbols here: what its threads and
# fuse_main allocate with no named frame of the others is libfuse's.
SQLITE = ("sqlite3",)
NAMFS = ("stage_", "seqset_", "frameset_", "catalog_", "checksum_", "landing_", "inflight_",
         "hash_pool", "hasher_", "custody_", "mhl_", "status_", "strbuf_", "strlist_", "namfs_")


def owner(stack):
    for frame in reversed(stack):  # innermost first
        if frame.startswith(SQLITE):
            return "SQLite"
        if frame.startswith(NAMFS) or " (" in frame and frame.split(" (")[1].rstrip(")") in SOURCES:
            return "namfs"
    if any(f.startswith("fuse_") for f in stack) or stack[:3] and stack[1].startswith(
            "start_thread") and stack[2].startswith("0x"):
        return "libfuse"
    return "other (libc, start-up)"


def peak_by_owner(build, work, frames):
    """heaptrack's stacks at the heap's peak with `frames` frames landed,
    summed by owner."""
    namfs = os.path.join(build, "fs/namfs/namfs")
    namgen = os.path.join(build, "tests/gen/namgen")
    run_dir = tempfile.mkdtemp(prefix="run-", dir=work)
    backing, point = os.path.join(run_dir, "backing"), os.path.join(run_dir, "mnt")
    os.makedirs(backing)
    os.makedirs(point)
    profile = os.path.join(run_dir, "profile.ini")
    open(profile, "w").write(PROFILE)
    small = os.path.join(run_dir, "frame.dpx")
    subprocess.run([namgen, "dpx", small, "--size", "64x32"], check=True)
    data = open(small, "rb").read()
    out = os.path.join(run_dir, "heaptrack.namfs")
    daemon = subprocess.Popen(["heaptrack", "-o", out, namfs, "-f", "-o", "profile=" + profile,
                               backing, point], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if mounted(point):
                break
            time.sleep(0.1)
        folder = os.path.join(point, SEQ)
        os.makedirs(folder)
        for n in range(frames):
            with open(os.path.join(folder, "%s.%07d.dpx" % (SEQ, 1001 + n)), "wb") as f:
                f.write(data)
        for n in range(frames):  # by name: a listing's peak is libfuse's, and passes
            os.stat(os.path.join(folder, "%s.%07d.dpx" % (SEQ, 1001 + n)))
        subprocess.run(["cat", os.path.join(point, ".namfs", "status")],
                       stdout=subprocess.DEVNULL, check=True)
    finally:
        subprocess.run(["fusermount3", "-u", point])
        daemon.wait()
    stacks = os.path.join(run_dir, "peak.stacks")
    subprocess.run(["heaptrack_print", "-f", glob.glob(out + "*")[0], "--flamegraph-cost-type",
                    "peak", "-F", stacks], stdout=subprocess.DEVNULL, check=True)
    by_owner = collections.Counter()
    for line in open(stacks, errors="replace"):
        path, _, cost = line.rstrip("\n").rpartition(" ")
        if path and cost.isdigit():
            by_owner[owner(path.split(";"))] += int(cost)
    return by_owner


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builddir")
    ap.add_argument("--frames", default="5000,20000",
                    help="two frame counts: the growth between them is what a frame costs")
    args = ap.parse_args()
    if not shutil.which("heaptrack"):
        sys.exit("heaptrack is not installed (apt-get install heaptrack)")
    small, large = map(int, args.frames.split(","))
    work = tempfile.mkdtemp(prefix="namfs-heap-")
    try:
        at = {n: peak_by_owner(args.builddir, work, n) for n in (small, large)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("heap at its peak (heaptrack), %d and %d frames landed and stat'ed: %.1f and %.1f MB"
          % (small, large, sum(at[small].values()) / 1e6, sum(at[large].values()) / 1e6))
    for who in sorted(set(at[small]) | set(at[large])):
        grown = (at[large][who] - at[small][who]) / (large - small)
        print("  %-24s %7.1f -> %7.1f MB, %6.0f bytes per frame%s" % (
            who, at[small][who] / 1e6, at[large][who] / 1e6, grown,
            "  (target < 100: %s)" % ("met" if grown < 100 else "MISSED") if who == "namfs"
            else ""))


if __name__ == "__main__":
    sys.exit(main())
