"""namfs run as a service would be, judged by the system's own tools:
meson's installer, man(1) with troff warnings on, systemd-analyze verify,
mount(8) reading a private fstab (util-linux, with an empty PATH for
/usr/local), findmnt, the ASC's reference tool; then every unsafe layout
and bad command line of issue 21, one case each, with its exit status and
message; and the log (one line per event, mount id and pid, log=FILE,
loglevel=, SIGHUP reopening it).

The installed files are seen as installed through overlay mounts inside a
private mount namespace (unshare -m): DESTDIR/usr/local over /usr/local,
DESTDIR/sbin over /sbin. Nothing outside the namespace changes.

Usage: service_cases.py NAMFS NAMGEN NAMCTL BUILDDIR ASCMHL_TOOL
SERVICE_CASES="install fstab" runs only those cases."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import harness
from harness import SEQ, Mount, check, eventually

NAMFS, NAMGEN, NAMCTL, BUILDDIR, ASCMHL = sys.argv[1:6]
work = tempfile.mkdtemp(prefix="namfs-service-")
harness.use(NAMFS, work)
DEST = os.path.join(work, "dest")
PREFIX = "/usr/local"


def frame(folder, n, *options):
    """A small DPX frame of the suite's asset, written by namgen."""
    path = os.path.join(folder, SEQ, "%s.%05d.dpx" % (SEQ, n))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return subprocess.run([NAMGEN, "dpx", path, "--size", "64x32", *options],
                          capture_output=True, text=True)


def in_namespace(script):
    """Runs a shell script in a private mount namespace that sees the
    installed tree where it would be installed."""
    setup = ("set -e\n"
             "mount -t overlay overlay -o lowerdir=%(d)s%(p)s:%(p)s %(p)s\n"
             "sbin=$(realpath /sbin)\n"
             "mount -t overlay overlay -o lowerdir=%(d)s/sbin:$sbin $sbin\n"
             "set +e\n" % {"d": DEST, "p": PREFIX})
    return subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c",
                           setup + script], capture_output=True, text=True, timeout=120)


def install():
    run = subprocess.run(["meson", "install", "-C", BUILDDIR, "--destdir", DEST, "--no-rebuild",
                          "--quiet"], capture_output=True, text=True)
    check(run.returncode == 0, "meson install --destdir (%s)" % run.stderr.strip()[-300:])
    expected = ["bin/namfs", "bin/namctl", "share/man/man8/namfs.8", "share/man/man1/namctl.1",
                "share/man/man5/namfs-profile.5", "share/doc/namfs/profile.example.ini",
                "share/doc/namfs/namfs@.conf.example", "share/doc/namfs/delivery.mount.example",
                "lib/systemd/system/namfs@.service"]
    missing = [f for f in expected if not os.path.exists(DEST + PREFIX + "/" + f)]
    check(not missing, "installed: binaries, man pages, example profile, unit and examples %s"
          % missing)
    helper = os.path.join(DEST, "sbin", "mount.fuse.namfs")
    check(os.path.islink(helper) and os.readlink(helper) == PREFIX + "/bin/namfs",
          "mount.fuse.namfs in /sbin, where mount(8) looks, links the installed namfs")
    unit = open(DEST + PREFIX + "/lib/systemd/system/namfs@.service").read()
    check("ExecStart=%s/bin/namfs -f " % PREFIX in unit and "Type=notify" in unit and
          "EnvironmentFile=/etc/namfs/%i.conf" in unit,
          "the unit runs the installed namfs -f, Type=notify, one EnvironmentFile per instance")


def man_pages():
    mandir = DEST + PREFIX + "/share/man"
    for page in ("namfs", "namctl", "namfs-profile"):
        run = subprocess.run(["man", "--warnings", "-M", mandir, page], capture_output=True,
                             text=True, env=dict(os.environ, MANWIDTH="80", MANPAGER="cat",
                                                 LC_ALL="C.UTF-8"))
        check(run.returncode == 0 and "NAME" in run.stdout and not run.stderr.strip(),
              "man %s renders without troff warnings %s" % (page, run.stderr.strip()[:300]))


