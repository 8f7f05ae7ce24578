# test_leftovers.py — nothing is left behind (issue 17 item 6): a harness killed with kill -9
# takes its servers with it (PR_SET_PDEATHSIG in proc_fork, and on namespace hosts the
# servers exec'd directly rather than forked off by `ip netns exec`); its temp directory,
# named after its pid and start time, is removed by `alichain-hosts sweep` (and by the next
# run) once the owner is dead, never while it lives; `alichain-hosts down` stops what runs
# inside with SIGTERM first.
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from e2e_helpers import PortLease, processes_with_offset  # noqa: E402
from hosts_helpers import wait_until  # noqa: E402

BIN_DIR = pathlib.Path(os.environ.get("ALICHAIN_BIN", REPO / "build" / "release" / "bin"))
SIM = BIN_DIR / "alichain-sim"
TOOL = BIN_DIR / "alichain-hosts"
UP_TIMEOUT_S = 20            # the soak's four servers are up by then
GONE_TIMEOUT_S = 5           # a child of a killed harness is gone by then
STOP_GRACE_S = 3             # netns.h NETNS_STOP_GRACE_MS


def hosts_available():
    r = subprocess.run([str(TOOL), "check"], capture_output=True, text=True, timeout=30)
    return r.returncode == 0


def server_pids(offset):
    """The serverM/A/B/C processes of the run on offset."""
    out = []
    for pid in processes_with_offset(offset):
        try:
            comm = pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
            state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if comm.startswith("server") and state != "Z":
            out.append(pid)
    return out


def start_ticks(pid):
    return int(pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


@pytest.mark.parametrize("net", ["loopback", "netns"])
def test_kill_9_of_the_soak_takes_its_servers_and_sweep_its_directory(net, tmp_path):
    if net == "netns" and not hosts_available():
        pytest.skip("namespace hosts unavailable (root, ip, nft)")
    lease = PortLease()
    proc = None
    try:
        proc = subprocess.Popen([str(SIM), "soak", "--transfers", "1000000", "--kill-ms", "100000",
                                 "--port-offset", str(lease.offset), "--net", net,
                                 "--programs", str(BIN_DIR)], cwd="/tmp",
                                env=dict(os.environ, TMPDIR=str(tmp_path)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(lambda: len(server_pids(lease.offset)) == 4, UP_TIMEOUT_S), \
            "the soak's four servers should be running"
        proc.kill()
        proc.wait()
        assert wait_until(lambda: server_pids(lease.offset) == [], GONE_TIMEOUT_S), \
            f"servers outlived their harness: {server_pids(lease.offset)}"
        dirs = list(tmp_path.glob(f"alichain-soak-{proc.pid}-*"))
        assert len(dirs) == 1, f"one temp directory named after its owner: {list(tmp_path.iterdir())}"
        assert dirs[0].exists(), "kill -9 gives the soak no chance to clean up"
        r = subprocess.run([str(TOOL), "sweep"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, TMPDIR=str(tmp_path)))
        assert "removed" in r.stdout and "1 stale temp directory" in r.stdout, r
        assert not dirs[0].exists(), "the sweep removes a dead owner's directory"
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in server_pids(lease.offset):
            os.kill(pid, signal.SIGKILL)
        lease.release()


def test_sweep_removes_dead_owners_directories_only(tmp_path):
    dead = subprocess.Popen(["sleep", "60"])
    dead_ticks = start_ticks(dead.pid)
    dead.kill()
    dead.wait()
    me = os.getpid()
    live = tmp_path / f"alichain-soak-{me}-{start_ticks(me)}-Abc123"
    reused = tmp_path / f"alichain-real-{me}-{start_ticks(me) + 1}-Abc123"  # pid reused since
    gone = tmp_path / f"alichain-bench-{dead.pid}-{dead_ticks}-Xyz789"
    other = tmp_path / f"someone-else-{dead.pid}-{dead_ticks}-Xyz789"
    not_a_dir = tmp_path / f"alichain-soak-{dead.pid}-{dead_ticks}-File00"
    for d in (live, reused, gone, other):
        (d / "logs").mkdir(parents=True)
        (d / "logs" / "x").write_text("x")
    not_a_dir.write_text("a file of the same name is not ours to remove")
    r = subprocess.run([str(TOOL), "sweep"], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert "2 stale temp directory" in r.stdout, r
    assert live.exists() and other.exists() and not_a_dir.exists()
    assert not reused.exists() and not gone.exists()


def test_down_stops_with_sigterm_first(tmp_path):
    if not hosts_available():
        pytest.skip("namespace hosts unavailable (root, ip, nft)")
    owner, tag = str(os.getpid()), "dterm"
    run = lambda *a: subprocess.run([str(TOOL), *a], capture_output=True, text=True, timeout=60)  # noqa: E731
    assert run("up", tag, "--owner", owner).returncode == 0
    proc = None
    try:
        said = tmp_path / "said"
        # a process that ends cleanly on SIGTERM (as a server does: markers removed) and one
        # that ignores it: the first says so, the second is killed after the grace
        proc = subprocess.Popen([str(TOOL), "exec", tag, "A", "--owner", owner, "--", "sh", "-c",
                                 f"trap 'echo term > {said}; exit 0' TERM; "
                                 "(trap '' TERM; exec sleep 600) & while :; do sleep 0.05; done"],
                                stdin=subprocess.DEVNULL)
        time.sleep(0.5)
        t0 = time.monotonic()
        r = run("down", tag, "--owner", owner)
        took = time.monotonic() - t0
        assert r.returncode == 0, r
        assert said.exists() and said.read_text() == "term\n", "down must send SIGTERM before SIGKILL"
        assert took >= STOP_GRACE_S - 0.5, "what ignores SIGTERM gets the grace period"
        assert wait_until(lambda: proc.poll() is not None, GONE_TIMEOUT_S)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        run("down", tag, "--owner", owner)
