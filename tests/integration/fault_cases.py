#!/usr/bin/env python3
"""Faults on purpose (issue 7): the daemon killed or stopped mid-write,
BACKING changed behind the mount, full disks (BACKING's and the
catalog's), a sync to disk that fails, the quarantine on another
filesystem, hostile names, many writers at once. Each case really mounts
namfs and unmounts on every path; each asserts what docs/reliability.md
promises.

Usage: fault_cases.py NAMFS NAMGEN NAMCTL FAILFS
"""
import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tempfile

import harness
from harness import Mount, check, eventually, mounted, namfs_digest, xxh128

NAMFS, NAMGEN, NAMCTL, FAILFS = sys.argv[1:5]
work = tempfile.mkdtemp(prefix="namfs-fault-")
harness.use(NAMFS, work)
SEQ = harness.SEQ
PROFILE = harness.small_profile(work)

# Writes the first half of a frame, says so, and waits holding it open.
HALF_WRITER = """
import sys, time
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as out:
    out.write(data[:len(data) // 2])
    out.flush()
    open(sys.argv[3], "w").close()
    time.sleep(60)
"""


def frame(n):
    return "%s/%s.%04d.dpx" % (SEQ, SEQ, n)


def generations(backing):
    history = os.path.join(backing, "ascmhl")
    return sorted(g for g in os.listdir(history) if g.endswith(".mhl")) \
        if os.path.isdir(history) else []


def integrity(state):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(state, "catalog.sqlite"), uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def listed_anywhere(backing, rel):
    """Whether checksum.txt or any MHL generation in BACKING lists rel as a
    file (a generation naming it as gone, in an ignore pattern, does not)."""
    listing = os.path.join(backing, os.path.dirname(rel), "checksum.txt")
    lines = open(listing).read().splitlines() if os.path.exists(listing) else []
    history = os.path.join(backing, "ascmhl")
    entry = ">%s</path>" % rel
    return any(l.split("\t")[0] == os.path.basename(rel) for l in lines) or \
        any(entry in open(os.path.join(history, g)).read() for g in generations(backing))


def kill_during_writes():
    """kill -9 while 4 writers are mid-frame: after a remount every frame
    written whole is landed with its bytes' hash, every partial one is in
    no manifest and is reported, the catalog is sound and BACKING
    verifies."""
    m = Mount("crash", "-o", "profile=%s,quiet=0.2" % PROFILE)
    source = os.path.join(work, "source.dpx")
    subprocess.run([NAMGEN, "dpx", source, "--seed", "7"], check=True)
    writers = []
    with m:
        os.makedirs(os.path.join(m.point, SEQ))
        for n in range(1, 7):
            subprocess.run([NAMGEN, "dpx", os.path.join(m.point, frame(n)), "--seed", str(n)],
                           check=True)
        check(all(namfs_digest(os.path.join(m.point, frame(n))) for n in range(1, 5)),
              "whole frames land before the kill")
        for n in range(7, 11):
            ready = os.path.join(work, "ready-%d" % n)
            writers.append(subprocess.Popen([sys.executable, "-c", HALF_WRITER, source,
                                             os.path.join(m.point, frame(n)), ready],
                                            stderr=subprocess.DEVNULL))
        check(eventually(lambda: all(os.path.exists(os.path.join(work, "ready-%d" % n))
                                     for n in range(7, 11))), "4 writers are mid-frame")
        m.kill()
        for w in writers:
            w.kill()
            w.wait()
    whole = [frame(n) for n in range(1, 7)]
    partial = [frame(n) for n in range(7, 11)]
    check(integrity(m.backing + ".namfs") == "ok",
          "the catalog passes PRAGMA integrity_check after kill -9")
    with m:
        check(all(namfs_digest(os.path.join(m.point, f)) == xxh128(os.path.join(m.backing, f))
                  for f in whole),
              "after the remount every whole frame is landed with the hash of its bytes")
        status = subprocess.run([NAMCTL, "status", m.point], capture_output=True, text=True)
        check(all(os.path.basename(f) in status.stdout for f in partial) and
              all(namfs_digest(os.path.join(m.point, f)) is None for f in partial),
              "every partial frame is reported by namctl status and not landed: %s"
              % status.stdout[-400:])
        rejected = open(os.path.join(m.point, ".namfs", "rejected")).read()
        check(all(os.path.basename(f) in rejected and "R7" in rejected for f in partial),
              "and listed in .namfs/rejected as incomplete (R7)")
    check(not any(listed_anywhere(m.backing, f) for f in partial) and
          all(listed_anywhere(m.backing, f) for f in whole),
          "no manifest in BACKING lists a partial frame; every whole frame is listed: %s"
          % sorted(os.listdir(os.path.join(m.backing, SEQ))))
    run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
    check(run.returncode == 0, "BACKING verifies after the crash and remount (%s)"
          % (run.stdout + run.stderr).strip()[-600:])


