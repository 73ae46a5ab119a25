#!/usr/bin/env python3
"""Every workload of docs/performance.md on three targets, side by side in
one run: native (a folder on the same disk), namfs -o bare (namfs's FUSE
setup alone) and namfs as users run it; with --reference also libfuse's
example passthrough. Targets take turns (A B C, B C A, C A B ...) for
--reps rounds after a warm-up round; medians and ratios are printed,
because the machine is noisy.

usage: bench.py BUILDDIR [--dir DIR] [--frames N] [--reps N] [--small N]
                [--rss-frames N] [--only NAME,...] [--quick] [--json FILE]
                [--reference]
"""
import argparse
import glob
import json
import mmap
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import workdir

MB = 1e6
ZERO_MIB = b"\1" * (1 << 20)
UHD = "3840x2160"
DPX_SEQ = "bench_s01e01_nam_16b_sdr_aces110_awg4_log_20261124_178_3840x2160"
EXR_SEQ = "bench_s01e02_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160"
SMALL_SEQ = "bench_s01e03_nam_16b_sdr_aces110_awg4_log_20261124_178_64x32"
# libfuse: libfuse's own example passthrough (--reference), what FUSE
# alone reaches here without namfs's code
TARGETS = ("native", "libfuse", "bare", "namfs")
EXAMPLES = "/usr/share/doc/libfuse3-dev/examples"


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def touch_memory():
    """Writes once to (nearly) all free memory and frees it again. In a
    virtual machine the first write to a page of guest memory is slow (the
    host maps it in); the page cache of a long-running staging server was
    touched long ago, so that cost must not land in the figures."""
    avail = next(int(l.split()[1]) * 1024 for l in open("/proc/meminfo")
                 if l.startswith("MemAvailable:"))
    size = max(0, avail - (2 << 30)) & ~((1 << 20) - 1)
    if not size:
        return
    print("touching %.1f GB of free memory once (untimed)" % (size / 1e9), flush=True)
    m = mmap.mmap(-1, size)
    for off in range(0, size, 1 << 20):
        m[off:off + (1 << 20)] = ZERO_MIB
    m.close()


def drop_caches():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


class Target:
    """A place to write to: a plain folder, or a FUSE mount over one."""

    def __init__(self, name, folder, work, daemon=None):
        """daemon None: native; otherwise daemon(BACKING, MOUNTPOINT) gives
        the command to mount and the path under which BACKING appears."""
        self.name = name
        self.backing = os.path.join(work, folder)
        self.daemon = None
        os.makedirs(self.backing)
        if daemon is None:
            self.root = self.backing
            return
        self.mountpoint = os.path.join(work, folder + "-mnt")
        os.makedirs(self.mountpoint)
        command, self.root = daemon(self.backing, self.mountpoint)
        self.daemon = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not self.mounted():
            if time.time() > deadline or self.daemon.poll() is not None:
                raise RuntimeError("%s did not mount at %s" % (command[0], self.mountpoint))
            time.sleep(0.05)

    def mounted(self):
        return any(line.split()[1] == self.mountpoint for line in open("/proc/mounts"))

    def cpu_seconds(self):
        """User + system CPU of the daemon so far (0 for native)."""
        if not self.daemon:
            return 0.0
        fields = open("/proc/%d/stat" % self.daemon.pid).read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_kb(self, field):
        """A /proc status field of the daemon: VmRSS, or VmHWM (its peak)."""
        for line in open("/proc/%d/status" % self.daemon.pid):
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def close(self):
        if self.daemon:
            subprocess.run(["fusermount3", "-u", self.mountpoint], capture_output=True)
            try:
                self.daemon.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.daemon.kill()


