#!/usr/bin/env python3
"""A/B of namfs builds (or mount options) on one workload: cp of UHD frames
into each mount and into a native folder, targets taking turns for
--rounds rounds; prints median MB/s (until cp returns and until on disk)
and daemon CPU per GB. For measuring one change before keeping it; the
full picture is bench.py.

usage: ab.py [--writers N] [--frames N] [--rounds N] [--dir DIR]
             NAME=NAMFS[,OPTION...] ...     (NAME=native for a plain folder)
e.g.   ab.py --writers 4 before=/tmp/old/namfs after=build/fs/namfs/namfs
"""
import argparse
import os
import shutil
import statistics
import subprocess
import time

import bench
import workdir

SEQ = bench.DPX_SEQ


def make_frames(namgen, count):
    src = os.path.join("/dev/shm", "namfs-ab")
    os.makedirs(src, exist_ok=True)
    frames = []
    for i in range(count):
        path = os.path.join(src, "%s.%04d.dpx" % (SEQ, 1001 + i))
        if not os.path.exists(path):
            bench.run([namgen, "dpx", path, "--size", bench.UHD, "--seed", str(i)])
        frames.append(path)
    return frames


def target(name, spec, work):
    if spec == "native":
        return bench.Target(name, name, work)
    binary, *options = spec.split(",")
    return bench.Target(name, name, work, bench.namfs_daemon(binary, options))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("targets", nargs="+", help="NAME=native or NAME=NAMFS[,OPTION...]")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", default="/work/namfs-ab")
    ap.add_argument("--namgen", default="build/tests/gen/namgen")
    args = ap.parse_args()
    work = workdir.claim(args.dir)
    frames = make_frames(args.namgen, args.frames)
    result, targets = bench.Result(), []
    try:
        for spec in args.targets:
            name, _, what = spec.partition("=")
            targets.append(target(name, what, work))
        for rnd in range(args.rounds):
            for t in bench.rotated(targets, rnd):
                dest = bench.fresh(t, SEQ)
                parts = bench.split(frames, args.writers)
                bench.timed(result, "cp", t, bench.size_of(frames),
                            lambda: bench.parallel([["cp", *p, dest] for p in parts]),
                            durable=True, clean=True)
    finally:
        for t in targets:
            t.close()
        workdir.release(work)
        shutil.rmtree(work + ".namfs", ignore_errors=True)
    print("%d writer(s), %d UHD frames, %d rounds (median)" %
          (args.writers, args.frames, args.rounds))
    for t in targets:
        runs = result.runs["cp"][t.name]
        on_disk = result.runs["cp, on disk"][t.name]
        print("%-12s %6.0f MB/s   on disk %6.0f MB/s   daemon CPU %.2f s/GB" % (
            t.name, statistics.median(b / s / 1e6 for s, b, _ in runs),
            statistics.median(b / s / 1e6 for s, b, _ in on_disk),
            statistics.median(c / (b / 1e9) for _, b, c in runs)))


if __name__ == "__main__":
    main()
