# test_hygiene.py — what `make` leaves behind is what `make clean` removes: every file the
# build put at the repository root (ignored by git, outside build/) is named by
# `make -n clean`, so a new root artifact without its ROOT_ARTIFACTS line fails here. The
# suite runs after `make all` (make test), so the root holds the build's artifacts then.
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120  # a hang guard, not a timing assertion


def root_artifacts():
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=normal"], cwd=ROOT,
                         capture_output=True, text=True, timeout=TIMEOUT_S, check=True).stdout
    names = []
    for line in out.splitlines():
        if line.startswith("!! "):
            path = line[3:]
            if "/" not in path.rstrip("/") and path not in ("build/", "__pycache__/"):
                names.append(path.rstrip("/"))
    return names


def test_make_clean_removes_every_root_artifact():
    made = [n for n in root_artifacts() if (ROOT / n).is_file() and n != "alichain.txt"]
    assert "serverM" in made and "alichain-sim" in made, f"run after `make all`: root holds {made}"
    clean = subprocess.run(["make", "-n", "--no-print-directory", "clean"], cwd=ROOT, capture_output=True,
                           text=True, timeout=TIMEOUT_S)
    assert clean.returncode == 0, clean.stderr
    removed = set(clean.stdout.split())
    assert "build" in removed
    missing = [n for n in made if n not in removed]
    assert not missing, f"make clean leaves {missing} (add them to ROOT_ARTIFACTS)"
