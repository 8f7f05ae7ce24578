# test_soak.py — `alichain-sim soak` (docs/REAL.md "Durability soak"): a short soak passes every
# check; planted faults (a confirmed line deleted, "torn" or copied; a server that cannot
# restart) are reported; SIGINT removes everything; no hosts: loud on loopback, refused under CI.
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from e2e_helpers import PortLease, processes_with_offset  # noqa: E402

BIN_DIR = pathlib.Path(os.environ.get("ALICHAIN_BIN", REPO / "build" / "release" / "bin"))
SIM = BIN_DIR / "alichain-sim"
SHORT_TRANSFERS = 400        # the short soak of make test (make soak: 2000)
SHORT_CONCURRENCY = 16
SHORT_KILL_MS = 100          # more kills in a short run than make soak's 200 ms
PLANT_TRANSFERS = 150
RUN_TIMEOUT_S = 180          # a hang guard, not a timing assertion
INTERRUPT_AFTER_S = 1.5      # SIGINT lands while transfers run and servers get killed
EXIT_DEADLINE_S = 30         # the soak must have stopped everything by then
CHECKS = ("recovery", "torn", "serials", "no-phantom", "confirmed", "refused", "in-doubt",
          "conservation")
NOBODY_UID = 65534


def ci():
    return os.environ.get("CI", "").lower() == "true"


def hosts_available():
    r = subprocess.run([str(BIN_DIR / "alichain-hosts"), "check"], capture_output=True, text=True,
                       timeout=30)
    return r.returncode == 0, r.stderr.strip()


HOSTS, HOSTS_WHY = hosts_available()
if not HOSTS:
    print(f"NAMESPACE HOSTS UNAVAILABLE: {HOSTS_WHY}: the soak runs on loopback", file=sys.stderr)


PROGRAMS = ("alichain-sim", "alichain-hosts", "serverM", "serverA", "serverB", "serverC",
            "clientA", "clientB")


def programs_for(user):
    """The directory the soak's programs run from: BIN_DIR, or for another user a copy in a
    fresh world-readable directory (the checkout, and pytest's tmp_path, may be private to
    root)."""
    if user is None:
        return BIN_DIR
    d = pathlib.Path(tempfile.mkdtemp(prefix="alichain-soak-programs-"))
    d.chmod(0o755)
    for name in PROGRAMS:
        shutil.copy2(BIN_DIR / name, d / name)
    return d


def soak(*args, offset, timeout=RUN_TIMEOUT_S, env=None, user=None):
    bin_dir = programs_for(user)
    argv = [str(bin_dir / "alichain-sim"), "soak", "--port-offset", str(offset), "--programs",
            str(bin_dir), *map(str, args)]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
        # A coverage build's programs write .gcda files at exit; as another user they cannot
        # (the build tree is root's) and the gcov runtime says so on stderr, which is no
        # client's output: send those files to a directory that user may write.
        gcov = tempfile.mkdtemp(prefix="alichain-soak-gcov-")
        os.chmod(gcov, 0o777)
        try:
            return subprocess.run(argv, cwd="/tmp", capture_output=True, text=True,
                                  timeout=timeout, env=dict(env if env is not None else os.environ,
                                                            GCOV_PREFIX=gcov))
        finally:
            shutil.rmtree(bin_dir, ignore_errors=True)
            shutil.rmtree(gcov, ignore_errors=True)
    return subprocess.run(argv, cwd="/tmp", capture_output=True, text=True, timeout=timeout,
                          env=env)


def checks(stdout):
    return dict(re.findall(r"^check ([a-z-]+): (ok|FAIL)", stdout, re.M))


def counts(stdout, what):
    """The total of a "what: N (name n, name n, ...)" line and its parts by name."""
    m = re.search(rf"^{what}: (\d+) \((.*)\)$", stdout, re.M)
    assert m, stdout
    parts = dict(p.rsplit(" ", 1) for p in m.group(2).split(", ") if re.fullmatch(r"[a-zA-Z ]+ \d+", p))
    return int(m.group(1)), {k: int(v) for k, v in parts.items()}


def test_namespace_hosts_available_under_ci():
    if ci():
        assert HOSTS, f"NAMESPACE HOSTS UNAVAILABLE under CI=true: {HOSTS_WHY}"
    elif not HOSTS:
        pytest.skip(f"namespace hosts unavailable here ({HOSTS_WHY}); the soak runs on loopback")


