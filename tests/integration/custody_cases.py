#!/usr/bin/env python3
"""The MHL history as a custody record (SPEC M2, M3, M5; namfs/custody.h),
held against the ASC's reference tool and namctl verify, through a real
mount and offline.

The model. An asset folder that is not sealed is kept out of the history
by one ignore pattern, "**/<folder>/", written in one generation (the first
checkpoint after its first frame landed), not at every pause; a file
outside every asset folder gets a pattern of its own until the delivery
root is sealed. `namctl seal MOUNT/ASSET` writes ONE generation listing
every file of the asset (frames and checksum.txt) exactly once, as
"original", with the xxh128 taken as it was written, and lifts the
pattern; the asset is read-only from then on. Until then frames can be
re-rendered, deleted and renamed and BACKING still verifies. A byte changed
in BACKING fails both verifiers in a sealed asset (ascmhl 11, namctl 1)
and namctl verify only in an unsealed one (checksum.txt); a sealed file
changed while unmounted is recorded as "failed", never as a new original.

Every case ends with `ascmhl verify BACKING` and `namctl verify BACKING`,
each exit code checked against what the model gives, and every generation
and the chain checked with xmllint --schema.

The reference tool exits 20 ("Could not find single file") when no file
that the history lists is on disk, so a delivery where nothing is sealed
yet can never pass it (errors.SingleFileNotFoundException in
ascmhl-ref/ascmhl/commands.py, verify_entire_folder). one_go holds the
model to that (NOTHING_SEALED = 20: nothing handed over yet, docs/user-guide.md);
the cases about something else seal a small second asset first (anchor)
so that the reference tool has a listed file to find and their verdict is
about what they test.

Usage: custody_cases.py NAMFS NAMGEN NAMCTL [ASCMHL_DIR]
(ASCMHL_DIR defaults to ../shared/ascmhl beside the project; the reference
tool is ../shared/tools/ascmhl beside it). CUSTODY_CASES="one_go seal_coverage"
runs a subset.
"""
import errno
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import harness
from harness import Mount, c4, check, eventually, mounted, xxh128

NAMFS, NAMGEN, NAMCTL = sys.argv[1:4]
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASCMHL_DIR = os.path.abspath(sys.argv[4] if len(sys.argv) > 4 else
                             os.path.join(SOURCE, "..", "shared", "ascmhl"))
ASCMHL_TOOL = os.path.join(os.path.dirname(ASCMHL_DIR), "tools", "ascmhl")
work = tempfile.mkdtemp(prefix="namfs-custody-")
harness.use(NAMFS, work)
SEQ = harness.SEQ
SEQ2 = SEQ.replace("_s01e01_", "_s01e02_")    # a second asset, landed later
ANCHOR = SEQ.replace("_s01e01_", "_s01e09_")  # a small asset sealed first (see above)
PROFILE = harness.small_profile(work)
QUIET = 0.2
OPTIONS = ("-o", "profile=%s,quiet=%s" % (PROFILE, QUIET))
NS = {"m": "urn:ASC:MHL:v2.0", "d": "urn:ASC:MHL:DIRECTORY:v2.0"}
FORMATS = ("c4", "md5", "sha1", "xxh128", "xxh3", "xxh64")

# What `ascmhl verify` answers for a delivery with nothing sealed: 20, as
# for any history that lists no file on disk (see the docstring); from the
# first seal on, 0 at every quiet point (SPEC M5).
NOTHING_SEALED = 20


# ---- running things ----

def namctl(*args):
    return subprocess.run([NAMCTL, *args], capture_output=True, text=True, errors="replace")


def ascmhl(*args):
    return subprocess.run([ASCMHL_TOOL, *args], capture_output=True, text=True,
                          errors="replace")


def tail(run, lines=3):
    """The last lines a command printed, for a message (not the testing
    profile's warning)."""
    out = [l.strip() for l in (run.stdout + "\n" + run.stderr).splitlines()
           if l.strip() and "lowers the resolution floor" not in l]
    return " | ".join(out[-lines:])[-400:]


def sync(m):
    """Returns once BACKING's manifests are current (namctl sync)."""
    run = namctl("sync", m.point)
    if run.returncode != 0:
        check(False, "namctl sync %s exits 0 (exit %d: %s)" % (m.point, run.returncode,
                                                               tail(run)))


