#!/usr/bin/env python3
"""The shared catalog's cost (issue 22): small frames per second landed
through 1, 2 and 3 mounts of one BACKING sharing a PostgreSQL catalog, and
through 1 mount with the SQLite catalog beside 1 with PostgreSQL, in one
run, with ratios. Each mount gets one writer per run; every run lands
FRAMES frames in all (split evenly between the mounts) into a fresh asset.

On one machine of 2 cores this measures the catalog's cost and its
contention (every mount, its writer and the server share the 2 cores, and
PostgreSQL takes one writer at a time), not how far a farm scales: hosts
of their own would each bring their own cores and disks.

Run beside a server of its own: scripts/bench --shared starts one
(tests/with-postgres). Nothing here is a test: figures are printed.

usage: shared.py BUILDDIR [--frames N] [--runs N] [--dir DIR]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import workdir

SEQ = "bench_s01e%02d_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"
PROFILE = ("[delivery]\nformats = dpx, exr\nresolution = any\ncolour = camera-native\n"
           "[testing]\nresolution_floor = 64x32\n")


def mounted(point):
    return any(line.split()[1] == point for line in open("/proc/mounts"))


class Mounts:
    """count mounts of backing, each with its own state folder, sharing
    catalog (None: each its own SQLite catalog; then count is 1)."""

    def __init__(self, namfs, work, backing, count, catalog):
        self.points, self.procs = [], []
        self.args = (namfs, work, backing, count, catalog)

    def __enter__(self):
        namfs, work, backing, count, catalog = self.args
        for i in range(count):
            point = tempfile.mkdtemp(prefix="mnt-", dir=work)
            state = tempfile.mkdtemp(prefix="state-", dir=work)
            options = "profile=%s,quiet=0.5,state=%s" % (os.path.join(work, "bench.ini"), state)
            if catalog:
                options += ",catalog=" + catalog
            self.procs.append(subprocess.Popen([namfs, "-f", "-o", options, backing, point],
                                               stderr=subprocess.DEVNULL))
            self.points.append(point)
            for _ in range(200):
                if mounted(point):
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("namfs did not mount " + point)
        return self

    def __exit__(self, *exc):
        for point, proc in zip(self.points, self.procs):
            subprocess.run(["fusermount3", "-u", point], capture_output=True)
            proc.wait(timeout=60)
        return False


def land(points, name, frames, data):
    """FRAMES frames of asset name, one writer per mount at once: frames/s."""
    os.makedirs(os.path.join(points[0], name))
    per = frames // len(points)

    def writer(i):
        for n in range(per):
            path = os.path.join(points[i], name, "%s.%04d.dpx" % (name, 1001 + i * per + n))
            with open(path, "wb") as out:
                out.write(data)
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(points))]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * len(points) / (time.monotonic() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("builddir")
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir")
    args = parser.parse_args()
    pg = os.environ.get("NAMFS_TEST_PG")
    if not pg:
        sys.exit("shared.py: no PostgreSQL: run it through scripts/bench --shared")
    namfs = os.path.join(args.builddir, "fs", "namfs", "namfs")
    namgen = os.path.join(args.builddir, "tests", "gen", "namgen")
    work = workdir.claim(args.dir or tempfile.mkdtemp(prefix="namfs-bench-shared-"))
    try:
        open(os.path.join(work, "bench.ini"), "w").write(PROFILE)
        frame = os.path.join(work, "frame.dpx")
        subprocess.run([namgen, "dpx", frame], check=True, capture_output=True)
        data = open(frame, "rb").read()
        setups = [("sqlite, 1 mount", 1, False), ("postgresql, 1 mount", 1, True),
                  ("postgresql, 2 mounts", 2, True), ("postgresql, 3 mounts", 3, True)]
        rates = {label: [] for label, _, _ in setups}
        episode = 0
        for run in range(args.runs):
            for label, count, shared in setups:  # in turns: the machine's noise falls on all
                episode += 1
                db = "bench%d" % episode
                subprocess.run(["psql", pg, "-qc", "CREATE DATABASE " + db], check=True,
                               capture_output=True)
                backing = tempfile.mkdtemp(prefix="backing-", dir=work)
                catalog = pg.rsplit("/", 1)[0] + "/" + db if shared else None
                with Mounts(namfs, work, backing, count, catalog) as m:
                    rates[label].append(land(m.points, SEQ % (episode % 100), args.frames, data))
        base = statistics.median(rates["sqlite, 1 mount"])
        pg1 = statistics.median(rates["postgresql, 1 mount"])
        print("shared catalog: %d frames of %d bytes per run, %d runs, medians "
              "(2 cores: the catalog's cost and contention, not a farm's scaling)"
              % (args.frames, len(data), args.runs))
        print("%-22s %10s %12s %12s" % ("setup", "frames/s", "vs sqlite", "vs pg 1"))
        for label, _, _ in setups:
            rate = statistics.median(rates[label])
            print("%-22s %10.0f %12.2f %12.2f" % (label, rate, rate / base, rate / pg1))
    finally:
        workdir.release(work)


if __name__ == "__main__":
    main()
