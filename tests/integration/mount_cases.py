#!/usr/bin/env python3
"""The namfs mount, really mounted, driven by real tools.

Usage: mount_cases.py NAMFS NAMGEN NAMCTL ASCMHL_DIR
Passthrough so far: cp -r, rsync -a, tar x, dd with odd block sizes,
out-of-order pwrite, 8 parallel writers, rename, truncate, xattrs; links
refused; a symlink planted in BACKING cannot lead outside it; start-up
errors. Every case unmounts, also when it fails.
"""
import errno
import filecmp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

import harness
from harness import Mount, check, eventually, mounted, namfs_digest, xxh128

NAMFS, NAMGEN, NAMCTL, ASCMHL = sys.argv[1:5]
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
work = tempfile.mkdtemp(prefix="namfs-mount-")
harness.use(NAMFS, work)
SEQ = harness.SEQ
EXR_SEQ = "show_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_64x32"
PROFILE = harness.small_profile(work)
# The project's docs as a tree of ordinary files: without its screenshots,
# which namfs refuses like any PNG in a delivery (R6)
DOCS = os.path.join(work, "docs")
shutil.copytree(os.path.join(SOURCE, "docs"), DOCS, ignore=shutil.ignore_patterns("*.png"))


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    for sub in cmp.common_dirs:
        if not same_tree(os.path.join(a, sub), os.path.join(b, sub)):
            return False
    return all(filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)
               for f in cmp.common_files)


def copy_tools():
    with Mount("tools") as m:
        subprocess.run(["cp", "-r", DOCS, m.point], check=True)
        check(same_tree(DOCS, os.path.join(m.backing, "docs")),
              "cp -r: BACKING holds the same tree")
        subprocess.run(["rsync", "-a", os.path.join(SOURCE, "core") + "/",
                        os.path.join(m.point, "core")], check=True)
        check(same_tree(os.path.join(SOURCE, "core"), os.path.join(m.backing, "core")),
              "rsync -a (temp files renamed into place)")
        tar = subprocess.run(["tar", "cf", "-", "-C", SOURCE, "include"], capture_output=True,
                             check=True).stdout
        subprocess.run(["tar", "xf", "-", "-C", m.point], input=tar, check=True)
        check(same_tree(os.path.join(SOURCE, "include"), os.path.join(m.backing, "include")),
              "tar x")
        data = os.urandom(3 * 1024 * 1024 + 17)
        src = os.path.join(work, "random.bin")
        open(src, "wb").write(data)
        for bs in ("1", "777", "65537", "1M"):
            dst = os.path.join(m.point, "dd-%s.bin" % bs)
            count = ["count=4096"] if bs == "1" else []
            subprocess.run(["dd", "if=" + src, "of=" + dst, "bs=" + bs, "status=none", *count],
                           check=True)
            want = data[:4096] if bs == "1" else data
            check(open(os.path.join(m.backing, "dd-%s.bin" % bs), "rb").read() == want,
                  "dd bs=%s: bytes identical in BACKING" % bs)
        check(not [f for f in os.listdir(m.backing) if f.startswith(".fuse_hidden")],
              "no .fuse_hidden files in BACKING")


def write_patterns():
    with Mount("patterns") as m:
        data = os.urandom(200000)
        path = os.path.join(m.point, "scattered.bin")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        for off in list(range(0, len(data), 4096))[::-1]:  # tail first, as farms do
            os.pwrite(fd, data[off:off + 4096], off)
        os.close(fd)
        check(open(os.path.join(m.backing, "scattered.bin"), "rb").read() == data,
              "out-of-order pwrite: bytes identical")
        blobs = {i: os.urandom(500000 + i) for i in range(8)}

        def writer(i):
            with open(os.path.join(m.point, "par-%d.bin" % i), "wb") as f:
                f.write(blobs[i])
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(all(open(os.path.join(m.backing, "par-%d.bin" % i), "rb").read() == blobs[i]
                  for i in range(8)), "8 parallel writers")
        os.rename(os.path.join(m.point, "par-0.bin"), os.path.join(m.point, "renamed.bin"))
        os.truncate(os.path.join(m.point, "renamed.bin"), 10)
        check(open(os.path.join(m.backing, "renamed.bin"), "rb").read() == blobs[0][:10] and
              not os.path.exists(os.path.join(m.backing, "par-0.bin")), "rename and truncate")
        os.setxattr(os.path.join(m.point, "renamed.bin"), "user.note", b"x")
        check(os.getxattr(os.path.join(m.backing, "renamed.bin"), "user.note") == b"x",
              "user xattrs pass through")


def refusals():
    with Mount("refuse") as m:
        open(os.path.join(m.point, "a.txt"), "w").write("a")
        for what, call in (("symlink", lambda: os.symlink("a.txt", os.path.join(m.point, "l"))),
                           ("hard link", lambda: os.link(os.path.join(m.point, "a.txt"),
                                                         os.path.join(m.point, "h")))):
            try:
                call()
                check(False, "%s refused with EPERM" % what)
            except OSError as e:
                check(e.errno == errno.EPERM, "%s refused with EPERM" % what)
        os.symlink("/etc", os.path.join(m.backing, "escape"))
        try:
            open(os.path.join(m.point, "escape", "hostname")).read()
            check(False, "a symlink planted in BACKING does not lead outside it")
        except OSError as e:
            check(e.errno in (errno.EPERM, errno.ELOOP),
                  "a symlink planted in BACKING does not lead outside it (%s)" %
                  errno.errorcode[e.errno])