def alive(pid):
    """pid runs (a zombie nobody reaps, as a daemon's is here, has exited)."""
    try:
        return open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def daemon_pids(point):
    """The namfs processes serving point (this suite started them)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
        except OSError:
            continue
        if cmd and os.path.basename(cmd[0]) == b"namfs" and point.encode() in cmd:
            pids.append(int(pid))
    return pids


# ---- frames ----

_made = {}


def made(seed=1, *args):
    """A 64x32 DPX frame from namgen (outside the mount): its bytes."""
    key = (seed,) + args
    if key not in _made:
        path = os.path.join(work, "src-%s.dpx" % "-".join(map(str, key)).replace(" ", "_"))
        subprocess.run([NAMGEN, "dpx", path, "--seed", str(seed), *args], check=True,
                       capture_output=True)
        _made[key] = open(path, "rb").read()
    return _made[key]


def rel(n, seq=SEQ):
    return "%s/%s.%04d.dpx" % (seq, seq, n)


def put(path, data):
    """open, write, close: the errno close() (or open/write) gave, 0 when none."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as e:
        return e.errno
    try:
        os.write(fd, data)
    except OSError as e:
        try:
            os.close(fd)  # the refused frame's close fails too
        except OSError:
            pass
        return e.errno
    try:
        os.close(fd)
    except OSError as e:
        return e.errno
    return 0


def land(m, numbers, seq=SEQ, seed=0):
    """Frames written through the mount; checks that each landed."""
    os.makedirs(os.path.join(m.point, seq), exist_ok=True)
    failed = [(n, put(os.path.join(m.point, rel(n, seq)), made(n + seed))) for n in numbers]
    failed = [(n, errno.errorcode.get(e, e)) for n, e in failed if e]
    if failed:
        check(False, "frames %s of %s land (failed: %s)" % (list(numbers), seq[:12], failed))


def seal(point_or_folder):
    return namctl("seal", point_or_folder)


def anchor(m, wait=True):
    """ANCHOR's two frames landed and sealed, so that the reference tool has
    a listed file to find; then sync, unless told not to."""
    land(m, (1, 2), ANCHOR)
    run = seal(os.path.join(m.point, ANCHOR))
    if run.returncode != 0:
        check(False, "the anchor asset seals (exit %d: %s)" % (run.returncode, tail(run)))
    if wait:
        sync(m)


def flip(path, offset=3000):
    """One byte changed behind namfs's back, the size kept."""
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xff]))


def files_under(backing, folder):
    """Files of a folder in BACKING, relative to BACKING (dot names, i.e.
    files in flight, left out)."""
    top = os.path.join(backing, folder)
    return sorted(os.path.relpath(os.path.join(d, n), backing)
                  for d, _, names in os.walk(top) for n in names if not n.startswith("."))


# ---- the history ----

def generations(backing):
    folder = os.path.join(backing, "ascmhl")
    return sorted(g for g in os.listdir(folder) if g.endswith(".mhl")) \
        if os.path.isdir(folder) else []


def generation(backing, name):
    """{"entries": [(path, format, digest, action)], "patterns": [...]}."""
    root = ET.parse(os.path.join(backing, "ascmhl", name)).getroot()
    entries = []
    for h in root.iterfind("m:hashes/m:hash", NS):
        path = h.find("m:path", NS).text
        for child in h:
            algo = child.tag.split("}")[1]
            if algo in FORMATS:
                entries.append((path, algo, child.text, child.get("action")))
    patterns = [p.text for p in root.iterfind("m:processinfo/m:ignore/m:pattern", NS)]
    return {"entries": entries, "patterns": patterns}


def history(backing):
    return [generation(backing, g) for g in generations(backing)]


def newest_patterns(backing):
    gens = history(backing)
    return gens[-1]["patterns"] if gens else []


def listed_under(gens, folder):
    """xxh128 entries of paths at or below folder, over the generations."""
    return [(p, d, a) for g in gens for p, algo, d, a in g["entries"]
            if algo == "xxh128" and (p == folder or p.startswith(folder + "/"))]


def folder_pattern(folder):
    return "**/%s/" % folder


def coverage(backing, folder, digests, what):
    """Every file of folder in BACKING listed exactly once as original over
    all generations, with the digest it had as written (digests: path ->
    xxh128), its checksum.txt among them, and no other path of it listed
    as original."""
    on_disk = files_under(backing, folder)
    originals = {}
    for path, digest, action in listed_under(history(backing), folder):
        if action == "original":
            originals.setdefault(path, []).append(digest)
    wrong = [(p, originals.get(p)) for p in on_disk if originals.get(p) != [digests[p]]]
    extra = sorted(set(originals) - set(on_disk))
    check(folder + "/checksum.txt" in on_disk and not wrong and not extra,
          "%s: every file of %s (%d, checksum.txt included) listed exactly once as original "
          "with xxhsum -H2's digest (wrong: %s; listed but not on disk: %s)"
          % (what, folder[:12], len(on_disk), wrong[:3], extra[:3]))


