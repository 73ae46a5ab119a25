#!/usr/bin/env python3
"""namctl check on generated deliveries: every rule it judges, both ways.

Usage: check_cases.py NAMCTL NAMGEN EXAMPLE_PROFILE
Each case builds a small delivery (test profile: 64x32 floor) with the
project's generator, runs `namctl check --json` and asserts the exit
status and the rule id named for the file or asset under test.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import harness

NAMCTL, NAMGEN, EXAMPLE_PROFILE = sys.argv[1], sys.argv[2], sys.argv[3]
SEQ = "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"
EXR_SEQ = "show_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_64x32"
TXT_SEQ = "show_s01e01_nam-txtls_16b_sdr_aces110_ap0_log_20261124_178_64x32"
UHD_SEQ = "show_s01e02_nam_16b_sdr_aces110_ap0_log_20261124_178_3840x2160"

PROFILE = """[delivery]
formats = dpx, exr
resolution = any
{extra}
[testing]
resolution_floor = 64x32
"""

failures = []
work = tempfile.mkdtemp(prefix="namfs-check-")


def gen(kind, path, *args):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run([NAMGEN, kind, path, *args], check=True)


def profile(extra=""):
    path = os.path.join(work, "profile-%d.ini" % abs(hash(extra)))
    with open(path, "w") as f:
        colour = "" if "colour" in extra else "colour = camera-native\n"
        f.write(PROFILE.format(extra=colour + extra))
    return path


def frame(seq, number, ext="dpx", pad=6):
    return "%s/%s.%0*d.%s" % (seq, seq, pad, number, ext)


def fresh_delivery(name):
    """Three good 16-bit DPX frames, 1001-1003."""
    root = os.path.join(work, name)
    for n in (1001, 1002, 1003):
        gen("dpx", os.path.join(root, frame(SEQ, n)), "--seed", str(n))
    return root


def check(root, prof=None, default_profile=False):
    cmd = [NAMCTL, "check", "--json", root]
    if not default_profile:
        cmd[2:2] = ["--profile", prof or profile()]
    run = subprocess.run(cmd, capture_output=True, text=True)
    try:
        report = json.loads(run.stdout)
    except ValueError:
        report = None
    return run.returncode, report, run.stderr


def file_rule(report, rel):
    for f in report["files"]:
        if f["path"] == rel:
            return f["rule"], f["message"]
    raise KeyError(rel)


def expect(name, root, rel, rule, prof=None, status=None, default_profile=False):
    """rel's verdict names `rule` (None: passes); exit status follows."""
    code, report, err = check(root, prof, default_profile)
    want = status if status is not None else (0 if rule is None else 1)
    try:
        got, message = file_rule(report, rel)
    except (KeyError, TypeError):
        failures.append("%s: %s not reported (exit %d, %s)" % (name, rel, code, err.strip()))
        return
    if got != rule or code != want:
        failures.append("%s: expected rule %s exit %d, found %s exit %d (%s)"
                        % (name, rule, want, got, code, message))
    else:
        print("ok   %-28s %-4s %s" % (name, rule or "pass", message))


def case(name, rule, kind, args, prof=None, ext=None, seq=SEQ, number=1004):
    root = fresh_delivery(name)
    rel = frame(seq, number, ext or kind)
    gen(kind, os.path.join(root, rel), *args)
    expect(name, root, rel, rule, prof)


def asset_issue(name, root, rule, prof=None):
    code, report, err = check(root, prof)
    issues = [a["rule"] for a in report["assets"] if a["rule"]] if report else None
    want = 0 if rule is None else 1
    if report is None or (rule is None and issues) or (rule and rule not in issues) \
            or code != want:
        failures.append("%s: expected asset rule %s exit %d, found %s exit %d %s"
                        % (name, rule, want, issues, code, err.strip()))
    else:
        print("ok   %-28s %-4s asset" % (name, rule or "pass"))
    return report


