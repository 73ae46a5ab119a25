#!/usr/bin/env python3
"""A render farm node writing through a Samba share of the mount (issue 18):
smbd 4.17 started here, on a loopback port, in a temporary folder with its
own smb.conf (the one docs/deployment.md gives) and a test user of its own
(smbpasswd); smbclient as that user, the remote writer. Each fact is read
from BACKING, from xxhsum and from smbclient's own words: the folder and
frames are the user's, a frame that breaks a rule is refused with an error
the writer sees (at its header, at its close), nothing of a refused put
lands, a retry lands, a get returns the bytes put, Samba's DOS attributes
are kept (user.DOSATTRIB) and checksum.txt lists exactly the good frames;
the wrangler finds the refusals in .namfs/rejected and the log.

Usage: smb_cases.py NAMFS NAMGEN NAMCTL [TOOLS_DIR]
(TOOLS_DIR defaults to ../shared/tools beside the project: the ASC's
reference MHL tool judges BACKING at the end.)
"""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import harness
from harness import Mount, check, xxh128

NAMFS, NAMGEN, NAMCTL = sys.argv[1:4]
ASCMHL_TOOL = os.path.join(os.path.abspath(sys.argv[4] if len(sys.argv) > 4 else os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "tools")), "ascmhl")
SEQ = harness.SEQ
USER, PASSWORD = "namfs-smb", "farm-node-1"
work = tempfile.mkdtemp(prefix="namfs-smb-")
os.chmod(work, 0o755)  # smbd, as the test user, must reach the mount point
harness.use(NAMFS, work)

# docs/deployment.md, "Samba": the share's settings, tested here.
SHARE = """
[delivery]
  path = {point}
  read only = no
  valid users = {user}
  # DOS attributes in user.DOSATTRIB (namfs keeps them, out of the manifests),
  # not in the mode's execute bits
  ea support = yes
  store dos attributes = yes
  map archive = no
  map hidden = no
  map system = no
  # a close that returns has been judged, landed and synced by namfs already;
  # strict sync makes a client's flush wait for the same
  strict sync = yes
  # namfs moves refused files away behind the kernel: no kernel oplocks
  kernel oplocks = no
  # new files and folders belong to the writer (the mount keeps the caller's
  # uid): no inheritance games
  inherit owner = no
  inherit permissions = no
"""

