#!/usr/bin/env python3
"""Exact verdicts on frames third-party writers made, then damaged here.

Usage: verdict_cases.py NAMCTL NAMGEN

Frames come from oiiotool, exrmaketiled, exrmultipart, ffmpeg and
ImageMagick (and OpenEXRCore's own writer through namgen for a deep
image, which none of those write). Each case names the rule and message
`namctl check` must give in its default check, and what `--quick` (the
chunk table only) and `--deep` (OpenEXRCore as well) give:
- R7 by every chunk leader: a zeroed leader in the middle, a one-byte flip
  in each offset-table entry, an entry into the middle of another chunk, a
  zero-filled tail of a tiled PIZ frame (small and UHD);
- ripmaps and mipmaps from exrmaketiled complete, their chunk counts as
  exrheader prints them;
- rule order: R8 before R6 for files named as frames, R4 (deep, multipart)
  before R1 with overscan, R9 for an EXR header cut or corrupted;
- namctl info: every channel, code names, "absent".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

import harness
from harness import check

NAMCTL, NAMGEN = sys.argv[1], sys.argv[2]
CONVERT = "/usr/bin/convert"  # /usr/local/bin may hold a stand-in
EXR_SEQ = "show_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_64x32"
DPX_SEQ = "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"
UHD_SEQ = "show_s01e02_nam_16b_sdr_aces110_ap0_linear_20261124_178_3840x2160"
work = tempfile.mkdtemp(prefix="namfs-verdicts-")
PROFILE = os.path.join(work, "profile.ini")
with open(PROFILE, "w") as f:
    # N5 relaxed: the writers' frames are not all 64x32 AP0, as named
    f.write("[delivery]\nformats = dpx, exr\nresolution = any\ncolour = camera-native\n"
            "[rules]\nrelax = N5\n[testing]\nresolution_floor = 64x32\n")


def run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def oiio_exr(out, size, *args):
    run("oiiotool", "--pattern", "noise:type=uniform:min=0:max=1", size, "3",
        "--nosoftwareattrib", "-d", "half", *args, "-o", out)


def frame_path(root, seq, number, ext="exr", pad=4):
    folder = os.path.join(root, seq)
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, "%s.%0*d.%s" % (seq, pad, number, ext))


def check_json(root, *mode):
    done = subprocess.run([NAMCTL, "check", "--json", *mode, "--profile", PROFILE, root],
                          capture_output=True, text=True)
    report = json.loads(done.stdout)
    return done.returncode, {f["path"]: f for f in report["files"]}


def le64(b, at):
    return int.from_bytes(b[at:at + 8], "little")


def header_end(b):
    """Where a single-part EXR's offset table starts (after its header)."""
    at = 8
    while b[at] != 0:
        name_end = b.index(0, at)
        type_end = b.index(0, name_end + 1)
        size = int.from_bytes(b[type_end + 1:type_end + 5], "little")
        at = type_end + 5 + size
    return at + 1


def chunk_count(path):
    out = subprocess.run(["exrheader", path], capture_output=True, text=True).stdout
    found = re.search(r"chunkCount \(type int\): (\d+)", out)
    return int(found.group(1)) if found else None