def unit_verifies():
    units = os.path.join(work, "units")
    os.makedirs(units)
    text = open(DEST + PREFIX + "/lib/systemd/system/namfs@.service").read()
    open(os.path.join(units, "namfs@.service"), "w").write(text)
    os.symlink("namfs@.service", os.path.join(units, "namfs@demo.service"))
    unit = os.path.join(units, "namfs@demo.service")
    run = in_namespace("systemd-analyze verify %s 2>&1; echo rc=$?" % unit)
    check("rc=0" in run.stdout and "namfs@" not in run.stdout.replace(unit, ""),
          "systemd-analyze verify accepts namfs@demo.service with the installed binary (%s)"
          % (run.stdout + run.stderr).strip()[-400:])
    # the judge looks at the binary: without the install it must refuse
    run = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
    check(run.returncode != 0 and "namfs" in run.stdout + run.stderr,
          "... and refuses it where namfs is not installed (so the check means something)")


def fstab():
    backing, point = os.path.join(work, "fstab-backing"), os.path.join(work, "fstab-mnt")
    os.makedirs(backing)
    os.makedirs(point)
    profile = harness.small_profile(work)
    table = os.path.join(work, "fstab")
    open(table, "w").write("%s %s fuse.namfs defaults,profile=%s,_netdev 0 0\n"
                           % (backing, point, profile))
    asset = os.path.join(point, SEQ)
    script = """
env -i PATH=/usr/bin:/bin mount -T %(t)s %(m)s; echo mount=$?
findmnt -n -o SOURCE,FSTYPE %(m)s
mkdir %(a)s
for n in 1001 1002; do %(g)s dpx %(a)s/%(s)s.0$n.dpx --size 64x32; done
%(p)s/bin/namctl seal %(a)s; echo seal=$?
%(p)s/bin/namctl unmount %(m)s; echo unmount=$?
findmnt %(m)s >/dev/null; echo still=$?
""" % {"t": table, "m": point, "a": asset, "g": NAMGEN, "s": SEQ, "p": PREFIX}
    run = in_namespace(script)
    out = run.stdout
    check("mount=0" in out, "mount -T FSTAB MNT with PATH=/usr/bin:/bin mounts through "
          "/sbin/mount.fuse.namfs (%s)" % (out + run.stderr).strip()[-400:])
    check("%s fuse.namfs" % backing in out, "findmnt shows BACKING as the source, type fuse.namfs")
    check("seal=0" in out and "unmount=0" in out and "still=1" in out,
          "sealed through the fstab mount, then unmounted once its manifests were written")
    run = subprocess.run([ASCMHL, "verify", backing], capture_output=True, text=True)
    check(run.returncode == 0, "the ASC's reference tool verifies BACKING (%s)"
          % (run.stdout + run.stderr).strip()[-300:])


def namfs(*args):
    return subprocess.run([NAMFS, *args], capture_output=True, text=True, timeout=60)


def folders(name):
    base = os.path.join(work, name)
    backing, point = base + "-backing", base + "-mnt"
    os.makedirs(backing, exist_ok=True)
    os.makedirs(point, exist_ok=True)
    return backing, point


def refused(run, *words):
    return run.returncode == 2 and all(w in run.stderr for w in words) and \
        run.stderr.count("\n") == 1


def unsafe_layouts():
    backing, point = folders("layout")
    parent = os.path.dirname(point)
    run = subprocess.run([NAMFS, os.path.basename(point) + "/..", os.path.basename(point)],
                         capture_output=True, text=True, cwd=parent)
    check(refused(run, "MOUNTPOINT %s is inside BACKING %s" % (point, parent)),
          "namfs m/.. m: refused, exit 2, both resolved: %r" % run.stderr)
    check(not os.path.exists(parent + ".namfs"), "... and no state folder was made for it")
    inner = os.path.join(backing, "inner")
    os.makedirs(inner)
    run = namfs(backing, inner)
    check(refused(run, "MOUNTPOINT %s is inside BACKING %s" % (inner, backing)),
          "a mount point inside BACKING: refused %r" % run.stderr)
    run = namfs("-o", "state=" + os.path.join(point, "state"), backing, point)
    check(refused(run, "the state folder %s/state is inside MOUNTPOINT" % point),
          "a state folder inside the mount point: refused %r" % run.stderr)
    run = namfs("-o", "state=" + os.path.join(backing, "state"), backing, point)
    check(refused(run, "the state folder %s/state is inside BACKING" % backing),
          "a state folder inside BACKING: refused %r" % run.stderr)
    run = namfs(backing, backing)
    check(refused(run, "BACKING %s is MOUNTPOINT %s" % (backing, backing)),
          "BACKING as its own mount point: refused %r" % run.stderr)