def seal_and_check(m, folder, what):
    """namctl seal MOUNT/folder: exit 0, one new generation listing every
    file of it, coverage, the pattern lifted. The digests are taken from
    BACKING before anything is changed."""
    before = generations(m.backing)
    run = seal(os.path.join(m.point, folder))
    check(run.returncode == 0, "%s: namctl seal %s exits 0 (%s)" % (what, folder[:12], tail(run)))
    sync(m)
    after = generations(m.backing)
    files = files_under(m.backing, folder)
    new = after[len(before):] if after[:len(before)] == before else after
    listed = sorted(p for p, _, a in listed_under([generation(m.backing, g) for g in new],
                                                  folder) if a == "original")
    check(len(new) == 1 and listed == files,
          "%s: the seal wrote ONE generation listing the %d files of %s (new generations %s, "
          "listed %d)" % (what, len(files), folder[:12], new, len(listed)))
    digests = {p: xxh128(os.path.join(m.backing, p)) for p in files}
    coverage(m.backing, folder, digests, what)
    check(folder_pattern(folder) not in newest_patterns(m.backing),
          "%s: the seal lifted %s" % (what, folder_pattern(folder)[:20]))
    return digests


def schema_problems(backing):
    """What xmllint --schema says against each generation and the chain,
    and whether the chain lists every generation once, in order, with its
    C4 id. Empty when all is well."""
    folder = os.path.join(backing, "ascmhl")
    gens = generations(backing)
    if not gens:
        return ["no generation in %s" % folder]
    problems = []
    for g in gens:
        run = subprocess.run(["xmllint", "--noout", "--schema",
                              os.path.join(ASCMHL_DIR, "ASCMHL.xsd"), os.path.join(folder, g)],
                             capture_output=True, text=True, errors="replace")
        if run.returncode != 0:
            problems.append("%s: %s" % (g, run.stderr.strip().splitlines()[0][-200:]))
    chain = os.path.join(folder, "ascmhl_chain.xml")
    # ASCMHLDirectory.xsd imports ASCMHL.xsd from GitHub; the combined one is it, offline
    run = subprocess.run(["xmllint", "--noout", "--schema",
                          os.path.join(ASCMHL_DIR, "ASCMHLDirectory__combined.xsd"), chain],
                         capture_output=True, text=True, errors="replace")
    if run.returncode != 0:
        problems.append("chain: %s" % (run.stderr.strip().splitlines() or ["?"])[0][-200:])
        return problems
    listed = [(int(h.get("sequencenr")), h.find("d:path", NS).text, h.find("d:c4", NS).text)
              for h in ET.parse(chain).getroot()]
    if [n for n, _, _ in listed] != list(range(1, len(gens) + 1)) or \
            sorted(p for _, p, _ in listed) != gens:
        problems.append("chain lists %s for %s" % ([(n, p[:4]) for n, p, _ in listed], gens))
    problems += ["chain: wrong C4 for %s" % p for _, p, c in listed
                 if os.path.exists(os.path.join(folder, p)) and c != c4(os.path.join(folder, p))]
    return problems


def verifiers(backing, want_ascmhl, want_namctl, what):
    """Both verifiers' exit codes as the model gives them, and the schemas."""
    a = ascmhl("verify", backing)
    n = namctl("verify", backing)
    check(a.returncode == want_ascmhl, "%s: ascmhl verify BACKING exits %d (exit %d: %s)"
          % (what, want_ascmhl, a.returncode, tail(a)))
    check(n.returncode == want_namctl, "%s: namctl verify BACKING exits %d (exit %d: %s)"
          % (what, want_namctl, n.returncode, tail(n)))
    problems = schema_problems(backing)
    check(not problems, "%s: every generation and the chain pass xmllint --schema, the chain "
          "in order with C4 ids %s" % (what, problems[:3]))


def refused_with(code, call):
    try:
        call()
        return None
    except OSError as e:
        return e.errno == code or errno.errorcode.get(e.errno, e.errno)


# ---- the cases ----

