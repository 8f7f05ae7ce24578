# conftest.py — session fixtures shared by every pytest test: where the six programs are
# (ALICHAIN_BIN) and where the variant's build lives (ALICHAIN_BUILD, for the unit-test
# executables). `make test-run` sets both; by hand the release build is the default.
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = ("serverM", "serverA", "serverB", "serverC", "clientA", "clientB")


def programs_present(directory):
    """True when every one of the six programs is an executable file in directory."""
    return all(os.access(directory / p, os.X_OK) and (directory / p).is_file() for p in PROGRAMS)


def bin_dir_path():
    """ALICHAIN_BIN, else build/release/bin when it holds the programs, else the repository
    root when it does (after `make`), else build/release/bin (tests then fail clearly)."""
    env = os.environ.get("ALICHAIN_BIN")
    if env:
        return Path(env).resolve()
    default = REPO / "build" / "release" / "bin"
    if programs_present(default):
        return default
    if programs_present(REPO):
        return REPO
    return default


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


def pytest_generate_tests(metafunc):
    # One test per unit executable; a lone None makes the test fail ("none found").
    if "unit_exe" in metafunc.fixturenames:
        exes = unit_executables()
        if exes:
            metafunc.parametrize("unit_exe", exes, ids=[f"{p.parent.name}/{p.name}" for p in exes])
        else:
            metafunc.parametrize("unit_exe", [None], ids=["none-found"])


@pytest.fixture(scope="session")
def bin_dir():
    d = bin_dir_path()
    missing = [p for p in PROGRAMS if not os.access(d / p, os.X_OK)]
    if missing:
        pytest.fail(f"programs missing in {d}: {' '.join(missing)} (run `make programs`)")
    return d


@pytest.fixture(scope="session")
def build_dir():
    return build_dir_path()