def start_half_writers(m, source, numbers):
    """Writers that each write half a frame and hold it open."""
    writers = []
    for n in numbers:
        ready = os.path.join(work, "ready-%s-%d" % (os.path.basename(m.point), n))
        writers.append(subprocess.Popen([sys.executable, "-c", HALF_WRITER, source,
                                         os.path.join(m.point, frame(n)), ready],
                                        stderr=subprocess.DEVNULL))
    check(eventually(lambda: all(os.path.exists(os.path.join(
        work, "ready-%s-%d" % (os.path.basename(m.point), n))) for n in numbers)),
        "%d writers are mid-frame" % len(numbers))
    return writers


def stop_during_writes():
    """SIGTERM while 4 writers are mid-frame: namfs exits 0 and writes the
    manifests for what landed; the partial frames are in none and are
    reported at the next mount. fusermount3 -u while a frame is open is
    refused (busy); once the writer is done it unmounts, the frame landed."""
    m = Mount("term", "-o", "profile=%s,quiet=600" % PROFILE)
    source = os.path.join(work, "source.dpx")
    subprocess.run([NAMGEN, "dpx", source, "--seed", "7"], check=True)
    with m:
        os.makedirs(os.path.join(m.point, SEQ))
        for n in (1, 2, 3):
            write_frame(os.path.join(m.point, frame(n)), n)
        check(all(namfs_digest(os.path.join(m.point, frame(n))) for n in (1, 2, 3)),
              "3 frames landed")
        writers = start_half_writers(m, source, range(4, 8))
        m.proc.send_signal(signal.SIGTERM)
        code = m.proc.wait(timeout=30)
        for w in writers:
            w.kill()
            w.wait()
        check(code == 0, "SIGTERM during writes: exit 0 (exit %s)" % code)
        log = open(m.log).read()
        check(all("%s was still being written at unmount" % os.path.basename(frame(n)) in log
                  for n in range(4, 8)), "the daemon's log names the 4 frames left unfinished")
    check(all(listed_anywhere(m.backing, frame(n)) for n in (1, 2, 3)) and
          not any(listed_anywhere(m.backing, frame(n)) for n in range(4, 8)),
          "manifests written at exit list the landed frames, no partial one")
    with m:
        rejected = open(os.path.join(m.point, ".namfs", "rejected")).read()
        check(all(os.path.basename(frame(n)) in rejected for n in range(4, 8)),
              "the next mount reports the 4 partial frames (R7)")
        done = os.path.join(work, "writer-done")
        slow = subprocess.Popen([sys.executable, "-c", HALF_WRITER.replace(
            "time.sleep(60)", "time.sleep(1.5)\n    out.write(data[len(data) // 2:])"),
            source, os.path.join(m.point, frame(9)), done])
        check(eventually(lambda: os.path.exists(done)), "a writer is mid-frame")
        busy = subprocess.run(["fusermount3", "-u", m.point], capture_output=True, text=True)
        check(busy.returncode != 0 and "busy" in busy.stderr.lower(),
              "fusermount3 -u while it writes is refused as busy (%s)" % busy.stderr.strip())
        check(slow.wait(timeout=20) == 0, "the writer finishes its frame")
    check(listed_anywhere(m.backing, frame(9)) and
          subprocess.run([NAMCTL, "verify", m.backing], capture_output=True).returncode == 0,
          "unmounted once it was done: the frame landed, BACKING verifies")