def live_hashes():
    """Every byte written through the mount is hashed on the way: the digest
    namfs records equals xxhsum -H2 of the file in BACKING, whatever the
    write order."""
    with Mount("hashes", "-o", "profile=" + PROFILE) as m:
        subprocess.run(["cp", "-r", DOCS, m.point], check=True)
        names = ["docs/" + n for n in os.listdir(os.path.join(m.point, "docs"))]
        data = os.urandom(300000)
        fd = os.open(os.path.join(m.point, "reverse.bin"), os.O_WRONLY | os.O_CREAT, 0o644)
        for off in list(range(0, len(data), 8192))[::-1]:
            os.pwrite(fd, data[off:off + 8192], off)
        os.close(fd)
        subprocess.run(["dd", "if=/dev/urandom", "of=" + os.path.join(m.point, "dd.bin"),
                        "bs=7777", "count=50", "status=none"], check=True)
        # OpenEXR's writer: header, zeroed offset table, chunks, table filled in at the end
        exr = "%s/%s.0001.exr" % (EXR_SEQ, EXR_SEQ)
        os.makedirs(os.path.join(m.point, EXR_SEQ))
        subprocess.run([NAMGEN, "exr", os.path.join(m.point, exr), "--compression", "zip",
                        "--chroma", "ap0"], check=True)
        # a patch of already-written bytes, as oiiotool does to DPX headers
        dpx = "%s/%s.0001.dpx" % (SEQ, SEQ)
        os.makedirs(os.path.join(m.point, SEQ))
        subprocess.run([NAMGEN, "dpx", os.path.join(m.point, dpx)], check=True)
        fd = os.open(os.path.join(m.point, dpx), os.O_WRONLY)
        os.pwrite(fd, b"\0\0\x38\0", 16)  # the same file-size field, rewritten
        os.close(fd)
        names += ["reverse.bin", "dd.bin", exr, dpx]
        def wrong_digests():
            return [n for n in names
                    if namfs_digest(os.path.join(m.point, n)) != xxh128(os.path.join(m.backing, n))]
        wrong = wrong_digests()
        check(not wrong, "user.namfs.xxh128 equals xxhsum -H2 of BACKING for %d files "
              "(cp, reverse pwrite, dd, OpenEXR writer, header patch); wrong: %s"
              % (len(names), wrong))
        os.rename(os.path.join(m.point, "dd.bin"), os.path.join(m.point, "moved.bin"))
        os.rename(os.path.join(m.point, "docs"), os.path.join(m.point, "papers"))
        check(namfs_digest(os.path.join(m.point, "moved.bin")) ==
              xxh128(os.path.join(m.backing, "moved.bin")) and
              namfs_digest(os.path.join(m.point, "papers", "namctl.1")) ==
              xxh128(os.path.join(m.backing, "papers", "namctl.1")),
              "renaming a file or a folder keeps the recorded digests")
        os.truncate(os.path.join(m.point, "moved.bin"), 1000)
        check(namfs_digest(os.path.join(m.point, "moved.bin")) ==
              xxh128(os.path.join(m.backing, "moved.bin")), "truncate by path re-hashes")
        try:
            os.setxattr(os.path.join(m.point, "moved.bin"), "user.namfs.xxh128", b"0")
            check(False, "user.namfs.* cannot be written")
        except OSError as e:
            check(e.errno == errno.EPERM, "user.namfs.* cannot be written")
        check(os.path.exists(m.backing.rstrip("/") + ".namfs/catalog.sqlite"),
              "the catalog lives beside BACKING, outside the delivered tree")


