"""test_cflite_build.py — runs .clusterfuzzlite/build.sh here, without Docker, with the
variables OSS-Fuzz/ClusterFuzzLite set for a libFuzzer+ASan build (CC=clang, CFLAGS with
-fsanitize=address,fuzzer-no-link, LIB_FUZZING_ENGINE=-fsanitize=fuzzer, SRC/OUT/WORK),
checks what lands in $OUT (binary, seed corpus zip, dictionary, options per target) and
runs each built target briefly on its seed corpus; the same for SANITIZER=undefined."""
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SH = ROOT / ".clusterfuzzlite" / "build.sh"
TARGETS = sorted(p.stem for p in (ROOT / "fuzz").glob("fuzz_*.c"))
BUILD_TIMEOUT_S = 900   # a hang guard on a shared 2-core machine, not a timing assertion
RUN_TIMEOUT_S = 300
FUZZ_RUNS = 100         # executions beyond the seed corpus, per target
FUZZ_SECONDS_MAX = 2    # and at most this long
COV_MIN = 50            # edges a target instrumented with $CFLAGS reaches at least
# OSS-Fuzz's flags per SANITIZER (its base-clang image; -stdlib=libc++ left out of
# CXXFLAGS: Debian's clang has no libc++ by default, and nothing here is C++)
OSS_FUZZ_COMMON = ("-O1 -fno-omit-frame-pointer -gline-tables-only "
                   "-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION ")
UBSAN_CHECKS = ("array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,"
                "null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,"
                "unreachable,vla-bound,vptr")
SANITIZER_CFLAGS = {
    "address": "-fsanitize=address -fsanitize-address-use-after-scope",
    "undefined": "-fsanitize=%s,unsigned-integer-overflow -fno-sanitize-recover=%s" % (UBSAN_CHECKS, UBSAN_CHECKS),
}
# and the run-time options OSS-Fuzz runs targets with (core's hashes wrap on purpose)
RUN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:silence_unsigned_overflow=1"}


def need_libfuzzer():
    """clang with libFuzzer, or a loud failure under CI (a loud skip elsewhere)."""
    ok = shutil.which("clang") is not None and subprocess.run(
        ["clang", "-print-file-name=libclang_rt.fuzzer-x86_64.a"], capture_output=True, text=True,
        timeout=RUN_TIMEOUT_S).stdout.strip().startswith("/")
    if not ok:
        msg = "clang with libFuzzer is not installed (make deps installs clang and libclang-rt-14-dev)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip("NOT TESTED: " + msg)


def oss_fuzz_env(tmp, sanitizer="address", **over):
    src = tmp / "src"
    flags = OSS_FUZZ_COMMON + SANITIZER_CFLAGS[sanitizer] + " -fsanitize=fuzzer-no-link"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(CC="clang", CXX="clang++", CFLAGS=flags, CXXFLAGS=flags,
               LIB_FUZZING_ENGINE="-fsanitize=fuzzer", SANITIZER=sanitizer, FUZZING_ENGINE="libfuzzer",
               FUZZING_LANGUAGE="c", ARCHITECTURE="x86_64", SRC=str(src), OUT=str(tmp / "out"),
               WORK=str(tmp / "work"))
    env.update(over)
    return env


def run_build(tmp, sanitizer="address", **over):
    """build.sh as OSS-Fuzz runs it: from $SRC/alichain, by bash."""
    src = tmp / "src"
    for d in ("src", "out", "work"):
        (tmp / d).mkdir(exist_ok=True)
    if not (src / "alichain").exists():
        (src / "alichain").symlink_to(ROOT)
    return subprocess.run(["bash", str(BUILD_SH)], cwd=src / "alichain", env=oss_fuzz_env(tmp, sanitizer, **over),
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)


@pytest.fixture(scope="module", params=sorted(SANITIZER_CFLAGS))
def built(request, tmp_path_factory):
    need_libfuzzer()
    tmp = tmp_path_factory.mktemp("cflite-" + request.param)
    r = run_build(tmp, request.param)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return tmp / "out"


def test_build_puts_every_target_with_corpus_dict_and_options_in_out(built):
    for t in TARGETS:
        binary = built / t
        assert binary.is_file() and os.access(binary, os.X_OK), t
        corpus = [p for p in (ROOT / "fuzz" / "corpus" / t).iterdir() if p.is_file()]
        with zipfile.ZipFile(built / ("%s_seed_corpus.zip" % t)) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
        assert sorted(Path(n).name for n in names) == sorted(p.name for p in corpus), t
        assert (built / ("%s.dict" % t)).read_bytes() == (ROOT / "fuzz" / ("%s.dict" % t)).read_bytes()
        assert "[libfuzzer]" in (built / ("%s.options" % t)).read_text()


