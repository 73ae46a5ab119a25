#!/usr/bin/env python3
"""N6 through ordinary programs: writers that write a temp name and rename
it into place (cp + mv to and from ".part", rsync's ".name.XXXXXX"), a
program's own temp file, and leftovers that keep an asset from being
sealed. Each fact is read from BACKING, xxhsum or namctl right after the
program has exited.

Usage: held_cases.py NAMFS NAMGEN NAMCTL
"""
import json
import os
import subprocess
import sys
import tempfile

import harness
from harness import Mount, check, namfs_digest, xxh128

NAMFS, NAMGEN, NAMCTL = sys.argv[1:4]
work = tempfile.mkdtemp(prefix="namfs-held-")
harness.use(NAMFS, work)
SEQ = harness.SEQ
PROFILE = harness.small_profile(work)


def frame(n, pad=4):
    return "%s/%s.%0*d.dpx" % (SEQ, SEQ, pad, n)


def made(name, *args):
    """A DPX frame from namgen, outside the mount; its path."""
    path = os.path.join(work, name)
    subprocess.run([NAMGEN, "dpx", path, *args], check=True, capture_output=True)
    return path


def status(m):
    return json.load(open(os.path.join(m.point, ".namfs", "status.json")))


def in_tree(root):
    return sorted(os.path.relpath(os.path.join(d, n), root)
                  for d, _, files in os.walk(root) for n in files)


def part_then_mv():
    """cp to NAME.part, then mv to NAME: the mv lands it (frame and other
    file alike) with xxhsum's digest, and no .part is left or listed."""
    good = made("good.dpx")
    notes = os.path.join(work, "notes.txt")
    open(notes, "w").write("grade notes\n")
    with Mount("part", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        for final, src in ((frame(1), good), (SEQ + "/notes.txt", notes)):
            temp = os.path.join(m.point, final + ".part")
            subprocess.run(["cp", src, temp], check=True)
            held = [h["path"] for h in status(m)["held"]]
            check(held == [final + ".part"], "cp to %s.part: held, listed %r" % (final, held))
            run = subprocess.run(["mv", temp, os.path.join(m.point, final)],
                                 capture_output=True, text=True)
            check(run.returncode == 0, "mv %s.part %s: exit 0 %s" % (final, final, run.stderr))
            check(namfs_digest(os.path.join(m.point, final)) ==
                  xxh128(os.path.join(m.backing, final)), "%s landed with xxhsum's digest" % final)
        check(status(m)["held"] == [], "nothing is held any more")
        sums = open(os.path.join(m.point, SEQ, "checksum.txt")).read()
        check(".part" not in sums and SEQ + ".0001.dpx" in sums,
              "checksum.txt names the frame, never a .part file")
        # mv of a frame under a name that breaks a rule: refused (EINVAL, which
        # mv words as "a subdirectory of itself"), the file stays held
        subprocess.run(["cp", good, os.path.join(m.point, frame(2) + ".part")], check=True)
        run = subprocess.run(["mv", os.path.join(m.point, frame(2) + ".part"),
                              os.path.join(m.point, SEQ, "wrong_name.0002.dpx")],
                             capture_output=True, text=True)
        check(run.returncode != 0 and
              os.path.exists(os.path.join(m.backing, frame(2) + ".part")) and
              not os.path.exists(os.path.join(m.backing, SEQ, "wrong_name.0002.dpx")),
              "mv to a name that breaks N4: refused, the file stays as it was: " + run.stderr)


def own_temp_file():
    """tempfile.NamedTemporaryFile(suffix='.tmp') in an asset folder: made,
    written, read back and deleted at close, nothing left or listed."""
    with Mount("tmp", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        with tempfile.NamedTemporaryFile(suffix=".tmp", dir=os.path.join(m.point, SEQ)) as f:
            f.write(b"scratch" * 1000)
            f.flush()
            f.seek(0)
            check(f.read() == b"scratch" * 1000, "NamedTemporaryFile(.tmp): reads back")
        check(in_tree(os.path.join(m.backing, SEQ)) == [],
              "NamedTemporaryFile(.tmp): deleted, nothing in BACKING")
        check(status(m)["held"] == [], "and nothing held")


def rsync_refused_rename():
    """rsync of a frame cut short (R7): rsync writes .NAME.XXXXXX (held,
    so the write succeeds), and its rename to the frame's name is refused
    with EINVAL; the frame is not in BACKING under its name, and its bytes
    are kept (held, or in the quarantine once rsync deletes its temp)."""
    good = made("cut.dpx")
    data = open(good, "rb").read()
    cut = os.path.join(work, "src", SEQ)
    os.makedirs(cut)
    open(os.path.join(cut, SEQ + ".0001.dpx"), "wb").write(data[:-1000])
    with Mount("rsync", "-o", "profile=" + PROFILE) as m:
        run = subprocess.run(["rsync", "-a", cut, m.point + "/"], capture_output=True, text=True)
        check(run.returncode != 0 and "Invalid argument" in run.stderr,
              "rsync of a frame cut short: the rename fails with EINVAL (exit %d) %s"
              % (run.returncode, run.stderr.strip()[-200:]))
        check(not os.path.exists(os.path.join(m.backing, frame(1))),
              "the frame is not in BACKING under its name")
        kept = in_tree(os.path.join(m.backing, SEQ)) + \
            in_tree(os.path.join(m.backing + ".namfs", "quarantine"))
        check(any(SEQ + ".0001.dpx" in k for k in kept), "its bytes are kept: %r" % kept)
        rejected = open(os.path.join(m.point, ".namfs", "rejected")).read()
        check("\tR7\t" in rejected, "and .namfs/rejected lists it under R7: %r" % rejected)
    check("R7" in open(m.log).read(), "the log names R7")


def leftover_blocks_seal():
    """A .DS_Store left in an asset folder keeps it from being sealed,
    named by namctl seal; once deleted, the asset seals."""
    good = made("seal.dpx")
    with Mount("seal", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        subprocess.run(["cp", good, os.path.join(m.point, frame(1))], check=True)
        open(os.path.join(m.point, SEQ, ".DS_Store"), "wb").write(b"\0\0\0\1Bud1")
        run = subprocess.run([NAMCTL, "seal", os.path.join(m.point, SEQ)], capture_output=True,
                             text=True)
        check(run.returncode != 0 and ".DS_Store is held" in run.stdout + run.stderr,
              "namctl seal with a .DS_Store left: refused, naming it: %s"
              % (run.stdout + run.stderr).strip())
        os.unlink(os.path.join(m.point, SEQ, ".DS_Store"))
        run = subprocess.run([NAMCTL, "seal", os.path.join(m.point, SEQ)], capture_output=True,
                             text=True)
        check(run.returncode == 0, "deleted, the asset seals: %s" % (run.stdout + run.stderr))


harness.run_cases([part_then_mv, own_temp_file, rsync_refused_rename, leftover_blocks_seal],
                  "HELD_CASES")
