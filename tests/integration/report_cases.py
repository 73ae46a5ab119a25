#!/usr/bin/env python3
"""`namctl report --html`, judged by headless Chromium (Debian's chromium).

Usage: report_cases.py NAMFS NAMGEN NAMCTL

A small delivery of frames from oiiotool: two assets, one with a missing
and a refused frame, the other sealed offline (namctl manifest --seal).
Chromium's --dump-dom of the page must name every asset, the missing
frame, the refused frame with its rule and the sealed asset as sealed; its
--screenshot must differ substantially from an empty page's (ImageMagick's
`compare`); no src or href may point anywhere but into the page. Then the
same through a mount, where a refused frame lives in the quarantine and
must still be on the page.
"""
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile

import harness
from harness import Mount, check

NAMFS, NAMGEN, NAMCTL = sys.argv[1:4]
work = tempfile.mkdtemp(prefix="namfs-report-")
harness.use(NAMFS, work)
PROFILE = harness.small_profile(work)
LOG_SEQ = harness.SEQ
TEXTED = "show_s01e02_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"


def oiio_dpx(path, depth="uint16"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run(["oiiotool", "--pattern", "fill:top=0.2,0.2,0.2:bottom=0.8,0.8,0.8", "64x32",
                    "3", "-d", depth, "--attrib", "dpx:Transfer", "Logarithmic", "-o", path],
                   check=True, capture_output=True)


def frame(root, seq, n):
    return os.path.join(root, seq, "%s.%04d.dpx" % (seq, n))


def chromium(*args):
    return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-dev-shm-usage", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=120)


class Links(html.parser.HTMLParser):
    """Every src and href in the page."""

    def __init__(self):
        super().__init__()
        self.targets = []

    def handle_starttag(self, tag, attrs):
        self.targets += [v or "" for k, v in attrs if k in ("src", "href")]


def differing_pixels(a, b):
    """ImageMagick's count of pixels that differ between two screenshots."""
    run = subprocess.run(["compare", "-metric", "AE", a, b, "null:"], capture_output=True,
                         text=True)
    return int(float(run.stderr.split()[0]))


def judge_page(page, names, label):
    dom = chromium("--dump-dom", "file://" + page).stdout
    for what in names:
        check(what in dom, "%s: the rendered page names %r" % (label, what))
    links = Links()
    links.feed(open(page).read())
    outside = [t for t in links.targets if not t.startswith("#") or "http" in t]
    check(not outside,
          "%s: every src and href stays in the page (%d links, outside: %s)"
          % (label, len(links.targets), outside))
    return dom


def offline():
    root = os.path.join(work, "delivery")
    for n in (1001, 1002, 1003):
        oiio_dpx(frame(root, LOG_SEQ, n))
    oiio_dpx(frame(root, LOG_SEQ, 1005), "uint8")  # refused: R2
    for n in (1, 2, 3):
        oiio_dpx(frame(root, TEXTED, n))
    run = subprocess.run([NAMCTL, "manifest", "--profile", PROFILE, "--state",
                          os.path.join(work, "state"), "--seal", TEXTED, root],
                         capture_output=True, text=True)
    check(run.returncode == 1, "manifest seals the good asset, leaves the refused frame out "
          "(exit %d: %s)" % (run.returncode, run.stderr.strip()[-200:]))
    page = os.path.join(work, "report.html")
    run = subprocess.run([NAMCTL, "report", "--html", page, "--profile", PROFILE, root],
                         capture_output=True, text=True)
    check(run.returncode == 1 and os.path.getsize(page) > 1000,
          "report: exit 1 (not a valid NAM), a page written (%d: %s)"
          % (run.returncode, run.stderr.strip()[-200:]))
    dom = judge_page(page, [LOG_SEQ, TEXTED, "NOT VALID", "missing</dt><dd>1004",
                            "refused</dt><dd>1005", ">R2<", "expected 16-bit DPX, found 8-bit",
                            "%s.1005.dpx" % LOG_SEQ, "yes: its files are in the ASC MHL"],
                     "offline")
    sections = dom.split("<section")
    texted = [s for s in sections if TEXTED in s.split("</h2>")[0]]
    check(len(texted) == 1 and "yes: its files are in the ASC MHL" in texted[0]
          and "current: 3 file(s) listed" in texted[0],
          "offline: the sealed asset says sealed, its checksum.txt current")
    empty = os.path.join(work, "empty.html")
    open(empty, "w").write("<!DOCTYPE html><html><body></body></html>\n")
    shots = []
    for name, target in (("page", page), ("empty", empty)):
        shot = os.path.join(work, name + ".png")
        chromium("--screenshot=" + shot, "--window-size=1200,900", "file://" + target)
        shots.append(shot)
    changed = differing_pixels(*shots) if all(map(os.path.exists, shots)) else 0
    check(changed > 1200 * 900 // 10,
          "the page's screenshot differs from an empty page's in %d of %d pixels"
          % (changed, 1200 * 900))


def through_a_mount():
    with Mount("report", "-o", "profile=" + PROFILE) as m:
        for n in (1, 2, 4):
            src = os.path.join(work, "m%d.dpx" % n)
            oiio_dpx(src)
            os.makedirs(os.path.join(m.point, LOG_SEQ), exist_ok=True)
            shutil.copy(src, frame(m.point, LOG_SEQ, n))
        bad = os.path.join(work, "m5.dpx")
        oiio_dpx(bad, "uint8")
        run = subprocess.run(["cp", bad, frame(m.point, LOG_SEQ, 5)], capture_output=True)
        check(run.returncode != 0, "the 8-bit frame is refused by the mount")
        with open(os.path.join(m.point, LOG_SEQ, ".DS_Store"), "w") as f:
            f.write("finder")  # held (N6): only the mount knows
        page = os.path.join(work, "mount.html")
        run = subprocess.run([NAMCTL, "report", "--html", page, "--profile", PROFILE, m.point],
                             capture_output=True, text=True)
        check(run.returncode == 1, "report of the mount: exit 1 (%d: %s)"
              % (run.returncode, run.stderr.strip()[-200:]))
        judge_page(page, [LOG_SEQ, "a namfs mount", "missing</dt><dd>3",
                          "refused</dt><dd>5", ">R2<", "%s.0005.dpx" % LOG_SEQ,
                          "Held files", "%s/.DS_Store" % LOG_SEQ],
                   "mount")


harness.run_cases([offline, through_a_mount], "REPORT_CASES")
