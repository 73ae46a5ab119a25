#!/usr/bin/env python3
"""Many hosts, one delivery (DESIGN.md, "Beyond one machine"): several
mounts of one BACKING, each with its own state folder, sharing one
PostgreSQL catalog (-o catalog=postgresql://...), as hosts over shared
storage would. Run beside a server of its own: tests/with-postgres gives
its URL in NAMFS_TEST_PG and its pg_ctl in NAMFS_TEST_PG_CTL; every case
makes a database of its own.

Judged by the ASC's reference tool (ascmhl verify), namctl verify, the
daemons' logs, BACKING as os.listdir sees it and checksum.txt's lines.

Usage: tests/with-postgres shared_cases.py NAMFS NAMGEN NAMCTL [ASCMHL_DIR]
SHARED_CASES="three_hosts" runs a subset.
"""
import errno
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import harness
from harness import Mount, check, eventually

NAMFS, NAMGEN, NAMCTL = sys.argv[1:4]
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASCMHL_DIR = os.path.abspath(sys.argv[4] if len(sys.argv) > 4 else
                             os.path.join(SOURCE, "..", "shared", "ascmhl"))
ASCMHL_TOOL = os.path.join(os.path.dirname(ASCMHL_DIR), "tools", "ascmhl")
PG = os.environ.get("NAMFS_TEST_PG")
PG_CTL = os.environ.get("NAMFS_TEST_PG_CTL")
if not PG:
    print("shared_cases: no PostgreSQL (run it through tests/with-postgres)")
    sys.exit(77)
work = tempfile.mkdtemp(prefix="namfs-shared-")
harness.use(NAMFS, work)
SEQ = harness.SEQ
PROFILE = harness.small_profile(work)
LEASE_LINE = "this mount writes the manifests now"


def asset(episode, title="show"):
    return SEQ.replace("show_s01e01_", "%s_s01e%02d_" % (title, episode))


def frame(name, n, digits=4):
    return "%s/%s.%0*d.dpx" % (name, name, digits, n)


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace")


def tail(done, lines=3):
    out = [l.strip() for l in (done.stdout + "\n" + done.stderr).splitlines()
           if l.strip() and "lowers the resolution floor" not in l]
    return " | ".join(out[-lines:])[-400:]


_made = {}


def made(seed, *options):
    """A 64x32 DPX frame from namgen (options: namgen's), outside the
    mount: its bytes."""
    if (seed, options) not in _made:
        path = os.path.join(work, "src-%d-%s.dpx" % (seed, "-".join(options)))
        subprocess.run([NAMGEN, "dpx", path, "--seed", str(seed), *options],
                       check=True, capture_output=True)
        _made[seed, options] = open(path, "rb").read()
    return _made[seed, options]


def write(path, data):
    """open, write, close through a mount: 0 or the errno close() (or
    open) gave."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as e:
        return e.errno
    try:
        os.write(fd, data)
    finally:
        try:
            os.close(fd)
        except OSError as e:
            return e.errno
    return 0


def database(name):
    """A database of the case's own on the test server: its URL."""
    done = run("psql", PG, "-qc", "DROP DATABASE IF EXISTS %s" % name, "-c",
               "CREATE DATABASE %s" % name)
    if done.returncode != 0:
        raise RuntimeError("createdb: " + done.stderr)
    return PG.rsplit("/", 1)[0] + "/" + name


class Hosts:
    """count mounts of one BACKING sharing the catalog at url (or host i at
    urls[i], its daemon run through prefixes[i]), each with its own state
    folder: host i mounted at work/NAME-hI-mnt."""

    def __init__(self, name, url, count=3, urls=None, prefixes=None):
        self.backing = os.path.join(work, name + "-backing")
        os.makedirs(self.backing, exist_ok=True)
        urls = urls or [url] * count
        prefixes = prefixes or [()] * count
        self.mounts = [Mount("%s-h%d" % (name, i + 1), "-o",
                             "profile=%s,quiet=0.2,catalog=%s,state=%s" %
                             (PROFILE, urls[i], os.path.join(work, "%s-h%d.state" % (name, i + 1))),
                             backing=self.backing, prefix=prefixes[i]) for i in range(count)]

    def __enter__(self):
        for m in self.mounts:
            m.__enter__()
        return self

    def __exit__(self, *exc):
        for m in reversed(self.mounts):
            m.__exit__(*exc)
        return False