def dpx_cases():
    case("dpx 16-bit", None, "dpx", [])
    case("dpx little-endian", None, "dpx", ["--endian", "little"])
    case("dpx 8-bit", "R2", "dpx", ["--bits", "8"])
    case("dpx 12-bit", "R2", "dpx", ["--bits", "12"])
    case("dpx 10-bit", "R3", "dpx", ["--bits", "10"])
    case("dpx 10-bit in 16b folder", "N5", "dpx", ["--bits", "10"],
         prof=profile("allow_dpx10 = true"))
    # every transfer code: the default profile takes printing density (1) and
    # logarithmic (3) as log; a single-frame sequence so S1 stays out of it
    for code in range(14):
        root = os.path.join(work, "transfer-%d" % code)
        gen("dpx", os.path.join(root, frame(SEQ, 1)), "--transfer", str(code))
        expect("dpx transfer %d" % code, root, frame(SEQ, 1), None if code in (1, 3) else "R2")
    case("dpx transfer differs", "S1", "dpx", ["--transfer", "1"])
    case("dpx truncated", "R7", "dpx", ["--truncate", "100"])
    case("dpx header cut", "R7", "dpx", ["--truncate", "13000"])
    case("dpx size field", "R9", "dpx", ["--filesize-field", "1234"])
    case("dpx size field relaxed", None, "dpx", ["--filesize-field", "1234"],
         prof=profile("[rules]\nrelax = R9"))
    case("dpx version", "R9", "dpx", ["--version", "V3.0"])
    case("dpx two elements", "R9", "dpx", ["--elements", "2"])
    case("dpx RLE", "R9", "dpx", ["--encoding", "1"])
    case("dpx bad magic", "R8", "dpx", ["--poke", "0=00000000"])
    case("dpx zero width", "R9", "dpx", ["--poke", "772=00000000"])
    case("dpx size differs", "N5", "dpx", ["--size", "128x64"])
    case("dpx colorimetry differs", "S1", "dpx", ["--colorimetric", "2"])
    ten = SEQ.replace("_16b_", "_10b_")
    root = os.path.join(work, "dpx 10-bit allowed")
    for n in (1, 2):
        gen("dpx", os.path.join(root, frame(ten, n)), "--bits", "10", "--transfer", "1")
    expect("dpx 10-bit allowed", root, frame(ten, 2), None, prof=profile("allow_dpx10 = true"))
    expect("dpx 10-bit not allowed", root, frame(ten, 2), "R3")
    case("exr in a DPX name", "R8", "exr", [], ext="dpx")


def exr_case(name, rule, args, prof=None):
    root = os.path.join(work, name)
    for n in (1001, 1002):
        gen("exr", os.path.join(root, frame(EXR_SEQ, n, "exr")), "--chroma", "ap0",
            "--compression", "zip")
    rel = frame(EXR_SEQ, 1003, "exr")
    gen("exr", os.path.join(root, rel), *args)
    expect(name, root, rel, rule, prof)


def exr_cases():
    zip_ap0 = ["--chroma", "ap0", "--compression", "zip"]
    exr_case("exr zip ap0", None, zip_ap0)
    exr_case("exr zips", "S1", ["--chroma", "ap0", "--compression", "zips"])
    for codec in ("dwaa", "dwab", "b44", "b44a", "pxr24", "rle"):
        exr_case("exr " + codec, "R4", ["--chroma", "ap0", "--compression", codec])
    exr_case("exr float", "R4", zip_ap0 + ["--type", "float"])
    exr_case("exr uint", "R4", zip_ap0 + ["--type", "uint"])
    exr_case("exr rec709 named ap0", "N5", ["--chroma", "rec709", "--compression", "zip"])
    exr_case("exr no chroma aces", "R5", ["--compression", "zip"],
             prof=profile("colour = aces"))
    exr_case("exr truncated", "R7", zip_ap0 + ["--truncate", "1"])
    exr_case("exr zero table", "R7", zip_ap0 + ["--zero-table"])
    exr_case("exr bad magic", "R8", zip_ap0 + ["--poke", "0=00000000"])
    exr_case("exr bad version", "R9", zip_ap0 + ["--poke", "4=09"])
    # S1 lists image properties; tiled vs scanline is file layout, not one
    exr_case("exr tiled", None, zip_ap0 + ["--storage", "tiled"])
    for codec in ("none", "zips", "piz"):
        root = os.path.join(work, "exr all " + codec)
        for n in (1, 2):
            gen("exr", os.path.join(root, frame(EXR_SEQ, n, "exr")), "--chroma", "ap0",
                "--compression", codec, "--seed", str(n))
        expect("exr all " + codec, root, frame(EXR_SEQ, 2, "exr"), None)


def naming_cases():
    root = fresh_delivery("naming")
    for rel, rule in ((SEQ + "/.DS_Store", "N6"), (SEQ + "/other.001004.dpx", "N4"),
                      ("show_s01e01_nam_12b_sdr_x_ap0_log_20261124_178_64x32/a.1.dpx", "N3"),
                      (SEQ + "/" + SEQ + ".001004.DPX", "N4"),
                      (SEQ + "/delivery.zip", "R6"), (SEQ + "/master.mov", "R6")):
        if rel.endswith((".zip", ".mov")):
            with open(os.path.join(root, rel), "wb") as f:
                f.write(b"PK\x03\x04" + bytes(600) if rel.endswith(".zip")
                        else bytes(4) + b"ftyp" + bytes(600))
        else:
            gen("dpx", os.path.join(root, rel))
        expect("name " + os.path.basename(rel), root, rel, rule)
        os.unlink(os.path.join(root, rel))
    shutil.rmtree(os.path.join(root, "show_s01e01_nam_12b_sdr_x_ap0_log_20261124_178_64x32"))
    expect("naming clean again", root, frame(SEQ, 1001), None)