def refusals_at_write():
    """Frames that break a rule are refused at once (EINVAL on the write
    that completes a bad header, or on close for what only the whole file
    shows), moved to the quarantine with their reason, never deleted."""
    with Mount("refused", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        os.makedirs(os.path.join(m.point, EXR_SEQ))
        cases = [("dpx", SEQ, 1, ["--bits", "8"], "R2"),
                 ("dpx", SEQ, 2, ["--bits", "10"], "R3"),
                 ("dpx", SEQ, 3, ["--truncate", "100"], "R7"),
                 ("exr", EXR_SEQ, 1, ["--type", "float", "--chroma", "ap0"], "R4"),
                 ("exr", EXR_SEQ, 2, ["--compression", "dwaa", "--chroma", "ap0"], "R4"),
                 ("dpx", SEQ, 4, [], None)]
        for kind, seq, n, args, rule in cases:
            rel = "%s/%s.%04d.%s" % (seq, seq, n, kind)
            run = subprocess.run([NAMGEN, kind, os.path.join(m.point, rel), *args],
                                 capture_output=True, text=True)
            quarantined = os.path.join(m.backing + ".namfs", "quarantine", rel)
            if rule is None:
                check(run.returncode == 0 and os.path.exists(os.path.join(m.backing, rel)),
                      "a good frame lands (%s)" % run.stderr.strip())
                continue
            reason = open(quarantined + ".reason").read() if os.path.exists(
                quarantined + ".reason") else ""
            # namgen --truncate lands the frame whole, then reopens it and cuts it: that
            # rewrite is refused at close (EINVAL, which namgen does not check), and
            # the landed frame stays as it was
            stays = "--truncate" in args
            check((run.returncode != 0 or stays) and
                  os.path.exists(os.path.join(m.backing, rel)) == stays
                  and os.path.exists(quarantined) and ("\t%s\t" % rule) in reason,
                  "%s %s refused (%s), moved to the quarantine with its reason: %s" %
                  (kind, " ".join(args), run.stderr.strip()[-60:], reason.strip()))
        asset = "%s/%s" % (SEQ, SEQ)
        # the good frame lands at its release, which reaches namfs just after close
        asset_line = lambda: [l for l in open(os.path.join(m.point, ".namfs", "status"))
                              .read().splitlines() if l.startswith(asset + "\t")]
        line = asset_line()
        rejected = open(os.path.join(m.point, ".namfs", "rejected")).read().splitlines()
        check(line and "\t2 frames\t3-4\t" in line[0] and "\t3 rejected\t" in line[0],
              ".namfs/status: per asset frames, range, rejected (%s)" % line)
        check(sorted(l.split("\t")[1] for l in rejected) == ["R2", "R3", "R4", "R4", "R7"],
              ".namfs/rejected lists each refused file with its rule: %s"
              % [l.split("\t")[1] for l in rejected])
        import json
        run = subprocess.run([NAMCTL, "status", "--json", m.point], capture_output=True,
                             text=True)
        report = json.loads(run.stdout) if run.returncode == 0 else {}
        check(report.get("schema") == 1 and report["assets"][0]["refused"] == 3 and
              len(report["rejected"]) == 5,
              "namctl status --json: the same as .namfs/, for scripts (schema 1)")
        for attempt in (lambda: open(os.path.join(m.point, ".namfs", "status"), "w"),
                        lambda: open(os.path.join(m.point, ".namfs", "new"), "w")):
            try:
                attempt()
                check(False, ".namfs/ is read-only")
            except OSError as e:
                check(e.errno in (errno.EROFS, errno.EPERM), ".namfs/ is read-only")
        # ImageMagick's pattern: the target opened with O_TRUNC and closed empty,
        # then written for real
        target = os.path.join(m.point, SEQ, "%s.0007.dpx" % SEQ)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
        check(os.path.exists(target), "an empty frame is left pending, not refused")
        run = subprocess.run([NAMGEN, "dpx", target], capture_output=True, text=True)
        check(run.returncode == 0 and namfs_digest(target) ==
              xxh128(os.path.join(m.backing, SEQ, "%s.0007.dpx" % SEQ)),
              "the same frame written afterwards lands")
        png = os.path.join(m.point, SEQ, "%s.0005.dpx" % SEQ)
        try:
            with open(png, "wb") as f:
                f.write(b"\x89PNG\r\n\x1a\n" + bytes(600))
            check(False, "a .dpx that is a PNG is refused")
        except OSError as e:
            check(e.errno == errno.EINVAL, "a .dpx that is a PNG is refused with EINVAL")



def refusals_by_profile():
    """Rules that depend on the profile and on the folder name: non-AP0
    under an ACES profile (R5), below the resolution floor (R1), a frame
    whose size differs from its asset's first and from its name (N5)."""
    aces = os.path.join(work, "aces.ini")
    open(aces, "w").write("[delivery]\nformats = exr\nresolution = any\ncolour = aces\n"
                          "[testing]\nresolution_floor = 64x32\n")
    small = EXR_SEQ.replace("_64x32", "_32x16")
    with Mount("aces", "-o", "profile=" + aces) as m:
        cases = [(EXR_SEQ, 1, ["--chroma", "rec709"], "R5"),
                 (small, 1, ["--chroma", "ap0", "--size", "32x16"], "R1"),
                 (EXR_SEQ, 2, ["--chroma", "ap0"], None),
                 (EXR_SEQ, 3, ["--chroma", "ap0", "--size", "128x64"], "N5")]
        for seq, n, args, rule in cases:
            os.makedirs(os.path.join(m.point, seq), exist_ok=True)
            rel = "%s/%s.%04d.exr" % (seq, seq, n)
            run = subprocess.run([NAMGEN, "exr", os.path.join(m.point, rel), *args],
                                 capture_output=True, text=True)
            reason = os.path.join(m.backing + ".namfs", "quarantine", rel + ".reason")
            if rule is None:
                check(run.returncode == 0 and os.path.exists(os.path.join(m.backing, rel)),
                      "an AP0 frame lands under the ACES profile (%s)" % run.stderr.strip())
                continue
            check(run.returncode != 0 and
                  os.path.exists(reason) and ("\t%s\t" % rule) in open(reason).read() and
                  not os.path.exists(os.path.join(m.backing, rel)) and
                  os.path.exists(reason[:-len(".reason")]),
                  "%s refused with %s, kept in the quarantine (%s)" %
                  (" ".join(args), rule, run.stderr.strip()[-80:]))

def manifests():
    """checksum.txt and the ASC MHL reach BACKING once landings pause and
    at unmount, only when something changed; users cannot touch them."""
    m = Mount("manifests", "-o", "profile=%s,quiet=1" % PROFILE)
    with m:
        os.makedirs(os.path.join(m.point, SEQ))
        for n in (1, 2, 3):
            subprocess.run([NAMGEN, "dpx", os.path.join(m.point, SEQ, "%s.%04d.dpx" % (SEQ, n)),
                            "--seed", str(n)], check=True)
        listed = os.path.join(m.backing, SEQ, "checksum.txt")
        check(eventually(lambda: os.path.exists(listed) and
                         len(open(listed).read().splitlines()) == 3),
              "a pause of quiet=1 s writes checksum.txt to BACKING")
        lines = open(listed).read().splitlines() if os.path.exists(listed) else []
        check(len(lines) == 3 and all(l.split("\t")[3] == xxh128(os.path.join(
            m.backing, SEQ, l.split("\t")[0])) for l in lines),
            "checksum.txt lines equal xxhsum -H2 of the BACKING files")
        for attempt in (lambda: open(os.path.join(m.point, SEQ, "checksum.txt"), "w"),
                        lambda: os.unlink(os.path.join(m.point, SEQ, "checksum.txt")),
                        lambda: os.rename(os.path.join(m.point, "ascmhl"),
                                          os.path.join(m.point, "x"))):
            try:
                attempt()
                check(False, "manifests cannot be written, deleted or moved through the mount")
            except OSError as e:
                check(e.errno == errno.EPERM,
                      "manifests cannot be written, deleted or moved through the mount")
        subprocess.run([NAMGEN, "dpx", os.path.join(m.point, SEQ, "%s.0004.dpx" % SEQ)],
                       check=True)
    gens = sorted(os.listdir(os.path.join(m.backing, "ascmhl")))
    check(len(gens) == 2 and all(
        subprocess.run(["xmllint", "--noout", "--schema", os.path.join(ASCMHL, "ASCMHL.xsd"),
                        os.path.join(m.backing, "ascmhl", g)], capture_output=True).returncode
        == 0 for g in gens if g.endswith(".mhl")),
        "one generation (the unsealed asset's ignore pattern) at the first pause, none at "
        "unmount for a fourth frame, schema-valid: %s" % gens)
    run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
    check(run.returncode == 0, "BACKING alone verifies against its manifests (%s)"
          % run.stdout.strip()[-200:])
    def catalog_rows():
        import sqlite3
        db = sqlite3.connect(os.path.join(m.backing + ".namfs", "catalog.sqlite"))
        rows = db.execute("SELECT * FROM files ORDER BY path").fetchall()
        db.close()
        return rows
    before = (catalog_rows(), open(listed).read())
    with m:
        pass
    check(sorted(os.listdir(os.path.join(m.backing, "ascmhl"))) == gens,
          "mount and unmount without changes: no new generation")
    check((catalog_rows(), open(listed).read()) == before and len(before[0]) == 5,  # 4 frames, checksum.txt
          "mount and unmount without changes: catalog rows and checksum.txt identical")
    # changed behind namfs's back while unmounted: caught at the next mount,
    # never re-baselined (M3)
    frame = lambda n: os.path.join(SEQ, "%s.%04d.dpx" % (SEQ, n))
    with open(os.path.join(m.backing, frame(2)), "r+b") as f:
        f.seek(5000)
        f.write(b"X")
    os.unlink(os.path.join(m.backing, frame(3)))
    subprocess.run([NAMGEN, "dpx", os.path.join(m.backing, frame(5))], check=True)
    subprocess.run([NAMGEN, "dpx", os.path.join(m.backing, frame(6)), "--bits", "8"], check=True)
    with m:
        check(namfs_digest(os.path.join(m.point, frame(2))) is None and
              os.getxattr(os.path.join(m.point, frame(2)), "user.namfs.verdict").startswith(
                  b"M3: changed in BACKING behind the mount"),
              "remount: a frame changed while unmounted is not re-baselined: no digest, "
              "verdict M3")
        status = open(os.path.join(m.point, ".namfs", "status")).read()
        check("changed\t" + frame(2) in status and "1 changed behind the mount" in status,
              "remount: .namfs/status lists it as changed behind the mount")
        check(namfs_digest(os.path.join(m.point, frame(5))) ==
              xxh128(os.path.join(m.backing, frame(5))),
              "remount: a frame added while unmounted is judged and hashed (catch-up)")
        check(not os.path.exists(os.path.join(m.backing, frame(6))) and
              os.path.exists(os.path.join(m.backing + ".namfs", "quarantine", frame(6))),
              "remount: a bad frame put into BACKING while unmounted goes to the quarantine")
        subprocess.run([NAMCTL, "sync", m.point], check=True)
        listed = open(os.path.join(m.backing, SEQ, "checksum.txt")).read()
        run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
        check(run.returncode == 1 and frame(2) in run.stdout and "0002" not in listed and
              "0003" not in listed and "0005" in listed,
              "checksum.txt lost 0002 (changed) and 0003 (deleted), gained 0005; namctl verify "
              "names the changed frame (%s)" % run.stdout.strip()[-300:])
        subprocess.run([NAMGEN, "dpx", os.path.join(m.point, frame(2))], check=True)
        check(namfs_digest(os.path.join(m.point, frame(2))) ==
              xxh128(os.path.join(m.backing, frame(2))),
              "written again through the mount, the frame lands again")
    run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
    check(run.returncode == 0, "and BACKING verifies again (%s)" % run.stdout.strip()[-200:])


def generation(path):
    """(files listed with their xxh128 action, ignore patterns) of one MHL
    generation."""
    import xml.etree.ElementTree as ET
    ns = {"m": "urn:ASC:MHL:v2.0"}
    root = ET.parse(path).getroot()
    files = {h.find("m:path", ns).text: h.find("m:xxh128", ns).get("action")
             for h in root.iterfind("m:hashes/m:hash", ns)}
    patterns = [p.text for p in root.iterfind("m:processinfo/m:ignore/m:pattern", ns)]
    return files, patterns


def custody_generations():
    """A frame every few seconds (a render farm) writes no generation per
    pause: the unsealed asset is one ignore pattern, written once; a file
    outside the asset is a pattern of its own (gitignore's special
    characters escaped: N1 is relaxed for it) until the root is sealed;
    nothing is listed before a seal, and each seal lists its files once."""
    relaxed = os.path.join(work, "relaxed-n1.ini")
    open(relaxed, "w").write(open(PROFILE).read() + "[rules]\nrelax = N1\n")
    with Mount("trickle", "-o", "profile=%s,quiet=0.2" % relaxed) as m:
        history = os.path.join(m.backing, "ascmhl")
        seen = lambda: sorted(g for g in os.listdir(history) if g.endswith(".mhl")) \
            if os.path.isdir(history) else []
        sync = lambda: subprocess.run([NAMCTL, "sync", m.point], check=True)
        os.makedirs(os.path.join(m.point, SEQ))
        frame = lambda n: os.path.join(m.point, SEQ, "%s.%04d.dpx" % (SEQ, n))
        write = lambda n, seed=0: subprocess.run(
            [NAMGEN, "dpx", frame(n), "--seed", str(n + seed)], check=True)
        odd = os.path.join(m.point, "read me [v1] #2 *.txt")
        open(odd, "w").write("notes")
        write(1)
        sync()
        first = seen()
        files, patterns = generation(os.path.join(history, first[-1])) if first else ({}, [])
        check(len(first) == 1 and not files and "**/" + SEQ + "/" in patterns and
              "**/read\\ me\\ \\[v1\\]\\ \\#2\\ \\*.txt" in patterns,
              "the first pause writes one generation: no file listed, the asset's pattern and "
              "the loose file's, escaped: %s" % patterns)
        for n in (2, 3, 4):
            write(n)
            sync()
        os.unlink(frame(2))
        write(2, seed=100)
        sync()
        check(seen() == first, "frames landing, deleted and rewritten over pauses write no "
              "generation: %s" % seen())
        run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
        check(run.returncode == 0 and "4 checked against a checksum.txt" in run.stdout,
              "namctl verify checks the unsealed asset against checksum.txt (%s)"
              % run.stdout.strip()[-300:])
        os.unlink(odd)
        sync()
        files, patterns = generation(os.path.join(history, seen()[-1]))
        check(len(seen()) == 2 and not any(p.startswith("**/read") for p in patterns),
              "a loose file deleted: the next generation drops its pattern: %s" % patterns)
        subprocess.run([NAMCTL, "seal", os.path.join(m.point, SEQ)], check=True,
                       capture_output=True)
        files, patterns = generation(os.path.join(history, seen()[-1]))
        check(len(seen()) == 3 and len(files) == 5 and set(files.values()) == {"original"} and
              "**/" + SEQ + "/" not in patterns,
              "the seal writes one generation listing its 4 frames and checksum.txt as "
              "original, and lifts the pattern: %s" % sorted(files))
        tool = os.path.join(os.path.dirname(ASCMHL), "tools", "ascmhl")
        run = subprocess.run([tool, "verify", m.backing], capture_output=True, text=True)
        check(run.returncode == 0, "the ASC's reference tool accepts BACKING after the seal "
              "(%s)" % (run.stdout + run.stderr).strip()[-300:])
    gens = seen()
    check(all(subprocess.run(["xmllint", "--noout", "--schema",
                              os.path.join(ASCMHL, "ASCMHL.xsd"), os.path.join(history, g)],
                             capture_output=True).returncode == 0 for g in gens),
          "every generation is schema-valid")
    run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
    check(run.returncode == 0, "BACKING verifies at the end (%s)" % run.stdout[-300:])


def sequence_rules():
    """S1, S5 judged as frames land (close() fails, the frame is quarantined);
    rewrites and rsync updates of a landed frame are not duplicates; the
    rules remember what landed across a remount."""
    m = Mount("sequence", "-o", "profile=" + PROFILE)
    frame = lambda n, pad=4: os.path.join(SEQ, "%s.%0*d.dpx" % (SEQ, pad, n))
    quarantined = lambda rel: os.path.join(m.backing + ".namfs", "quarantine", rel)

    def write(rel, *args):
        return subprocess.run([NAMGEN, "dpx", os.path.join(m.point, rel), *args],
                              capture_output=True, text=True).returncode

    def refused_with(rel, rule):
        return (os.path.exists(quarantined(rel) + ".reason") and
                ("\t%s\t" % rule) in open(quarantined(rel) + ".reason").read())
    with m:
        os.makedirs(os.path.join(m.point, SEQ))
        check(write(frame(1)) == 0 and write(frame(2), "--seed", "2") == 0, "two frames land")
        check(write(frame(3), "--colorimetric", "2") != 0 and refused_with(frame(3), "S1"),
              "S1: a frame unlike the asset's first fails at close and is quarantined")
        check(write(frame(2, 5)) != 0 and refused_with(frame(2, 5), "S5"),
              "S5: 00002 next to 0002 fails at close and is quarantined")
        # a rewrite right after the first close races the first landing (async release)
        patched = 0
        for n in range(20, 40):
            if write(frame(n)) != 0:
                break
            fd = os.open(os.path.join(m.point, frame(n)), os.O_WRONLY)
            try:
                os.pwrite(fd, b"\0\0\x38\0", 16)  # the file-size field, as oiiotool patches it
                os.close(fd)
                patched += 1
            except OSError:
                break
        check(patched == 20, "a frame patched right after it was written is no duplicate "
              "(S5), 20 times: %d" % patched)
        check(write(frame(1), "--seed", "9") == 0 and
              namfs_digest(os.path.join(m.point, frame(1))) ==
              xxh128(os.path.join(m.backing, frame(1))),
              "rewriting a landed frame in place is not a duplicate")
        src = os.path.join(work, "update.dpx")
        subprocess.run([NAMGEN, "dpx", src, "--seed", "5"], check=True)
        run = subprocess.run(["rsync", "-I", src, os.path.join(m.point, frame(2))],
                             capture_output=True, text=True)
        check(run.returncode == 0 and
              namfs_digest(os.path.join(m.point, frame(2))) == xxh128(src),
              "rsync over a landed frame (temp file, then rename) lands (%s)" % run.stderr.strip())
        bad = os.path.join(work, "unlike.dpx")
        subprocess.run([NAMGEN, "dpx", bad, "--colorimetric", "2"], check=True)
        kept = [xxh128(os.path.join(m.backing, frame(n))) for n in (1, 2)]
        runs = [subprocess.run(["rsync", "-I", bad, os.path.join(m.point, frame(n))],
                               capture_output=True).returncode for n in (1, 2)]
        check(runs[0] != 0 and runs[1] != 0 and
              [xxh128(os.path.join(m.backing, frame(n))) for n in (1, 2)] == kept,
              "rsync of an unlike frame over landed ones fails (S1) and leaves them as they were")
        check(write(frame(5), "--colorimetric", "2") != 0 and refused_with(frame(5), "S1"),
              "refused rsync temp files leave their targets in the sequence rules' memory")
        check(refused_with_errno(errno.EPERM, lambda: os.rename(os.path.join(m.point, SEQ),
                                                                os.path.join(m.point, SEQ + "x")))
              and os.path.isdir(os.path.join(m.backing, SEQ)),
              "N4: a folder holding landed frames cannot be renamed (EPERM)")
    with m:
        check(write(frame(4), "--colorimetric", "2") != 0 and refused_with(frame(4), "S1"),
              "after a remount the asset's properties are remembered (S1)")
        check(write(frame(4)) == 0, "and a matching frame lands")


def live_checksum():
    """Between checkpoints the mount shows checksum.txt as the catalog has
    it now, while BACKING still has none."""
    m = Mount("live", "-o", "profile=%s,quiet=600" % PROFILE)
    with m:
        os.makedirs(os.path.join(m.point, SEQ))
        for n in (1, 2):
            subprocess.run([NAMGEN, "dpx", os.path.join(m.point, SEQ, "%s.%04d.dpx" % (SEQ, n)),
                            "--seed", str(n)], check=True)
        shown = os.path.join(m.point, SEQ, "checksum.txt")
        check(os.path.exists(shown) and len(open(shown).read().splitlines()) == 2 and
              not os.path.exists(os.path.join(m.backing, SEQ, "checksum.txt")),
              "checksum.txt is current in the mount before any checkpoint")
        for _ in range(3):  # rendered, kept, then from the kernel's pages of it
            text = open(shown, "rb").read()
        check(len(text) == os.stat(shown).st_size and len(text.splitlines()) == 2,
              "read again, the same text; stat gives its length")
        subprocess.run([NAMGEN, "dpx", os.path.join(m.point, SEQ, "%s.0003.dpx" % SEQ),
                        "--seed", "3"], check=True)
        size = os.stat(shown).st_size
        text = open(shown, "rb").read()
        check(len(text.splitlines()) == 3 and len(text) == size and
              b"%s.0003.dpx" % SEQ.encode() in text,
              "after a landing it lists the new frame at once; stat's length is the text's")
        open(os.path.join(m.point, "notes.txt"), "w").write("not a frame")
        check("checksum.txt" in os.listdir(os.path.join(m.point, SEQ)) and
              "checksum.txt" not in os.listdir(m.point),
              "ls shows checksum.txt beside the frames before the checkpoint, not at the root")
    check(os.path.exists(os.path.join(m.backing, SEQ, "checksum.txt")),
          "and reaches BACKING at unmount")
    check(subprocess.run(["cmp", "-s", "-", os.path.join(m.backing, SEQ, "checksum.txt")],
                         input=text).returncode == 0,
          "BACKING's checksum.txt has the bytes the mount showed (cmp)")


def expected_listing(backing):
    """checksum.txt as it must read, from BACKING's frames and xxhsum (not
    namfs): sorted, one line per frame, name, size, xxh128, digest."""
    folder = os.path.join(backing, SEQ)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".dpx") and n[0] != ".")
    return "".join("%s\t%d\txxh128\t%s\n" % (n, os.path.getsize(os.path.join(folder, n)),
                                              xxh128(os.path.join(folder, n))) for n in names)