def holder(mounts):
    """The mount whose log says it writes the manifests (the last to say so)."""
    said = [(os.path.getmtime(m.log), m) for m in mounts
            if not m.killed and LEASE_LINE in open(m.log, errors="replace").read()]
    return max(said, key=lambda t: t[0])[1] if said else None


def verify_delivery(backing, what, frames):
    """ascmhl verify and namctl verify pass; each asset's checksum.txt
    lists each of its frames in BACKING exactly once, and nothing else."""
    done = run(ASCMHL_TOOL, "verify", backing)
    check(done.returncode == 0, "%s: ascmhl verify BACKING exits 0 (exit %d: %s)" %
          (what, done.returncode, tail(done)))
    done = run(NAMCTL, "verify", backing)
    check(done.returncode == 0, "%s: namctl verify BACKING exits 0 (exit %d: %s)" %
          (what, done.returncode, tail(done)))
    for name, count in frames.items():
        folder = os.path.join(backing, name)
        if not os.path.isdir(folder):
            check(False, "%s: %s is in BACKING" % (what, name))
            continue
        on_disk = sorted(n for n in os.listdir(folder) if n.endswith(".dpx"))
        lines = [l.split()[0] for l in open(os.path.join(folder, "checksum.txt"))
                 if l.strip()]  # NAME DIGEST if os.path.exists(os.path.join(folder, "checksum.txt")) else []
        check(len(on_disk) == count and sorted(lines) == on_disk and
              len(set(lines)) == len(lines),
              "%s: %s's checksum.txt lists its %d frames once each (%d lines, %d on disk: %r)" %
              (what, name, count, len(lines), len(on_disk), lines[:1] + on_disk[:1]))


