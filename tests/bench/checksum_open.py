#!/usr/bin/env python3
"""What reading checksum.txt costs in the mount beside reading BACKING's own
copy: the mount renders it from the catalog at each open and checks every
listed file against BACKING (a stat each), so the cost grows with the frames
in a folder. Prints medians of REPEAT runs and the ratio.

Usage: checksum_open.py BUILDDIR [FRAMES] [REPEAT]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SEQ = "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"
PROFILE = ("[delivery]\nformats = dpx\nresolution = any\ncolour = camera-native\n"
           "[testing]\nresolution_floor = 64x32\n")


def median_ms(action, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    build = sys.argv[1]
    frames = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    work = tempfile.mkdtemp(prefix="namfs-bench-checksum-")
    backing, point = os.path.join(work, "backing"), os.path.join(work, "mnt")
    os.makedirs(os.path.join(backing, SEQ))
    os.makedirs(point)
    profile = os.path.join(work, "profile.ini")
    open(profile, "w").write(PROFILE)
    one = os.path.join(work, "one.dpx")
    subprocess.run([os.path.join(build, "tests/gen/namgen"), "dpx", one], check=True)
    for n in range(1, frames + 1):
        shutil.copyfile(one, os.path.join(backing, SEQ, "%s.%05d.dpx" % (SEQ, n)))
    subprocess.run([os.path.join(build, "fs/namfs/namfs"), "-o", "profile=" + profile,
                    backing, point], check=True, stderr=subprocess.DEVNULL)
    try:
        native = os.path.join(backing, SEQ, "checksum.txt")
        mounted = os.path.join(point, SEQ, "checksum.txt")
        for _ in range(600):  # the frames land at start; checksum.txt follows
            if os.path.exists(native) and read(native).count(b"\n") == frames:
                break
            time.sleep(0.1)
        if read(native) != read(mounted):
            sys.exit("checksum.txt in the mount differs from BACKING's")
        rows = [("read, native", median_ms(lambda: read(native), repeat)),
                ("read, namfs", median_ms(lambda: read(mounted), repeat)),
                ("stat, native", median_ms(lambda: os.stat(native), repeat)),
                ("stat, namfs", median_ms(lambda: os.stat(mounted), repeat))]
        print("checksum.txt of %d frames, median of %d:" % (frames, repeat))
        for name, ms in rows:
            print("  %-14s %8.2f ms" % (name, ms))
        print("  read namfs/native %.0fx; namfs read %.1f us per listed frame"
              % (rows[1][1] / rows[0][1], rows[1][1] * 1000 / frames))
    finally:
        subprocess.run(["fusermount3", "-u", point])
        shutil.rmtree(work, ignore_errors=True)


main()