@pytest.mark.parametrize("target", TARGETS)
def test_each_built_target_runs_briefly(built, target, tmp_path):
    corpus = tmp_path / "corpus"
    with zipfile.ZipFile(built / ("%s_seed_corpus.zip" % target)) as z:
        z.extractall(corpus)
    r = subprocess.run([str(built / target), "-runs=%d" % FUZZ_RUNS, "-max_total_time=%d" % FUZZ_SECONDS_MAX,
                        "-dict=%s" % (built / ("%s.dict" % target)), "-max_len=4096",
                        "-artifact_prefix=%s/" % tmp_path, str(corpus)],
                       cwd=tmp_path, env={**os.environ, **RUN_ENV}, capture_output=True, text=True,
                       timeout=RUN_TIMEOUT_S)
    tail = r.stderr[-3000:]
    assert r.returncode == 0, "%s found something (exit %d):\n%s" % (target, r.returncode, tail)
    assert re.search(r"^Done \d+ runs", r.stderr, re.M), tail
    cov = [int(c) for c in re.findall(r" cov: (\d+) ", r.stderr)]
    assert cov and max(cov) >= COV_MIN, "%s: not instrumented with $CFLAGS?\n%s" % (target, tail)


@pytest.mark.parametrize("missing", ["CC", "OUT", "WORK", "LIB_FUZZING_ENGINE"])
def test_build_refuses_without_the_oss_fuzz_variables(tmp_path, missing):
    need_libfuzzer()
    r = run_build(tmp_path, **{missing: ""})
    assert r.returncode != 0 and missing in r.stderr, r.stderr[-2000:]


def test_project_dockerfile_and_workflows_fit_together():
    import yaml   # python3-yaml (ci/install-deps.sh)
    project = yaml.safe_load((ROOT / ".clusterfuzzlite" / "project.yaml").read_text())
    assert project == {"language": "c"}
    docker = (ROOT / ".clusterfuzzlite" / "Dockerfile").read_text()
    assert "FROM gcr.io/oss-fuzz-base/base-builder" in docker
    assert "COPY .clusterfuzzlite/build.sh $SRC/" in docker and "zip" in docker
    modes = {}
    for name in ("cflite_pr.yml", "cflite_batch.yml"):
        wf = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
        steps = [s for job in wf["jobs"].values() for s in job["steps"]]
        uses = [s["uses"] for s in steps]
        assert "google/clusterfuzzlite/actions/build_fuzzers@v1" in uses, name
        assert "google/clusterfuzzlite/actions/run_fuzzers@v1" in uses, name
        for s in steps:
            if s["uses"].endswith("build_fuzzers@v1"):
                assert s["with"]["language"] == "c"
            if s["uses"].endswith("run_fuzzers@v1"):
                modes[name] = s["with"]["mode"]
    assert modes == {"cflite_pr.yml": "code-change", "cflite_batch.yml": "batch"}


# ---- a plain-object engine linked after the library (issue #14 item 2) ----------------
# AFL++'s and honggfuzz's drivers, and any engine given as a plain object, come AFTER the
# archives on the link line with no whole-archive: the C runtime's reference to main() is
# then resolved from the archives first, so a main() inside the simulator library (as
# alichain-hosts' once was) is linked in and collides with the engine's. Here the engine
# is fuzz/standalone.c (a main() that replays files) compiled to one object with gcc.

def build_with_plain_engine(tmp, src_root):
    engine = tmp / "engine.o"
    cc = subprocess.run(["gcc", "-std=c11", "-O1", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
                         "-I", str(ROOT / "core"), "-c", str(ROOT / "fuzz" / "standalone.c"), "-o", str(engine)],
                        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert cc.returncode == 0, cc.stderr
    for d in ("out", "work"):
        (tmp / d).mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CXX", "CXXFLAGS")}
    env.update(CC="gcc", CFLAGS="-O1 -g", LIB_FUZZING_ENGINE=str(engine), OUT=str(tmp / "out"),
               WORK=str(tmp / "work"), ALICHAIN_SRC=str(src_root))
    return subprocess.run(["bash", str(src_root / ".clusterfuzzlite" / "build.sh")], cwd=src_root, env=env,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)


def test_every_target_links_a_plain_object_engine_after_the_library_and_runs(tmp_path):
    r = build_with_plain_engine(tmp_path, ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for t in TARGETS:
        corpus = ROOT / "fuzz" / "corpus" / t
        run = subprocess.run([str(tmp_path / "out" / t), str(corpus)], cwd=tmp_path, capture_output=True,
                             text=True, timeout=RUN_TIMEOUT_S)
        assert run.returncode == 0, "%s on its corpus: exit %d\n%s" % (t, run.returncode, run.stderr[-2000:])
        replayed = len([p for p in corpus.iterdir() if p.is_file() and not p.name.startswith(".")])
        assert replayed > 0, t


def test_a_main_in_the_library_breaks_that_link(tmp_path):
    # the check above is shown to fire: a copy of the tree whose library holds a main()
    src = tmp_path / "src"
    for d in ("core", "sim", "fuzz", ".clusterfuzzlite"):
        shutil.copytree(ROOT / d, src / d, symlinks=True)
    planted = src / "sim" / "swarm" / "report.c"
    planted.write_text(planted.read_text() + "\nint main(void);\nint main(void) { return 0; }\n")
    r = build_with_plain_engine(tmp_path, src)
    assert r.returncode != 0, r.stdout[-2000:]
    assert "multiple definition of `main'" in r.stderr, r.stderr[-3000:]
