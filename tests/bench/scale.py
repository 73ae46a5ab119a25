#!/usr/bin/env python3
"""A feature film as one asset (issue 17): FRAMES small frames landing in
one asset folder through one mount, and what every per-operation cost does
as the delivery grows. Each figure is printed beside its baseline, with
the ratio and the target it is held to (docs/performance.md, "Scale"):

  landing      frames/s of the first and the last window (WINDOW frames),
               1 writer and 4 writers; target last/first >= 0.9
  latency      p99 and maximum of create, write, close (a new frame) and
               open (+ close, a landed frame read back) in the last window,
               beside the same for frames 1,001-2,000 (a mount holding 1,000
               frames, after 1,000 to warm up); target p99 <= 2 x
  views        .namfs/status, status.json, namctl status (target <= 50 ms),
               stat of checksum.txt in the mount (<= 1 ms), reading it
               through the mount beside reading BACKING's copy (<= 2 x)
  memory       the daemon's RSS and anonymous memory with the kernel's
               inode cache kept and dropped, and per frame
  cp           4 writers cp + sync of UHD frames into 4 asset folders of
               the mount holding the FRAMES-frame asset (1 writer's),
               native and namfs in turns, the ratio of every run
               (target >= 0.80 in each)
  remount      mount of the FRAMES-frame delivery with nothing changed

Frames are 64x32 DPX under the testing profile (what a UHD frame costs in
bytes is docs/performance.md's main benchmark); names are of realistic
length (~90 characters, 7-digit frame numbers). Nothing here is a test:
the figures are printed, the targets are marked, nothing fails on them.

usage: scale.py BUILDDIR [--frames N] [--window N] [--uhd N] [--runs N] [--dir DIR]
                [--writers 1,4] [--no-native]       (--runs 0: no cp runs)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import workdir

TITLE = "afeaturefilmdeliveredasoneasset"
SEQ = TITLE + "_r01_nam_16b_sdr_aces110_ap0_log_20261124_239_64x32"
UHD_SEQ = TITLE + "_r%02d_nam_16b_sdr_aces110_awg4_log_20261124_178_3840x2160"
PROFILE = ("[delivery]\nformats = dpx, exr\nresolution = any\ncolour = camera-native\n"
           "[testing]\nresolution_floor = 64x32\n")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def mounted(point):
    return any(line.split()[1] == point for line in open("/proc/mounts"))


class Mount:
    """namfs as users run it (a daemon), on BACKING at POINT."""

    def __init__(self, build, work, name, options=()):
        self.namfs = os.path.join(build, "fs/namfs/namfs")
        self.namctl = os.path.join(build, "fs/namctl/namctl")
        self.backing = os.path.join(work, name)
        self.point = os.path.join(work, name + "-mnt")
        self.options = list(options)
        os.makedirs(self.backing, exist_ok=True)
        os.makedirs(self.point, exist_ok=True)

    def mount(self):
        """Seconds until the mount serves (namfs returns once it does)."""
        start = time.perf_counter()
        run([self.namfs, *self.options, self.backing, self.point])
        return time.perf_counter() - start

    def pid(self):
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
            except OSError:
                continue
            if cmd and os.path.basename(cmd[0]) == b"namfs" and self.point.encode() in cmd:
                return int(pid)
        return None

    def unmount(self):
        if mounted(self.point):
            subprocess.run([self.namctl, "unmount", self.point], capture_output=True)


def frame_name(seq, n):
    return "%s.%07d.dpx" % (seq, n)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Timings:
    """Per-operation seconds, per window of frames."""

    def __init__(self):
        self.ops = {"create": [], "write": [], "close": [], "open": []}
        self.lock = threading.Lock()

    def add(self, op, seconds):
        with self.lock:
            self.ops[op].append(seconds)


def land(folder, data, numbers, timings, by_hand=False, reread_every=10):
    """Writes the frames numbered `numbers` into folder, timing each
    create, write and close; every reread_every-th frame is opened again
    (a landed frame read back: open) right after. by_hand: the baseline,
    what namfs promises at close() done by hand on the same disk (a temp
    name, write, fdatasync, rename to the frame's name, fsync of the
    folder, all of it timed as the close)."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for n in numbers:
            path = os.path.join(folder, frame_name(SEQ, n))
            temp = os.path.join(folder, ".tmp~" + frame_name(SEQ, n)) if by_hand else path
            t0 = time.perf_counter()
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            t1 = time.perf_counter()
            os.write(fd, data)
            t2 = time.perf_counter()
            if by_hand:
                os.fdatasync(fd)
                os.rename(temp, path)
                os.fsync(dir_fd)
            os.close(fd)
            t3 = time.perf_counter()
            timings.add("create", t1 - t0)
            timings.add("write", t2 - t1)
            timings.add("close", t3 - t2)
            if n % reread_every == 0:
                t4 = time.perf_counter()
                os.close(os.open(path, os.O_RDONLY))
                timings.add("open", time.perf_counter() - t4)
    finally:
        os.close(dir_fd)