def sequence_cases():
    root = fresh_delivery("gap")
    gen("dpx", os.path.join(root, frame(SEQ, 1005)))
    report = asset_issue("S2 gap", root, "S2")
    gaps = report["assets"][0]["gaps"] if report else None
    if gaps != [[1004, 1004]]:
        failures.append("S2 gap: expected gaps [[1004, 1004]], found %s" % gaps)
    root = fresh_delivery("duplicate")
    gen("dpx", os.path.join(root, frame(SEQ, 1002, pad=5)))
    expect("S5 duplicate", root, frame(SEQ, 1002, pad=5), "S5")
    root = fresh_delivery("textless")
    for n in (1002, 1003):
        gen("dpx", os.path.join(root, frame(TXT_SEQ, n)))
    asset_issue("S4 textless ok", root, None)
    gen("dpx", os.path.join(root, frame(TXT_SEQ, 1007)))
    asset_issue("S4 textless outside", root, "S4")
    root = fresh_delivery("textless-later")
    later = TXT_SEQ.replace("_20261124_", "_20261201_")
    for n in (1002, 1003):
        gen("dpx", os.path.join(root, frame(later, n)))
    asset_issue("S4 textless delivered later", root, None)
    root = fresh_delivery("textless-props")
    gen("dpx", os.path.join(root, frame(TXT_SEQ, 1001)), "--transfer", "1")
    expect("S4 textless props", root, frame(TXT_SEQ, 1001), "S4")
    root = os.path.join(work, "textless-alone")
    gen("dpx", os.path.join(root, frame(TXT_SEQ, 1)))
    asset_issue("S4 no texted asset", root, "S4")


def uhd_cases():
    root = os.path.join(work, "uhd")
    gen("dpx", os.path.join(root, frame(UHD_SEQ, 1, pad=4)), "--size", "3840x2160")
    gen("dpx", os.path.join(root, frame(UHD_SEQ, 2, pad=4)), "--size", "3840x2160",
        "--seed", "2")
    expect("uhd dpx default profile", root, frame(UHD_SEQ, 2, pad=4), None,
           default_profile=True)
    gen("dpx", os.path.join(root, frame(UHD_SEQ, 3, pad=4)), "--size", "3840x2160",
        "--bits", "10")
    expect("uhd dpx 10-bit default", root, frame(UHD_SEQ, 3, pad=4), "R3",
           default_profile=True)
    os.unlink(os.path.join(root, frame(UHD_SEQ, 3, pad=4)))
    gen("dpx", os.path.join(root, frame(UHD_SEQ, 3, pad=4)))
    expect("sub-uhd default profile", root, frame(UHD_SEQ, 3, pad=4), "R1",
           default_profile=True)


def cli_cases():
    code, _, err = check(os.path.join(work, "missing"))
    if code != 2 or "missing" not in err:
        failures.append("missing folder: expected exit 2 naming it, found %d %s" % (code, err))
    bad = os.path.join(work, "bad.ini")
    with open(bad, "w") as f:
        f.write("[delivery]\nformats = dpx\nresolution = any\ncolour = camera-native\n"
                "allow_dpx10 = maybe\n")
    run = subprocess.run([NAMCTL, "check", "--profile", bad, work], capture_output=True,
                         text=True)
    if run.returncode != 2 or "bad.ini:5: key 'delivery.allow_dpx10'" not in run.stderr:
        failures.append("bad profile: expected exit 2 naming line 5, found %d %s"
                        % (run.returncode, run.stderr))
    run = subprocess.run([NAMCTL, "check"], capture_output=True, text=True)
    if run.returncode != 2:
        failures.append("no folder: expected exit 2, found %d" % run.returncode)
    root = fresh_delivery("table")
    run = subprocess.run([NAMCTL, "check", "--profile", profile(), root], capture_output=True,
                         text=True)
    if run.returncode != 0 or not run.stdout.startswith(SEQ + "/\n  asset " + SEQ + ": ok") \
            or "OK: 3 files" not in run.stdout:
        failures.append("table output: unexpected %d %r" % (run.returncode, run.stdout))
    code, report, err = check(root, EXAMPLE_PROFILE)
    if code != 1 or report["profile"] != EXAMPLE_PROFILE or "R1" not in err + run.stdout + \
            json.dumps(report):
        failures.append("docs/profile.example.ini: expected it to load and judge (R1 on "
                        "64x32 frames), found exit %d %s" % (code, err))
    print("ok   command line, table and the documented example profile")


