# engines_helpers.py — what the tests of real batch engines (Slurm, ssh hosts) share: the
# skip-or-fail rule (skipped with its reason here, FAILING under CI=true), daemons started in
# their own process group and stopped by pid, a free loopback port, waiting with a deadline,
# and a sweep of any process left with its working directory inside a test's private tree.
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from sim_helpers import BIN_DIR, REPO, SIM  # noqa: E402,F401  (re-exported for the tests)

STOP_TIMEOUT_S = 10


def unavailable(why):
    """Skips the test with why, or fails it under CI=true (where it must run)."""
    import pytest
    msg = "NOT TESTED: " + why
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " — CI=true: ci/install-deps.sh installs what it needs; this must run here")
    pytest.skip(msg)


def need_root_and(*programs):
    if os.geteuid() != 0:
        unavailable("needs root (private daemons, namespaces)")
    missing = [p for p in programs if shutil.which(p) is None and not os.access(p, os.X_OK)]
    if missing:
        unavailable("missing %s (make deps installs them)" % ", ".join(missing))


def free_port():
    """A TCP port free on 127.0.0.1 now (the kernel's pick; a race with another test is
    possible but unlikely, and fails loudly as a daemon that cannot bind)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout_s, interval_s=0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout_s, what))


class Daemons:
    """Processes started by a test, each the leader of its own process group; stop() ends
    them newest first, by pid (SIGTERM, then SIGKILL), and reaps them."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, log, **kw):
        f = open(log, "ab")
        p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                             start_new_session=True, **kw)
        f.close()
        self.procs.append((name, p))
        return p

    def stop(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for _, p in reversed(self.procs):
            try:
                p.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=STOP_TIMEOUT_S)
        self.procs = []


def pids_inside(tree):
    """Pids whose working directory is inside tree (a test's private directory)."""
    tree = str(Path(tree).resolve())
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(d / "cwd")
        except OSError:
            continue
        if cwd == tree or cwd.startswith(tree + "/"):
            found.append(int(d.name))
    return found


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
