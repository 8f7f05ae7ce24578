# c_tests.py — the C test executables, for tests/conftest.py and tests/test_unit.py (a module
# of its own: `conftest` names several files of this suite). Every tests/<dir>/test_<name>.c
# is built by the Makefile's one glob to $ALICHAIN_BUILD/tests/<dir>/test_<name>.
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def build_dir_path():
    env = os.environ.get("ALICHAIN_BUILD")
    return Path(env).resolve() if env else REPO / "build" / "release"


# C tests that need arguments or a setting only another pytest test provides; that test
# runs them (tests/test_unit.py checks it names them). Every other one runs on its own.
C_TESTS_RUN_ELSEWHERE = {
    "sim/test_sim_realnet_ns": "tests/real/test_hosts.py",   # root, namespace hosts, programs
    "sim/test_sim_jsonl": "tests/sim/test_scaling.py",       # with its exact count of cases
}


def c_test_sources():
    """Every C test source, by the Makefile's one glob: tests/<dir>/test_<name>.c."""
    return sorted(REPO.glob("tests/*/test_*.c"))


def unit_executables():
    """The C test executables $ALICHAIN_BUILD/tests/<dir>/test_* (not .gcno/.d/... files)
    that run on their own (all but C_TESTS_RUN_ELSEWHERE)."""
    tests_dir = build_dir_path() / "tests"
    if not tests_dir.is_dir():
        return []
    found = []
    for p in sorted(tests_dir.glob("*/test_*")):
        rel = f"{p.parent.name}/{p.name}"
        if p.is_file() and "." not in p.name and os.access(p, os.X_OK) and rel not in C_TESTS_RUN_ELSEWHERE:
            found.append(p)
    return found