def daemon_pid(m):
    """The pid namfs.pid names: written as the kernel's INIT reaches the
    daemon, a moment after the mount shows in /proc/mounts."""
    path = m.backing + ".namfs/namfs.pid"
    eventually(lambda: os.path.exists(path) and open(path).read().strip(), 10)
    return open(path).read().strip()


def second_mount():
    with Mount("first") as m:
        pid = daemon_pid(m)
        other = os.path.join(work, "second-mnt")
        os.makedirs(other)
        run = namfs("-o", "state=" + os.path.join(work, "second-state"), m.backing, other)
        check(refused(run, "BACKING %s is mounted already, at %s by namfs (pid %s)"
                      % (m.backing, m.point, pid)),
              "a second mount of one BACKING, another -o state: refused, naming the running "
              "one %r" % run.stderr)
        check(not os.path.exists(os.path.join(work, "second-state")),
              "... before it made a catalog of its own")
        run = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", m.point],
                             capture_output=True, text=True)
        check(run.stdout.split() == [m.backing, "fuse.namfs"],
              "findmnt: source BACKING, type fuse.namfs (%s)" % run.stdout.strip())


def command_lines():
    backing, point = folders("cli")
    run = namfs("--version")
    check(run.returncode == 0 and re.match(r"namfs \d+\.\d+\.\d+ \(.*libfuse 3", run.stdout),
          "namfs --version %r" % run.stdout)
    run = namfs("--help")
    check(run.returncode == 0 and "loglevel=" in run.stdout and "libfuse options" in run.stdout
          and "max_threads" in run.stdout, "namfs --help lists namfs's and libfuse's options")
    cases = [
        (("-o", "profile=", backing, point), ("profile=: expected a profile file's name",)),
        (("-o", "profile=" + work, backing, point),
         ("profile %s: expected a profile file, found a folder" % work,)),
        ((backing, point, "third"), ("found a third path 'third'",)),
        ((backing,), ("expected BACKING MOUNTPOINT",)),
        ((os.path.join(work, "missing"), point), ("BACKING", "missing", "expected a writable")),
        (("-o", "loglevel=chatty", backing, point), ("loglevel=chatty: expected one of",)),
        (("-o", "quiet=-1", backing, point), ("quiet=-1: expected seconds",)),
    ]
    for args, words in cases:
        run = namfs(*args)
        check(run.returncode == 2 and all(w in run.stderr for w in words) and
              "namfs: namfs:" not in run.stderr,
              "namfs %s: exit 2, %r" % (" ".join(args), run.stderr.strip()[:200]))
    run = namfs("-o", "frobnicate", backing, point)
    check(run.returncode == 2 and "frobnicate" in run.stderr and
          not os.path.exists(backing + ".namfs"),
          "an option nobody knows: exit 2 before a state folder is made %r" % run.stderr.strip())
    run = subprocess.run([NAMCTL, "--version"], capture_output=True, text=True)
    check(run.returncode == 0 and run.stdout.startswith("namctl "), "namctl --version")
    for command, option in (("check", "--jobs"), ("info", "--json"), ("manifest", "--rehash"),
                            ("verify", "--jobs"), ("report", "--html"), ("status", "--watch"),
                            ("seal", "--help"), ("sync", "Exit status"),
                            ("unmount", "Exit status")):
        run = subprocess.run([NAMCTL, command, "--help"], capture_output=True, text=True)
        check(run.returncode == 0 and option in run.stdout and "Exit status" in run.stdout,
              "namctl %s --help lists %s and the exit status" % (command, option))
    run = subprocess.run([NAMCTL, "check", "/nonexistent"], capture_output=True, text=True)
    check(run.returncode == 2 and run.stderr.count("/nonexistent") == 1,
          "namctl check /nonexistent names the path once %r" % run.stderr)