def checksum_of(backing, rel):
    """What checksum.txt in BACKING says of rel, or None."""
    listing = os.path.join(backing, os.path.dirname(rel), "checksum.txt")
    for line in open(listing).read().splitlines() if os.path.exists(listing) else []:
        name, _, _, digest = line.split("\t")
        if name == os.path.basename(rel):
            return digest
    return None


def behind_the_back():
    """While mounted, a landed frame changed in BACKING directly (same size,
    other bytes) and one deleted there: checksum.txt as the mount shows it
    drops both at once; within seconds the look-out reports the change
    (M3: no digest, .namfs/status lists it, never re-baselined), BACKING's
    checksum.txt drops both, and namctl verify names the changed frame
    until it is written again through the mount."""
    m = Mount("behind", "-o", "profile=%s,quiet=0.2" % PROFILE)
    with m:
        os.makedirs(os.path.join(m.point, SEQ))
        for n in (1, 2, 3):
            write_frame(os.path.join(m.point, frame(n)), n)
        check(eventually(lambda: checksum_of(m.backing, frame(3)) is not None),
              "3 frames landed and listed")
        before = xxh128(os.path.join(m.backing, frame(2)))
        view = os.path.join(m.point, SEQ, "checksum.txt")
        for _ in range(3):  # rendered, then kept: the kernel may keep its pages
            check(before in open(view).read(), "checksum.txt as the mount shows it lists frame 2")
        with open(os.path.join(m.backing, frame(2)), "r+b") as f:
            f.seek(4000)
            f.write(b"behind the mount")
        os.unlink(os.path.join(m.backing, frame(3)))
        changed = xxh128(os.path.join(m.backing, frame(2)))
        shown = open(os.path.join(m.point, SEQ, "checksum.txt")).read()
        check(before not in shown and os.path.basename(frame(3)) not in shown and
              os.path.basename(frame(1)) in shown,
              "at once, checksum.txt as the mount shows it drops the changed and deleted frames")
        status = lambda: open(os.path.join(m.point, ".namfs", "status")).read()
        check(eventually(lambda: "changed\t" + frame(2) in status(), seconds=15),
              "the look-out reports the changed frame in .namfs/status")
        check(namfs_digest(os.path.join(m.point, frame(2))) is None and
              changed in os.getxattr(os.path.join(m.point, frame(2)),
                                     "user.namfs.verdict").decode(),
              "its digest is not re-baselined; its verdict (M3) names what was found")
        subprocess.run([NAMCTL, "sync", m.point], check=True)
        check(checksum_of(m.backing, frame(2)) is None and
              checksum_of(m.backing, frame(3)) is None and
              checksum_of(m.backing, frame(1)) is not None,
              "checksum.txt in BACKING drops the changed and the deleted frame")
        run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
        check(run.returncode == 1 and frame(2) in run.stdout,
              "namctl verify names the changed frame (%s)" % run.stdout.strip()[-300:])
        write_frame(os.path.join(m.point, frame(2)), 2)
        subprocess.run([NAMCTL, "sync", m.point], check=True)
        check(checksum_of(m.backing, frame(2)) == xxh128(os.path.join(m.backing, frame(2))),
              "written again through the mount, it lands and is listed again")
    run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
    check(run.returncode == 0, "BACKING verifies (%s)" % run.stdout.strip()[-300:])


CONCURRENT_WRITER = """
import os, random, sys
data = open(sys.argv[1], "rb").read()
root, first, count, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
assets = sys.argv[6:]
jobs = [(a, n) for a in assets for n in range(first, first + count)]
rng.shuffle(jobs)
for i, (asset, n) in enumerate(jobs):
    name = "%s.%05d.dpx" % (asset, n)
    body = data[:-8] + n.to_bytes(4, "big") + assets.index(asset).to_bytes(4, "big")
    final = os.path.join(root, asset, name)
    if i % 4 == 0:  # a temp name, then a rename (rsync)
        temp = os.path.join(root, asset, ".%s.%06x" % (name, rng.randrange(1 << 24)))
        open(temp, "wb").write(body)
        os.rename(temp, final)
    else:
        open(final, "wb").write(body)
    if i % 50 == 0:  # a stray frame, written and deleted again
        stray = os.path.join(root, asset, "%s.%05d.dpx" % (asset, 90000 + n))
        open(stray, "wb").write(body)
        os.unlink(stray)
"""