def one_go():
    """Frames in one go, then sync: the history carries the asset's pattern
    in one generation and lists no frame; both verifiers accept BACKING
    (the reference tool by the model, NOTHING_SEALED)."""
    with Mount("one-go", *OPTIONS) as m:
        land(m, range(1, 6))
        sync(m)
        gens = history(m.backing)
        check(len(gens) == 1 and folder_pattern(SEQ) in gens[-1]["patterns"],
              "one generation, carrying %s (%d generation(s), patterns %s)"
              % (folder_pattern(SEQ)[:20], len(gens), [p for g in gens[-1:]
                                                       for p in g["patterns"] if "**" in p]))
        check(not listed_under(gens, SEQ), "no generation lists a file of the unsealed asset: %s"
              % listed_under(gens, SEQ)[:2])
        verifiers(m.backing, NOTHING_SEALED, 0, "frames in one go")


def trickle():
    """Frames trickling in over four pauses: both verifiers accept BACKING
    after each; the asset's pattern is written in one generation, and the
    pauses after it add none."""
    with Mount("trickle", *OPTIONS) as m:
        anchor(m)
        counts = []
        for burst in range(4):
            land(m, (2 * burst + 1, 2 * burst + 2))
            sync(m)
            counts.append(len(generations(m.backing)))
            verifiers(m.backing, 0, 0, "trickle, pause %d" % (burst + 1))
        check(len(set(counts)) == 1 and folder_pattern(SEQ) in newest_patterns(m.backing),
              "generations after each pause %s: the pattern once, no growth with pauses"
              % counts)
        check(not listed_under(history(m.backing), SEQ), "no frame of the trickling asset listed")


def rework_before_seal():
    """Before the seal a frame is re-rendered, one deleted, one renamed
    (mv to another valid frame name): both verifiers accept BACKING after
    each step, and the seal lists what is there at the end, the re-render's
    digest, not the first."""
    with Mount("rework", *OPTIONS) as m:
        anchor(m)
        land(m, (1, 2, 3, 4, 7, 9))
        sync(m)
        verifiers(m.backing, 0, 0, "six frames landed")
        first = xxh128(os.path.join(m.backing, rel(2)))
        check(put(os.path.join(m.point, rel(2)), made(102)) == 0, "frame 2 re-rendered")
        os.unlink(os.path.join(m.point, rel(9)))
        os.rename(os.path.join(m.point, rel(7)), os.path.join(m.point, rel(5)))
        sync(m)
        verifiers(m.backing, 0, 0, "re-rendered, deleted, renamed")
        digests = seal_and_check(m, SEQ, "rework then seal")
        check(digests.get(rel(2)) not in (None, first) and
              not listed_under(history(m.backing), rel(7)) and
              not listed_under(history(m.backing), rel(9)),
              "the seal lists the re-render's digest, nothing under the old names 0007/0009")
        verifiers(m.backing, 0, 0, "reworked asset sealed")


def refused_then_replaced():
    """A frame refused at close (wrong resolution for its folder) and then
    replaced by a good one: both verifiers accept BACKING in between and
    after."""
    with Mount("refused", *OPTIONS) as m:
        anchor(m)
        land(m, (1, 2))
        told = put(os.path.join(m.point, rel(3)), made(3, "--size", "128x64"))
        check(told == errno.EINVAL and not os.path.exists(os.path.join(m.backing, rel(3))),
              "a 128x64 frame in a 64x32 asset is refused (%s), not in BACKING"
              % errno.errorcode.get(told, told))
        sync(m)
        verifiers(m.backing, 0, 0, "a refused frame")
        land(m, (3,))
        sync(m)
        verifiers(m.backing, 0, 0, "the refused frame replaced by a good one")


