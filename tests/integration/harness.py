"""What the integration suites share: checks, the report that ends each run,
and (for the suites that mount namfs) a mount that is always unmounted."""
import os
import shutil
import subprocess
import sys
import time

failures = []
_namfs = None
_work = None


def use(namfs, work):
    """The namfs binary and the scratch folder that Mount works in."""
    global _namfs, _work
    _namfs, _work = namfs, work


# The asset folder the integration suites write small frames into, and a
# testing profile that lowers the resolution floor to their 64x32.
SEQ = "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"


def small_profile(folder):
    """Writes the testing profile into folder; returns its path."""
    path = os.path.join(folder, "small.ini")
    open(path, "w").write("[delivery]\nformats = dpx, exr\nresolution = any\n"
                          "colour = camera-native\n[testing]\nresolution_floor = 64x32\n")
    return path


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def report(failed=None):
    """Lists what failed, then exits 1 if anything did, 0 otherwise."""
    failed = failures if failed is None else failed
    for what in failed:
        print("FAIL " + what)
    print("%d failed" % len(failed))
    sys.exit(1 if failed else 0)


def eventually(condition, seconds=10):
    """Waits for what the daemon does after close() has returned."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        time.sleep(0.05)
    return False


def writers_done(point):
    """No file is being written through the mount at point: the delivery
    root's user.namfs.seal stops saying so (fsx's last close comes from a
    process of its own)."""
    def done():
        return b"still being written" not in os.getxattr(point, "user.namfs.seal")
    return eventually(done, 60)


def xxh128(path):
    """xxhsum -H2 of a file: the reference the mount's digests must equal."""
    return subprocess.run(["xxhsum", "-H2", path], capture_output=True, text=True,
                          check=True).stdout.split()[0]


def c4(path):
    """The ASC's C4 id of a file (SHA-512 in base58), from openssl's digest:
    what ascmhl_chain.xml lists for each generation."""
    digest = subprocess.run(["openssl", "dgst", "-sha512", "-binary", path],
                            capture_output=True, check=True).stdout
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n, s = int.from_bytes(digest, "big"), ""
    for _ in range(88):
        n, r = divmod(n, 58)
        s = alphabet[r] + s
    return "c4" + s


def namfs_digest(path):
    """The digest the mount shows for a landed file, None if not landed."""
    try:
        return os.getxattr(path, "user.namfs.xxh128").decode()
    except OSError:
        return None


def mounted(point):
    return any(line.split()[1] == point for line in open("/proc/mounts"))


class Mount:
    """Mounts in the foreground (-f) so the daemon's own errors, sanitizer
    reports included, are caught; daemon=True mounts as users do. A daemon
    killed on purpose (expect_exit) is not held against it."""

    def __init__(self, name, *options, daemon=False, backing=None, prefix=()):
        """backing: a BACKING of its own unless given (mounts sharing one
        catalog share one BACKING); prefix: what runs the daemon (nsenter
        --net=..., for a host in a network namespace of its own)."""
        self.prefix = list(prefix)
        self.backing = backing or os.path.join(_work, name + "-backing")
        self.point = os.path.join(_work, name + "-mnt")
        self.log = os.path.join(_work, name + ".log")
        os.makedirs(self.backing, exist_ok=True)
        os.makedirs(self.point, exist_ok=True)
        self.options = options
        self.daemon = daemon
        self.proc = None
        self.killed = False

    def __enter__(self):
        cmd = [_namfs, *self.options, self.backing, self.point]
        self.killed = False
        if self.daemon:
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                raise RuntimeError("mount failed: " + run.stderr)
            return self
        self.proc = subprocess.Popen([*self.prefix, _namfs, "-f", *cmd[1:]],
                                     stderr=open(self.log, "w"))
        for _ in range(100):
            if mounted(self.point):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("mount failed: " + open(self.log).read())

    def kill(self):
        """kill -9 of the daemon; the dead mount is cleaned up on exit."""
        self.killed = True
        self.proc.kill()
        self.proc.wait()

    def __exit__(self, *exc):
        subprocess.run(["fusermount3", "-u" if not self.killed else "-uz", self.point],
                       capture_output=True)
        if self.proc and not self.killed:
            try:
                code = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = "hung"
            log = open(self.log, errors="backslashreplace").read()
            report = next((log[log.index(w):][:4000] for w in
                           ("==ERROR", "runtime error", "WARNING: ThreadSanitizer")
                           if w in log), log.strip()[-300:])  # a sanitizer's report whole
            check(code == 0 and "ERROR:" not in log and "runtime error" not in log and
                  "ThreadSanitizer" not in log,
                  "daemon exited cleanly (exit %s) %s" % (code, report))
        return False


def run_cases(cases, variable):
    """Runs the cases (only those named in the environment variable, if
    set), unmounts whatever is left under the scratch folder, removes it
    and reports. A case that raises is a failure, not the end of the run."""
    only = os.environ.get(variable, "").split()
    try:
        for case in cases:
            if only and case.__name__ not in only:
                continue
            try:
                case()
            except Exception as e:
                check(False, "%s raised %r" % (case.__name__, e))
    finally:
        for line in open("/proc/mounts"):
            if _work in line:
                subprocess.run(["fusermount3", "-uz", line.split()[1]], capture_output=True)
        shutil.rmtree(_work, ignore_errors=True)
    report()