def robustness_cases():
    # --deep reads every EXR chunk leader: damage in the middle shows
    root = os.path.join(work, "deep")
    rel = frame(EXR_SEQ, 1, "exr")
    gen("exr", os.path.join(root, rel), "--chroma", "ap0", "--compression", "none")
    data = bytearray(open(os.path.join(root, rel), "rb").read())
    data[len(data) // 2:len(data) // 2 + 4096] = bytes(4096)
    open(os.path.join(root, rel), "wb").write(data)
    run = subprocess.run([NAMCTL, "check", "--json", "--deep", "--profile", profile(), root],
                         capture_output=True, text=True)
    rule = json.loads(run.stdout)["files"][0]["rule"] if run.stdout else None
    if run.returncode != 1 or rule != "R7":
        failures.append("--deep on a frame zeroed in the middle: expected R7, found %s" % rule)
    # an unreadable file is listed, the rest still judged, exit 2
    root = fresh_delivery("unreadable")
    os.chmod(work, 0o755)  # for the unprivileged user below
    os.chmod(os.path.join(root, frame(SEQ, 1002)), 0)
    run = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          NAMCTL, "check", "--json", "--profile", profile(), root],
                         capture_output=True, text=True)
    os.chmod(os.path.join(root, frame(SEQ, 1002)), 0o644)
    files = {f["path"]: f for f in json.loads(run.stdout)["files"]} if run.stdout else {}
    if run.returncode != 2 or "cannot read" not in files.get(frame(SEQ, 1002), {}).get(
            "message", "") or files.get(frame(SEQ, 1001), {}).get("verdict") != "pass":
        failures.append("unreadable file: expected it listed, others judged, exit 2; found "
                        "exit %d %s" % (run.returncode, run.stderr.strip()))
    # no frames is not a NAM; any file name gives valid JSON
    root = os.path.join(work, "no-frames")
    os.makedirs(root)
    open(os.path.join(root.encode(), b"bad\xed\xa0\x80.txt"), "w").close()
    run = subprocess.run([NAMCTL, "check", "--json", root], capture_output=True)
    try:
        summary = json.loads(run.stdout.decode("utf-8"))["summary"]
    except ValueError:
        summary = None
    if run.returncode != 1 or not summary or summary["ok"]:
        failures.append("no frames / invalid UTF-8 name: expected valid JSON, exit 1; found "
                        "exit %d %r" % (run.returncode, run.stdout[:200]))
    # a report that cannot be written is an I/O error
    with open("/dev/full", "w") as full:
        code = subprocess.run([NAMCTL, "check", root], stdout=full,
                              stderr=subprocess.DEVNULL).returncode
    if code != 2:
        failures.append("report to a full disk: expected exit 2, found %d" % code)
    # a folder tree deeper than any delivery is refused, not a crash
    deep = os.path.join(work, "deep-tree")
    os.makedirs(os.path.join(deep, *(["d"] * 200)))
    run = subprocess.run([NAMCTL, "check", deep], capture_output=True, text=True)
    if run.returncode != 2 or "folders deep" not in run.stderr:
        failures.append("200 folders deep: expected exit 2 naming the depth, found %d %s"
                        % (run.returncode, run.stderr.strip()))
    print("ok   --deep, unreadable file, no frames, invalid UTF-8, full disk, deep tree")


def run_format(root, fmt, columns=None):
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    if columns:
        env["COLUMNS"] = str(columns)
    cmd = [NAMCTL, "check", "--profile", profile(), root]
    if fmt:
        cmd[2:2] = ["--format", fmt]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def oiio_dpx(path, depth):
    subprocess.run(["oiiotool", "--pattern", "constant:color=0.5,0.5,0.5", "64x32", "3", "-d",
                    depth, "--attrib", "dpx:Transfer", "Logarithmic", "-o", path], check=True)


