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


def test_every_external_function_of_the_harness_and_net_is_used_outside_its_file():
    # A function that no other object (nor a test or fuzz target) calls is either dead or
    # belongs `static` in its file. Read from the build's objects (nm): sim/, net/, bench/.
    import os
    build = Path(os.environ.get("ALICHAIN_BUILD", ROOT / "build" / "release"))
    objs = [p for d in ("sim", "net", "bench") for p in (build / d).rglob("*.o")]
    objs = [p for p in objs if (ROOT / p.relative_to(build)).with_suffix(".c").is_file()]
    assert objs, f"no objects under {build} (run make)"
    nm = lambda *a: subprocess.run(["nm", *a], capture_output=True, text=True, timeout=TIMEOUT_S,
                                   check=True).stdout
    wanted = set()
    for o in build.rglob("*.o"):
        src = (ROOT / o.relative_to(build)).with_suffix(".c")
        per_letter = src.with_name(src.name[:-4] + ".c") if src.stem[-2:-1] == "_" else src  # main_backend_A.o
        if not src.is_file() and not per_letter.is_file():
            continue  # a stale object of a moved or removed source
        wanted.update(line.split()[-1] for line in nm("-u", str(o)).splitlines() if line.strip())
    test_words = set()
    for src in list(ROOT.glob("tests/*/*.[ch]")) + list(ROOT.glob("fuzz/*.c")):
        test_words.update(__import__("re").findall(r"\b[a-z_][a-z0-9_]*\b", src.read_text()))
    unused = []
    for o in objs:
        for line in nm("--defined-only", "-g", str(o)).splitlines():
            kind, name = line.split()[-2:]
            if kind == "T" and name != "main" and name not in wanted and name not in test_words:
                unused.append(f"{o.relative_to(build)}: {name}")
    assert not unused, "defined extern but used by no other object (dead, or make it static):\n" + "\n".join(unused)
