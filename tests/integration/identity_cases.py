#!/usr/bin/env python3
"""Whose files, and what their times and I/O modes say: a non-root user
writing through a mount made with -o allow_other (as behind Samba) owns
what it makes, with its umask and a setgid folder's group; cp -p keeps
the times it set although namfs reads every file it lands; O_DIRECT
writes and reads round-trip. Every fact is read from BACKING with stat(2)
or from the bytes themselves, right after the writer's program exits.

Usage: identity_cases.py NAMFS
"""
import os
import subprocess
import sys
import tempfile

import harness
from harness import Mount, check, namfs_digest, xxh128

NAMFS = sys.argv[1]
work = tempfile.mkdtemp(prefix="namfs-identity-")
os.chmod(work, 0o755)  # nobody must reach the mount point
harness.use(NAMFS, work)

NOBODY = 65534
USERS = 100  # Debian's "users" group


def as_nobody(script):
    """Runs script with sh as nobody (su, as a farm user's shell would)."""
    run = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", script],
                         capture_output=True, text=True)
    check(run.returncode == 0, "as nobody: %s: exit 0 %s" % (script, run.stderr.strip()))
    return run


def owner_mode(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


def caller_owns_what_it_makes():
    """Files and folders belong to the caller (uid, its group), with the
    caller's umask alone (namfs's own umask is 0), and the caller can go on
    writing into its own folder."""
    with Mount("owner", "-o", "allow_other") as m:
        os.chmod(m.point, 0o777)
        as_nobody("umask 022 && mkdir %s/d && echo x > %s/d/f && echo y > %s/d/g"
                  % (m.point, m.point, m.point))
        b = m.backing
        check(owner_mode(os.path.join(b, "d")) == (NOBODY, NOBODY, 0o755),
              "mkdir by nobody, umask 022: nobody:nogroup 0755, found %r"
              % (owner_mode(os.path.join(b, "d")),))
        check(owner_mode(os.path.join(b, "d", "f")) == (NOBODY, NOBODY, 0o644),
              "a file by nobody, umask 022: nobody:nogroup 0644, found %r"
              % (owner_mode(os.path.join(b, "d", "f")),))
        check(open(os.path.join(b, "d", "g")).read() == "y\n",
              "nobody's second write into its own folder lands")
        as_nobody("umask 000 && mkdir %s/open && touch %s/open/h" % (m.point, m.point))
        check(owner_mode(os.path.join(b, "open"))[2] == 0o777 and
              owner_mode(os.path.join(b, "open", "h"))[2] == 0o666,
              "umask 000: 0777 folder, 0666 file, found %o %o"
              % (owner_mode(os.path.join(b, "open"))[2],
                 owner_mode(os.path.join(b, "open", "h"))[2]))
        src = os.path.join(work, "install-src")
        open(src, "w").write("installed\n")
        os.chmod(src, 0o644)
        as_nobody("install -m 0640 %s %s/d/inst" % (src, m.point))
        check(owner_mode(os.path.join(b, "d", "inst")) == (NOBODY, NOBODY, 0o640),
              "install -m 0640 by nobody: nobody:nogroup 0640, found %r"
              % (owner_mode(os.path.join(b, "d", "inst")),))
        check(namfs_digest(os.path.join(m.point, "d", "inst")) ==
              xxh128(os.path.join(b, "d", "inst")), "and it landed with xxhsum's digest")
    # touch and install set times through a descriptor still open after an
    # earlier close() landed the file: the catalog takes them, so the
    # unmount's look-out finds nothing changed behind the mount
    log = open(m.log).read()
    check("behind the mount" not in log, "times set through the mount are recorded: " +
          " | ".join(l for l in log.splitlines() if "behind the mount" in l))


def setgid_folder_gives_its_group():
    """In a setgid folder, new files and folders take the folder's group
    (and folders the setgid bit), as on any local filesystem."""
    with Mount("setgid", "-o", "allow_other") as m:
        shared = os.path.join(m.point, "shared")
        os.mkdir(shared)
        os.chown(shared, 0, USERS)
        os.chmod(shared, 0o2777)
        as_nobody("umask 002 && echo z > %s/f && mkdir %s/sub" % (shared, shared))
        b = os.path.join(m.backing, "shared")
        check(owner_mode(os.path.join(b, "f")) == (NOBODY, USERS, 0o664),
              "a file in a setgid folder: nobody:users 0664, found %r"
              % (owner_mode(os.path.join(b, "f")),))
        check(owner_mode(os.path.join(b, "sub")) == (NOBODY, USERS, 0o2775),
              "a folder in a setgid folder: nobody:users 02775, found %o"
              % owner_mode(os.path.join(b, "sub"))[2])


def cp_p_keeps_atime():
    """cp -p sets the source's times after writing; namfs judges and
    hashes the file at its close and syncs it at its release, and none of
    those reads moves the atime cp set (O_NOATIME)."""
    with Mount("atime") as m:
        src = os.path.join(work, "times-src.bin")
        open(src, "wb").write(os.urandom(300000))
        os.utime(src, ns=(1_000_000_000_123_456_789, 1_500_000_000_987_654_321))
        dst = os.path.join(m.point, "times.bin")
        subprocess.run(["cp", "-p", src, dst], check=True)
        for where in (dst, os.path.join(m.backing, "times.bin")):
            st = os.stat(where)
            check((st.st_atime_ns, st.st_mtime_ns) ==
                  (1_000_000_000_123_456_789, 1_500_000_000_987_654_321),
                  "cp -p: atime and mtime as set, %s: found %d %d"
                  % (where, st.st_atime_ns, st.st_mtime_ns))
        check(namfs_digest(dst) == xxh128(src), "cp -p: landed with the source's digest")


def direct_io_round_trips():
    """dd with oflag=direct and iflag=direct through the mount: the bytes
    come back as written, and they landed with their digest."""
    with Mount("direct") as m:
        src = os.path.join(work, "direct-src.bin")
        open(src, "wb").write(os.urandom(64 * 4096))
        dst = os.path.join(m.point, "direct.bin")
        run = subprocess.run(["dd", "if=" + src, "of=" + dst, "bs=4096", "oflag=direct"],
                             capture_output=True, text=True)
        check(run.returncode == 0, "dd oflag=direct into the mount: exit 0 " + run.stderr)
        back = os.path.join(work, "direct-back.bin")
        run = subprocess.run(["dd", "if=" + dst, "of=" + back, "bs=4096", "iflag=direct"],
                             capture_output=True, text=True)
        check(run.returncode == 0, "dd iflag=direct from the mount: exit 0 " + run.stderr)
        check(open(back, "rb").read() == open(src, "rb").read(),
              "O_DIRECT: the bytes read back are the bytes written")
        check(namfs_digest(dst) == xxh128(src), "O_DIRECT: landed with xxhsum's digest")


harness.run_cases([caller_owns_what_it_makes, setgid_folder_gives_its_group, cp_p_keeps_atime,
                   direct_io_round_trips], "IDENTITY_CASES")