def summary_cases():
    """The asset holds every frame that names it: refused ones are in its
    range, count and verdict, every gap listed as ranges (text, TSV, JSON)."""
    root = fresh_delivery("summary")
    oiio_dpx(os.path.join(root, frame(SEQ, 1005)), "uint8")  # an 8-bit frame from oiiotool
    code, report, _ = check(root)
    asset = report["assets"][0] if report else {}
    want = {"frames": 3, "refused": 1, "first": 1001, "last": 1005, "gaps": [[1004, 1004]],
            "refused_frames": [[1005, 1005]], "verdict": "fail", "rule": "S2"}
    wrong = {k: (v, asset.get(k)) for k, v in want.items() if asset.get(k) != v}
    if code != 1 or report.get("schema") != 1 or wrong:
        failures.append("summary JSON: expected %s, found exit %d, schema %s, wrong %s"
                        % (want, code, report.get("schema"), wrong))
    text = run_format(root, None).stdout
    line = "asset %s: fail S2, frames 1001-1005: 3 passed, 1 refused (1005), 1 gap(s) (1004)" % SEQ
    if line not in text or "  fail R2   1005 " not in text:
        failures.append("summary text: expected %r and the R2 line, found %r" % (line, text))
    rows = [r.split("\t") for r in run_format(root, "tsv").stdout.splitlines()]
    head = rows[0] if rows else []
    table = [dict(zip(head, r)) for r in rows[1:]]
    assets = [r for r in table if r["kind"] == "asset"]
    refused = [r for r in table if r["kind"] == "file" and r["verdict"] == "fail"]
    if len(assets) != 1 or assets[0]["gaps"] != "1004" or assets[0]["refused_frames"] != "1005" \
            or assets[0]["verdict"] != "fail" or len(refused) != 1 or refused[0]["rule"] != "R2" \
            or any(len(r) != len(head) for r in rows):
        failures.append("summary TSV: unexpected %r" % rows)
    print("ok   refused frames in the asset's range, count and verdict (json, text, tsv)")

    # S3 offline: the padding most frames use wins, whichever sorts first
    root = os.path.join(work, "padding")
    for n in range(10001, 10031):
        gen("dpx", os.path.join(root, frame(SEQ, n, pad=5)), "--seed", str(n))
    gen("dpx", os.path.join(root, frame(SEQ, 10031, pad=6)))
    code, report, _ = check(root)
    failed = [f for f in report["files"] if f["verdict"] == "fail"]
    asset = report["assets"][0] if report["assets"] else {}
    if code != 1 or len(failed) != 1 or failed[0]["rule"] != "S3" or asset.get("frames") != 30 \
            or asset.get("padding") != 5 or asset.get("refused") != 1:
        failures.append("S3 majority: expected the one 6-digit frame S3, 30 frames padded to 5, "
                        "found %s, asset %s" % ([(f["path"], f["rule"]) for f in failed], asset))
    else:
        print("ok   S3: one 6-digit frame among thirty 5-digit ones is the one failure")

    # thirty identical refusals are one line with their ranges
    root = fresh_delivery("grouped")
    ten_bit = os.path.join(work, "ffmpeg-10bit.dpx")  # one 10-bit frame from FFmpeg, copied
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=64x32", "-frames:v", "1", "-update", "1", "-pix_fmt",
                    "gbrp10le", ten_bit], check=True)
    for n in list(range(1004, 1020)) + list(range(1030, 1044)):
        shutil.copy(ten_bit, os.path.join(root, frame(SEQ, n)))
    text = run_format(root, None, columns=80).stdout
    r3 = [l for l in text.splitlines() if "R3" in l]
    if len(r3) != 1 or "30 frames: 1004-1019, 1030-1043" not in r3[0]:
        failures.append("grouped failures: expected one R3 line with 30 frames, found %r" % text)
    long_lines = [l for l in text.splitlines() if len(l) > 80 and " " in l.strip()[:80]]
    if long_lines:
        failures.append("COLUMNS=80: lines wider than 80: %r" % long_lines)
    _, report, _ = check(root)
    groups = report["folders"][0]["failures"] if report else []
    if len(groups) != 1 or groups[0]["count"] != 30 or groups[0]["frames"] != [[1004, 1019],
                                                                              [1030, 1043]]:
        failures.append("grouped failures JSON: unexpected %s" % groups)
    else:
        print("ok   30 identical refusals grouped: one line, one JSON group, fits 80 columns")
    bad = run_format(root, "xml")
    if bad.returncode != 2 or "expected text, tsv or json, found 'xml'" not in bad.stderr:
        failures.append("--format xml: expected exit 2 naming the formats, found %d %r"
                        % (bad.returncode, bad.stderr))


try:
    summary_cases()
    robustness_cases()
    dpx_cases()
    exr_cases()
    naming_cases()
    sequence_cases()
    uhd_cases()
    cli_cases()
finally:
    shutil.rmtree(work, ignore_errors=True)

harness.report(failures)