def seal_coverage():
    """namctl seal MOUNT/SEQ: one generation lists every file of the asset,
    frames and checksum.txt, exactly once, as original, with xxhsum's
    digest; the asset is read-only; a byte flipped in BACKING in a sealed
    frame then fails both verifiers (11, 1)."""
    with Mount("seal", *OPTIONS) as m:
        land(m, range(1, 5))
        sync(m)
        seal_and_check(m, SEQ, "seal")
        verifiers(m.backing, 0, 0, "sealed")
        check(refused_with(errno.EROFS, lambda: open(os.path.join(m.point, rel(2)), "r+b")
                           .write(b"x")) is True,
              "a sealed frame refuses a write through the mount with EROFS")
        sums = open(os.path.join(m.backing, SEQ, "checksum.txt"), "rb").read()
        flip(os.path.join(m.backing, rel(2)))
        changed = xxh128(os.path.join(m.backing, rel(2)))
        verifiers(m.backing, 11, 1, "a byte flipped in a sealed frame in BACKING")
        sync(m)
        check(open(os.path.join(m.point, SEQ, "checksum.txt"), "rb").read() == sums,
              "through the mount too, the sealed checksum.txt reads as it was listed")
        status = open(os.path.join(m.point, ".namfs", "status")).read()
        check(("changed\t" + rel(2)) in status,
              "the look-out reports the sealed frame as changed behind the mount")
    found = listed_under(history(m.backing), rel(2))
    check((rel(2), changed, "failed") in found and
          [a for _, _, a in found].count("original") == 1,
          "by the unmount the change is recorded as failed, never as a new original: %s"
          % [(d[:8], a) for _, d, a in found])
    check(open(os.path.join(m.backing, SEQ, "checksum.txt"), "rb").read() == sums,
          "the sealed asset's checksum.txt is left as sealed")
    verifiers(m.backing, 11, 1, "a sealed frame changed in BACKING, after unmount")


def unsealed_flip():
    """A byte flipped in BACKING in an unsealed asset: namctl verify fails
    (checksum.txt), the reference tool, which ignores the asset, passes;
    and so after the unmount too (the mount's last checksum.txt leaves the
    changed frame out, and namctl verify names it)."""
    with Mount("unsealed-flip", *OPTIONS) as m:
        anchor(m)
        land(m, (1, 2, 3))
        sync(m)
        flip(os.path.join(m.backing, rel(2)))
        verifiers(m.backing, 0, 1, "a byte flipped in an unsealed frame in BACKING")
    verifiers(m.backing, 0, 1, "the unsealed frame changed in BACKING, after unmount")


def remount():
    """A remount without changes writes no generation; a sealed frame
    changed in BACKING while unmounted is recorded at the next mount as
    failed (never as a new original), and both verifiers fail."""
    m = Mount("remount", *OPTIONS)
    with m:
        land(m, range(1, 4))
        sync(m)
        seal_and_check(m, SEQ, "remount, first mount")
    before = generations(m.backing)
    with m:
        pass
    check(generations(m.backing) == before, "a remount without changes writes no generation "
          "(%d before, %d after)" % (len(before), len(generations(m.backing))))
    verifiers(m.backing, 0, 0, "remount without changes")
    sums = open(os.path.join(m.backing, SEQ, "checksum.txt"), "rb").read()
    flip(os.path.join(m.backing, rel(2)))
    changed = xxh128(os.path.join(m.backing, rel(2)))
    with m:
        sync(m)
    check(open(os.path.join(m.backing, SEQ, "checksum.txt"), "rb").read() == sums,
          "the sealed asset's checksum.txt is left as sealed")
    gens = generations(m.backing)
    new = [generation(m.backing, g) for g in gens[len(before):]] if gens[:len(before)] == before \
        else []
    found = [(d, a) for p, d, a in listed_under(new, rel(2))]
    check(new and ("failed" in [a for _, a in found]) and "original" not in [a for _, a in found]
          and all(d == changed for d, a in found if a == "failed"),
          "a new generation records the changed sealed frame as failed with what was found, "
          "no new original (new generations %d, its entries %s)" % (len(new), found))
    verifiers(m.backing, 11, 1, "a sealed frame changed while unmounted")


def second_asset():
    """A second asset landing later gets a pattern of its own; sealing the
    first leaves the second ignored; both verifiers accept BACKING."""
    with Mount("second", *OPTIONS) as m:
        land(m, (1, 2, 3))
        sync(m)
        first = len(generations(m.backing))
        land(m, (1, 2), SEQ2)
        sync(m)
        gens = history(m.backing)
        own = [i for i, g in enumerate(gens) if folder_pattern(SEQ2) in g["patterns"]]
        check(own and own[0] >= first and folder_pattern(SEQ) in gens[-1]["patterns"] and
              folder_pattern(SEQ2) in gens[-1]["patterns"],
              "the second asset's pattern comes in a generation of its own, beside the first's "
              "(first asset: %d generation(s); second's pattern in %s)" % (first, own))
        seal_and_check(m, SEQ, "second asset, first sealed")
        check(folder_pattern(SEQ2) in newest_patterns(m.backing) and
              not listed_under(history(m.backing), SEQ2),
              "the second asset stays ignored, none of its files listed")
        verifiers(m.backing, 0, 0, "first asset sealed, second not")