def many_writers():
    """16 writers x 500 frames into 4 assets, out of order, with temp names
    and renames, stray frames deleted again, and readers listing and
    reading all along: afterwards every frame is accounted for exactly
    once, in BACKING, the catalog and the manifests alike."""
    assets = ["show_s01e%02d_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32" % e
              for e in (1, 2, 3, 4)]
    m = Mount("many", "-o", "profile=%s,quiet=0.3" % PROFILE)
    source = os.path.join(work, "source.dpx")
    subprocess.run([NAMGEN, "dpx", source, "--seed", "3"], check=True)
    per_writer = 125  # frames per asset: 16 writers x 4 assets x 125 = 8000
    with m:
        for a in assets:
            os.makedirs(os.path.join(m.point, a))
        stop = []

        def read_along():
            while not stop:
                for a in assets:
                    try:
                        for name in os.listdir(os.path.join(m.point, a))[:20]:
                            open(os.path.join(m.point, a, name), "rb").read()
                    except OSError:
                        pass  # a frame renamed or deleted under the reader
        readers = [threading.Thread(target=read_along) for _ in range(2)]
        for r in readers:
            r.start()
        writers = [subprocess.Popen([sys.executable, "-c", CONCURRENT_WRITER, source, m.point,
                                     str(1 + w * per_writer), str(per_writer), str(w), *assets])
                   for w in range(16)]
        codes = [w.wait() for w in writers]
        stop.append(True)
        for r in readers:
            r.join()
        check(codes == [0] * 16, "16 writers finished (%s)" % codes)
        status = os.path.join(m.point, ".namfs", "status")
        check(eventually(lambda: "manifests current" in open(status).read(), seconds=120),
              "the manifests caught up")
    expected = {a: {"%s.%05d.dpx" % (a, n) for n in range(1, 16 * per_writer + 1)}
                for a in assets}
    on_disk = {a: set(os.listdir(os.path.join(m.backing, a))) - {"checksum.txt"}
               for a in assets}
    check(on_disk == expected, "BACKING holds exactly the 8000 frames, no temp or stray file")
    db = sqlite3.connect(os.path.join(m.backing + ".namfs", "catalog.sqlite"))
    rows = db.execute("SELECT path FROM files WHERE state = 1 AND path LIKE '%.dpx'").fetchall()
    db.close()
    landed = sorted(r[0] for r in rows)
    check(landed == sorted("%s/%s" % (a, f) for a in assets for f in expected[a]),
          "the catalog has every frame landed exactly once (%d rows)" % len(landed))
    listed = {a: [l.split("\t")[0] for l in
                  open(os.path.join(m.backing, a, "checksum.txt")).read().splitlines()]
              for a in assets}
    check(all(sorted(listed[a]) == sorted(expected[a]) for a in assets),
          "every checksum.txt lists each of its frames exactly once")
    run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
    check(run.returncode == 0, "BACKING verifies: every digest matches (%s)"
          % run.stdout.strip()[-300:])


def refused_errno(call):
    try:
        call()
    except OSError as e:
        return e.errno
    return 0