def offline_seal_and_manifest():
    backing, _ = folders("offline")
    frame(backing, 1001)
    asset = os.path.join(backing, SEQ)
    for target, words in ((asset, ("outside every namfs mount", "namctl manifest --seal")),
                          (os.path.join(asset, "%s.01001.dpx" % SEQ), ("found a file",))):
        run = subprocess.run([NAMCTL, "seal", target], capture_output=True, text=True)
        check(run.returncode == 2 and all(w in run.stderr for w in words),
              "namctl seal %s: exit 2, %r" % (os.path.basename(target), run.stderr))
        check("user.namfs.seal" not in os.listxattr(target), "... and no attribute left behind")
    run = subprocess.run([NAMCTL, "manifest", asset], capture_output=True, text=True)
    check(run.returncode == 2 and "sequence folder" in run.stderr and
          "the delivery root is %s" % backing in run.stderr,
          "namctl manifest on a sequence folder: refused, naming the root %r" % run.stderr)
    check(not os.path.exists(os.path.join(asset, "ascmhl")), "... and no history inside the asset")
    run = subprocess.run([NAMCTL, "manifest", os.path.join(asset, "%s.01001.dpx" % SEQ)],
                         capture_output=True, text=True)
    check(run.returncode == 2 and "found a file" in run.stderr,
          "namctl manifest on a file says so %r" % run.stderr)


def log_lines():
    log = os.path.join(work, "namfs.log")
    profile = harness.small_profile(work)
    with Mount("logged", "-o", "profile=%s,log=%s" % (profile, log)) as m:
        frame(m.point, 1001)
        frame(m.point, 1002, "--bits", "8")
        pid = daemon_pid(m)
        lines = open(log).read().splitlines()
        landed = [l for l in lines if " landed " in l]
        refusals = [l for l in lines if "refused" in l]
        check(len(landed) == 1 and "%s.01001.dpx (" % SEQ in landed[0] and
              " info: " in landed[0] and "written by uid 0, pid" in landed[0],
              "one info line for the landed frame, with its writer %r" % landed)
        check(len(refusals) == 1 and " warning: " in refusals[0] and "R2" in refusals[0] and
              "expected 16-bit" in refusals[0] and "found 8-bit" in refusals[0] and
              "written by uid 0" in refusals[0],
              "one warning line for the refused frame: file, rule, expected, found, writer %r"
              % refusals)
        stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z namfs\[%s\] mount=[0-9a-f]{8} "
                           % pid)
        check(lines and all(stamp.match(l) for l in lines),
              "every line: UTC time, namfs[PID], mount id %r" % lines[:2])
        check(not any("Ignoring invalid max threads" in l for l in lines) and
              "Ignoring invalid" not in open(m.log).read(), "no libfuse max_idle_threads warning")
        os.rename(log, log + ".1")
        os.kill(int(pid), signal.SIGHUP)
        check(harness.eventually(lambda: os.path.exists(log)), "SIGHUP reopens log=FILE")
        frame(m.point, 1003)
        check(harness.mounted(m.point), "... and leaves the mount serving")
        check(any("01003.dpx" in l for l in open(log).read().splitlines()),
              "the next landing goes to the new file")
        check(not any("01003.dpx" in l for l in open(log + ".1").read().splitlines()),
              "... not to the rotated one")
    quiet = os.path.join(work, "quiet.log")
    with Mount("quiet", "-o", "profile=%s,log=%s,loglevel=warning" % (profile, quiet)) as m:
        frame(m.point, 1001)
        frame(m.point, 1002, "--bits", "8")
        text = open(quiet).read()
        check("landed" not in text and "refused" in text,
              "loglevel=warning: refusals logged, landings not")


ALL_CASES = (install, man_pages, unit_verifies, fstab, unsafe_layouts, second_mount,
             command_lines, offline_seal_and_manifest, log_lines)
harness.run_cases(ALL_CASES, "SERVICE_CASES")