def outside_files():
    """A file outside every asset (docs/notes.txt) is kept out by a pattern
    of its own until the delivery root is sealed; namctl seal MOUNT then
    lists it once, as original, and relists no file of a sealed asset."""
    with Mount("outside", *OPTIONS) as m:
        anchor(m)
        anchored = {p: xxh128(os.path.join(m.backing, p)) for p in files_under(m.backing, ANCHOR)}
        os.makedirs(os.path.join(m.point, "docs"))
        open(os.path.join(m.point, "docs", "notes.txt"), "w").write("grade notes\n")
        sync(m)
        check("**/docs/notes.txt" in newest_patterns(m.backing) and
              not listed_under(history(m.backing), "docs"),
              "docs/notes.txt is kept out by **/docs/notes.txt, not listed: %s"
              % [p for p in newest_patterns(m.backing) if "docs" in p])
        verifiers(m.backing, 0, 0, "a file outside the assets, root not sealed")
        run = seal(m.point)
        check(run.returncode == 0, "namctl seal MOUNT (the delivery root) exits 0 (%s)"
              % tail(run))
        sync(m)
        listed = listed_under(history(m.backing), "docs/notes.txt")
        want = xxh128(os.path.join(m.backing, "docs", "notes.txt"))
        check(listed == [("docs/notes.txt", want, "original")] and
              "**/docs/notes.txt" not in newest_patterns(m.backing),
              "the root seal lists docs/notes.txt once, as original, with xxhsum's digest, and "
              "lifts its pattern: %s" % listed)
        coverage(m.backing, ANCHOR, anchored, "after the root seal")
        verifiers(m.backing, 0, 0, "delivery root sealed")


# The slow writer runs in a process of its own: a subprocess started while
# this one held the frame open would close a copy of the descriptor at exec,
# and that close() would land the frame (see inflight_cases.py).
SLOW_WRITER = r"""
import os, sys
path, src = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, data[:len(data) // 2])
print("half", flush=True)
sys.stdin.readline()
os.write(fd, data[len(data) // 2:])
try:
    os.close(fd)
    print("closed 0", flush=True)
except OSError as e:
    print("closed %d" % e.errno, flush=True)
"""


def mid_write():
    """Half a frame written and the writer pausing: at the quiet point
    namctl sync gives (it does not wait for files being written) both
    verifiers accept BACKING while the frame is open; then it closes, lands,
    and they accept it again."""
    with Mount("mid-write", *OPTIONS) as m:
        anchor(m)
        land(m, (1, 2))
        sync(m)
        src = os.path.join(work, "slow.dpx")
        open(src, "wb").write(made(3))
        writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER,
                                   os.path.join(m.point, rel(3)), src],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            check(writer.stdout.readline().strip() == "half", "the slow writer wrote half a frame")
            sync(m)  # a quiet point with the frame still open: sync does not wait for it
            check(not os.path.exists(os.path.join(m.backing, rel(3))),
                  "mid-write: BACKING has nothing under the frame's name")
            verifiers(m.backing, 0, 0, "a frame half written, still open")
        finally:
            writer.stdin.write("\n")
            writer.stdin.flush()
            closed = writer.stdout.readline().strip()
            writer.wait()
        check(closed == "closed 0" and os.path.exists(os.path.join(m.backing, rel(3))),
              "the slow frame lands at close (%s)" % closed)
        sync(m)
        verifiers(m.backing, 0, 0, "the slow frame landed")


def foreign_create():
    """`ascmhl create` on a namfs history: both verifiers accept it, namfs
    mounts again and seals after it. And namctl verify accepts a history
    the reference tool made alone, renames (--detect_renaming) included."""
    m = Mount("foreign", *OPTIONS)
    with m:
        land(m, (1, 2, 3))
        sync(m)
        run = seal(os.path.join(m.point, SEQ))
        check(run.returncode == 0, "foreign: the first asset seals (%s)" % tail(run))
        land(m, (1, 2), SEQ2)
        sync(m)
    run = ascmhl("create", m.backing)
    check(run.returncode == 0, "ascmhl create BACKING on a namfs history exits 0 (exit %d: %s)"
          % (run.returncode, tail(run)))
    verifiers(m.backing, 0, 0, "after ascmhl create BACKING")
    with m:
        seal_and_check(m, SEQ2, "namfs after ascmhl create")
    verifiers(m.backing, 0, 0, "namfs sealed after ascmhl create")

    plain = os.path.join(work, "plain")
    os.makedirs(os.path.join(plain, "sub"))
    for name, data in (("a.txt", b"a\n"), ("sub/b.bin", os.urandom(5000)),
                       ("sub/c.bin", os.urandom(7000))):
        open(os.path.join(plain, name), "wb").write(data)
    run = ascmhl("create", plain)
    check(run.returncode == 0, "ascmhl create on a plain folder exits 0 (%s)" % tail(run))
    verifiers(plain, 0, 0, "a history made by ascmhl create alone")
    os.rename(os.path.join(plain, "sub", "b.bin"), os.path.join(plain, "sub", "renamed.bin"))
    run = ascmhl("create", "--detect_renaming", plain)
    renamed = [e for g in history(plain) for e in g["entries"] if e[0] == "sub/renamed.bin"]
    check(run.returncode == 0 and renamed,
          "ascmhl create --detect_renaming records the rename (exit %d: %s)"
          % (run.returncode, tail(run)))
    verifiers(plain, 0, 0, "ascmhl's history with a rename")