def test_short_soak_every_check_holds():
    lease = PortLease()
    try:
        r = soak("--transfers", SHORT_TRANSFERS, "--concurrency", SHORT_CONCURRENCY,
                 "--kill-ms", SHORT_KILL_MS, "--seed", 5, offset=lease.offset)
    finally:
        lease.release()
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict: pass" in r.stdout
    assert checks(r.stdout) == {c: "ok" for c in CHECKS}, r.stdout
    if HOSTS:
        assert "network: netns" in r.stdout
    else:
        assert "NAMESPACE HOSTS UNAVAILABLE" in r.stderr and "network: loopback (NO NAMESPACE HOSTS" in r.stdout
    total, c = counts(r.stdout, "transfers")
    assert total == SHORT_TRANSFERS
    assert c["confirmed"] > 0 and c["refused"] > 0
    assert sum(c.values()) == total
    assert c["hung"] == 0 and c["other"] == 0 and c["not started"] == 0
    kills, per_server = counts(r.stdout, "kills")
    assert kills >= 2 and sum(per_server.values()) == kills, r.stdout
    assert re.search(rf"^restarts: {kills} \(after a kill; 0 more after a server exited by itself\)$",
                     r.stdout, re.M), r.stdout
    assert re.search(r"^wall: \d+\.\d+s$", r.stdout, re.M)


@pytest.mark.parametrize("plant,failing", [
    ("drop-confirmed", {"confirmed", "serials"}),
    ("torn-confirmed", {"confirmed", "serials", "torn"}),
    ("copy-confirmed", {"confirmed", "serials"}),
])
def test_planted_fault_is_reported(plant, failing):
    lease = PortLease()
    try:
        r = soak("--transfers", PLANT_TRANSFERS, "--plant", plant, offset=lease.offset)
    finally:
        lease.release()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "verdict: fail" in r.stdout
    got = checks(r.stdout)
    assert {k for k, v in got.items() if v == "FAIL"} == failing, r.stdout
    if plant == "copy-confirmed":
        assert re.search(r"^violation: serials: serial \d+ is on disk twice", r.stdout, re.M), r.stdout
        assert re.search(r"^violation: confirmed: transfer \d+ is on disk 2 times$", r.stdout, re.M), r.stdout
        return
    assert "planted: deleted" in r.stdout
    assert re.search(r"^violation: confirmed: transfer \d+ .* is not on disk$", r.stdout, re.M), r.stdout
    if plant == "torn-confirmed":
        assert re.search(r"^violation: torn: block\d\.txt line \"\d+ \S+ \S+ \d+\" is no prefix", r.stdout,
                         re.M), r.stdout


def test_a_server_that_cannot_restart_fails_the_soak(tmp_path):
    # serverC starts once; every restart exits 1 (as a backend refusing its block file
    # would): the soak gives it up after a few tries, starts no new transfers, and fails
    for p in ("serverM", "serverA", "serverB", "clientA", "clientB"):
        (tmp_path / p).symlink_to(BIN_DIR / p)
    starts = tmp_path / "starts"
    wrapper = tmp_path / "serverC"
    wrapper.write_text(f"#!/bin/sh\necho x >>{starts}\n"
                       f"[ $(wc -l <{starts}) -gt 1 ] && {{ echo 'serverC: planted: cannot start' >&2; exit 1; }}\n"
                       f"exec {BIN_DIR / 'serverC'} \"$@\"\n")
    wrapper.chmod(0o755)
    lease = PortLease()
    try:
        r = subprocess.run([str(SIM), "soak", "--transfers", "3000", "--kill-ms", "20", "--port-offset",
                            str(lease.offset), "--programs", str(tmp_path)], cwd="/tmp", capture_output=True,
                           text=True, timeout=RUN_TIMEOUT_S)
    finally:
        lease.release()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "violation: restart: serverC given up after 3 exits in a row" in r.stdout, r.stdout
    assert re.search(r"^violation: restart: serverC#\d+ exited by itself \(status 1\): serverC: planted",
                     r.stdout, re.M), r.stdout
    _, c = counts(r.stdout, "transfers")
    assert c["not started"] > 0, r.stdout


def netns_of(pid):
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30).stdout
    return [line for line in out.splitlines() if line.startswith(f"alc-{pid}-")]


