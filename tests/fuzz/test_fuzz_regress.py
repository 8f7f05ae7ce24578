"""test_fuzz_regress.py — replays every seed-corpus file and every saved reproducer of each
fuzz target through its standalone driver ($ALICHAIN_BUILD/fuzz/<target>, built by
`make test-run` with gcc and the variant's flags, so `make asan` replays them under
ASan+UBSan). Targets are the fuzz/fuzz_*.c files; a missing driver is a failure."""
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("ALICHAIN_BUILD", ROOT / "build" / "release"))
TARGETS = sorted(p.stem for p in (ROOT / "fuzz").glob("fuzz_*.c"))
REPLAY_TIMEOUT_S = 600  # generous: a shared 2-core machine, sanitizer builds


def visible_files(d: Path) -> list:
    return [p for p in d.iterdir() if p.is_file() and not p.name.startswith(".")] if d.is_dir() else []


def test_every_target_is_known():
    assert TARGETS, "no fuzz/fuzz_*.c found"
    for t in TARGETS:
        assert visible_files(ROOT / "fuzz" / "corpus" / t), f"{t} has no seed corpus"
        assert (ROOT / "fuzz" / f"{t}.dict").is_file(), f"{t} has no dictionary"


@pytest.mark.parametrize("target", TARGETS)
def test_replay_corpus_and_reproducers(target):
    driver = BUILD / "fuzz" / target
    assert driver.is_file() and os.access(driver, os.X_OK), f"driver missing: {driver}"
    dirs = [ROOT / "fuzz" / "corpus" / target, ROOT / "fuzz" / "regress" / target]
    dirs = [d for d in dirs if d.is_dir()]
    expected = sum(len(visible_files(d)) for d in dirs)
    assert expected > 0
    proc = subprocess.run([str(driver)] + [str(d) for d in dirs], capture_output=True,
                          text=True, timeout=REPLAY_TIMEOUT_S)
    tail = proc.stderr[-4000:]
    assert proc.returncode == 0, f"{target} failed (exit {proc.returncode}):\n{tail}"
    m = re.search(r"replayed (\d+) inputs", proc.stdout)
    assert m, f"no summary line in: {proc.stdout!r}"
    assert int(m.group(1)) == expected


@pytest.mark.parametrize("target", TARGETS)
def test_driver_refuses_a_missing_path(target, tmp_path):
    """The driver must not report success for inputs it could not read."""
    driver = BUILD / "fuzz" / target
    assert driver.is_file(), f"driver missing: {driver}"
    proc = subprocess.run([str(driver), str(tmp_path / "absent")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "replayed" not in proc.stdout