def hostile_names():
    """Names meant to hurt: too long, not UTF-8, control characters, names
    of the manifests and of .namfs: a clear error each, nothing outside
    BACKING touched, the quarantine out of reach, BACKING still verifies."""
    with Mount("names", "-o", "profile=%s,quiet=0.2" % PROFILE) as m:
        seq = os.path.join(m.point, SEQ).encode()
        os.makedirs(seq)
        write_frame(os.path.join(m.point, frame(1)), 1)
        check(refused_errno(lambda: open(os.path.join(seq, b"a" * 300 + b".dpx"), "wb"))
              == errno.ENAMETOOLONG, "a name over 255 bytes: ENAMETOOLONG")
        for bad in (b"\xff\xfe.dpx", b"tab\there.txt", b"new\nline.txt", b"bell\x07.dpx"):
            def write_bad():
                with open(os.path.join(seq, bad), "wb") as f:
                    f.write(b"x" * 100)
            code = refused_errno(write_bad)
            kept = os.path.join(m.backing.encode() + b".namfs", b"quarantine", SEQ.encode(), bad)
            check(code == errno.EINVAL and os.path.exists(kept) and
                  b"N1" in open(kept + b".reason", "rb").read(),
                  "%r: refused at close (EINVAL), kept in the quarantine with N1 (%s)"
                  % (bad, errno.errorcode.get(code, code)))
        check(eventually(lambda: os.path.isdir(os.path.join(m.backing, "ascmhl"))),
              "the first manifests are written")
        log = open(m.log, "rb").read()
        rejected = open(os.path.join(m.point, ".namfs", "rejected"), "rb").read()
        check(all(len(line.split(b"\t")) == 4 for line in rejected.splitlines()) and
              b"new\\x0aline.txt" in rejected,
              ".namfs/rejected keeps one line of 4 fields per file, names escaped")
        check(b"new\\x0aline.txt" in log and b"\\xff\\xfe.dpx" in log and b"\xff" not in log,
              "the log names them with escapes: one line each, no raw bytes")
        try:
            paths = [r["path"].split("/")[-1] for r in json.load(
                open(os.path.join(m.point, ".namfs", "status.json")))["rejected"]]
        except ValueError as e:
            paths = ["not JSON: %s" % e]
        check("new\nline.txt" in paths and "\ufffd\ufffd.dpx" in paths,
              ".namfs/status.json is JSON Python reads, the names in it escaped: %s" % paths)
        for name, call in (
                ("checksum.txt", lambda: open(os.path.join(m.point, SEQ, "checksum.txt"), "w")),
                ("ascmhl/", lambda: open(os.path.join(m.point, "ascmhl", "x.mhl"), "w")),
                (".namfs/status", lambda: open(os.path.join(m.point, ".namfs", "status"), "w")),
                (".namfs/quarantine", lambda: os.makedirs(os.path.join(m.point, ".namfs",
                                                                       "quarantine")))):
            code = refused_errno(call)
            check(code in (errno.EPERM, errno.EACCES, errno.EROFS),
                  "writing %s through the mount is refused (%s)" %
                  (name, errno.errorcode.get(code, code)))
        listing = sorted(os.listdir(os.path.join(m.point, ".namfs")))
        check(listing == ["rejected", "status", "status.json"],
              "the quarantine is not reachable through the mount (.namfs holds %s)" % listing)
    outside = sorted(os.listdir(work))
    check(not any(n.startswith(("a" * 20, "tab", "new", "bell")) for n in outside),
          "nothing was written outside BACKING")
    run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
    check(run.returncode == 0, "BACKING verifies (%s)" % run.stdout.strip()[-300:])


def write_frame(path, seed):
    """namgen's frame bytes written by this process, so ENOSPC reaches us."""
    tmp = os.path.join(work, "gen-%d.dpx" % seed)
    subprocess.run([NAMGEN, "dpx", tmp, "--seed", str(seed)], check=True)
    data = open(tmp, "rb").read()
    os.unlink(tmp)
    with open(path, "wb") as out:
        out.write(data)