def three_hosts():
    """Three mounts land one asset at once, a third of its frames each;
    every host's status shows the whole asset the moment the writers'
    close()s have returned; of two hosts racing for one frame number under
    two names (x.1301.dpx, x.01301.dpx), exactly one close() succeeds
    (SPEC S5); a fourth mount with a catalog of its own is refused; the
    asset sealed from the third host is sealed on the first; then BACKING
    verifies."""
    url = database("three_hosts")
    main, frames = asset(1), 24
    with Hosts("three", url) as hosts:
        ms = hosts.mounts
        os.makedirs(os.path.join(ms[0].point, main))
        results = {}

        def writer(i):
            for n in range(1001 + i, 1001 + frames, 3):
                results[n] = write(os.path.join(ms[i].point, frame(main, n)), made(n))
        threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(sorted(results) == list(range(1001, 1001 + frames)) and
              not any(results.values()),
              "24 frames written through 3 mounts at once all land: %r" %
              {n: errno.errorcode.get(e, e) for n, e in results.items() if e})
        for i, m in enumerate(ms):
            status = open(os.path.join(m.point, ".namfs", "status")).read()
            check("%s\t%d frames" % (main, frames) in status,
                  "host %d's .namfs/status shows all %d frames of the asset: %s" %
                  (i + 1, frames, status[:600]))

        # the cross-host S5 race, on assets of fresh titles (no padding
        # chosen yet: S3 has nothing to say)
        wins = []
        for episode in range(2, 6):
            name = asset(episode, "race%d" % episode)
            os.makedirs(os.path.join(ms[0].point, name))
            paths = [os.path.join(ms[0].point, frame(name, 1301)),
                     os.path.join(ms[1].point, frame(name, 1301, 5))]
            fds = [os.open(p, os.O_WRONLY | os.O_CREAT, 0o644) for p in paths]
            for fd, seed in zip(fds, (1301, 1302)):
                os.write(fd, made(seed))
            start, closed = threading.Barrier(2), [None, None]

            def close(k):
                start.wait()
                try:
                    os.close(fds[k])
                    closed[k] = 0
                except OSError as e:
                    closed[k] = e.errno
            racers = [threading.Thread(target=close, args=(k,)) for k in (0, 1)]
            for t in racers:
                t.start()
            for t in racers:
                t.join()
            in_backing = sorted(n for n in os.listdir(os.path.join(hosts.backing, name))
                                if n.endswith(".dpx"))
            loser = ms[closed.index(errno.EINVAL)] if errno.EINVAL in closed else ms[0]
            rejected = open(os.path.join(loser.point, ".namfs", "rejected")).read()
            # the loser is refused S5 (the frame's reservation) or S3 (the
            # title's numbering, claimed by the winner's first frame)
            wins.append(closed.count(0) == 1 and errno.EINVAL in closed and
                        len(in_backing) == 1 and re.search(r"\.0?1301\.dpx\tS[35]\t", rejected))
            if not wins[-1]:
                print("     race %d: close() gave %r; BACKING has %r; rejected: %s" %
                      (episode, closed, in_backing, rejected[-300:]))
        check(all(wins), "of two hosts closing x.1301.dpx and x.01301.dpx at once, exactly "
              "one close() succeeds and BACKING keeps one (S5, or S3), %d races of %d" %
              (wins.count(True), len(wins)))

        # what one host's first frame fixed holds on the others (S1, S3)
        first, other = asset(1, "props"), asset(1, "pad")
        for n in (first, other, asset(2, "pad")):
            os.makedirs(os.path.join(ms[0].point, n))
        check(write(os.path.join(ms[0].point, frame(first, 1001)), made(1)) == 0 and
              write(os.path.join(ms[0].point, frame(other, 1001)), made(2)) == 0,
              "first frames of two new assets land through host 1")
        got = write(os.path.join(ms[1].point, frame(first, 1002)),
                    made(3, "--colorimetric", "4"))
        rejected = open(os.path.join(ms[1].point, ".namfs", "rejected")).read()
        check(got == errno.EINVAL and re.search(r"props_s01e01\S*1002\.dpx\tS1\t", rejected),
              "host 2's first frame of that asset, of another colorimetric code than host 1's, "
              "is refused S1 (%s; %s)" % (errno.errorcode.get(got, got), rejected.strip()[-200:]))
        got = write(os.path.join(ms[2].point, frame(asset(2, "pad"), 1001, 5)), made(4))
        rejected = open(os.path.join(ms[2].point, ".namfs", "rejected")).read()
        check(got == errno.EINVAL and re.search(r"pad_s01e02\S*01001\.dpx\tS3\t", rejected),
              "host 3's first frame of the title's second asset, padded to 5 digits against "
              "host 1's 4, is refused S3 (%s; %s)" % (errno.errorcode.get(got, got),
                                                      rejected.strip()[-200:]))

        alone = Mount("three-alone", "-o", "profile=" + PROFILE, backing=hosts.backing)
        done = run(NAMFS, "-o", "profile=" + PROFILE, hosts.backing, alone.point)
        check(done.returncode == 2 and "mounted already" in done.stderr and
              "PostgreSQL catalog" in done.stderr,
              "a mount with a catalog of its own beside them is refused, exit 2 "
              "(exit %d: %s)" % (done.returncode, done.stderr.strip()[-300:]))

        done = run(NAMCTL, "seal", os.path.join(ms[2].point, main))
        check(done.returncode == 0, "namctl seal through the third host exits 0 (exit %d: %s)"
              % (done.returncode, tail(done)))
        refused = write(os.path.join(ms[0].point, frame(main, 1001 + frames)), made(99))
        check(refused == errno.EROFS, "right after, a new frame through the first host is "
              "refused, EROFS (sealed through another host): %s" %
              errno.errorcode.get(refused, refused))
    # the race assets stay unsealed: their refused frame waits for a
    # replacement (namctl seal says so)
    verify_delivery(hosts.backing, "three hosts",
                    {main: frames, asset(1, "props"): 1, asset(1, "pad"): 1,
                     **{asset(n, "race%d" % n): 1 for n in range(2, 6)}})