class Result:
    """Per workload and target: wall seconds, bytes, daemon CPU seconds."""

    def __init__(self):
        self.runs = {}

    def add(self, workload, target, seconds, nbytes, cpu):
        self.runs.setdefault(workload, {}).setdefault(target, []).append((seconds, nbytes, cpu))

    def median_rate(self, workload, target):
        runs = self.runs.get(workload, {}).get(target)
        return statistics.median(b / s / MB for s, b, _ in runs) if runs else None

    def spread(self, workload, target):
        """(max - min) / median of the rates: how noisy the cell was."""
        runs = self.runs.get(workload, {}).get(target)
        if not runs or len(runs) < 2:
            return None
        rates = [b / s / MB for s, b, _ in runs]
        return (max(rates) - min(rates)) / statistics.median(rates)

    def cpu_per_gb(self, workload, target):
        runs = self.runs.get(workload, {}).get(target)
        if not runs or target == "native":
            return None
        return statistics.median(c / (b / 1e9) for _, b, c in runs)


def namfs_daemon(namfs, options):
    opts = ["-o", ",".join(options)] if options else []
    return lambda backing, mnt: ([namfs, "-f", *opts, backing, mnt], mnt)


def libfuse_daemon(work):
    """libfuse's example passthrough.c, built from the copy Debian ships; it
    mirrors / at the mount point."""
    binary = os.path.join(work, "passthrough")
    cflags = run(["pkg-config", "--cflags", "--libs", "fuse3"], capture_output=True,
                 text=True).stdout.split()
    run(["cc", "-O2", "-DHAVE_UTIMENSAT", "-DHAVE_POSIX_FALLOCATE", "-DHAVE_SETXATTR",
         "-I", EXAMPLES, os.path.join(EXAMPLES, "passthrough.c"), *cflags,
         "-o", binary])
    return lambda backing, mnt: ([binary, "-f", mnt], mnt + backing)


def timed(result, workload, target, nbytes, action, durable=False, clean=False):
    """Times action; with durable, also the time until its data is on disk
    (sync after it), recorded as "WORKLOAD, on disk". With clean, the page
    cache is emptied first, so every write run starts from the same memory
    state instead of reclaiming what the runs before it left."""
    os.sync()  # untimed: no dirty pages carried into this run
    if clean:
        drop_caches()
    cpu0 = target.cpu_seconds()
    t0 = time.monotonic()
    seconds = action()
    wall = time.monotonic() - t0
    result.add(workload, target.name, seconds if isinstance(seconds, float) else wall, nbytes,
               target.cpu_seconds() - cpu0)
    if durable:
        os.sync()
        result.add(workload + ", on disk", target.name, time.monotonic() - t0, nbytes,
                   target.cpu_seconds() - cpu0)


def fresh(target, folder):
    """An empty sequence folder, but for a checksum.txt namfs keeps there
    (manifests cannot be deleted through the mount)."""
    path = os.path.join(target.root, folder)
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name != "checksum.txt":
            os.unlink(os.path.join(path, name))
    return path


def size_of(paths):
    return sum(os.path.getsize(p) for p in paths)


def parallel(commands):
    procs = [subprocess.Popen(c) for c in commands]
    if any(p.wait() != 0 for p in procs):
        raise RuntimeError("a writer failed: %s" % commands)


def rotated(targets, round_no):
    """Each round starts with another target: what one run leaves behind
    (page cache to reclaim, writeback) must not always hit the same one."""
    k = round_no % len(targets)
    return targets[k:] + targets[:k]


def split(items, n):
    return [items[i::n] for i in range(n)]


# ---- the workloads --------------------------------------------------------

def w_copy(src, result, targets, writers):
    frames = sorted(glob.glob(os.path.join(src, "*.dpx")))
    name = "cp, %d writer%s" % (writers, "s" if writers > 1 else "")
    for t in targets:
        dest = fresh(t, DPX_SEQ)
        timed(result, name, t, size_of(frames),
              lambda: parallel([["cp", *part, dest] for part in split(frames, writers)]),
              durable=True, clean=True)