def land_by_hand(folder, data, numbers, timings):
    land(folder, data, numbers, timings, by_hand=True)


def land_window(folder, data, first, count, writers, writer=land):
    """count frames from `first` by `writers` threads (interleaved
    numbers); (frames per second, timings)."""
    timings = Timings()
    shares = [range(first + w, first + count, writers) for w in range(writers)]
    threads = [threading.Thread(target=writer, args=(folder, data, s, timings)) for s in shares]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count / (time.perf_counter() - start), timings


def land_all(folder, data, frames, window, writers, writer):
    """1,000 frames to warm up, the next 1,000 (an idle mount holding
    1,000 frames: the latencies' baseline), then windows up to `frames`:
    (idle, first window, last window)."""
    land_window(folder, data, 1, 1000, writers, writer)
    idle = land_window(folder, data, 1001, 1000, writers, writer)
    landed, first, last = 2000, None, idle
    while landed < frames:
        count = min(window, frames - landed)
        last = land_window(folder, data, landed + 1, count, writers, writer)
        first = first or last
        landed += count
    return idle, first or idle, last


def ms(seconds):
    return "%.2f ms" % (seconds * 1000)


def report_landing(what, writers, idle, first, last, target=True):
    """Rates: the first window against the last; latencies: the idle
    mount's (frames 1,001-2,000) against the last window."""
    rate0, rate1, t0, t1 = first[0], last[0], idle[1], last[1]
    ratio = rate1 / rate0
    print("landing %s, %d writer%s: first window %.0f frames/s, last %.0f frames/s, last/first "
          "%.2f%s" % (what, writers, "s" if writers > 1 else "", rate0, rate1, ratio,
                      "  (target >= 0.90: %s)" % ("met" if ratio >= 0.9 else "MISSED")
                      if target else ""))
    for op in ("create", "write", "close", "open"):
        if not t0.ops[op] or not t1.ops[op]:
            continue
        p0, p1 = percentile(t0.ops[op], 99), percentile(t1.ops[op], 99)
        verdict = ("; target <= 2: %s" % ("met" if p1 <= 2 * p0 else "MISSED")) if target else ""
        print("  %-6s p99 idle %s, at scale %s (%.2f x%s); max at scale %s"
              % (op, ms(p0), ms(p1), p1 / p0, verdict, ms(max(t1.ops[op]))))


def timed_median(call, times=5, gap=0.0):
    """The median of `times` calls, `gap` seconds apart (while frames land,
    a gap lets each call follow a change, as a reader's would)."""
    samples = []
    for _ in range(times):
        time.sleep(gap)
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def read_all(path):
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass


def report_views(m, when, gap=0.0):
    status = os.path.join(m.point, ".namfs", "status")
    for what, call, target in (
            (".namfs/status", lambda: read_all(status), 0.050),
            (".namfs/status.json", lambda: read_all(status + ".json"), 0.050),
            ("namctl status", lambda: run([m.namctl, "status", m.point],
                                          stdout=subprocess.DEVNULL), 0.050),
            ("stat of checksum.txt in the mount",
             lambda: os.stat(os.path.join(m.point, SEQ, "checksum.txt")), 0.001)):
        t = timed_median(call, gap=gap)
        print("%-36s %s %s  (target <= %s: %s)" % (what, when, ms(t), ms(target),
                                                     "met" if t <= target else "MISSED"))
    shown = timed_median(lambda: read_all(os.path.join(m.point, SEQ, "checksum.txt")), gap=gap)
    kept = timed_median(lambda: read_all(os.path.join(m.backing, SEQ, "checksum.txt")), gap=gap)
    print("%-36s %s %s through the mount, %s BACKING's copy (page cache): %.1f x  (target <= "
          "2: %s)" % ("reading checksum.txt", when, ms(shown), ms(kept), shown / kept,
                      "met" if shown <= 2 * kept else "MISSED"))


LANDER = """
import os, sys
folder, src, n = sys.argv[1], open(sys.argv[2], "rb").read(), int(sys.argv[3])
while True:
    fd = os.open(os.path.join(folder, "%s.%07d.dpx" % (sys.argv[4], n)),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, src)
    os.close(fd)
    n += 1
"""


def views_while_landing(m, frame_file, first):
    """report_views with a writer (a process of its own) landing frames
    from `first` on meanwhile."""
    writer = subprocess.Popen([sys.executable, "-c", LANDER, os.path.join(m.point, SEQ),
                               frame_file, str(first), SEQ])
    try:
        time.sleep(0.5)  # under way before the first measurement
        report_views(m, "(landing)", gap=0.05)
    finally:
        writer.terminate()
        writer.wait()


def memory(pid):
    """(VmRSS, RssAnon) in bytes of the daemon."""
    fields = {}
    for line in open("/proc/%d/status" % pid):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            fields[key] = int(value.split()[0]) * 1024
    return fields.get("VmRSS", 0), fields.get("RssAnon", 0)


def report_memory(m, frames, at_start):
    pid = m.pid()
    if not pid:
        print("memory: the daemon's pid not found")
        return
    kept = memory(pid)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2\n")  # dentries and inodes: the kernel forgets the nodes it asked about
    time.sleep(1)  # the kernel's FORGETs reach the daemon asynchronously
    dropped = memory(pid)
    for what, (rss, anon) in (("inode cache kept", kept), ("inode cache dropped", dropped)):
        print("daemon memory, %s: RSS %.1f MB, anonymous %.1f MB; %.0f bytes per frame of "
              "anonymous memory over the start's %.1f MB" %
              (what, rss / 1e6, anon / 1e6, (anon - at_start[1]) / frames, at_start[1] / 1e6))


