#!/usr/bin/env python3
"""Ordinary programs against the mount: lock files, temporary files, files
replaced or deleted while open, several handles and truncates on one file.
Each case asserts that the daemon is still serving and that the digest
namfs records is xxhsum's of what BACKING holds, also after a remount.

Usage: ordinary_cases.py NAMFS
"""
import errno
import os
import signal
import subprocess
import sys
import tempfile

import harness
from harness import Mount, check, eventually, namfs_digest, writers_done, xxh128

NAMFS = sys.argv[1]
work = tempfile.mkdtemp(prefix="namfs-ordinary-")
harness.use(NAMFS, work)


def alive(m):
    """The mount still answers (a dead daemon gives ENOTCONN)."""
    try:
        os.listdir(m.point)
        return True
    except OSError:
        return False


def hidden_left(m):
    return [n for _, _, files in os.walk(m.backing) for n in files
            if n.startswith(".fuse_hidden")]


def hidden_gone(m):
    """A file deleted while open leaves BACKING at its last release, which
    libfuse handles after close() has returned: waited for here (to the
    delivery it was gone at once)."""
    return eventually(lambda: not hidden_left(m))


def listed(folder):
    """What readdir shows, less namfs's own .namfs/ and ascmhl/."""
    return sorted(n for n in os.listdir(folder) if n not in (".namfs", "ascmhl"))


def digest_matches(m, rel):
    """The digest recorded once the file settled is xxhsum's of BACKING
    (checked once, after settling: never an intermediate state)."""
    return writers_done(m.point) and (namfs_digest(os.path.join(m.point, rel)) ==
                                xxh128(os.path.join(m.backing, rel)))


def lock_file():
    """flock(1) creates its lock file O_RDONLY|O_CREAT: a created file is a
    written one (it lands empty, as touch's does), never a NULL hasher."""
    with Mount("flock") as m:
        lock = os.path.join(m.point, "job.lock")
        run = subprocess.run(["flock", lock, "true"], capture_output=True, text=True)
        check(run.returncode == 0 and alive(m), "flock MOUNT/job.lock true: exit 0, mount alive "
              + run.stderr)
        check(os.path.exists(os.path.join(m.backing, "job.lock")), "the lock file is in BACKING")
        check(digest_matches(m, "job.lock"), "the lock file lands with xxhsum's digest (empty)")
        run = subprocess.run(["flock", "-x", lock, "sh", "-c", "echo held > %s.log" % lock],
                             capture_output=True, text=True)
        check(run.returncode == 0 and alive(m), "a second flock of the same file")


def temporary_file():
    """Python's TemporaryFile: FUSE has no O_TMPFILE, so Python creates a
    file and unlinks it while open; it is written, flushed, read back."""
    with Mount("tmpfile") as m:
        data = os.urandom(100000)
        with tempfile.TemporaryFile(dir=m.point) as f:
            f.write(data)
            f.flush()
            size = os.fstat(f.fileno()).st_size
            f.seek(0)
            back = f.read()
        check(back == data and size == len(data), "TemporaryFile: write, flush, fstat, seek, "
              "read back the same bytes")
        check(alive(m), "TemporaryFile: mount alive")
        check(hidden_gone(m) and listed(m.backing) == [],
              "TemporaryFile: nothing left in BACKING %s" % listed(m.backing))


def reader_renamed_over():
    """A reader keeps reading its file after rename(2) replaced it, and
    fstat of its descriptor answers; the new file lands with its digest."""
    with Mount("renamed-over") as m:
        old, new = os.urandom(70000), os.urandom(50000)
        open(os.path.join(m.point, "a.bin"), "wb").write(old)
        open(os.path.join(m.point, "b.bin"), "wb").write(new)
        fd = os.open(os.path.join(m.point, "a.bin"), os.O_RDONLY)
        first = os.read(fd, 1000)
        os.rename(os.path.join(m.point, "b.bin"), os.path.join(m.point, "a.bin"))
        check(alive(m), "rename over an open file: mount alive")
        try:
            st = os.fstat(fd)
            check(st.st_size == len(old), "fstat of the file renamed over: its own size")
        except OSError as e:
            check(False, "fstat of the file renamed over: %s" % e)
        rest = os.pread(fd, len(old), 1000)
        os.close(fd)
        check(first + rest == old, "the reader reads the old bytes to the end")
        check(alive(m), "reader closed: mount alive")
        check(listed(m.point) == ["a.bin"], "readdir shows a.bin only: %s" % listed(m.point))
        check(digest_matches(m, "a.bin"), "a.bin's digest is the new file's (xxhsum)")
        check(hidden_gone(m), "no hidden file left in BACKING after the last release")