def test_sigint_stops_everything(tmp_path):
    lease = PortLease()
    try:
        proc = subprocess.Popen([str(SIM), "soak", "--transfers", "100000", "--port-offset", str(lease.offset),
                                 "--programs", str(BIN_DIR)], cwd="/tmp", stdout=subprocess.PIPE,
                                env=dict(os.environ, TMPDIR=str(tmp_path)),
                                stderr=subprocess.PIPE, text=True)
        time.sleep(INTERRUPT_AFTER_S)
        assert processes_with_offset(lease.offset), "the servers should be running by now"
        if HOSTS:
            assert netns_of(proc.pid), "the soak's namespaces should exist by now"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=EXIT_DEADLINE_S)
        assert proc.returncode == 2, out + err
        assert "refused: interrupted: everything started was stopped" in out
        assert processes_with_offset(lease.offset) == []
        assert not list(tmp_path.glob("alichain-soak-*")), "the soak's directory outlived SIGINT"
        if HOSTS:
            assert netns_of(proc.pid) == []
    finally:
        lease.release()


def test_kill_ms_0_announces_no_kills():
    # it announced "kill -9 of a random server every 0 ms" and then killed none
    lease = PortLease()
    try:
        r = soak("--transfers", 20, "--kill-ms", 0, "--net", "loopback", offset=lease.offset)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "no server killed (--kill-ms 0)" in r.stdout and "every 0 ms" not in r.stdout, r.stdout
        assert re.search(r"^kills: 0 ", r.stdout, re.M), r.stdout
    finally:
        lease.release()


def test_without_hosts_loud_on_loopback_and_refused_under_ci():
    # as an unprivileged user the namespace hosts cannot be made
    if os.geteuid() != 0:
        assert not ci(), "CI runs as root: this test must run there"
        pytest.skip("needs root to run the soak as another user")
    lease = PortLease()
    try:
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        r = soak("--transfers", 40, offset=lease.offset, env=env, user=NOBODY_UID)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "NAMESPACE HOSTS UNAVAILABLE" in r.stderr and "THE SOAK RUNS ON LOOPBACK" in r.stderr
        assert "network: loopback (NO NAMESPACE HOSTS" in r.stdout
        r = soak("--transfers", 40, offset=lease.offset, env=env | {"CI": "true"}, user=NOBODY_UID)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "NAMESPACE HOSTS UNAVAILABLE under CI=true" in r.stderr
        assert "verdict" not in r.stdout
    finally:
        lease.release()


@pytest.mark.parametrize("args,message", [
    (["--transfers", "0"], "--transfers"),
    (["--plant", "nonsense"], "--plant"),
    (["--kill-ms", "x"], "--kill-ms"),
    (["--concurrency", "100000"], "--concurrency: at most"),
    (["FILE"], "unexpected argument"),
])
def test_usage_errors(args, message):
    r = subprocess.run([str(SIM), "soak", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def disk_available():
    r = subprocess.run([str(SIM), "soak", "--power-cut", "--transfers", "1", "--programs", "/nonexistent"],
                       capture_output=True, text=True, timeout=60)
    why = re.search(r"--disk fuse: (.*)", r.stdout + r.stderr)
    return why is None, why.group(1) if why else ""


def test_power_cut_soak_every_check_holds():
    # every kill is also a power cut of that server's disk (the fault file system): unsynced
    # appends lost, torn; every check must hold and the cuts must have fired
    ok, why = disk_available()
    if not ok:
        if ci():
            pytest.fail(f"DISK FAULT FILE SYSTEM UNAVAILABLE under CI=true: {why}")
        pytest.skip(f"the disk fault file system is unavailable here ({why})")
    lease = PortLease()
    try:
        r = soak("--power-cut", "--transfers", SHORT_TRANSFERS, "--concurrency", SHORT_CONCURRENCY,
                 "--kill-ms", SHORT_KILL_MS, offset=lease.offset)
    finally:
        lease.release()
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert checks(r.stdout) == {c: "ok" for c in CHECKS}, r.stdout
    cuts = re.search(r"^power cuts: (\d+) power cuts \(unsynced appends lost (\d+), torn (\d+)", r.stdout, re.M)
    assert cuts and int(cuts.group(1)) >= 1, r.stdout
    print(f"power cuts {cuts.group(1)}, unsynced appends lost {cuts.group(2)}, torn {cuts.group(3)}")
    # all unmounted: no fault file system is left whose harness is gone (each is named
    # alichain-faultfs.<harness pid>; the soak has exited, so one of its own would be such a
    # leftover; runs beside this one, e.g. pytest-xdist workers, may hold live mounts)
    owners = re.findall(r"^alichain-faultfs\.(\d+) (\S+)", pathlib.Path("/proc/self/mounts").read_text(), re.M)
    left = [mnt for pid, mnt in owners if not pathlib.Path("/proc", pid).exists()]
    assert left == [], left
