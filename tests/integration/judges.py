#!/usr/bin/env python3
"""The mount held against judges nobody here wrote (../shared/tools):

- pjdfstest, every test file on a fresh mount (so a crash is attributed to
  the file that caused it), each failing test line compared with the
  committed list of failures by design (pjdfstest.expected): a failure not
  listed fails, and so does a listed one that passes (the list shrinks as
  namfs improves);
- fsx on four files at once in one mount (mapped I/O on two, plain
  read/write on two, random closes and reopens on half), then each file's
  recorded user.namfs.xxh128 against xxhsum of BACKING.

Usage: judges.py NAMFS TOOLS EXPECTED WORKDIR [--subset DIR,...] [--fsx-ops N]
       judges.py NAMFS TOOLS EXPECTED WORKDIR --draft FILE   (writes a new list)
TOOLS is ../shared/tools; WORKDIR keeps the judges' builds between runs.
"""
import argparse
import os
import re
import subprocess
import tempfile

import harness
from harness import Mount, check, namfs_digest, writers_done, xxh128

parser = argparse.ArgumentParser()
parser.add_argument("namfs")
parser.add_argument("tools")
parser.add_argument("expected")
parser.add_argument("workdir")
parser.add_argument("--subset", help="pjdfstest folders to run (default: all)")
parser.add_argument("--fsx-ops", type=int, default=20000)
parser.add_argument("--draft", metavar="FILE",
                    help="write the failures as a new expected list to FILE instead of judging")
args = parser.parse_args()

os.makedirs(args.workdir, exist_ok=True)
work = tempfile.mkdtemp(prefix="namfs-judges-")
harness.use(args.namfs, work)
TAP = re.compile(r"^(not )?ok (\d+)(.*)$")


def build(tool):
    """The judge built unmodified by its own script, once per WORKDIR."""
    out = os.path.join(args.workdir, tool)
    stamp = os.path.join(out, ".built")
    if not os.path.exists(stamp):
        printed = subprocess.run([os.path.join(args.tools, tool, "build"), out], check=True,
                                 capture_output=True, text=True).stdout.strip()
        open(stamp, "w").write(printed)
    return open(stamp).read()


def read_expected():
    """{(file, test number): reason} from the committed list."""
    expected = {}
    for line in open(args.expected):
        if line.strip() and not line.startswith("#"):
            name, number, reason = line.rstrip("\n").split(None, 2)
            expected[(name, int(number))] = reason
    return expected


def run_test_file(pjd, name):
    """Runs one pjdfstest file on a fresh mount; returns {number: message}
    of its failing lines (a line it never printed counts as failing)."""
    with Mount("pjd-" + name.replace("/", "-"), "-o", "allow_other") as m:
        here = os.path.join(m.point, "t")
        os.mkdir(here)
        run = subprocess.run(["sh", os.path.join(pjd, "tests", name)], cwd=here,
                             capture_output=True, text=True, timeout=300)
        alive = os.path.isdir(m.point)  # a dead daemon: ENOTCONN (no folder handle opened:
        # libfuse 3.14 leaks its own when the unmount comes before the release)
        check(alive, "pjdfstest %s: the mount is alive afterwards" % name)
    plan = re.search(r"^1\.\.(\d+)", run.stdout, re.M)
    failed, seen = {}, set()
    for line in run.stdout.splitlines():
        tap = TAP.match(line)
        if not tap:
            continue
        number = int(tap.group(2))
        seen.add(number)
        if tap.group(1) and "# TODO" not in tap.group(3):
            failed[number] = tap.group(3).lstrip(" -")
    for number in range(1, int(plan.group(1)) + 1 if plan else 1):
        if number not in seen:
            failed[number] = "never ran (the test file stopped early: %s)" % (
                (run.stdout + run.stderr).strip().splitlines() or ["no output"])[-1][:200]
    return failed, len(seen)


# ---- the reasons a drafted list gives; each names the rule behind it ----
# (pattern, reason, which argument of the refused call names what it would have made)
REFUSED = [(re.compile(r"^tried '(-\S+ \S+ )*symlink "),
            "EPERM: a delivery holds regular files and folders only (namfs(8): no symlinks)", -1),
           (re.compile(r"^tried '(-\S+ \S+ )*link "),
            "EPERM: a delivery holds regular files and folders only (namfs(8): no hard links)",
            -1),
           (re.compile(r"^tried '(-\S+ \S+ )*(mkfifo|mknod|bind) "),
            "ENOSYS: no FIFOs, sockets or device nodes in a delivery (namfs offers no mknod)", 0)]
OTHER_TYPES = re.compile(r"expected (fifo|block|char|socket|symlink)\b")  # what it would be


