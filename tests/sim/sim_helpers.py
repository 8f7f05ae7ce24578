# sim_helpers.py — finding and running alichain-sim for the tests of tests/sim: the binary
# comes from $ALICHAIN_BIN (default build/release/bin), the C unit tests of the simulator
# from $ALICHAIN_BUILD/tests/sim. Every run has a wall-clock timeout only as a safety net.
import errno
import fcntl
import os
import pathlib
import re
import subprocess
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("ALICHAIN_BIN", REPO / "build" / "release" / "bin"))
BUILD_DIR = pathlib.Path(os.environ.get("ALICHAIN_BUILD", BIN_DIR.parent))
SIM = BIN_DIR / "alichain-sim"
SCENARIOS = REPO / "sim" / "scenarios"
RUN_TIMEOUT_S = 600  # a hang guard, not a timing assertion
MUTANT_SIM = REPO / "build" / "mutants" / "bin" / "alichain-sim"


def run_sim(*args, cwd=REPO):
    """Runs alichain-sim with args; returns the CompletedProcess (text)."""
    return subprocess.run([str(SIM), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


def scenario_files(directory=SCENARIOS):
    return sorted(pathlib.Path(directory).glob("*.scn"))


def field(stdout, name):
    """The value of a 'name: value' line of alichain-sim's output."""
    m = re.search(r"^%s: (.*)$" % re.escape(name), stdout, re.M)
    assert m, "no '%s:' line in:\n%s" % (name, stdout)
    return m.group(1)


def faults(stdout):
    """The fault counters of a run report: {'lost': 3, ...}."""
    line = field(stdout, "faults")
    return {k: int(v) for k, v in re.findall(r"([a-z-]+)=(\d+)", line)}


def build_mutant_sim(env):
    """alichain-sim-mutants at MUTANT_SIM, built with make (env: without a parent make's
    flags) if `make sim-mutants` has not yet; returns its path."""
    # Test files in other pytest-xdist workers build it too (test_scaling, test_k8s_job): one
    # make at a time, so none relinks the binary while another worker runs it.
    lock_path = REPO / "build" / "mutants.build.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = subprocess.run(["make", "--no-print-directory", "VARIANT=mutants",
                            "EXTRA_CFLAGS=-DALICHAIN_MUTANTS", "build/mutants/bin/alichain-sim"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert r.returncode == 0, r.stdout + r.stderr
    # Linux refuses to exec a file some process still holds open for writing (ETXTBSY): seen
    # once right after this build, with pytest-xdist workers spawning processes beside it
    # (which process held it was not pinned down). Wait until the new binary runs, five
    # seconds at most; past that the test's own run fails loudly.
    for _ in range(50):
        try:
            subprocess.run([str(MUTANT_SIM), "--help"], capture_output=True, timeout=RUN_TIMEOUT_S)
            break
        except OSError as e:
            if e.errno != errno.ETXTBSY:
                raise
            time.sleep(0.1)
    return MUTANT_SIM