def cp_runs(build, work, uhd, runs, m=None):
    """4 writers cp + sync of uhd UHD frames into 4 asset folders, native and
    namfs in turns; the ratio native/namfs seconds of every run. Into m, the
    mount of the whole delivery, when given (a fresh mount otherwise)."""
    namgen = os.path.join(build, "tests/gen/namgen")
    src = tempfile.mkdtemp(prefix="namfs-scale-", dir="/dev/shm")
    try:
        for r in range(4):
            os.makedirs(os.path.join(src, UHD_SEQ % (r + 1)))
            for i in range(uhd // 4):
                run([namgen, "dpx", os.path.join(src, UHD_SEQ % (r + 1),
                                                 "%s.%07d.dpx" % (UHD_SEQ % (r + 1), 1001 + i)),
                     "--size", "3840x2160", "--seed", str(r * 1000 + i)])
        native = os.path.join(work, "cp-native")
        fresh = m is None
        if fresh:
            m = Mount(build, work, "cp-namfs")
            m.mount()
        ratios = []
        try:
            for _ in range(runs):
                seconds = []
                for root in (native, m.point):
                    for r in range(4):
                        folder = os.path.join(root, UHD_SEQ % (r + 1))
                        if os.path.isdir(folder):
                            for name in os.listdir(folder):
                                if name != "checksum.txt":
                                    os.unlink(os.path.join(folder, name))
                        os.makedirs(folder, exist_ok=True)
                    run(["sync"])
                    start = time.perf_counter()
                    procs = [subprocess.Popen(["sh", "-c", 'cp "$1"/* "$2"/', "cp",
                                               os.path.join(src, UHD_SEQ % (r + 1)),
                                               os.path.join(root, UHD_SEQ % (r + 1))])
                             for r in range(4)]
                    for p in procs:
                        p.wait()
                    run(["sync"])
                    seconds.append(time.perf_counter() - start)
                ratios.append(seconds[0] / seconds[1])
                print("cp, 4 writers + sync, %d UHD frames: native %.2f s, namfs %.2f s, ratio "
                      "%.2f" % (uhd, seconds[0], seconds[1], ratios[-1]))
        finally:
            if fresh:
                m.unmount()
        print("cp, 4 writers: lowest ratio of %d runs %.2f, median %.2f  (target >= 0.80 in "
              "every run: %s)" % (runs, min(ratios), statistics.median(ratios),
                                  "met" if min(ratios) >= 0.8 else "MISSED"))
    finally:
        shutil.rmtree(src)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builddir")
    ap.add_argument("--frames", type=int, default=150000, help="frames in the asset (150000)")
    ap.add_argument("--window", type=int, default=10000, help="frames per window (10000)")
    ap.add_argument("--uhd", type=int, default=32, help="UHD frames for the cp runs (32)")
    ap.add_argument("--runs", type=int, default=5, help="cp runs (5)")
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--writers", default="1,4", help="writer counts to land with (1,4)")
    ap.add_argument("--no-native", action="store_true", help="skip the native landing baseline")
    args = ap.parse_args()
    window = min(args.window, max(100, args.frames // 10))
    work = workdir.claim(args.dir or tempfile.mkdtemp(prefix="namfs-scale-"))
    profile = os.path.join(work, "small.ini")
    open(profile, "w").write(PROFILE)
    small = os.path.join(work, "small.dpx")
    run([os.path.join(args.builddir, "tests/gen/namgen"), "dpx", small, "--size", "64x32"])
    data = open(small, "rb").read()
    print("scale: %d frames of %d bytes, names of %d characters, windows of %d frames"
          % (args.frames, len(data), len(frame_name(SEQ, 1)), window), flush=True)

    for writers in map(int, args.writers.split(",")):
        if not args.no_native:
            native = os.path.join(work, "native-%d" % writers, SEQ)
            os.makedirs(native)
            report_landing("natively (temp, fdatasync, rename, folder fsync)", writers,
                           *land_all(native, data, args.frames, window, writers, land_by_hand),
                           target=False)
            shutil.rmtree(os.path.dirname(native))
        m = Mount(args.builddir, work, "scale-%d" % writers, ["-o", "profile=" + profile])
        m.mount()
        try:
            at_start = memory(m.pid())
            folder = os.path.join(m.point, SEQ)
            os.makedirs(folder)
            report_landing("through namfs", writers,
                           *land_all(folder, data, args.frames, window, writers, land))
            if writers == 1:
                run([m.namctl, "sync", m.point])
                report_views(m, "(idle)")
                report_memory(m, args.frames, at_start)
                views_while_landing(m, small, args.frames + 1)
        finally:
            m.unmount()
        if writers == 1:
            print("remount of the %d-frame delivery, nothing changed: %.2f s"
                  % (args.frames, m.mount()))
            try:
                if args.runs:  # into the mount holding the whole delivery
                    cp_runs(args.builddir, work, args.uhd, args.runs, m)
            finally:
                m.unmount()
    if args.runs and "1" not in args.writers.split(","):
        cp_runs(args.builddir, work, args.uhd, args.runs)
    workdir.release(work)


if __name__ == "__main__":
    sys.exit(main())