def draft_reason(message, refused_names):
    for pattern, reason, _ in REFUSED:
        if pattern.search(message):
            return reason
    kind = OTHER_TYPES.search(message)
    if kind:
        return "the %s was never made: %s" % (
            kind.group(1), REFUSED[0 if kind.group(1) == "symlink" else 2][1])
    if (max((len(w) for w in message.split()), default=0) > 250 and
            message.startswith("tried 'rename ") and message.endswith("got EINVAL")):
        return ("N2: a rename to a path over 256 characters is refused (EINVAL): the new name "
                "is judged before the file moves, and it stays where it was (namfs(8))")
    if max((len(w) for w in message.split()), default=0) > 250:
        return ("N2: a path over 256 characters is refused at close and kept in the quarantine "
                "(SPEC N2), so it is not there afterwards")
    words = message.replace("'", " ").split()
    for made, test in refused_names.items():
        if any(w == made or w.startswith(made + "/") or made.startswith(w + "/") for w in words):
            return "follows from test %d: %s was never made" % (test, made.split("/")[-1][:20])
    return "UNEXPLAINED: " + message


def draft(failures, out):
    """The new list keeps the reasons the committed one gives for lines that
    still fail (those written by hand included) and drafts the rest."""
    kept = read_expected()
    out.write("# pjdfstest (../shared/tools/pjdfstest) on namfs: the test lines that fail by "
              "design.\n# FILE NUMBER REASON; tests/integration/judges.py --draft FILE writes "
              "the current list.\n")
    for name in sorted(failures):
        refused = {}
        for number in sorted(failures[name]):
            message = failures[name][number]
            reason = kept.get((name, number)) or draft_reason(message, refused)
            out.write("%s %d %s\n" % (name, number, reason))
            for pattern, _, which in REFUSED:
                call = pattern.search(message)
                made = message[call.end():].split("'")[0].split() if call else []
                if made:  # the latest refusal of a name is the one a line follows from
                    refused[made[which]] = number


def pjdfstest():
    pjd = build("pjdfstest")
    folders = sorted(os.listdir(os.path.join(pjd, "tests")))
    if args.subset:
        folders = args.subset.split(",")
    names = sorted("%s/%s" % (d, t) for d in folders
                   if os.path.isdir(os.path.join(pjd, "tests", d))
                   for t in os.listdir(os.path.join(pjd, "tests", d)) if t.endswith(".t"))
    failures, lines = {}, 0
    for name in names:
        failed, ran = run_test_file(pjd, name)
        lines += ran
        if failed:
            failures[name] = failed
    if args.draft:
        with open(args.draft, "w") as out:
            draft(failures, out)
        return
    expected = {k: v for k, v in read_expected().items() if k[0] in names}
    got = {(name, n): msg for name, f in failures.items() for n, msg in f.items()}
    for key in sorted(set(got) - set(expected)):
        check(False, "pjdfstest %s test %d fails, not by design: %s" % (key[0], key[1], got[key]))
    for key in sorted(set(expected) - set(got)):
        check(False, "pjdfstest %s test %d passes now: take it off %s (%s)"
              % (key[0], key[1], os.path.basename(args.expected), expected[key]))
    failing_files = len(failures)
    print("pjdfstest: %d files, %d passing whole; %d test lines, %d passing, %d failing by "
          "design" % (len(names), len(names) - failing_files, lines, lines - len(got),
                      len(expected)))


def fsx():
    binary = build("fsx")
    with Mount("fsx") as m:
        os.mkdir(os.path.join(m.point, "fsx"))
        logs = os.path.join(work, "fsx-logs")
        os.mkdir(logs)
        runs = []
        for i, extra in enumerate([[], ["-c", "50"], ["-R", "-W"], ["-R", "-W", "-c", "50"]]):
            target = os.path.join(m.point, "fsx", "file%d.bin" % i)
            runs.append((target, subprocess.Popen(
                [binary, "-q", "-N", str(args.fsx_ops), "-S", str(i + 1), "-P", logs, *extra,
                 target], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        for target, proc in runs:
            out = proc.communicate(timeout=1200)[0]
            check(proc.returncode == 0 and "operations completed A-OK" in out,
                  "fsx %s: %d operations, no miscompare %s" % (os.path.basename(target),
                                                             args.fsx_ops, out.strip()[-400:]))
        check(writers_done(m.point), "fsx: every file settled")
        for target, _ in runs:
            rel = os.path.relpath(target, m.point)
            digest = namfs_digest(target)
            check(digest == xxh128(os.path.join(m.backing, rel)),
                  "fsx %s: user.namfs.xxh128 %s equals xxhsum of BACKING" % (rel, digest))
    print("fsx: 4 files x %d operations" % args.fsx_ops)


harness.run_cases([pjdfstest] if args.draft else [pjdfstest, fsx], "JUDGE_CASES")