def unmount_at_once():
    """namctl unmount right after the last close(): when it returns the
    daemon has exited and BACKING's manifests are final; both verifiers
    accept it at once. quiet=600: no checkpoint comes on its own."""
    m = Mount("unmount", "-o", "profile=%s,quiet=600" % PROFILE, daemon=True)
    with m:
        anchor(m, wait=False)
        land(m, range(1, 6), SEQ2)
        pids = daemon_pids(m.point)
        run = namctl("unmount", m.point)
        check(run.returncode == 0, "namctl unmount exits 0 (%s)" % tail(run))
        # the daemon lets go of its lock on namfs.pid as it exits: a process
        # that holds a lock until exit still runs for a moment after the
        # kernel released it, so its end is given two seconds, the
        # manifests none (the checks below come at once)
        gone = not mounted(m.point)
        ended = eventually(lambda: not any(alive(p) for p in pids), 2)
        check(gone and pids and ended,
              "when namctl unmount returns the mount is gone (%s) and the daemon %s ends (%s)"
              % (gone, pids, ended))
    listed = os.path.join(m.backing, SEQ2, "checksum.txt")
    lines = open(listed).read().splitlines() if os.path.exists(listed) else []
    check(len(lines) == 5, "checksum.txt of the last asset lists its 5 frames (%d lines)"
          % len(lines))
    verifiers(m.backing, 0, 0, "right after namctl unmount")


def many_frames():
    """5,000 small frames in five bursts with a sync after each: landed and
    checkpointed in under a minute, no generation added after the
    pattern's, both verifiers accept BACKING."""
    with Mount("many", *OPTIONS) as m:
        anchor(m)
        os.makedirs(os.path.join(m.point, SEQ))
        data = [made(s) for s in range(1, 6)]
        counts, failed = [], []
        started = time.monotonic()
        for burst in range(5):
            for n in range(burst * 1000 + 1, burst * 1000 + 1001):
                if put(os.path.join(m.point, rel(n)), data[n % 5]):
                    failed.append(n)
            sync(m)
            counts.append(len(generations(m.backing)))
        took = time.monotonic() - started
        lines = len(open(os.path.join(m.backing, SEQ, "checksum.txt")).read().splitlines()) \
            if os.path.exists(os.path.join(m.backing, SEQ, "checksum.txt")) else 0
        check(not failed and lines == 5000 and took < 60,
              "5,000 frames landed and in BACKING's checksum.txt in %.1f s, under a minute "
              "(failed %s, %d lines)" % (took, failed[:5], lines))
        check(len(set(counts)) == 1, "generations after each burst %s: no growth" % counts)
        verifiers(m.backing, 0, 0, "5,000 frames")