def w_exr(exr_source, count, result, targets, exrwrite):
    for t in targets:
        dest = fresh(t, EXR_SEQ)
        outs = [os.path.join(dest, "%s.%04d.exr" % (EXR_SEQ, 1001 + i)) for i in range(count)]
        timed(result, "OpenEXR-style writer", t, os.path.getsize(exr_source) * count,
              lambda: float(run([exrwrite, exr_source, *outs], capture_output=True,
                                text=True).stdout), clean=True)


def w_rsync(src, count, result, targets):
    frames = sorted(glob.glob(os.path.join(src, "*.dpx")))[:count]
    for t in targets:
        dest = fresh(t, DPX_SEQ)
        timed(result, "rsync -a", t, size_of(frames),
              lambda: run(["rsync", "-a", *frames, dest + "/"]), clean=True)


def read_with(readers, frames):
    parallel([["sh", "-c", 'cat "$@" > /dev/null', "cat", *part]
              for part in split(frames, readers)])


def wait_finished(t, frames):
    """Until namfs has landed every frame (it syncs each to disk at release,
    after cp has returned) and written the manifests: a finished package is
    what transfer tools read (tar would see checksum.txt being replaced)."""
    deadline = time.monotonic() + 120
    status = os.path.join(t.mountpoint, ".namfs", "status")

    def finished():
        try:
            for f in frames:
                os.getxattr(f, "user.namfs.xxh128")
            return "manifests current" in open(status).read()
        except OSError:
            return False
    while not finished():
        if time.monotonic() > deadline:
            raise RuntimeError("%s: frames not landed within 120 s" % t.root)
        time.sleep(0.01)


def w_read_warm(result, t):
    """Reads out the frames t's last copy wrote, as they are right after
    writing (whatever t keeps cached; a transfer tool reading a package soon
    after delivery)."""
    frames = sorted(glob.glob(os.path.join(t.root, DPX_SEQ, "*.dpx")))
    nbytes = size_of(frames)
    if t.name == "namfs":
        wait_finished(t, frames)
    timed(result, "read, 1 reader", t, nbytes,
          lambda: run(["cat", *frames], stdout=subprocess.DEVNULL))
    timed(result, "read, 4 readers", t, nbytes, lambda: read_with(4, frames))
    # tar spots an output of /dev/null and then reads nothing: pipe it
    timed(result, "tar c | cat", t, nbytes,
          lambda: run(["sh", "-c", 'tar cf - -C "$1" . | cat > /dev/null', "tar",
                       os.path.join(t.root, DPX_SEQ)]))


def w_read_cold(result, targets):
    """The same frames from disk (all caches dropped)."""
    for t in targets:
        frames = sorted(glob.glob(os.path.join(t.root, DPX_SEQ, "*.dpx")))
        drop_caches()
        timed(result, "read, 4 readers, cold", t, size_of(frames),
              lambda: read_with(4, frames))


def w_small(src_small, result, targets):
    files = os.listdir(src_small)
    nbytes = size_of(os.path.join(src_small, f) for f in files)
    for t in targets:
        dest = fresh(t, SMALL_SEQ)
        timed(result, "%d small files, cp" % len(files), t, nbytes,
              lambda: run(["sh", "-c", 'cd "$1" && cp -- * "$2"/', "cp", src_small, dest]),
              clean=True)