def lease_holder_killed():
    """The mount writing the manifests is killed -9 with a frame half
    written: another takes the lease within 10 s, quarantines the dead
    host's file in flight, and the delivery is finished through the
    others; nothing landed is lost or listed twice."""
    url = database("lease_killed")
    name = asset(1)
    with Hosts("lease", url) as hosts:
        ms = hosts.mounts
        os.makedirs(os.path.join(ms[0].point, name))
        for n in range(1, 7):
            check(write(os.path.join(ms[n % 3].point, frame(name, 1000 + n)), made(n)) == 0,
                  "frame %d lands through host %d" % (1000 + n, n % 3 + 1))
        first = holder(ms)
        check(first is ms[0], "the first mount holds the manifests lease")
        done = run(NAMCTL, "sync", ms[1].point)
        check(done.returncode == 0, "namctl sync through a mount that does not hold the lease "
              "exits 0 once the holder wrote them (exit %d: %s)" %
              (done.returncode, tail(done)))
        check(os.path.exists(os.path.join(hosts.backing, name, "checksum.txt")),
              "then checksum.txt is in BACKING")
        half = os.open(os.path.join(first.point, frame(name, 1007)), os.O_WRONLY | os.O_CREAT,
                       0o644)
        os.write(half, made(7)[:4000])
        killed_at = time.monotonic()
        first.kill()
        try:
            os.close(half)  # its daemon is gone: the writer never closed it
        except OSError:
            pass
        survivors = [m for m in ms if m is not first]
        took = eventually(lambda: holder(survivors) is not None, 15)
        took_s = time.monotonic() - killed_at
        check(took and took_s < 10,
              "another mount takes the lease within 10 s of the holder's kill -9 (%.1f s)" %
              took_s)
        print("     takeover: %.2f s" % took_s)
        left = lambda: [n for n in os.listdir(os.path.join(hosts.backing, name))
                        if n.startswith(".namfs~")]
        check(eventually(lambda: not left(), 10),
              "the dead host's file in flight leaves BACKING: %r" % left())
        quarantine = hosts.backing + ".quarantine"
        kept = [f for _, _, files in os.walk(quarantine) for f in files
                if f.endswith(".dpx") or ".dpx." in f]
        check(any("1007" in f for f in kept),
              "and is kept in the shared quarantine beside BACKING: %r" % kept)
        # a mount that does not hold the lease dies too, a frame half
        # written: the holder finds its file on its next walk (every 10 s)
        bystander = next(m for m in survivors if m is not holder(survivors))
        half = os.open(os.path.join(bystander.point, frame(name, 1013)),
                       os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(half, made(13)[:4000])
        bystander.kill()
        try:
            os.close(half)
        except OSError:
            pass
        survivors.remove(bystander)
        check(eventually(lambda: not left(), 20),
              "a non-holder's file in flight is quarantined by the holder too: %r" % left())
        for n in range(7, 14):
            m = survivors[0]
            check(write(os.path.join(m.point, frame(name, 1000 + n)), made(n)) == 0,
                  "frame %d lands through a survivor" % (1000 + n))
        third = Mount("lease-h4", *ms[0].options[:-1], ms[0].options[-1].replace(
            "lease-h1.state", "lease-h4.state"), backing=hosts.backing)
        with third:
            done = run(NAMCTL, "seal", os.path.join(third.point, name))
            check(done.returncode == 0, "the asset is sealed through a third, new host "
                  "(exit %d: %s)" % (done.returncode, tail(done)))
        rejected = open(os.path.join(survivors[0].point, ".namfs", "rejected")).read()
        check("1007" in rejected and "1013" in rejected and "left in flight" in rejected,
              "the survivor's .namfs/rejected lists both frames left in flight")
    verify_delivery(hosts.backing, "after the holder's death", {name: 13})


def server_stopped():
    """PostgreSQL stopped under a mount: the mount turns read-only and
    says why; started again, the mount takes changes again by itself."""
    if not PG_CTL:
        check(False, "NAMFS_TEST_PG_CTL is set by tests/with-postgres")
        return
    url = database("stopped")
    name = asset(1)
    with Hosts("stopped", url, count=1) as hosts:
        m = hosts.mounts[0]
        os.makedirs(os.path.join(m.point, name))
        check(write(os.path.join(m.point, frame(name, 1001)), made(1)) == 0, "a frame lands")
        subprocess.run(PG_CTL + " stop -m fast", shell=True, check=True, capture_output=True)
        try:
            first = write(os.path.join(m.point, frame(name, 1002)), made(2))
            later = write(os.path.join(m.point, frame(name, 1003)), made(3))
            status = open(os.path.join(m.point, ".namfs", "status")).read()
        finally:
            subprocess.run(PG_CTL + " start -w", shell=True, check=True, capture_output=True)
        check(later == errno.EROFS, "with the server stopped the mount is read-only: EROFS "
              "(first write %s, next %s)" % (errno.errorcode.get(first, first),
                                             errno.errorcode.get(later, later)))
        check(re.search(r"read-only.*catalog at postgresql://.*server", status, re.S | re.I),
              ".namfs/status says why: %s" % status[:300].replace("\n", " | "))
        check(eventually(lambda: write(os.path.join(m.point, frame(name, 1003)), made(3)) == 0,
                         20), "once the server is back the mount takes frames again")
        check(write(os.path.join(m.point, frame(name, 1004)), made(4)) == 0, "and the next")
        done = run(NAMCTL, "seal", os.path.join(m.point, name))
        check(done.returncode == 0, "and seals (exit %d: %s)" % (done.returncode, tail(done)))
    have = sorted(n for n in os.listdir(os.path.join(hosts.backing, name)) if n.endswith(".dpx"))
    verify_delivery(hosts.backing, "after the server came back", {name: len(have)})


def sh(command):
    return subprocess.run(command, shell=True, capture_output=True, text=True)


def network_namespaces():
    """Each host's daemon and writers in a network namespace of its own
    (ip netns, a veth pair each), reaching PostgreSQL over its own address;
    the mounts are every namespace's (nsenter --net enters no mount
    namespace, where ip netns exec would make one). Landing at once, the
    lease holder killed -9 and taken over, a seal through a third host;
    then BACKING verifies."""
    tag = os.getpid() % 10000
    nets = ["namfs%d-h%d" % (tag, i) for i in (1, 2, 3)]
    port = PG.rsplit(":", 1)[1].split("/")[0]
    url = database("netns")
    try:
        for i, ns in enumerate(nets, 1):
            done = sh("ip netns add {ns} && ip link add nfv{i}a type veth peer name nfv{i}b &&"
                      " ip link set nfv{i}b netns {ns} && ip addr add 10.77.{i}.1/24 dev nfv{i}a &&"
                      " ip link set nfv{i}a up && ip -n {ns} addr add 10.77.{i}.2/24 dev nfv{i}b &&"
                      " ip -n {ns} link set nfv{i}b up && ip -n {ns} link set lo up"
                      .format(ns=ns, i=i))
            if done.returncode != 0:
                raise RuntimeError("network namespace %s: %s" % (ns, done.stderr))
        listen = ",".join(["127.0.0.1"] + ["10.77.%d.1" % i for i in (1, 2, 3)])
        subprocess.run(PG_CTL + " restart -w -m fast -o '-c listen_addresses=%s'" % listen,
                       shell=True, check=True, capture_output=True)
        urls = [url.replace("127.0.0.1", "10.77.%d.1" % i) for i in (1, 2, 3)]
        enter = [("nsenter", "--net=/run/netns/" + ns) for ns in nets]
        name = asset(1)
        with Hosts("netns", None, urls=urls, prefixes=enter) as hosts:
            ms = hosts.mounts
            os.makedirs(os.path.join(ms[0].point, name))
            sources = {n: os.path.join(work, "src-%d-.dpx" % n) for n in range(1, 13)}
            for n in sources:
                made(n)

            def writer(i):
                for n in range(1 + i, 10, 3):
                    subprocess.run([*enter[i], "cp", sources[n],
                                    os.path.join(ms[i].point, frame(name, 1000 + n))])
            threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            landed = sorted(n for n in os.listdir(os.path.join(hosts.backing, name))
                            if n.endswith(".dpx"))
            check(len(landed) == 9, "9 frames copied in by cp inside three network "
                  "namespaces land: %d" % len(landed))
            peers = run("psql", PG, "-Atc", "SELECT DISTINCT client_addr FROM pg_stat_activity"
                        " WHERE application_name = 'namfs' ORDER BY 1").stdout.split()
            check(peers == ["10.77.1.2", "10.77.2.2", "10.77.3.2"],
                  "the three daemons reach PostgreSQL each from its own address: %r" % peers)
            first = holder(ms)
            killed_at = time.monotonic()
            first.kill()
            survivors = [m for m in ms if m is not first]
            took = eventually(lambda: holder(survivors) is not None, 15)
            check(took and time.monotonic() - killed_at < 10,
                  "across namespaces, the lease is taken over within 10 s of the holder's "
                  "kill -9 (%.1f s)" % (time.monotonic() - killed_at))
            for k, n in enumerate(range(10, 13)):
                i = ms.index(survivors[k % 2])
                done = subprocess.run([*enter[i], "cp", sources[n],
                                       os.path.join(ms[i].point, frame(name, 1000 + n))])
                check(done.returncode == 0, "frame %d copied in through a survivor" % (1000 + n))
            i = ms.index(survivors[-1])
            done = run(*enter[i], NAMCTL, "seal", os.path.join(ms[i].point, name))
            check(done.returncode == 0, "the asset sealed from a third host, inside its "
                  "namespace (exit %d: %s)" % (done.returncode, tail(done)))
        verify_delivery(hosts.backing, "hosts in network namespaces", {name: 12})
    finally:
        for i, ns in enumerate(nets, 1):
            sh("ip link del nfv%d" % i + "a; ip netns del " + ns)
        subprocess.run(PG_CTL + " restart -w -m fast", shell=True, capture_output=True)


harness.run_cases([three_hosts, lease_holder_killed, server_stopped, network_namespaces],
                  "SHARED_CASES")
