# conftest.py — session fixtures shared by every pytest test: where the six programs are
# (ALICHAIN_BIN) and where the variant's build lives (ALICHAIN_BUILD, for the unit-test
# executables). `make test-run` sets both; by hand the release build is the default.
import os
from pathlib import Path

import pytest

from c_tests import build_dir_path, unit_executables

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