def land_frame(m, n, seed=None):
    subprocess.run([NAMGEN, "dpx", os.path.join(m.point, SEQ, "%s.%04d.dpx" % (SEQ, n)),
                    "--seed", str(n if seed is None else seed)], check=True)


def checksum_follows_changes():
    """checksum.txt in the mount, read as close() returns, between
    checkpoints: whatever changed since the last read (frames after the
    last name, before it, rewritten, deleted, changed behind the mount) it
    reads as xxhsum says BACKING's frames are, and stat gives its length;
    and read over and over while a writer lands 150 frames, every read is
    sorted, without duplicates, a prefix of the final listing's frames."""
    m = Mount("follows", "-o", "profile=%s,quiet=600" % PROFILE)
    shown = os.path.join(m.point, SEQ, "checksum.txt")

    def reads_as_backing(what, leave_out=()):
        text = open(shown).read()
        want = "".join(l + "\n" for l in expected_listing(m.backing).splitlines()
                       if l.split("\t")[0] not in leave_out)
        check(text == want and os.stat(shown).st_size == len(text.encode()),
              "%s: checksum.txt reads as BACKING's frames are (%d lines)" %
              (what, len(text.splitlines())))

    with m:
        os.makedirs(os.path.join(m.point, SEQ))
        for n in (1, 2, 3):
            land_frame(m, n)
        reads_as_backing("three frames")
        land_frame(m, 5)
        reads_as_backing("a frame after the last name")
        land_frame(m, 4)
        reads_as_backing("a frame before the last name")
        changed = "%s.0002.dpx" % SEQ
        with open(os.path.join(m.backing, SEQ, changed), "r+b") as f:  # behind the mount
            f.seek(-64, os.SEEK_END)
            f.write(b"\xff" * 64)
        land_frame(m, 6)
        reads_as_backing("a frame changed behind the mount, one landed", leave_out=(changed,))
        os.unlink(os.path.join(m.point, SEQ, "%s.0001.dpx" % SEQ))
        land_frame(m, 7)
        reads_as_backing("a frame deleted, one landed", leave_out=(changed,))
        land_frame(m, 3, seed=33)  # rewritten through the mount: same size, other bytes
        land_frame(m, 8)
        reads_as_backing("a frame rewritten, one landed", leave_out=(changed,))
        with open(shown, "rb") as held:  # opened before a landing, read after it
            want = "".join(l + "\n" for l in expected_listing(m.backing).splitlines()
                           if l.split("\t")[0] != changed).encode()
            land_frame(m, 200)
            open(shown).read()  # another reader's open appends frame 200's line to the text
            text = held.read()
        check(text == want, "a reader gets the text as it was when it opened the file, "
              "not lines appended since (%d of %d bytes)" % (len(text), len(want)))

        writer = subprocess.Popen([sys.executable, "-c", """
import os, subprocess, sys
for n in range(9, 159):
    subprocess.run([sys.argv[1], "dpx", os.path.join(sys.argv[2], "%s.%04d.dpx" % (sys.argv[3], n)),
                    "--seed", str(n)], check=True)
""", NAMGEN, os.path.join(m.point, SEQ), SEQ])
        reads = []
        while writer.poll() is None:
            reads.append(open(shown).read())
        writer.wait()
        final = expected_listing(m.backing).splitlines()
        final = [l for l in final if l.split("\t")[0] != changed]
        ordered = all(r.splitlines() == sorted(set(r.splitlines())) for r in reads)
        known = all(set(r.splitlines()) <= set(final) for r in reads)
        check(writer.returncode == 0 and len(reads) > 1 and ordered and known,
              "%d reads while 150 frames landed: each sorted, no line twice, every line "
              "BACKING's" % len(reads))
        reads_as_backing("after the writer", leave_out=(changed,))