GLOBAL = """
[global]
  server role = standalone server
  smb ports = {port}
  interfaces = lo
  bind interfaces only = yes
  private dir = {d}/private
  lock directory = {d}/lock
  state directory = {d}/state
  cache directory = {d}/cache
  pid directory = {d}/run
  ncalrpc dir = {d}/ncalrpc
  log file = {d}/smbd.log
  passdb backend = tdbsam:{d}/private/passdb.tdb
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Samba:
    """smbd on a loopback port, in a folder of its own; always stopped."""

    def __init__(self, point):
        self.dir = os.path.join(work, "samba")
        for sub in ("private", "lock", "state", "cache", "run", "ncalrpc"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "smb.conf")
        open(self.conf, "w").write(GLOBAL.format(port=self.port, d=self.dir) +
                                   SHARE.format(point=point, user=USER))
        self.proc = None

    def __enter__(self):
        subprocess.run(["smbpasswd", "-c", self.conf, "-a", "-s", USER], check=True,
                       input="%s\n%s\n" % (PASSWORD, PASSWORD), text=True, capture_output=True)
        # a session of its own: smbd signals its process group when it stops
        self.proc = subprocess.Popen(["smbd", "--configfile=" + self.conf, "--foreground",
                                      "--no-process-group"], start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("smbd did not listen on port %d" % self.port)

    def __exit__(self, *exc):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False

    def client(self, commands):
        """smbclient as the test user; (exit code, what it printed)."""
        run = subprocess.run(["smbclient", "//127.0.0.1/delivery", "-p", str(self.port),
                              "-U", "%s%%%s" % (USER, PASSWORD), "-c", commands],
                             capture_output=True, text=True)
        return run.returncode, run.stdout + run.stderr


def frame_name(n):
    return "%s.%04d.dpx" % (SEQ, n)


def make_frames(folder):
    """Good frames 1-3, an 8-bit one and a truncated one, from namgen."""
    paths = {}
    for n in (1, 2, 3):
        paths[n] = os.path.join(folder, "good%d.dpx" % n)
        subprocess.run([NAMGEN, "dpx", paths[n], "--seed", str(n)], check=True)
    paths["8-bit"] = os.path.join(folder, "bad.dpx")
    subprocess.run([NAMGEN, "dpx", paths["8-bit"], "--bits", "8"], check=True)
    paths["short"] = os.path.join(folder, "short.dpx")
    open(paths["short"], "wb").write(open(paths[3], "rb").read()[:3000])
    return paths


def test_user():
    """The test user's uid, made here when the machine has none (removed
    again at the end)."""
    try:
        return pwd.getpwnam(USER).pw_uid, False
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", USER], check=True)
        return pwd.getpwnam(USER).pw_uid, True


def rejected(m):
    return open(os.path.join(m.point, ".namfs", "rejected")).read()


def farm_writes_through_samba():
    uid, made = test_user()
    m = Mount("smb", "-o", "allow_other,profile=%s,quiet=0.2" % harness.small_profile(work))
    frames = make_frames(work)
    os.chown(m.backing, uid, -1)  # the delivery root is the farm's to write in
    folder = os.path.join(m.backing, SEQ)
    try:
        with m, Samba(m.point) as smb:
            rc, out = smb.client("mkdir %s" % SEQ)
            check(rc == 0 and os.stat(folder).st_uid == uid,
                  "mkdir over SMB: the folder in BACKING is the test user's (%s)" % out.strip())
            rc, out = smb.client("cd %s; put %s %s; put %s %s" % (
                SEQ, frames[1], frame_name(1), frames[2], frame_name(2)))
            check(rc == 0 and all(os.stat(os.path.join(folder, frame_name(n))).st_uid == uid
                                  for n in (1, 2)),
                  "two frames put over SMB land, owned by the test user")
            check(all(xxh128(os.path.join(folder, frame_name(n))) == xxh128(frames[n])
                      for n in (1, 2)), "their bytes in BACKING are the ones put (xxhsum)")

            rc, out = smb.client("cd %s; put %s %s" % (SEQ, frames["8-bit"], frame_name(3)))
            check(rc != 0 and "NT_STATUS_INVALID_PARAMETER" in out,
                  "an 8-bit frame is refused at its header; the remote writer sees it: %s"
                  % out.strip().splitlines()[-1:])
            check(not os.path.exists(os.path.join(folder, frame_name(3))) and
                  "R2" in rejected(m) and frame_name(3) in rejected(m),
                  "nothing of it under its name in BACKING; .namfs/rejected lists it with R2")
            rc, out = smb.client("cd %s; put %s %s" % (SEQ, frames["short"], frame_name(3)))
            check(rc != 0 and "closing remote file" in out and
                  "NT_STATUS_INVALID_PARAMETER" in out,
                  "a truncated frame is refused at its close; the remote writer sees it: %s"
                  % out.strip().splitlines()[-1:])
            left = sorted(set(os.listdir(folder)) - {frame_name(1), frame_name(2), "checksum.txt"})
            check(not left and "R7" in rejected(m),
                  "nothing of either refused put is left in BACKING's folder (%s); "
                  ".namfs/rejected says R7" % left)
            rc, out = smb.client("cd %s; put %s %s" % (SEQ, frames[3], frame_name(3)))
            check(rc == 0 and xxh128(os.path.join(folder, frame_name(3))) == xxh128(frames[3]),
                  "a retry after the refusals lands")

            got = os.path.join(work, "got2.dpx")
            rc, out = smb.client("cd %s; get %s %s" % (SEQ, frame_name(2), got))
            check(rc == 0 and open(got, "rb").read() == open(frames[2], "rb").read(),
                  "a get over SMB returns the bytes put")
            attrs = os.listxattr(os.path.join(folder, frame_name(1)))
            check("user.DOSATTRIB" in attrs and
                  not os.stat(os.path.join(folder, frame_name(1))).st_mode & 0o111,
                  "Samba's DOS attributes are kept in user.DOSATTRIB, not in execute bits (%s)"
                  % attrs)
            run = subprocess.run([NAMCTL, "seal", os.path.join(m.point, SEQ)],
                                 capture_output=True, text=True)
            check(run.returncode == 0, "the asset seals (frames 1-3, nothing missing): %s"
                  % (run.stdout + run.stderr).strip()[-200:])
            rc, out = smb.client("cd %s; put %s %s" % (SEQ, frames[1], frame_name(4)))
            check(rc != 0 and "NT_STATUS_MEDIA_WRITE_PROTECTED" in out and
                  not os.path.exists(os.path.join(folder, frame_name(4))),
                  "a put into the sealed asset is refused; the remote writer sees it: %s"
                  % out.strip().splitlines()[-1:])
        log = open(m.log).read()
        check(all(any(rule in l and frame_name(3) in l and "written by uid %d," % uid in l
                      for l in log.splitlines()) for rule in ("R2", "R7")),
              "the log names the refused frame, each rule and the remote user's uid")
        listed = sorted(l.split("\t")[0] for l in
                        open(os.path.join(folder, "checksum.txt")).read().splitlines())
        check(listed == [frame_name(n) for n in (1, 2, 3)],
              "checksum.txt lists exactly the three good frames: %s" % listed)
        run = subprocess.run([NAMCTL, "verify", m.backing], capture_output=True, text=True)
        check(run.returncode == 0, "namctl verify BACKING: %s" % run.stdout.strip()[-200:])
        run = subprocess.run([ASCMHL_TOOL, "verify", m.backing], capture_output=True, text=True)
        check(run.returncode == 0, "the ASC reference tool verifies BACKING (exit %d) %s"
              % (run.returncode, (run.stdout + run.stderr).strip()[-200:]))
    finally:
        if made:
            subprocess.run(["userdel", USER], capture_output=True)


if not (shutil.which("smbd") and shutil.which("smbclient")):
    check(False, "smbd and smbclient are installed (scripts/setup installs samba, smbclient)")
    harness.report()
harness.run_cases([farm_writes_through_samba], "SMB_CASES")