def checkpoint_latency(src, target, namctl):
    """cp of the frames into namfs, then the time until BACKING holds a
    checksum.txt listing all of them and an MHL history that says what it
    must: its newest generation carries the asset's ignore pattern (the
    custody model writes no generation per pause, docs/user-guide.md)."""
    frames = sorted(glob.glob(os.path.join(src, "*.dpx")))
    dest = fresh(target, DPX_SEQ)
    run([namctl, "sync", target.mountpoint])  # checksum.txt of the emptied folder, empty
    os.sync()
    mhl = os.path.join(target.backing, "ascmhl")
    pattern = "<pattern>**/%s/</pattern>" % DPX_SEQ
    t0 = time.monotonic()
    run(["cp", *frames, dest])
    copied = time.monotonic()
    listed = os.path.join(target.backing, DPX_SEQ, "checksum.txt")
    names = {os.path.basename(f) for f in frames}
    while True:
        try:
            lines = {l.split("\t")[0] for l in open(listed).read().splitlines()}
            gens = sorted(g for g in os.listdir(mhl) if g.endswith(".mhl"))
            current = bool(gens) and pattern in open(os.path.join(mhl, gens[-1])).read()
        except OSError:
            lines, current = set(), False
        if names <= lines and current:
            break
        if time.monotonic() - copied > 120:
            raise RuntimeError("manifests did not appear in BACKING within 120 s")
        time.sleep(0.01)
    done = time.monotonic()
    return copied - t0, done - copied


def vendor_today(src, target):
    """cp natively, then xxhsum -H2 over everything."""
    frames = sorted(glob.glob(os.path.join(src, "*.dpx")))
    dest = fresh(target, DPX_SEQ)
    os.sync()
    t0 = time.monotonic()
    run(["cp", *frames, dest])
    copied = time.monotonic()
    with open(os.path.join(dest, "checksum.txt"), "w") as out:
        run(["xxhsum", "-H2", *sorted(glob.glob(os.path.join(dest, "*.dpx")))], stdout=out)
    return copied - t0, time.monotonic() - copied


def rss_growth(namfs, work, small_frame, total, step):
    """Peak RSS of a daemon that lands `total` small frames, read every
    `step` frames."""
    profile = os.path.join(work, "small.ini")
    t = Target("namfs", "rss", work, namfs_daemon(namfs, ["profile=" + profile]))
    samples = []
    try:
        seq = fresh(t, SMALL_SEQ)
        data = open(small_frame, "rb").read()
        for start in range(0, total, step):
            for n in range(start + 1, start + step + 1):
                with open(os.path.join(seq, "%s.%06d.dpx" % (SMALL_SEQ, n)), "wb") as f:
                    f.write(data)
            samples.append((start + step, t.memory_kb("VmRSS"), t.memory_kb("VmHWM")))
        # the kernel forgets the inodes it cached (libfuse then frees its
        # node for each); what stays is namfs's own memory
        drop_caches()
        time.sleep(1.5)
        samples.append(("forgotten", t.memory_kb("VmRSS"), t.memory_kb("VmHWM")))
    finally:
        t.close()
    return samples


# ---- report ---------------------------------------------------------------

def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"


def report(result):
    rows = []
    shown = [t for t in TARGETS if any(t in runs for runs in result.runs.values())]
    mounts = [t for t in shown if t != "native"]
    print("\n%-26s" % "workload (MB/s, median)" + "".join("%10s" % t for t in shown) +
          "%13s %11s" % ("namfs/native", "namfs/bare") +
          ("%16s" % "libfuse/native" if "libfuse" in shown else "") +
          "  CPU s/GB " + "|".join(t[0] for t in mounts))
    for workload in result.runs:
        rate = {t: result.median_rate(workload, t) for t in shown}
        cpu = [result.cpu_per_gb(workload, t) for t in mounts]
        print("%-26s" % workload +
              "".join("%10s" % ("%.0f" % rate[t] if rate[t] else "-") for t in shown) +
              "%13s %11s" % (ratio(rate["namfs"], rate["native"]),
                             ratio(rate["namfs"], rate["bare"])) +
              ("%16s" % ratio(rate["libfuse"], rate["native"]) if "libfuse" in shown else "") +
              "  " + "|".join("%.2f" % c if c is not None else "-" for c in cpu))
        rows.append({"workload": workload, "mb_per_s": rate,
                     "daemon_cpu_s_per_gb": dict(zip(mounts, cpu)),
                     "runs_s_bytes_cpu": result.runs[workload]})
    noisy = [(w, t, result.spread(w, t)) for w in result.runs for t in shown]
    noisy = [(w, t, x) for w, t, x in noisy if x is not None and x > 0.25]
    if noisy:
        print("noisy cells (max-min over median > 25%%): %s" %
              "; ".join("%s/%s %.0f%%" % (w, t, 100 * x) for w, t, x in noisy))
    return rows