def cached_reads():
    """A landed frame is read from the kernel's cache of it, but a change
    made in BACKING behind namfs's back is never served stale."""
    with Mount("cache", "-o", "profile=" + PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        rel = os.path.join(SEQ, "%s.0001.dpx" % SEQ)
        subprocess.run([NAMGEN, "dpx", os.path.join(m.point, rel)], check=True)
        first = open(os.path.join(m.point, rel), "rb").read()
        check(first == open(os.path.join(m.backing, rel), "rb").read(),
              "a landed frame reads back as written")
        with open(os.path.join(m.backing, rel), "r+b") as f:  # same size, new bytes
            f.seek(len(first) - 100)
            f.write(b"Z" * 100)
        again = open(os.path.join(m.point, rel), "rb").read()
        check(again.endswith(b"Z" * 100) and len(again) == len(first),
              "after a change in BACKING the mount serves the new bytes, not its cache")


def readahead_kb(point):
    dev = subprocess.run(["mountpoint", "-d", point], capture_output=True, text=True)
    return int(open("/sys/class/bdi/%s/read_ahead_kb" % dev.stdout.strip()).read())


def readahead():
    """namfs widens the mount's read-ahead at the first open (root only:
    sysfs); -o readahead=0 leaves the kernel's."""
    if os.geteuid() != 0:
        return
    for options, expect in ((), 1024), (("-o", "readahead=0"), None), \
                           (("-o", "readahead=4096"), 4096):
        with Mount("readahead", *options) as m:
            before = readahead_kb(m.point)
            open(os.path.join(m.point, "notes.txt"), "w").write("x")
            open(os.path.join(m.point, "notes.txt")).read()
            after = readahead_kb(m.point)
            check(after == (expect or before),
                  "read-ahead %s KiB with %s (found %d)" % (expect or before, options, after))


def metadata_keeps_landings():
    """rsync -a sets times on its temp file and renames it; tar and cp -p
    set times too. None of that changes content, so a remount must not
    judge and hash those frames anew."""
    m = Mount("meta", "-o", "profile=" + PROFILE)
    src = os.path.join(work, "meta-src", SEQ)
    os.makedirs(src)
    for n in (1, 2, 3):
        subprocess.run([NAMGEN, "dpx", os.path.join(src, "%s.%04d.dpx" % (SEQ, n)),
                        "--seed", str(n)], check=True)
    os.utime(os.path.join(src, "%s.0001.dpx" % SEQ), (1e9, 1e9))
    with m:
        subprocess.run(["rsync", "-a", src, m.point], check=True)
        frame = os.path.join(m.point, SEQ, "%s.0002.dpx" % SEQ)
        os.chmod(frame, 0o600)
        os.utime(frame, (2e9, 2e9))
    with m:
        log = open(m.log).read()
        check("while unmounted" not in log,
              "after rsync -a, chmod and utime a remount hashes nothing anew (%s)"
              % log.strip()[-120:])

def refused_with_errno(errcode, call):
    try:
        call()
        return False
    except OSError as e:
        return e.errno == errcode


def seal():
    """namctl seal: refused while a frame is missing (S2) or refused and not
    replaced, saying which; then the asset is read-only (EROFS) for good,
    across a remount, and the rest of the delivery stays writable."""
    seq_dir = lambda m: os.path.join(m.point, SEQ)
    frame = lambda m, n: os.path.join(seq_dir(m), "%s.%04d.dpx" % (SEQ, n))
    namctl_seal = lambda m: subprocess.run([NAMCTL, "seal", seq_dir(m)], capture_output=True,
                                           text=True)
    with Mount("seal", "-o", "profile=" + PROFILE) as m:
        os.makedirs(seq_dir(m))
        for n in (1, 2, 4):
            subprocess.run([NAMGEN, "dpx", frame(m, n)], check=True)
        run = namctl_seal(m)
        check(run.returncode == 1 and "S2" in run.stderr and "frame 3 missing" in run.stderr,
              "seal refused while frame 3 is missing, naming S2 and the gap: " + run.stderr.strip())
        subprocess.run([NAMGEN, "dpx", frame(m, 3), "--bits", "8"], capture_output=True)
        run = namctl_seal(m)
        check(run.returncode == 1 and "R2" in run.stderr and "quarantined" in run.stderr,
              "seal refused while a refused frame is not replaced: " + run.stderr.strip())
        # at once: the seal waits for the release that follows close()
        subprocess.run([NAMGEN, "dpx", frame(m, 3)], check=True)
        run = namctl_seal(m)
        check(run.returncode == 0 and "sealed" in run.stdout,
              "seal succeeds once every frame passed: " + (run.stdout + run.stderr).strip())
        check(os.path.exists(os.path.join(m.backing, SEQ, "checksum.txt")) and
              os.listdir(os.path.join(m.backing, "ascmhl")),
              "sealing writes the final manifests to BACKING")
    with Mount("seal", "-o", "profile=" + PROFILE) as m:
        before = xxh128(os.path.join(m.backing, SEQ, "%s.0001.dpx" % SEQ))
        attempts = {
            "write": lambda: open(frame(m, 1), "r+b").write(b"x"),
            "create": lambda: open(frame(m, 5), "wb"),
            "unlink": lambda: os.unlink(frame(m, 1)),
            "rename in": lambda: os.rename(frame(m, 1), frame(m, 9)),
            "rename folder": lambda: os.rename(seq_dir(m), seq_dir(m) + "_x"),
            "truncate": lambda: os.truncate(frame(m, 2), 10),
            "chmod": lambda: os.chmod(frame(m, 2), 0o600),
            "utime": lambda: os.utime(frame(m, 2), (0, 0)),
            "mkdir": lambda: os.mkdir(os.path.join(seq_dir(m), "sub")),
            "setxattr": lambda: os.setxattr(frame(m, 2), "user.note", b"x"),
        }
        for what, call in attempts.items():
            check(refused_with_errno(errno.EROFS, call),
                  "after a remount, a sealed asset refuses %s with EROFS" % what)
        cp = subprocess.run(["cp", frame(m, 1), frame(m, 7)], capture_output=True, text=True)
        check(cp.returncode != 0 and "Read-only file system" in cp.stderr,
              "cp into a sealed asset fails: " + cp.stderr.strip())
        check(xxh128(os.path.join(m.backing, SEQ, "%s.0001.dpx" % SEQ)) == before and
              open(frame(m, 1), "rb").read(4) == b"SDPX",
              "a sealed asset still reads, unchanged")
        check(os.getxattr(seq_dir(m), "user.namfs.seal") == b"sealed",
              "user.namfs.seal says sealed")
        open(os.path.join(m.point, "notes.txt"), "w").write("still writable")
        check(open(os.path.join(m.backing, "notes.txt")).read() == "still writable",
              "the rest of the delivery stays writable")


def sigterm():
    """SIGTERM: namfs finishes, writes the manifests, unmounts and exits 0."""
    frame = os.path.join(SEQ, "%s.0001.dpx" % SEQ)
    with Mount("sigterm", "-o", "profile=%s,quiet=600" % PROFILE) as m:
        os.makedirs(os.path.join(m.point, SEQ))
        subprocess.run([NAMGEN, "dpx", os.path.join(m.point, frame)], check=True)
        m.proc.send_signal(signal.SIGTERM)
        code = m.proc.wait(timeout=20)
        check(code == 0 and not mounted(m.point) and
              os.path.exists(os.path.join(m.backing, SEQ, "checksum.txt")),
              "SIGTERM: exit 0, unmounted, manifests written (exit %s)" % code)


def real_writers():
    """Frames written straight into the mount by third-party writers (oiiotool:
    temp name, header patched, rename; ffmpeg: in order), by tar, and by 8
    parallel writers out of frame order all land with the digest of what
    BACKING holds, and the manifests list them."""
    m = Mount("writers", "-o", "profile=%s,quiet=1" % PROFILE)
    with m:
        dpx_dir = os.path.join(m.point, SEQ)
        exr_dir = os.path.join(m.point, EXR_SEQ)
        # FFmpeg writes no chromaticities: its frames go where the name does not
        # declare ap0 (N5)
        FF_SEQ = EXR_SEQ.replace("_ap0_", "_awg4_")
        ff_dir = os.path.join(m.point, FF_SEQ)
        for d in (dpx_dir, exr_dir, ff_dir):
            os.makedirs(d)
        pattern = ["--pattern", "fill:color=0.2,0.4,0.6", "64x32", "3", "--nosoftwareattrib"]
        runs = [["oiiotool", *pattern, "-d", "uint16", "--attrib", "dpx:Transfer", "Logarithmic",
                 "-o", os.path.join(dpx_dir, "%s.0001.dpx" % SEQ)],
                ["oiiotool", *pattern, "-d", "half", "--compression", "zip",
                 "--attrib:type=float[8]", "chromaticities",
                 "0.7347,0.2653,0,1,0.0001,-0.077,0.32168,0.33767",
                 "-o", os.path.join(exr_dir, "%s.0001.exr" % EXR_SEQ)],
                ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                 "testsrc2=size=64x32", "-frames:v", "1", "-update", "1", "-c:v", "exr",
                 "-compression", "zip16", "-format", "half",
                 os.path.join(ff_dir, "%s.0001.exr" % FF_SEQ)]]
        for cmd in runs:
            run = subprocess.run(cmd, capture_output=True, text=True)
            check(run.returncode == 0, "%s writes into the mount (%s)" % (cmd[0],
                                                                          run.stderr.strip()))
        # the asset's first frame came from oiiotool: the rest must match it (S1)
        like_oiio = ["--transfer", "3", "--colorimetric", "0"]
        order = [7, 3, 9, 2, 8, 4, 6, 5]
        procs = [subprocess.Popen([NAMGEN, "dpx", os.path.join(dpx_dir, "%s.%04d.dpx" % (SEQ, n)),
                                   "--seed", str(n), *like_oiio]) for n in order]
        codes = [p.wait() for p in procs]
        check(codes == [0] * 8, "8 parallel writers, frames out of order (%s)" % codes)
        src = os.path.join(work, "tarred", SEQ)
        os.makedirs(src)
        for n in (10, 11):
            subprocess.run([NAMGEN, "dpx", os.path.join(src, "%s.%04d.dpx" % (SEQ, n)),
                            "--seed", str(n), *like_oiio], check=True)
        tar = subprocess.run(["tar", "cf", "-", "-C", os.path.dirname(src), SEQ],
                             capture_output=True, check=True).stdout
        subprocess.run(["tar", "xf", "-", "-C", m.point], input=tar, check=True)
        frames = [os.path.join(SEQ, f) for f in os.listdir(os.path.join(m.backing, SEQ))
                  if f.endswith(".dpx")] + \
                 [os.path.join(d, f) for d in (EXR_SEQ, FF_SEQ)
                  for f in os.listdir(os.path.join(m.backing, d)) if f.endswith(".exr")]

        def wrong():
            return [f for f in frames if namfs_digest(os.path.join(m.point, f)) !=
                    xxh128(os.path.join(m.backing, f))]
        check(len(frames) == 13 and not wrong(),
              "%d frames from oiiotool, ffmpeg, tar and 8 writers landed with the digest of "
              "BACKING; wrong: %s" % (len(frames), wrong()))
        rejected = open(os.path.join(m.point, ".namfs", "rejected")).read()
        check(rejected == "", "none refused: %s" % rejected.strip())
        shown = os.path.join(m.point, SEQ, "checksum.txt")
        check(os.path.exists(shown) and len(open(shown).read().splitlines()) == 11 and
              all(l.split("\t")[3] == xxh128(os.path.join(m.backing, SEQ, l.split("\t")[0]))
                  for l in open(shown).read().splitlines()),
              "checksum.txt in the mount lists every landed frame with its xxh128")
    run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
    check(run.returncode == 0, "BACKING verifies against the manifests written at unmount (%s)"
          % run.stdout.strip()[-300:])