def nested_history_refused():
    """A folder named ascmhl below the delivery root would be taken for a
    nested history by the reference tool: the mount refuses to make one
    (mkdir, and rename onto the name) with EPERM, and namctl manifest
    stops on one with exit 2 and a message, writing no generation."""
    root = os.path.join(work, "nested")
    os.makedirs(os.path.join(root, SEQ))
    os.makedirs(os.path.join(root, "x", "ascmhl"))
    open(os.path.join(root, SEQ, os.path.basename(rel(1))), "wb").write(made(1))
    run = namctl("manifest", "--profile", PROFILE, "--state", os.path.join(work, "state-nested"),
                 root)
    check(run.returncode == 2 and "ascmhl" in run.stderr and not generations(root),
          "namctl manifest on a folder holding x/ascmhl/: exit 2, a message naming it, no "
          "generation (exit %d: %s)" % (run.returncode, tail(run)))
    with Mount("nested", *OPTIONS) as m:
        anchor(m)
        os.makedirs(os.path.join(m.point, "docs", "x"))
        told = refused_with(errno.EPERM, lambda: os.mkdir(os.path.join(m.point, "docs", "ascmhl")))
        check(told is True and not os.path.exists(os.path.join(m.backing, "docs", "ascmhl")),
              "mkdir MOUNT/docs/ascmhl fails with EPERM (%s), nothing in BACKING" % told)
        told = refused_with(errno.EPERM, lambda: os.rename(os.path.join(m.point, "docs", "x"),
                                                           os.path.join(m.point, "docs", "ascmhl")))
        check(told is True and not os.path.exists(os.path.join(m.backing, "docs", "ascmhl")),
              "mv MOUNT/docs/x MOUNT/docs/ascmhl fails with EPERM (%s)" % told)
        sync(m)
        verifiers(m.backing, 0, 0, "ascmhl folders refused")


def offline_manifest():
    """namctl manifest under the same model: run twice with a frame added
    in between, both verifiers accept, the history unchanged by the frame;
    --seal SEQ lists the asset once (coverage); a byte changed in a sealed
    frame and another run: exit 1, a failed entry, both verifiers fail."""
    root = os.path.join(work, "offline")
    for seq, numbers in ((ANCHOR, (1, 2)), (SEQ, (1, 2, 3))):
        os.makedirs(os.path.join(root, seq), exist_ok=True)
        for n in numbers:
            open(os.path.join(root, rel(n, seq)), "wb").write(made(n))
    manifest = lambda *extra: namctl("manifest", "--profile", PROFILE, "--state",
                                     os.path.join(work, "state-offline"), *extra, root)
    run = manifest("--seal", ANCHOR)
    check(run.returncode == 0, "namctl manifest --seal ANCHOR exits 0 (%s)" % tail(run))
    verifiers(root, 0, 0, "offline, first run")
    before = generations(root)
    open(os.path.join(root, rel(4)), "wb").write(made(4))
    run = manifest()
    check(run.returncode == 0 and generations(root) == before,
          "a frame added to an unsealed asset: exit 0, no new generation (%d -> %d: %s)"
          % (len(before), len(generations(root)), tail(run, 1)))
    verifiers(root, 0, 0, "offline, a frame added")
    before = generations(root)
    run = manifest("--seal", SEQ)
    files = files_under(root, SEQ)
    new = generations(root)[len(before):]
    listed = sorted(p for p, _, a in listed_under([generation(root, g) for g in new], SEQ)
                    if a == "original")
    check(run.returncode == 0 and len(new) == 1 and listed == files,
          "namctl manifest --seal SEQ: exit 0, ONE generation listing its %d files (%s; new %s)"
          % (len(files), tail(run, 1), new))
    coverage(root, SEQ, {p: xxh128(os.path.join(root, p)) for p in files}, "offline seal")
    check(folder_pattern(SEQ) not in newest_patterns(root), "offline seal lifted the pattern")
    verifiers(root, 0, 0, "offline, SEQ sealed")
    before = generations(root)
    sums = open(os.path.join(root, SEQ, "checksum.txt"), "rb").read()
    flip(os.path.join(root, rel(2)))
    changed = xxh128(os.path.join(root, rel(2)))
    run = manifest()
    check(open(os.path.join(root, SEQ, "checksum.txt"), "rb").read() == sums,
          "the sealed asset's checksum.txt is left as sealed (its original in the history "
          "stays true): %d bytes sealed, %d now" % (len(sums), len(open(os.path.join(
              root, SEQ, "checksum.txt"), "rb").read())))
    found = listed_under([generation(root, g) for g in generations(root)[len(before):]], rel(2))
    check(run.returncode == 1 and (rel(2), changed, "failed") in found and
          "original" not in [a for _, _, a in found],
          "a byte changed in a sealed frame: namctl manifest exits 1 and records it as failed, "
          "never as original (exit %d: %s; new entries %s)" % (run.returncode, tail(run, 1),
                                                                found))
    verifiers(root, 11, 1, "offline, a sealed frame changed")


CASES = [one_go, trickle, rework_before_seal, refused_then_replaced, seal_coverage,
         unsealed_flip, remount, second_asset, outside_files, mid_write, foreign_create,
         unmount_at_once, many_frames, nested_history_refused, offline_manifest]

harness.run_cases(CASES, "CUSTODY_CASES")