def make_sources(builddir, work, args):
    namgen = os.path.join(builddir, "tests/gen/namgen")
    shm = tempfile.mkdtemp(prefix="namfs-bench-", dir="/dev/shm")
    src = os.path.join(shm, "dpx")
    os.makedirs(src)
    for i in range(args.frames):
        run([namgen, "dpx", os.path.join(src, "%s.%04d.dpx" % (DPX_SEQ, 1001 + i)),
             "--size", UHD, "--seed", str(i)])
    exr = os.path.join(shm, "frame.exr")
    run([namgen, "exr", exr, "--size", UHD, "--compression", "none", "--chroma", "ap0"])
    small_frame = os.path.join(shm, "small.dpx")
    run([namgen, "dpx", small_frame, "--size", "64x32"])
    small = os.path.join(shm, SMALL_SEQ)
    os.makedirs(small)
    data = open(small_frame, "rb").read()
    for n in range(1, args.small + 1):
        with open(os.path.join(small, "%s.%05d.dpx" % (SMALL_SEQ, n)), "wb") as f:
            f.write(data)
    with open(os.path.join(work, "small.ini"), "w") as f:
        f.write("[delivery]\nformats = dpx, exr\nresolution = any\ncolour = camera-native\n"
                "[testing]\nresolution_floor = 64x32\n")
    return shm, src, exr, small, small_frame


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("builddir")
    ap.add_argument("--dir", default="bench-work",
                    help="work folder on the disk to measure (default ./bench-work)")
    ap.add_argument("--frames", type=int, default=40, help="UHD frames per copy (40)")
    ap.add_argument("--reps", type=int, default=5, help="rounds of every workload (5)")
    ap.add_argument("--warmup", type=int, default=1, help="unrecorded rounds first (1)")
    ap.add_argument("--small", type=int, default=20000, help="small files (20000)")
    ap.add_argument("--rss-frames", type=int, default=50000, help="frames for RSS (50000)")
    ap.add_argument("--only", default="", help="comma list: cp,exr,rsync,read,small,manifest,rss")
    ap.add_argument("--quick", action="store_true", help="a small smoke run")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--reference", action="store_true",
                    help="also run libfuse's example passthrough (FUSE's own ceiling here)")
    args = ap.parse_args()
    if args.quick:
        args.frames, args.reps, args.warmup, args.small, args.rss_frames = 4, 1, 0, 500, 2000
    only = set(filter(None, args.only.split(",")))
    want = lambda name: not only or name in only
    namfs = os.path.join(args.builddir, "fs/namfs/namfs")
    exrwrite = os.path.join(args.builddir, "tests/bench/bench_exrwrite")
    work = os.path.abspath(args.dir)
    if os.path.exists(work):
        for line in open("/proc/mounts"):
            if line.split()[1].startswith(work + "/"):
                subprocess.run(["fusermount3", "-u", line.split()[1]], capture_output=True)
    work = workdir.claim(work)
    shm, src, exr, small, small_frame = make_sources(args.builddir, work, args)
    if not args.quick:
        drop_caches()
        touch_memory()
    result, targets, extra = Result(), [], {}
    try:
        targets = [Target("native", "native", work),
                   Target("bare", "bare", work, namfs_daemon(namfs, ["bare"])),
                   Target("namfs", "namfs", work, namfs_daemon(namfs, []))]
        if args.reference:
            targets.insert(1, Target("libfuse", "libfuse", work, libfuse_daemon(work)))
        half = max(1, args.frames // 2)
        # a first, unrecorded round: a fresh VM is slow the first time it
        # touches memory, and that must not land in one target's figures
        for rep in range(-args.warmup, args.reps):
            print("round %d of %d%s" % (rep + 1 + args.warmup, args.reps + args.warmup,
                                        " (warm-up, not recorded)" if rep < 0 else ""),
                  flush=True)
            into = result if rep >= 0 else Result()
            order = rotated(targets, rep)
            for t in order:  # each target's reads follow its own copy
                if want("cp"):
                    w_copy(src, into, [t], 1)
                    w_copy(src, into, [t], 4)
                if want("read"):
                    w_read_warm(into, t)
            if want("read"):
                w_read_cold(into, order)
            if want("exr"):
                w_exr(exr, half, into, order, exrwrite)
            if want("rsync"):
                w_rsync(src, half, into, order)
        for t in targets:
            t.close()
        if want("small"):
            small_profile = "profile=" + os.path.join(work, "small.ini")
            targets = [Target("native", "native-small", work),
                       Target("bare", "bare-small", work, namfs_daemon(namfs, ["bare"])),
                       Target("namfs", "namfs-small", work,
                              namfs_daemon(namfs, [small_profile]))]
            for rep in range(-args.warmup, args.reps):
                w_small(small, result if rep >= 0 else Result(), rotated(targets, rep))
            for t in targets:
                t.close()
        rows = report(result)
        if want("manifest"):
            t = Target("namfs", "latency", work, namfs_daemon(namfs, []))
            native = Target("native", "latency-native", work)
            try:
                lat = [checkpoint_latency(src, t, os.path.join(args.builddir, "fs/namctl/namctl"))
                       for _ in range(args.reps)]
                today = [vendor_today(src, native) for _ in range(args.reps)]
            finally:
                t.close()
            copy_n, wait_n = (statistics.median(x) for x in zip(*lat))
            copy_v, hash_v = (statistics.median(x) for x in zip(*today))
            print("\nlast frame closed -> checksum.txt and the MHL history current in BACKING: "
                  "%.2f s (copy through namfs took %.2f s)" % (wait_n, copy_n))
            print("vendor today: native cp %.2f s, then xxhsum -H2 over the %d frames %.2f s "
                  "(cold page cache would be slower)" % (copy_v, args.frames, hash_v))
            print("total to a manifest: namfs %.2f s, native cp + xxhsum %.2f s" %
                  (copy_n + wait_n, copy_v + hash_v))
            extra["manifest"] = {"namfs_copy_s": copy_n, "namfs_wait_s": wait_n,
                                 "native_copy_s": copy_v, "xxhsum_s": hash_v}
        if want("rss"):
            step = max(1, args.rss_frames // 5)
            samples = rss_growth(namfs, work, small_frame, args.rss_frames, step)
            print("\ndaemon memory while frames land (small frames, testing profile):")
            for n, rss, hwm in samples[:-1]:
                print("  %6d frames landed: RSS %6.1f MB, peak %6.1f MB" %
                      (n, rss / 1024, hwm / 1024))
            print("  once the kernel forgets its cached inodes: RSS %.1f MB" %
                  (samples[-1][1] / 1024))
            first, last = samples[0], samples[-2]
            if last[0] > first[0]:
                print("  peak RSS growth after the first %d frames: %.0f bytes per frame" %
                      (first[0], (last[2] - first[2]) * 1024 / (last[0] - first[0])))
            extra["rss"] = samples
        if args.json:
            json.dump({"rows": rows, **extra}, open(args.json, "w"), indent=1)
    finally:
        for t in targets:
            t.close()
        for line in open("/proc/mounts"):
            if line.split()[1].startswith(work + "/"):
                subprocess.run(["fusermount3", "-u", line.split()[1]], capture_output=True)
        shutil.rmtree(shm, ignore_errors=True)
        workdir.release(work)
        shutil.rmtree(work + ".namfs", ignore_errors=True)


if __name__ == "__main__":
    main()