def startup_errors():
    point = os.path.join(work, "start-mnt")
    os.makedirs(point)
    run = subprocess.run([NAMFS, os.path.join(work, "missing"), point], capture_output=True,
                         text=True)
    check(run.returncode != 0 and "BACKING" in run.stderr, "missing BACKING: clear error")
    bad = os.path.join(work, "bad.ini")
    open(bad, "w").write("[delivery]\nformats = dpx\n")
    backing = os.path.join(work, "start-backing")
    os.makedirs(backing)
    run = subprocess.run([NAMFS, "-o", "profile=" + bad, backing, point], capture_output=True,
                         text=True)
    check(run.returncode != 0 and "missing required key" in run.stderr, "bad profile: clear error")
    with Mount("busy", daemon=True) as m:
        run = subprocess.run([NAMFS, work, m.point], capture_output=True, text=True)
        check(run.returncode != 0 and "busy" in run.stderr, "busy mount point: clear error")


ALL_CASES = (copy_tools, write_patterns, refusals, live_hashes, refusals_at_write,
             refusals_by_profile, manifests, custody_generations,
             sequence_rules, live_checksum, checksum_follows_changes, cached_reads, readahead, metadata_keeps_landings, seal, sigterm,
             real_writers, startup_errors)
harness.run_cases(ALL_CASES, "MOUNT_CASES")  # e.g. MOUNT_CASES="seal sigterm"