def disk_full():
    """BACKING on a 1 MiB tmpfs: the writer that fills it gets ENOSPC, the
    daemon stays up, the partial frame does not land, and once frames are
    deleted writing resumes and the manifests catch up."""
    m = Mount("full", "-o", "profile=%s,quiet=0.2" % PROFILE)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", m.backing], check=True)
    try:
        with m:
            os.makedirs(os.path.join(m.point, SEQ))
            error, n = None, 0
            while error is None and n < 1000:
                n += 1
                try:
                    write_frame(os.path.join(m.point, frame(n)), n)
                except OSError as e:
                    error = e
            check(error is not None and error.errno == errno.ENOSPC,
                  "the writer that fills BACKING gets ENOSPC (frame %d: %r)" % (n, error))
            check(os.path.isdir(os.path.join(m.point, SEQ)) and m.proc.poll() is None,
                  "the daemon stays up")
            full = frame(n)
            check(all(namfs_digest(os.path.join(m.point, frame(k))) for k in range(1, n)),
                  "the %d frames before it landed" % (n - 1))
            check(namfs_digest(os.path.join(m.point, full)) is None,
                  "the frame cut short by ENOSPC did not land")

            for k in range(1, 6):
                os.unlink(os.path.join(m.point, frame(k)))
            write_frame(os.path.join(m.point, full), n)
            check(namfs_digest(os.path.join(m.point, full)) ==
                  xxh128(os.path.join(m.backing, full)),
                  "after frames are deleted the same frame is written again and lands")
        run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
        check(run.returncode == 0 and not listed_anywhere(m.backing, frame(1)),
              "the manifests caught up: BACKING verifies, deleted frames unlisted (%s)"
              % run.stdout.strip()[-300:])
    finally:
        subprocess.run(["umount", "-l", m.backing], capture_output=True)


def fill(path):
    """Writes zeros to path until its filesystem is full."""
    with open(path, "wb", buffering=0) as out:  # unbuffered: nothing left to fail at close
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise


def write_until_refused(m, first):
    """Frames first, first+1, ... until one is refused; its number and error."""
    for n in range(first, first + 200):
        try:
            write_frame(os.path.join(m.point, frame(n)), n)
        except OSError as e:
            return n, e
    return n, None


