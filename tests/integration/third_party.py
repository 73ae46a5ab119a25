#!/usr/bin/env python3
"""Agreement with third-party writers: frames written by oiiotool, ffmpeg
and ImageMagick are read by namfs (`namctl info --json`) as the width,
height, bit depth, compression and layout each tool was asked for, and
complete, at an even and an odd size (rows of odd widths are where DPX
writers disagree on padding). Then a few verdicts that follow from what
each writer puts in its headers.

Usage: third_party.py NAMCTL
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import harness

NAMCTL = sys.argv[1]
# /usr/local/bin may hold a stand-in `convert`; ImageMagick's is here.
CONVERT = "/usr/bin/convert"
work = tempfile.mkdtemp(prefix="namfs-3p-")
failures = []


def oiio(size, out, *args):
    w, h = size
    pattern = "fill:topleft=1,0,0:topright=0,1,0:bottomleft=0,0,1:bottomright=1,1,1"
    return ["oiiotool", "--pattern", pattern, "%dx%d" % (w, h), "3", "--nosoftwareattrib",
            *args, "-o", out]


def ffmpeg(size, out, *args):
    w, h = size
    source = "testsrc2" if w % 2 == 0 and h % 2 == 0 else "testsrc"  # testsrc2 rounds odd sizes
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", "%s=size=%dx%d" % (source, w, h), "-frames:v", "1", "-update", "1", *args, out]


def magick(size, out, *args):
    w, h = size
    return [CONVERT, "-size", "%dx%d" % (w, h), "gradient:red-blue", *args, out]


AP0 = "0.7347,0.2653,0,1,0.0001,-0.077,0.32168,0.33767"

# (name, writer, ext, writer args, expected fields)
CASES = [
    ("oiio dpx10", oiio, "dpx", ["-d", "uint10"], {"bit_depth": 10}),
    ("oiio dpx16", oiio, "dpx", ["-d", "uint16"], {"bit_depth": 16}),
    ("oiio dpx10 big-endian", oiio, "dpx", ["-d", "uint10", "--attrib", "oiio:Endian", "big"],
     {"bit_depth": 10, "big_endian": True}),
    ("oiio dpx16 log", oiio, "dpx", ["-d", "uint16", "--attrib", "dpx:Transfer", "Logarithmic"],
     {"bit_depth": 16, "transfer": 3}),
    ("oiio exr float", oiio, "exr", ["-d", "float", "--compression", "zip"],
     {"bit_depth": 32, "compression": "ZIP"}),
    ("oiio exr tiled", oiio, "exr", ["-d", "half", "--tile", "32", "32", "--compression", "zip"],
     {"bit_depth": 16, "compression": "ZIP", "tiled": True}),
    ("oiio exr aces", oiio, "exr", ["-d", "half", "--compression", "piz",
                                    "--attrib:type=float[8]", "chromaticities", AP0,
                                    "--attrib:type=int", "acesImageContainerFlag", "1"],
     {"bit_depth": 16, "compression": "PIZ", "ap0": True, "aces_container_flag": 1}),
    ("ffmpeg dpx10 le", ffmpeg, "dpx", ["-pix_fmt", "gbrp10le"], {"bit_depth": 10}),
    ("ffmpeg dpx10 be", ffmpeg, "dpx", ["-pix_fmt", "gbrp10be"],
     {"bit_depth": 10, "big_endian": True}),
    ("ffmpeg dpx16 le", ffmpeg, "dpx", ["-pix_fmt", "rgb48le"], {"bit_depth": 16}),
    ("ffmpeg dpx16 be", ffmpeg, "dpx", ["-pix_fmt", "rgb48be"],
     {"bit_depth": 16, "big_endian": True}),
    ("ffmpeg exr half zip16", ffmpeg, "exr", ["-c:v", "exr", "-compression", "zip16",
                                              "-format", "half"],
     {"bit_depth": 16, "compression": "ZIP"}),
    ("ffmpeg exr half zip1", ffmpeg, "exr", ["-c:v", "exr", "-compression", "zip1",
                                             "-format", "half"],
     {"bit_depth": 16, "compression": "ZIPS"}),
    ("ffmpeg exr float none", ffmpeg, "exr", ["-c:v", "exr", "-compression", "none",
                                              "-format", "float"],
     {"bit_depth": 32, "compression": "NONE"}),
    ("ffmpeg exr rle", ffmpeg, "exr", ["-c:v", "exr", "-compression", "rle", "-format", "half"],
     {"bit_depth": 16, "compression": "RLE"}),
    ("magick dpx10", magick, "dpx", ["-depth", "10"], {"bit_depth": 10, "big_endian": True}),
    ("magick dpx16", magick, "dpx", ["-depth", "16"], {"bit_depth": 16}),
    ("magick exr zip", magick, "exr", ["-compress", "Zip"],
     {"bit_depth": 16, "compression": "ZIP"}),
    ("magick exr piz", magick, "exr", ["-compress", "Piz"],
     {"bit_depth": 16, "compression": "PIZ"}),
    ("magick exr none", magick, "exr", ["-compress", "None"],
     {"bit_depth": 16, "compression": "NONE"}),
]
CASES += [("oiio exr " + c, oiio, "exr", ["-d", "half", "--compression", c],
           {"bit_depth": 16, "compression": c.upper()})
          for c in ("none", "zip", "zips", "piz", "dwaa", "dwab", "b44", "pxr24")]


def write(name, writer, ext, args, size):
    out = os.path.join(work, "%s %dx%d.%s" % (name, size[0], size[1], ext))
    run = subprocess.run(writer(size, out, *args), capture_output=True, text=True)
    if run.returncode != 0 or not os.path.exists(out):
        failures.append("%s: writer failed: %s" % (name, run.stderr.strip()[:300]))
        return None
    return out


def info(path):
    run = subprocess.run([NAMCTL, "info", "--json", path], capture_output=True, text=True)
    if run.returncode != 0:
        return None, run.stderr.strip()
    return json.loads(run.stdout)[0], ""


def agree():
    for size in ((64, 32), (65, 33)):
        for name, writer, ext, args, want in CASES:
            path = write(name, writer, ext, args, size)
            if not path:
                continue
            got, err = info(path)
            if got is None:
                failures.append("%s %dx%d: namctl info failed: %s" % (name, *size, err))
                continue
            want = dict(want, width=size[0], height=size[1], completeness="complete",
                        format=ext.upper())
            wrong = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
            if wrong:
                failures.append("%s %dx%d: expected vs found %s" % (name, *size, wrong))
            else:
                print("ok   %-24s %dx%d" % (name, *size))


SEQ = "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"
PROFILE = ("[delivery]\nformats = dpx, exr\nresolution = any\ncolour = camera-native\n%s"
           "[testing]\nresolution_floor = 64x32\n")


def verdict(name, command, rule, extra=""):
    """One writer's frame in a proper delivery: the rule namctl names."""
    root = os.path.join(work, "delivery-" + name.replace(" ", "-"))
    rel = "%s/%s.0001.dpx" % (SEQ, SEQ)
    os.makedirs(os.path.join(root, SEQ))
    subprocess.run(command(os.path.join(root, rel)), check=True, capture_output=True)
    profile = os.path.join(work, name.replace(" ", "-") + ".ini")
    with open(profile, "w") as f:
        f.write(PROFILE % extra)
    run = subprocess.run([NAMCTL, "check", "--json", "--profile", profile, root],
                         capture_output=True, text=True)
    got = json.loads(run.stdout)["files"][0]
    if got["rule"] != rule or run.returncode != (1 if rule else 0):
        failures.append("%s: expected %s, found %s (%s)" % (name, rule, got["rule"],
                                                           got["message"]))
    else:
        print("ok   %-24s %-4s %s" % (name, rule or "pass", got["message"]))


def verdicts():
    size = (64, 32)
    verdict("oiio log dpx16", lambda o: oiio(size, o, "-d", "uint16", "--attrib",
                                             "dpx:Transfer", "Logarithmic"), None)
    # oiiotool leaves the transfer undefined (255) unless told
    verdict("oiio plain dpx16", lambda o: oiio(size, o, "-d", "uint16"), "R2")
    # FFmpeg tags every DPX linear (transfer 2)
    verdict("ffmpeg dpx16", lambda o: ffmpeg(size, o, "-pix_fmt", "rgb48be"), "R2")
    # ImageMagick 6 writes transfer 0 unless told, and always a wrong
    # file-size field (SPEC.md)
    verdict("magick dpx16", lambda o: magick(size, o, "-depth", "16"), "R2")
    verdict("magick log dpx16", lambda o: magick(size, o, "-depth", "16", "-set", "colorspace",
                                                 "Log"), "R9")
    verdict("magick dpx16 relaxed", lambda o: magick(size, o, "-depth", "16", "-set",
                                                     "colorspace", "Log"),
            None, "[rules]\nrelax = R9\n")


try:
    agree()
    verdicts()
finally:
    shutil.rmtree(work, ignore_errors=True)
harness.report(failures)