def damaged(base, how):
    """base's bytes with how(bytes, table start, chunk count) applied. A
    writer puts the first chunk right after the table: that gives the
    count."""
    b = bytearray(open(base, "rb").read())
    table = header_end(b)
    how(b, table, (le64(b, table) - table) // 8)
    return bytes(b)


def zero_leader(k, size=8):
    """Zeros chunk k's leader: 8 bytes (y, size) for scanlines, 20 (tile
    x, y, level x, y, size) for tiles."""
    def how(b, table, count):
        at = le64(b, table + 8 * k)
        b[at:at + size] = bytes(size)
    return how


def flip_entry(k, byte):
    def how(b, table, count):
        b[table + 8 * k + byte] ^= 0x5A
    return how


def into_middle(k):
    def how(b, table, count):
        a, z = le64(b, table + 8 * (k - 1)), le64(b, table + 8 * k)
        b[table + 8 * k:table + 8 * k + 8] = ((a + z) // 2).to_bytes(8, "little")
    return how


def zero_tail(chunks):
    """Zeros the file from the leader of its chunks-th last chunk on: what
    a copy that preallocated and died leaves."""
    def how(b, table, count):
        at = sorted(le64(b, table + 8 * i) for i in range(count))[-chunks]
        b[at:] = bytes(len(b) - at)
    return how


def leader_damage():
    """R7 in the default check and in --deep for every damaged variant of
    a 256x128 ZIP frame (8 chunks) and a 256x256 tiled PIZ frame (64)."""
    root = os.path.join(work, "leaders")
    scan = os.path.join(work, "scan.exr")
    tiled = os.path.join(work, "tiled.exr")
    oiio_exr(scan, "256x128", "--compression", "zip")
    oiio_exr(tiled, "256x256", "--tile", "32", "32", "--compression", "piz")
    variants = [("zeroed leader of chunk %d" % k, scan, zero_leader(k)) for k in range(8)]
    variants += [("table entry %d byte %d flipped" % (k, byte), scan, flip_entry(k, byte))
                 for k in range(8) for byte in range(3)]
    variants += [("entry %d into the middle of chunk %d" % (k, k - 1), scan, into_middle(k))
                 for k in (1, 4, 7)]
    variants += [("tiled: zeroed leader of tile %d" % k, tiled, zero_leader(k, 20))
                 for k in (5, 40)]
    variants += [("tiled: zeroed from the last %d chunks on" % n, tiled, zero_tail(n))
                 for n in (1, 2, 10)]
    names = {}
    for number, (what, base, how) in enumerate(variants, start=1001):
        path = frame_path(root, EXR_SEQ, number)
        open(path, "wb").write(damaged(base, how))
        names[os.path.relpath(path, root)] = what
    good = frame_path(root, EXR_SEQ, 2000)
    shutil.copy(scan, good)
    for mode in ((), ("--deep",)):
        status, files = check_json(root, *mode)
        label = " ".join(mode) or "default"
        check(status == 1, "%s check of damaged frames exits 1 (found %d)" % (label, status))
        for rel, what in names.items():
            f = files[rel]
            check(f["rule"] == "R7" and f["message"].startswith("incomplete frame: chunk")
                  or (f["rule"] == "R7" and "last chunk" in f["message"]),
                  "%s check, %s: R7 naming the chunk (found %s %s)"
                  % (label, what, f["rule"], f["message"]))
        check(files[os.path.relpath(good, root)]["verdict"] == "pass",
              "%s check: the undamaged frame passes" % label)
    status, files = check_json(root, "--quick")
    missed = [what for rel, what in names.items() if files[rel]["verdict"] == "pass"]
    print("note --quick (table only) passes %d of %d damaged variants" % (len(missed),
                                                                       len(names)))
    check(files[os.path.relpath(frame_path(root, EXR_SEQ, 1001 + 8 + 3 * 7 + 2), root)]
          ["rule"] == "R7", "--quick still catches a table entry flipped out of the file")


def leader_messages():
    """The messages say what each leader should hold and what it holds."""
    root = os.path.join(work, "messages")
    scan = os.path.join(work, "scan.exr")
    path = frame_path(root, EXR_SEQ, 1001)
    open(path, "wb").write(damaged(scan, zero_leader(3)))
    _, files = check_json(root)
    message = files[os.path.relpath(path, root)]["message"]
    check(message == "incomplete frame: chunk 3: expected scanline 48 in its leader, found 0",
          "zeroed ZIP leader: %r" % message)
    tiled = os.path.join(work, "tiled.exr")
    open(path, "wb").write(damaged(tiled, zero_leader(9, 20)))
    _, files = check_json(root)
    message = files[os.path.relpath(path, root)]["message"]
    check(message == "incomplete frame: chunk 9: expected tile 1,1 of level 0,0 in its leader, "
          "found tile 0,0 of level 0,0", "zeroed tile leader: %r" % message)


def uhd_zero_tail():
    """The issue's frame: a UHD tiled PIZ frame from oiiotool whose last
    8 MiB are zeros passes --quick and fails the default check."""
    root = os.path.join(work, "uhd")
    base = os.path.join(work, "uhd.exr")
    oiio_exr(base, "3840x2160", "--tile", "64", "64", "--compression", "piz")
    path = frame_path(root, UHD_SEQ, 1001)
    size = os.path.getsize(base)
    b = bytearray(open(base, "rb").read())
    cut = min(8 << 20, size // 2)
    b[size - cut:] = bytes(cut)
    open(path, "wb").write(bytes(b))
    rel = os.path.relpath(path, root)
    status, files = check_json(root)
    check(status == 1 and files[rel]["rule"] == "R7",
          "UHD tiled PIZ (%d bytes), last %d zeroed: R7 (found %s %s)"
          % (size, cut, files[rel]["rule"], files[rel]["message"]))
    _, files = check_json(root, "--quick")
    print("note --quick on it: %s" % files[rel]["verdict"])


def levels():
    """Ripmaps and mipmaps from exrmaketiled: complete by every check,
    their chunk counts those exrheader reads."""
    root = os.path.join(work, "levels")
    flat = os.path.join(work, "flat.exr")
    oiio_exr(flat, "250x130", "--compression", "zip")
    shapes = [("ripmap", ["-r"]), ("ripmap rounded up", ["-r", "-u"]), ("mipmap", ["-m"]),
              ("mipmap rounded up", ["-m", "-u"]), ("one level", [])]
    made = {}
    for number, (what, args) in enumerate(shapes, start=1001):
        path = frame_path(root, EXR_SEQ, number)
        run("exrmaketiled", *args, "-t", "32", "16", flat, path)
        made[os.path.relpath(path, root)] = (what, path)
    for mode in ((), ("--deep",), ("--quick",)):
        status, files = check_json(root, *mode)
        for rel, (what, _) in made.items():
            check(files[rel]["verdict"] == "pass", "%s %s: passes (found %s %s)" % (
                " ".join(mode) or "default", what, files[rel]["rule"], files[rel]["message"]))
    for rel, (what, path) in made.items():
        info = json.loads(subprocess.run([NAMCTL, "info", "--json", path], capture_output=True,
                                         text=True).stdout)[0]
        check(info["completeness"] == "complete" and info["chunks"] == chunk_count(path),
              "info %s: complete, %s chunks as exrheader says (found %s, %s)"
              % (what, chunk_count(path), info["completeness"], info["chunks"]))
    # the same ripmap with its last tile's leader zeroed fails
    rip = made[os.path.relpath(frame_path(root, EXR_SEQ, 1001), root)][1]
    broken = frame_path(os.path.join(work, "levels-broken"), EXR_SEQ, 1001)
    count = chunk_count(rip)
    open(broken, "wb").write(damaged(rip, zero_leader(count - 2, 20)))
    _, files = check_json(os.path.join(work, "levels-broken"))
    rel = os.path.relpath(broken, os.path.join(work, "levels-broken"))
    check(files[rel]["rule"] == "R7" and "of level" in files[rel]["message"],
          "ripmap with a zeroed leader: R7 naming tile and level (found %s)"
          % files[rel]["message"])


def rule_order():
    root = os.path.join(work, "order")
    cases = []

    def case(number, ext, rule, words, make, seq=EXR_SEQ):
        path = frame_path(root, seq, number, ext)
        make(path)
        cases.append((os.path.relpath(path, root), rule, words))

    png = lambda p: run(CONVERT, "-size", "64x32", "gradient:red-blue", "png:" + p)
    mov = lambda p: run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc=size=64x32", "-frames:v", "1", "-f", "mov", p)

    def zipped(p):
        inner = os.path.join(work, "inner.exr")
        oiio_exr(inner, "64x32", "--compression", "zip")
        with zipfile.ZipFile(p, "w") as z:
            z.write(inner, "inner.exr")

    case(1001, "dpx", "R8", "not what its name says: name says DPX, expected its magic number, "
         "found a PNG image", png, DPX_SEQ)
    case(1002, "exr", "R8", "found a zip archive", zipped)
    case(1003, "dpx", "R8", "found a QuickTime/MP4 movie", mov, DPX_SEQ)

    def overscan(p, *args):
        run("oiiotool", "--pattern", "constant:color=1,0,0", "80x40", "3", "--origin", "-8-4",
            "--fullsize", "64x32+0+0", "-d", "half", "--compression", "zip", *args, "-o", p)

    def multipart(p):
        a, b = os.path.join(work, "over.exr"), os.path.join(work, "plain.exr")
        overscan(a)
        oiio_exr(b, "64x32", "--compression", "zip")
        run("exrmultipart", "-combine", "-i", a, b, "-o", p)

    def deep(p):
        run(NAMGEN, "exr", p, "--storage", "deep", "--data-window", "-8,-4,71,35")

    case(1004, "exr", "R4", "expected a single-part OpenEXR, found 2 parts", multipart)
    case(1005, "exr", "R4", "expected scanline or tiled image data, found deep data", deep)
    case(1006, "exr", "R1", "data window", overscan)

    def cut_header(p):
        whole = os.path.join(work, "whole.exr")
        oiio_exr(whole, "64x32", "--compression", "zip")
        open(p, "wb").write(open(whole, "rb").read()[:150])

    def bad_attribute(p):
        whole = os.path.join(work, "whole.exr")
        oiio_exr(whole, "64x32", "--compression", "zip")
        b = bytearray(open(whole, "rb").read())
        at = b.index(b"compression\0compression\0") + len("compression\0compression\0")
        b[at:at + 4] = (7).to_bytes(4, "little")  # a compression attribute is 1 byte
        open(p, "wb").write(bytes(b))

    case(1007, "exr", "R9", "OpenEXR header unreadable", cut_header)
    case(1008, "exr", "R9", "OpenEXR header unreadable", bad_attribute)
    for mode in ((), ("--deep",), ("--quick",)):
        _, files = check_json(root, *mode)
        for rel, rule, words in cases:
            f = files[rel]
            check(f["rule"] == rule and words in f["message"],
                  "%s %s: %s '%s' (found %s %s)" % (" ".join(mode) or "default",
                                                    os.path.basename(rel), rule, words,
                                                    f["rule"], f["message"]))


def info_names():
    path = os.path.join(work, "twelve.exr")
    run("oiiotool", "--create", "64x32", "12", "-d", "half", "-o", path)
    text = subprocess.run([NAMCTL, "info", path], capture_output=True, text=True).stdout
    check("12 channels:" in text and "channel11:half" in text,
          "info lists all 12 channels: %r" % text)
    check("acesImageContainerFlag absent" in text and "chromaticities absent" in text,
          "info says absent, not -1: %r" % text)
    info = json.loads(subprocess.run([NAMCTL, "info", "--json", path], capture_output=True,
                                     text=True).stdout)[0]
    check(info["channel_count"] == 12 and len(info["channels"].split()) == 12
          and info["aces_container_flag"] is None, "info --json: 12 channels, flag null")
    dpx = os.path.join(work, "log.dpx")
    run("oiiotool", "--pattern", "constant:color=1,0,0", "64x32", "3", "-d", "uint16",
        "--attrib", "dpx:Transfer", "Logarithmic", "-o", dpx)
    text = subprocess.run([NAMCTL, "info", dpx], capture_output=True, text=True).stdout
    check("descriptor 50 (RGB)" in text and "transfer 3 (Logarithmic)" in text,
          "info names DPX codes: %r" % text)


leader_damage()
leader_messages()
uhd_zero_tail()
levels()
rule_order()
info_names()
shutil.rmtree(work, ignore_errors=True)
harness.report()
