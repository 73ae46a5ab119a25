#!/usr/bin/env python3
"""A file's fate is settled before close() returns (include/namfs/landing.h).
Every assertion here is made at the instant close() has returned: no sleep,
no waiting for the daemon.

Usage: landing_cases.py NAMFS NAMGEN NAMCTL
"""
import errno
import json
import os
import subprocess
import sys
import tempfile
import threading

import harness
from harness import Mount, check, namfs_digest, xxh128

NAMFS, NAMGEN, NAMCTL = sys.argv[1:4]
work = tempfile.mkdtemp(prefix="namfs-landing-")
harness.use(NAMFS, work)
SEQ = harness.SEQ
PROFILE = harness.small_profile(work)


def frame(n, pad=4):
    return "%s/%s.%0*d.dpx" % (SEQ, SEQ, pad, n)


def made(name, *args):
    """A DPX frame from namgen, outside the mount: its bytes."""
    path = os.path.join(work, name)
    subprocess.run([NAMGEN, "dpx", path, *args], check=True, capture_output=True)
    return open(path, "rb").read()


def write_whole(path, data):
    """open, write, close; the errno close() gave, 0 when none."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        try:
            os.close(fd)
        except OSError as e:
            return e.errno
    return 0


def digest_at_close():
    """cp returns and the digest is there, equal to xxhsum of BACKING;
    a rewrite's digest is the new bytes' at once, never the old ones'."""
    good, other = made("good.dpx"), made("other.dpx", "--seed", "7")
    with Mount("digest", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        wrong = []
        for n in range(1, 21):
            subprocess.run(["cp", os.path.join(work, "good.dpx"),
                            os.path.join(m.point, frame(n))], check=True)
            if namfs_digest(os.path.join(m.point, frame(n))) != \
                    xxh128(os.path.join(m.backing, frame(n))):
                wrong.append(n)
        check(not wrong, "right after cp returns, user.namfs.xxh128 equals xxhsum of BACKING "
              "(20 frames; wrong: %s)" % wrong)
        target = os.path.join(m.point, frame(1))
        check(write_whole(target, other) == 0 and
              namfs_digest(target) == xxh128(os.path.join(m.backing, frame(1))),
              "a rewritten frame shows its new digest as close() returns")
        fd = os.open(target, os.O_WRONLY)
        os.pwrite(fd, good[:100], 0)
        try:
            os.getxattr(target, "user.namfs.xxh128")
            check(False, "while a frame is being rewritten its digest is ENODATA, not the old one")
        except OSError as e:
            check(e.errno == errno.ENODATA,
                  "while a frame is being rewritten its digest is ENODATA, not the old one")
        os.pwrite(fd, good[100:], 100)
        os.close(fd)
        check(namfs_digest(target) == xxh128(os.path.join(m.backing, frame(1))),
              "and the new one once its close() returned")


def two_writers_at_close():
    """Two handles write one file; the first close() decides nothing, the
    second, the last writer's, lands it: its digest is there as it returns."""
    with Mount("two-writers") as m:
        path = os.path.join(m.point, "both.bin")
        a = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        b = os.open(path, os.O_WRONLY)
        os.pwrite(a, os.urandom(70000), 0)
        os.pwrite(b, os.urandom(5000), 10000)
        os.close(a)
        check(namfs_digest(path) is None, "the first of two writers' close(): no digest yet")
        os.close(b)
        check(namfs_digest(path) == xxh128(os.path.join(m.backing, "both.bin")),
              "the last writer's close(): the digest of both writers' bytes")


def refused_at_close():
    """A refused frame's close() fails and, as it returns, the frame has
    left the tree and is listed as rejected with its rule."""
    eight_bit = made("eight.dpx", "--bits", "8")
    cut = made("cut.dpx")[:-100]
    with Mount("refused", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        quarantine = os.path.join(m.backing + ".namfs", "quarantine")
        for n, data, rule, why in ((1, eight_bit, "R2", "an 8-bit frame"),
                                   (2, cut, "R7", "a truncated frame")):
            path = os.path.join(m.point, frame(n))
            failed = write_whole(path, data)
            rejected = open(os.path.join(m.point, ".namfs", "rejected")).read()
            check(failed == errno.EINVAL, "%s: close() fails with EINVAL (%s)" % (why, failed))
            check(not os.path.exists(path) and
                  os.path.basename(path) not in os.listdir(os.path.dirname(path)),
                  "%s: gone from the tree as close() returns" % why)
            check(not os.path.exists(os.path.join(m.backing, frame(n))) and
                  os.path.exists(os.path.join(quarantine, frame(n))),
                  "%s: in the quarantine, not in BACKING" % why)
            check(frame(n) in rejected and ("\t%s\t" % rule) in rejected,
                  "%s: listed in .namfs/rejected with %s" % (why, rule))


def duplicate_race():
    """Two writers of one frame number under two paddings (S5) close at
    the same instant into an empty asset, where either alone would land:
    exactly one close() succeeds, every time."""
    data = made("race.dpx")
    with Mount("race", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        outcomes = []
        for n in range(3001, 3011):
            barrier = threading.Barrier(2)
            results = {}

            def writer(rel):
                fd = os.open(os.path.join(m.point, rel), os.O_WRONLY | os.O_CREAT, 0o644)
                os.write(fd, data)
                barrier.wait()
                try:
                    os.close(fd)
                    results[rel] = 0
                except OSError as e:
                    results[rel] = e.errno
            threads = [threading.Thread(target=writer, args=(rel,))
                       for rel in (frame(n), frame(n, 5))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            outcomes.append(sorted(results.values()))
            for rel in results:  # the asset is empty again for the next pair
                if os.path.exists(os.path.join(m.point, rel)):
                    os.unlink(os.path.join(m.point, rel))
        check(all(o == [0, errno.EINVAL] for o in outcomes),
              "S5 race: exactly one of two closes succeeds, the other EINVAL, 10 of 10: %s"
              % outcomes)


def status_at_close():
    """.namfs/status.json counts a frame as it lands and a refusal as it is
    refused, with every gap as a range; namctl status --json is that view."""
    data, bad = made("frame.dpx"), made("bad.dpx", "--bits", "8")
    with Mount("status", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        for n in (1, 2, 4, 7):
            write_whole(os.path.join(m.point, frame(n)), data)
        write_whole(os.path.join(m.point, frame(8)), bad)
        view = json.load(open(os.path.join(m.point, ".namfs", "status.json")))
        asset = view["assets"][0] if view["assets"] else {}
        check(view["schema"] == 1 and asset.get("asset") == "%s/%s" % (SEQ, SEQ) and
              asset.get("frames") == 4 and (asset.get("first"), asset.get("last")) == (1, 7),
              "status.json: the asset, its 4 frames, 1-7, as their closes returned: %s" % asset)
        check(asset.get("gaps") == [[3, 3], [5, 6]] and asset.get("refused") == 1,
              "status.json: every gap as a range, the refusal counted: %s" % asset)
        check([r["rule"] for r in view["rejected"]] == ["R2"] and
              view["rejected"][0]["where"] == "quarantine" and view["read_only"] is None,
              "status.json: the refusal listed with its rule: %s" % view["rejected"])
        run = subprocess.run([NAMCTL, "status", "--json", m.point], capture_output=True,
                             text=True)
        check(run.returncode == 0 and json.loads(run.stdout)["assets"] == view["assets"],
              "namctl status --json is the mount's status.json")


def textless_gaps():
    """A textless insert covers parts of its texted asset's range: its gaps
    are shown but do not stop its seal (as namctl check does not count
    them); a texted asset's gap does."""
    data = made("texted.dpx")
    txt = SEQ.replace("_nam_", "_nam-txtls_")
    with Mount("textless", "-o", "profile=" + PROFILE) as m:
        for folder, frames in ((SEQ, (1, 2, 3, 5)), (txt, (2, 4))):
            os.makedirs(os.path.join(m.point, folder))
            for n in frames:
                write_whole(os.path.join(m.point, folder, "%s.%04d.dpx" % (folder, n)), data)
        view = json.load(open(os.path.join(m.point, ".namfs", "status.json")))
        shown = {a["asset"].split("/")[0]: (a["textless"], a["gaps"]) for a in view["assets"]}
        check(shown == {SEQ: (False, [[4, 4]]), txt: (True, [[3, 3]])},
              "status.json: both assets' gaps, the insert marked textless: %s" % shown)
        seal = lambda folder: subprocess.run([NAMCTL, "seal", os.path.join(m.point, folder)],
                                             capture_output=True, text=True)
        run = seal(txt)
        check(run.returncode == 0, "the textless insert seals despite its gap: %s"
              % run.stderr.strip())
        run = seal(SEQ)
        check(run.returncode != 0 and "frame 4 missing" in run.stderr,
              "the texted asset's gap stops its seal (S2): %s" % run.stderr.strip())


def read_calls(pid):
    """The daemon's read system calls so far (/proc/PID/io syscr)."""
    for line in open("/proc/%d/io" % pid):
        if line.startswith("syscr:"):
            return int(line.split()[1])
    return 0


def leaders_as_they_pass():
    """R7 by every chunk leader costs the mount no read of them: an EXR of
    4,000 uncompressed chunks (namgen, OpenEXRCore's writer) written in
    order lands with far fewer reads by the daemon than the same bytes
    written out of order (the leaders it did not see pass are read back at
    close); a zeroed leader in the middle is refused as close() returns."""
    exr_seq = SEQ.replace("_log_", "_linear_").replace("_64x32", "_64x4000")
    path = os.path.join(work, "tall.exr")
    subprocess.run([NAMGEN, "exr", path, "--size", "64x4000", "--compression", "none",
                    "--chroma", "ap0"], check=True)
    data = open(path, "rb").read()
    name = lambda n: "%s/%s.%04d.exr" % (exr_seq, exr_seq, n)
    with Mount("leaders", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, exr_seq))
        pid = m.proc.pid
        before = read_calls(pid)
        status = write_whole(os.path.join(m.point, name(1)), data)
        in_order = read_calls(pid) - before
        half = len(data) // 2
        before = read_calls(pid)
        fd = os.open(os.path.join(m.point, name(2)), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, data[half:], half)  # the second half first
            os.pwrite(fd, data[:half], 0)
        finally:
            try:
                os.close(fd)
                status2 = 0
            except OSError as e:
                status2 = e.errno
        out_of_order = read_calls(pid) - before
        check(status == 0 and status2 == 0, "both land (close: %d, %d)" % (status, status2))
        check(in_order * 4 < out_of_order,
              "in order the daemon reads no leader back: %d read calls, out of order %d "
              "(4,000 chunks)" % (in_order, out_of_order))
        # the 2,000th chunk's leader, found from its offset-table entry: the
        # chunks (an 8-byte leader and 64x3 halves each) end the file, the
        # table comes right before them
        chunks = len(data) - 4000 * (64 * 3 * 2 + 8)
        entry = chunks - 4000 * 8 + 8 * 2000
        at = int.from_bytes(data[entry:entry + 8], "little")
        damaged = bytearray(data)
        damaged[at:at + 8] = bytes(8)
        status = write_whole(os.path.join(m.point, name(3)), bytes(damaged))
        rejected = open(os.path.join(m.point, ".namfs", "rejected")).read()
        check(status == errno.EINVAL and "chunk 2000: expected scanline 2000 in its leader, "
              "found 0" in rejected, "a zeroed leader is refused at close: %d %r"
              % (status, rejected))


harness.run_cases([digest_at_close, two_writers_at_close, refused_at_close, duplicate_race, status_at_close,
                   textless_gaps, leaders_as_they_pass], "LANDING_CASES")
