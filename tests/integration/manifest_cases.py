#!/usr/bin/env python3
"""namctl manifest and namctl verify on generated deliveries.

Usage: manifest_cases.py NAMCTL NAMGEN ASCMHL_DIR
Checks the manifests against the reference tools (xxhsum, md5sum, sha1sum,
openssl + base58 for C4), the ASC MHL schemas (xmllint), the custody
history (a seal lists each file once as original, a sealed file changed
later is failed, no generation without a change, earlier generations
untouched), and that verify reports exactly the file that was changed,
deleted or added. Most cases seal the whole delivery (--seal .), so that
the history lists what they look at.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import harness
from harness import c4

NAMCTL, NAMGEN, ASCMHL = sys.argv[1], sys.argv[2], sys.argv[3]
SEQ = "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"
NS = {"m": "urn:ASC:MHL:v2.0", "d": "urn:ASC:MHL:DIRECTORY:v2.0"}
work = tempfile.mkdtemp(prefix="namfs-manifest-")
failures = []


def check(cond, what):
    if cond:
        print("ok   " + what)
    else:
        failures.append(what)


def profile(extra):
    path = os.path.join(work, "p%d.ini" % abs(hash(extra)))
    with open(path, "w") as f:
        f.write("[delivery]\nformats = dpx, exr\nresolution = any\ncolour = camera-native\n"
                "%s\n[testing]\nresolution_floor = 64x32\n" % extra)
    return path


def namctl(*args):
    return subprocess.run([NAMCTL, *args], capture_output=True, text=True, errors="replace")


def manifest(root, prof, *extra):
    return namctl("manifest", "--state", os.path.join(work, "state"), "--profile", prof,
                  *extra, root)


def delivery(name, frames=3):
    root = os.path.join(work, name)
    for n in range(1, frames + 1):
        path = os.path.join(root, SEQ, "%s.%04d.dpx" % (SEQ, n))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run([NAMGEN, "dpx", path, "--seed", str(n)], check=True)
    return root


def tool(cmd, path):
    out = subprocess.run(cmd + [path], capture_output=True, text=True, check=True).stdout
    m = re.search(r"\) = ([0-9a-f]+)", out)
    return m.group(1) if m else out.split()[0]


def generations(root):
    return sorted(f for f in os.listdir(os.path.join(root, "ascmhl")) if f.endswith(".mhl"))


def mhl_entries(root, name):
    tree = ET.parse(os.path.join(root, "ascmhl", name))
    out = {}
    for h in tree.getroot().iter("{urn:ASC:MHL:v2.0}hash"):
        path = h.find("m:path", NS)
        digests = {child.tag.split("}")[1]: (child.text, child.get("action"))
                   for child in h if child.tag != path.tag}
        out[path.text] = (int(path.get("size")), digests)
    return out


def schema_valid(root):
    ok = True
    for name in generations(root):
        run = subprocess.run(["xmllint", "--noout", "--schema", os.path.join(ASCMHL, "ASCMHL.xsd"),
                              os.path.join(root, "ascmhl", name)], capture_output=True, text=True, errors="replace")
        ok = ok and run.returncode == 0
    run = subprocess.run(["xmllint", "--noout", "--schema",
                          os.path.join(ASCMHL, "ASCMHLDirectory__combined.xsd"),
                          os.path.join(root, "ascmhl", "ascmhl_chain.xml")],
                         capture_output=True, text=True, errors="replace")
    return ok and run.returncode == 0


def digests_match_tools():
    root = delivery("tools")
    run = manifest(root, profile("[manifest]\nmhl = xxh128, xxh64, xxh3, md5, sha1, c4"),
                   "--seal", ".")
    check(run.returncode == 0, "manifest exits 0 (%s)" % run.stderr.strip()[-200:])
    check(schema_valid(root), "generation and chain pass xmllint --schema")
    entries = mhl_entries(root, generations(root)[0])
    tools = {"xxh128": ["xxhsum", "-H2"], "xxh64": ["xxhsum", "-H1"], "xxh3": ["xxhsum", "-H3"],
             "md5": ["md5sum"], "sha1": ["sha1sum"]}
    wrong = []
    for rel, (size, digests) in entries.items():
        path = os.path.join(root, rel)
        if size != os.path.getsize(path):
            wrong.append((rel, "size"))
        for algo, cmd in tools.items():
            if digests[algo][0] != tool(cmd, path):
                wrong.append((rel, algo))
        if digests["c4"][0] != c4(path):
            wrong.append((rel, "c4"))
        if any(action != "original" for _, action in digests.values()):
            wrong.append((rel, "action"))
    check(len(entries) == 4 and not wrong,
          "every MHL digest equals xxhsum -H2/-H1/-H3, md5sum, sha1sum, openssl+base58 C4 "
          "(%d entries, wrong: %s)" % (len(entries), wrong))
    chain = ET.parse(os.path.join(root, "ascmhl", "ascmhl_chain.xml")).getroot()
    listed = [(h.find("d:path", NS).text, h.find("d:c4", NS).text) for h in chain]
    check(listed == [(generations(root)[0], c4(os.path.join(root, "ascmhl",
                                                            generations(root)[0])))],
          "chain lists the generation with its C4 id")
    lines = open(os.path.join(root, SEQ, "checksum.txt")).read().splitlines()
    expect = sorted("%s\t%d\txxh128\t%s" % (n, os.path.getsize(os.path.join(root, SEQ, n)),
                                            tool(["xxhsum", "-H2"], os.path.join(root, SEQ, n)))
                    for n in os.listdir(os.path.join(root, SEQ)) if n != "checksum.txt")
    check(lines == expect, "checksum.txt lines: name, size, xxh128, xxhsum -H2, sorted")
    for label, cmd in (("xxh64be", ["xxhsum", "-H1"]), ("md5", ["md5sum"])):
        root2 = delivery("tools-" + label, 2)
        manifest(root2, profile("[manifest]\nchecksum = %s" % label))
        first = open(os.path.join(root2, SEQ, "checksum.txt")).readline().rstrip("\n").split("\t")
        check(first[2] == label and first[3] == tool(cmd, os.path.join(root2, SEQ, first[0])),
              "checksum.txt in %s equals %s" % (label, " ".join(cmd)))


def history_and_determinism():
    root = delivery("history")
    prof = profile("")
    manifest(root, prof, "--seal", ".")
    checksum = os.path.join(root, SEQ, "checksum.txt")
    before = open(checksum, "rb").read()
    stamp = os.stat(checksum).st_mtime_ns
    first_gen = generations(root)[0]
    first_bytes = open(os.path.join(root, "ascmhl", first_gen), "rb").read()
    time.sleep(1.1)  # generation names carry the second
    run = manifest(root, prof)
    check(run.returncode == 0 and open(checksum, "rb").read() == before
          and os.stat(checksum).st_mtime_ns == stamp and len(generations(root)) == 1,
          "unchanged sealed folder: checksum.txt byte-identical, not rewritten; no generation")
    frame = os.path.join(root, SEQ, "%s.0002.dpx" % SEQ)
    with open(frame, "r+b") as f:
        f.seek(5000)
        f.write(b"X")
    with open(os.path.join(root, SEQ, "new.txt"), "w") as f:
        f.write("new")
    time.sleep(1.1)
    run = manifest(root, prof)
    entries = mhl_entries(root, generations(root)[-1])
    actions = {os.path.basename(p): d["xxh128"][1] for p, (_, d) in entries.items()}
    check(run.returncode == 1 and actions == {"%s.0002.dpx" % SEQ: "failed"} and
          open(checksum, "rb").read() == before,
          "a sealed file changed: recorded as failed, exit 1; a file added to the sealed "
          "folder is in no generation; the sealed checksum.txt stays as listed (%s)" % actions)
    check(open(os.path.join(root, "ascmhl", first_gen), "rb").read() == first_bytes
          and len(generations(root)) == 2 and schema_valid(root),
          "earlier generations untouched; two generations, all schema-valid")
    run = namctl("verify", root)
    check(run.returncode == 1 and "0002.dpx" in run.stdout and "new.txt" in run.stdout,
          "verify names the changed and the added file (%s)" % run.stdout.strip()[-300:])


def verify_reports(root, expect_paths, what):
    run = namctl("verify", root)
    # lines read "<problem> <path>  (<source>: expected ..., found ...)"
    reported = set(re.sub(r"^(missing|extra|size changed|hash changed) +", "",
                          line.split("  (")[0])
                   for line in run.stdout.splitlines() if "  (" in line)
    check(run.returncode == (1 if expect_paths else 0) and reported == set(expect_paths),
          "verify %s: reports exactly %s (found %s, exit %d)" % (what, sorted(expect_paths),
                                                                 sorted(reported),
                                                                 run.returncode))


def verify_cases():
    root = delivery("verify")
    manifest(root, profile(""), "--seal", ".")
    verify_reports(root, [], "untouched")
    frame = "%s/%s.0002.dpx" % (SEQ, SEQ)
    with open(os.path.join(root, frame), "r+b") as f:
        f.seek(3000)
        byte = f.read(1)
        f.seek(3000)
        f.write(bytes([byte[0] ^ 1]))
    verify_reports(root, [frame], "one byte changed")
    with open(os.path.join(root, frame), "r+b") as f:
        f.seek(3000)
        f.write(byte)
    gone = "%s/%s.0003.dpx" % (SEQ, SEQ)
    saved = open(os.path.join(root, gone), "rb").read()
    os.unlink(os.path.join(root, gone))
    verify_reports(root, [gone], "file deleted")
    with open(os.path.join(root, gone), "wb") as f:
        f.write(saved)
    with open(os.path.join(root, "added.txt"), "w") as f:
        f.write("x")
    verify_reports(root, ["added.txt"], "file added")
    os.unlink(os.path.join(root, "added.txt"))
    with open(os.path.join(root, frame), "ab") as f:
        f.write(b"more")
    run = namctl("verify", root)
    check(run.returncode == 1 and "size changed" in run.stdout, "verify: size change named")
    run = namctl("verify", os.path.join(work, "nothing-here"))
    check(run.returncode == 2, "verify of a missing folder exits 2")
    empty = os.path.join(work, "no-manifests")
    os.makedirs(empty)
    run = namctl("verify", empty)
    check(run.returncode == 2 and "no manifests" in run.stderr, "verify without manifests exits 2")


def odd_files():
    root = delivery("odd", 2)
    names = ["caf\u00e9 \u00fc\u00df \u65e5\u672c.txt", "e" * 200 + ".txt", "empty.bin"]
    for n in names:
        with open(os.path.join(root, SEQ, n), "wb") as f:
            f.write(b"" if n == "empty.bin" else n.encode())
    big = os.path.join(root, "big.bin")
    with open(big, "wb") as f:
        f.truncate(2 * 1024 ** 3 + 4096)
        f.seek(2 * 1024 ** 3 + 100)
        f.write(b"tail")
    run = manifest(root, profile("[naming]\nchecks = off"), "--seal", ".")
    check(run.returncode == 0 and schema_valid(root),
          "unicode, 200-character, empty and 2 GiB+ files: manifest ok, MHL schema-valid (%s)"
          % run.stderr.strip()[-200:])
    entries = mhl_entries(root, generations(root)[0])
    for n in names:
        rel = "%s/%s" % (SEQ, n)
        check(rel in entries and entries[rel][1]["xxh128"][0] ==
              tool(["xxhsum", "-H2"], os.path.join(root, rel)), "MHL lists %r correctly" % n[:30])
    check(entries["big.bin"][0] == 2 * 1024 ** 3 + 4096 and
          entries["big.bin"][1]["xxh128"][0] == tool(["xxhsum", "-H2"], big),
          "2 GiB+ sparse file: size and xxh128 right")
    verify_reports(root, [], "odd names untouched")


def left_out():
    root = delivery("left-out", 3)
    bad = os.path.join(root, SEQ, "%s.0004.dpx" % SEQ)
    subprocess.run([NAMGEN, "dpx", bad, "--bits", "8"], check=True)
    run = manifest(root, profile(""), "--json")
    report = json.loads(run.stdout)
    check(run.returncode == 1 and [x["rule"] for x in report["left_out"]] == ["R2"],
          "a rejected frame is left out (exit 1, rule R2)")
    listed = open(os.path.join(root, SEQ, "checksum.txt")).read()
    entries = mhl_entries(root, generations(root)[0])
    rel = "%s/%s.0004.dpx" % (SEQ, SEQ)
    check("0004" not in listed and rel not in entries, "M3: neither manifest lists it")


def chain_consistent(root):
    chain = ET.parse(os.path.join(root, "ascmhl", "ascmhl_chain.xml")).getroot()
    listed = [(int(h.get("sequencenr")), h.find("d:path", NS).text) for h in chain]
    files = generations(root)
    return (sorted(p for _, p in listed) == files and
            [n for n, _ in listed] == list(range(1, len(files) + 1)) and
            all(h.find("d:c4", NS).text == c4(os.path.join(root, "ascmhl",
                                                           h.find("d:path", NS).text))
                for h in chain))


def hostile_cases():
    relaxed = profile("[rules]\nrelax = N1, N2, N6")
    root = delivery("hostile-names", 1)
    for raw in (b"bad\xff.txt", b"ctl\x01.txt", b"tab\tx.txt", b"nl\nx.txt", b"amp&<q>\"'.txt"):
        with open(os.path.join(root.encode(), raw), "wb") as f:
            f.write(b"x")
    run = manifest(root, relaxed, "--json")
    report = json.loads(run.stdout) if run.stdout else {"left_out": []}
    check(run.returncode == 1 and sorted(x["rule"] for x in report["left_out"]) == ["M2"] * 4
          and schema_valid(root) and namctl("verify", root).returncode == 1,
          "names XML or checksum.txt cannot carry are left out (M2); MHL stays schema-valid")
    patterns = [p.text for p in ET.parse(os.path.join(root, "ascmhl", generations(root)[0]))
                .getroot().iterfind("m:processinfo/m:ignore/m:pattern", NS)]
    check("**/amp&<q>\"'.txt" in patterns,
          "XML special characters in a name are escaped, not refused: %s" % patterns[-3:])
    root = delivery(os.fsdecode(b"root\xff\x01name"), 1)
    run = manifest(root, profile(""))
    check(run.returncode == 0 and schema_valid(root) and chain_consistent(root),
          "a root folder name that is not UTF-8: generation and chain stay valid")

    root = delivery("bad-chain", 1)
    manifest(root, profile(""))
    with open(os.path.join(root, "ascmhl", "ascmhl_chain.xml"), "w") as f:
        f.write("<not-closed>")
    run = manifest(root, profile(""), "--seal", ".")
    check(run.returncode == 2 and len(generations(root)) == 1,
          "a damaged chain stops the run before a generation is written")
    run = namctl("verify", root)
    check(run.returncode == 2 and "ascmhl_chain.xml" in run.stderr,
          "and namctl verify refuses it, as the reference tool does: %s" % run.stderr.strip())

    root = delivery("concurrent", 2)
    prof = profile("")
    procs = [subprocess.Popen([NAMCTL, "manifest", "--rehash", "--profile", prof, "--state",
                               os.path.join(work, "state-c%d" % i), "--seal", ".", root],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(6)]
    codes = [p.wait() for p in procs]
    errors = [p.stderr.read().strip()[-200:] for p in procs if p.returncode]
    check(codes == [0] * 6 and chain_consistent(root) and len(generations(root)) == 6 and
          schema_valid(root),
          "6 concurrent runs: 6 generations, each chained once with its C4 (exits %s %s)"
          % (codes, errors))

    root = delivery("emptied", 1)
    other = SEQ.replace("s01e01", "s01e02")
    os.makedirs(os.path.join(root, other))
    subprocess.run([NAMGEN, "dpx", os.path.join(root, other, "%s.0001.dpx" % other)],
                   check=True)
    manifest(root, profile(""))
    os.unlink(os.path.join(root, other, "%s.0001.dpx" % other))
    run = manifest(root, profile(""))
    listed = open(os.path.join(root, other, "checksum.txt")).read()
    check(run.returncode == 0 and listed == "" and namctl("verify", root).returncode == 0,
          "a folder that lost its frames: checksum.txt rewritten empty, verify passes")

    root = delivery("same-size", 2)
    manifest(root, profile(""), "--seal", ".")
    target = os.path.join(root, SEQ, "%s.0001.dpx" % SEQ)
    stat = os.stat(target)
    data = bytearray(open(target, "rb").read())
    data[4000] ^= 0xff
    open(target, "wb").write(data)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    time.sleep(1.1)
    report = json.loads(manifest(root, profile(""), "--json").stdout)
    entries = mhl_entries(root, generations(root)[-1])
    check(report["hashed"] >= 1 and entries["%s/%s.0001.dpx" % (SEQ, SEQ)][1]["xxh128"][1]
          == "failed" and namctl("verify", root).returncode == 1,
          "same size and restored mtime: the change time still forces a re-hash")

    root = delivery("state-inside", 1)
    run = manifest(root, profile(""))
    run = namctl("manifest", "--state", os.path.join(root, "state"), root)
    check(run.returncode == 2 and "inside the delivery" in run.stderr,
          "a state folder inside the delivery is refused")

    root = delivery("crlf", 2)
    manifest(root, profile(""), "--seal", ".")
    path = os.path.join(root, SEQ, "checksum.txt")
    text = open(path).read().upper().replace("\n", "\r\n")
    text = text.replace("XXH128", "xxh128").replace(".DPX", ".dpx").replace(SEQ.upper(), SEQ)
    open(path, "w", newline="").write(text)
    run = namctl("verify", root)
    frame_lines = [l for l in run.stdout.splitlines() if ".dpx" in l]
    check(not frame_lines and "checksum.txt" in run.stdout,
          "a checksum.txt re-saved with CRLF and uppercase hex still verifies the frames "
          "(only checksum.txt itself differs from the MHL) %s" % frame_lines)

    root = os.path.join(work, os.fsdecode(b'q"d&x'))
    shutil.copytree(delivery("json-root", 1), root)
    manifest(root, profile(""))
    run = namctl("verify", "--json", root)
    try:
        ok = json.loads(run.stdout)["ok"]
    except ValueError:
        ok = None
    check(ok is True, "verify --json with quotes in the root name is valid JSON")


try:
    hostile_cases()
    digests_match_tools()
    history_and_determinism()
    verify_cases()
    odd_files()
    left_out()
finally:
    shutil.rmtree(work, ignore_errors=True)
harness.report(failures)