def unlinked_while_open():
    """fstat, write and read of a file unlinked while open; it never lands
    and leaves nothing behind."""
    with Mount("unlinked") as m:
        path = os.path.join(m.point, "scratch.bin")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"x" * 5000)
        os.unlink(path)
        try:
            check(os.fstat(fd).st_size == 5000, "fstat of an open unlinked file")
        except OSError as e:
            check(False, "fstat of an open unlinked file: %s" % e)
        os.pwrite(fd, b"y" * 3000, 5000)
        check(os.pread(fd, 8000, 0) == b"x" * 5000 + b"y" * 3000, "write and read after unlink")
        check(listed(m.point) == [], "readdir does not show the deleted file")
        os.close(fd)
        check(alive(m) and hidden_gone(m) and listed(m.backing) == [],
              "closed: mount alive, nothing left in BACKING")
        check(namfs_digest(path) is None, "the deleted file has no digest")
        status = open(os.path.join(m.point, ".namfs", "status")).read()
        check("0 files landed" in status, "the deleted file never landed: %s"
              % status.splitlines()[-1])
        try:
            open(os.path.join(m.point, ".fuse_hidden0000000100000001"), "w")
            check(False, "names libfuse hides deleted files under are reserved")
        except OSError as e:
            check(e.errno == errno.EPERM, "names libfuse hides deleted files under are reserved")


def two_handles():
    """A writes 64 KiB, B opens the same file, writes 4 KiB at 8192 and
    closes, then A closes: the digest is of BACKING's bytes, both writers'."""
    with Mount("handles") as m:
        path = os.path.join(m.point, "two.bin")
        a = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(a, os.urandom(65536))
        b = os.open(path, os.O_WRONLY)
        os.pwrite(b, os.urandom(4096), 8192)
        os.close(b)
        os.close(a)
        check(alive(m) and digest_matches(m, "two.bin"), "two handles: digest equals xxhsum")
        # the other order: the first handle closes first
        a = os.open(path, os.O_RDWR)
        b = os.open(path, os.O_RDWR)
        os.pwrite(a, os.urandom(1000), 100)
        os.close(a)
        os.pwrite(b, os.urandom(9000), 60000)
        os.close(b)
        check(digest_matches(m, "two.bin"), "two handles, first closed first: digest equals "
              "xxhsum")
    with Mount("handles") as m:
        check(digest_matches(m, "two.bin"), "two handles: the digest survives a remount")


def truncate_while_open():
    """truncate(2) by path (to 0, then back to 64 KiB) while a writer holds
    the file open: the digest is of the zeros BACKING holds."""
    with Mount("truncated") as m:
        path = os.path.join(m.point, "cut.bin")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, os.urandom(65536))
        os.truncate(path, 0)
        os.truncate(path, 65536)
        os.close(fd)
        check(open(os.path.join(m.backing, "cut.bin"), "rb").read() == bytes(65536),
              "BACKING holds 64 KiB of zeros")
        check(alive(m) and digest_matches(m, "cut.bin"), "truncate by path while open: digest "
              "equals xxhsum")
        fd = os.open(path, os.O_WRONLY)
        os.write(fd, os.urandom(30000))
        other = os.open(path, os.O_WRONLY | os.O_TRUNC)  # a truncating open meanwhile
        os.pwrite(other, os.urandom(100), 50)
        os.close(other)
        os.ftruncate(fd, 20000)
        os.close(fd)
        check(digest_matches(m, "cut.bin"), "truncating open and ftruncate beside a writer: "
              "digest equals xxhsum")
    with Mount("truncated") as m:
        check(digest_matches(m, "cut.bin"), "truncate while open: the digest survives a remount")


def hidden_left_by_a_crash():
    """A crash while a deleted file was open leaves it under its hidden
    name in BACKING: the next mount removes it and says so."""
    m = Mount("crashed")
    leftover = os.path.join(m.backing, ".fuse_hidden0000002a00000003")
    open(leftover, "w").write("deleted before the crash")
    with m:
        check(not os.path.exists(leftover), "the hidden leftover is removed at mount")
    check("deleted while open before a crash" in open(m.log).read(), "and the log says so")


def handles_at_stop():
    """namfs's own texts and files read still open when the mount stops
    (SIGTERM: the kernel never releases them) are closed and freed all the
    same; under ASan a leak fails the clean exit. (Folders are tracked too,
    but libfuse 3.14 leaks its own handle of a folder never released, so
    LeakSanitizer cannot judge namfs's part of that here.)"""
    with Mount("handles-at-stop") as m:
        open(os.path.join(m.point, "a.txt"), "w").write("a")
        status = os.open(os.path.join(m.point, ".namfs", "status"), os.O_RDONLY)
        reader = os.open(os.path.join(m.point, "a.txt"), os.O_RDONLY)
        m.proc.send_signal(signal.SIGTERM)
        check(m.proc.wait(timeout=20) == 0, "SIGTERM with .namfs/status and a file open: exit 0")
        for fd in (status, reader):
            try:
                os.close(fd)
            except OSError:
                pass


harness.run_cases([lock_file, temporary_file, reader_renamed_over, unlinked_while_open,
                   two_handles, truncate_while_open, hidden_left_by_a_crash,
                   handles_at_stop], "ORDINARY_CASES")