def catalog_full():
    """The state folder (catalog, quarantine) on a 2 MiB tmpfs that fills
    up. A delete the catalog cannot record: the mount turns read-only
    (EROFS; the log and .namfs/status say why), reads go on, checksum.txt
    as the mount shows it drops the deleted frame, no manifest is written
    from a catalog that missed a change, the catalog stays whole; once
    space is freed the mount reconciles and writing resumes. A landing the
    catalog cannot record: the frame stays in BACKING; unmounted while
    still read-only namfs writes no manifests; the next mount lands the
    frame and writes them. A refusal the catalog cannot record: the file
    stays in BACKING until the catalog records again, then goes to the
    quarantine and is listed. BACKING verifies."""
    state = os.path.join(work, "catfull-state")
    os.makedirs(state, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", state], check=True)
    m = Mount("catfull", "-o", "profile=%s,quiet=0.2,state=%s" % (PROFILE, state))
    filler = os.path.join(state, "filler")
    status = os.path.join(m.point, ".namfs", "status")
    listing = os.path.join(SEQ, "checksum.txt")
    try:
        with m:
            os.makedirs(os.path.join(m.point, SEQ))
            for n in (1, 2, 3):
                write_frame(os.path.join(m.point, frame(n)), n)
            check(eventually(lambda: listed_anywhere(m.backing, frame(3)) and
                             "manifests current" in open(status).read()),
                  "three frames land and reach the manifests")
            written = generations(m.backing)
            backing_listing = open(os.path.join(m.backing, listing)).read()
            fill(filler)
            os.unlink(os.path.join(m.point, frame(2)))
            check(not os.path.exists(os.path.join(m.backing, frame(2))),
                  "a delete reaches BACKING although the catalog cannot record it")
            check("read-only from now on" in open(m.log).read() and state in open(m.log).read(),
                  "the log says the mount is read-only and where the catalog is")
            text = open(status).read()
            check("READ-ONLY" in text and "disk is full" in text,
                  ".namfs/status says read-only and why: %s" % text.splitlines()[1][:200])
            run = subprocess.run([NAMCTL, "status", "--json", m.point], capture_output=True,
                                 text=True)
            read_only = json.loads(run.stdout)["read_only"] if run.returncode == 0 else None
            check(read_only and "disk is full" in read_only["reason"],
                  "namctl status --json reports read_only, and why: %s" % read_only)
            check(refused_errno(lambda: write_frame(os.path.join(m.point, frame(4)), 4)) ==
                  errno.EROFS and refused_errno(lambda: os.unlink(os.path.join(m.point, frame(1))))
                  == errno.EROFS and refused_errno(lambda: os.mkdir(os.path.join(m.point, "x")))
                  == errno.EROFS, "writes, deletes and new folders are refused with EROFS")
            check(open(os.path.join(m.point, frame(1)), "rb").read() ==
                  open(os.path.join(m.backing, frame(1)), "rb").read(), "reads go on")
            shown = [l.split("\t")[0] for l in
                     open(os.path.join(m.point, listing)).read().splitlines()]
            check(shown == [os.path.basename(frame(1)), os.path.basename(frame(3))],
                  "checksum.txt as the mount shows it lists frames 1 and 3, not the deleted 2")
            time.sleep(1)
            check(generations(m.backing) == written and
                  open(os.path.join(m.backing, listing)).read() == backing_listing,
                  "no manifest is written while the catalog misses a change")
            check(integrity(state) == "ok", "the catalog passes PRAGMA integrity_check")

            os.unlink(filler)
            check(eventually(lambda: "READ-ONLY" not in open(status).read(), 15),
                  "after space is freed the mount is read-write again")
            check(eventually(lambda: os.path.basename(frame(2)) not in
                             open(os.path.join(m.backing, listing)).read()),
                  "the manifests catch up: frame 2 leaves checksum.txt in BACKING")
            write_frame(os.path.join(m.point, frame(4)), 4)
            check(namfs_digest(os.path.join(m.point, frame(4))) ==
                  xxh128(os.path.join(m.backing, frame(4))),
                  "writing resumes: frame 4 lands")

        with m:
            fill(filler)
            n, error = write_until_refused(m, 5)
            check(error is not None and error.errno == errno.EROFS,
                  "a landing the catalog cannot record turns the mount read-only (frame %d: %r)"
                  % (n, error))
            # looked at as close() has returned, before the release (asynchronous) and
            # the unmount: what its writer was told is in place is in place
            check(n > 5 and all(os.path.exists(os.path.join(m.backing, frame(k))) and
                                os.path.getsize(os.path.join(m.backing, frame(k))) ==
                                os.path.getsize(os.path.join(m.backing, frame(1)))
                                for k in range(5, n)),
                  "the frames written before the refusal are whole in BACKING under their "
                  "names as close() returns (5-%d)" % (n - 1))
        check("manifests not written" in open(m.log).read(),
              "unmounted read-only, it says the manifests were not written")
        check(not listed_anywhere(m.backing, frame(5)) and integrity(state) == "ok",
              "no manifest lists what the catalog missed; the catalog is whole")
        os.unlink(filler)
        frames = [1, 3] + list(range(4, n))
        with m:
            check(all(namfs_digest(os.path.join(m.point, frame(k))) ==
                      xxh128(os.path.join(m.backing, frame(k))) for k in frames),
                  "the next mount lands every frame the catalog missed (5-%d)" % (n - 1))
        with m:
            fill(filler)
            bad = subprocess.run([NAMGEN, "dpx", os.path.join(m.point, frame(n)), "--bits", "8"],
                                 capture_output=True)
            check(bad.returncode != 0 and
                  eventually(lambda: "READ-ONLY" in open(status).read()) and
                  refused_errno(lambda: write_frame(os.path.join(m.point, frame(n + 1)), n + 1))
                  == errno.EROFS,
                  "an 8-bit frame refused while the catalog cannot record it turns the mount "
                  "read-only")
            check(os.path.exists(os.path.join(m.backing, frame(n))),
                  "the refused frame is kept in BACKING meanwhile (the quarantine is full too)")
            os.unlink(filler)
            kept = os.path.join(state, "quarantine", frame(n))
            check(eventually(lambda: "READ-ONLY" not in open(status).read() and
                             os.path.exists(kept + ".reason"), 15) and
                  not os.path.exists(os.path.join(m.backing, frame(n))) and
                  "R2" in open(kept + ".reason").read() and
                  frame(n) in open(os.path.join(m.point, ".namfs", "rejected")).read(),
                  "once space is freed it is judged again: quarantined with R2 and listed "
                  "in .namfs/rejected")
        run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
        check(run.returncode == 0 and all(listed_anywhere(m.backing, frame(k)) for k in frames),
              "BACKING verifies and its manifests list every frame (%s)"
              % run.stdout.strip()[-300:])
    finally:
        subprocess.run(["umount", "-l", state], capture_output=True)

def sync_fails():
    """BACKING on failfs, whose fsync fails with EIO while a control file
    exists: a frame whose sync to disk fails at release does not land (no
    digest, in no manifest, the log says write it again); written again
    once syncing works, it lands, and BACKING verifies."""
    root, control = os.path.join(work, "failfs-root"), os.path.join(work, "failfs-control")
    os.makedirs(root)
    m = Mount("syncfail", "-o", "profile=%s,quiet=0.2" % PROFILE)
    failfs = subprocess.Popen([FAILFS, root, control, m.backing, "-f"])
    try:
        check(eventually(lambda: mounted(m.backing)), "failfs is mounted under BACKING")
        with m:
            os.makedirs(os.path.join(m.point, SEQ))
            write_frame(os.path.join(m.point, frame(1)), 1)
            check(namfs_digest(os.path.join(m.point, frame(1))) ==
                  xxh128(os.path.join(root, frame(1))),
                  "a frame synced to disk lands")
            open(control, "w").close()
            try:
                write_frame(os.path.join(m.point, frame(2)), 2)
                told = 0
            except OSError as e:
                told = e.errno
            check(told == errno.EIO, "close() of a frame whose sync fails: EIO (%s)" % told)
            check("not on disk" in open(m.log).read(), "the failed sync is logged")
            check(namfs_digest(os.path.join(m.point, frame(2))) is None and
                  os.path.getsize(os.path.join(m.point, frame(2))) ==
                  os.path.getsize(os.path.join(root, frame(1))),
                  "the frame whose sync failed did not land (its bytes are kept)")
            os.unlink(control)
            status = os.path.join(m.point, ".namfs", "status")
            check(eventually(lambda: "manifests current" in open(status).read()) and
                  listed_anywhere(m.backing, frame(1)) and
                  not listed_anywhere(m.backing, frame(2)),
                  "the manifests list frame 1, not frame 2")
            write_frame(os.path.join(m.point, frame(2)), 2)
            check(namfs_digest(os.path.join(m.point, frame(2))) ==
                  xxh128(os.path.join(root, frame(2))),
                  "written again once syncing works, it lands")
        run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
        check(run.returncode == 0 and listed_anywhere(m.backing, frame(2)),
              "BACKING verifies and lists frame 2 (%s)" % run.stdout.strip()[-300:])
    finally:
        subprocess.run(["fusermount3", "-u", m.backing], capture_output=True)
        failfs.wait(timeout=20)


def quarantine_elsewhere():
    """BACKING a filesystem of its own, the state folder beside it on
    another: a refused frame still goes to the quarantine (copied, synced,
    then removed from BACKING), with its reason."""
    m = Mount("apart", "-o", "profile=%s" % PROFILE)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", m.backing], check=True)
    try:
        with m:
            os.makedirs(os.path.join(m.point, SEQ))
            bad = subprocess.run([NAMGEN, "dpx", os.path.join(m.point, frame(1)), "--bits", "8"],
                                 capture_output=True)
            kept = os.path.join(m.backing + ".namfs", "quarantine", frame(1))
            check(bad.returncode != 0 and eventually(
                lambda: os.path.exists(kept) and os.path.exists(kept + ".reason") and
                not os.path.exists(os.path.join(m.backing, frame(1)))),
                "an 8-bit frame is refused and moved to a quarantine on another filesystem")
            check(os.path.getsize(kept) == 2048 + 64 * 32 * 3 and
                  "R2" in open(kept + ".reason").read(),
                  "whole, with its reason (R2)")
    finally:
        subprocess.run(["umount", "-l", m.backing], capture_output=True)


CASES = (kill_during_writes, stop_during_writes, behind_the_back, disk_full, catalog_full,
         sync_fails, quarantine_elsewhere, hostile_names, many_writers)
harness.run_cases(CASES, "FAULT_CASES")  # e.g. FAULT_CASES="disk_full"
