"""test_cflite_build.py — runs .clusterfuzzlite/build.sh here, without Docker, in the
environment OSS-Fuzz's base-builder image and its `compile` step give a C project (CC=clang,
CFLAGS = the common flags + SANITIZER_FLAGS_<sanitizer> + COVERAGE_FLAGS[_<sanitizer>],
LIB_FUZZING_ENGINE=-fsanitize=fuzzer, SRC/OUT/WORK, SANITIZER, FUZZING_ENGINE, ...), checks
what lands in $OUT (binary, seed corpus zip, dictionary, options per target) and runs each
target briefly on its seed corpus, for each sanitizer the workflows fuzz with (address,
undefined); and builds the coverage build cflite_cron.yml's coverage job makes, replays the
seed corpora through it as ClusterFuzzLite's coverage mode does and reads the profile."""
import json
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
# OSS-Fuzz's base-builder image (infra/base-images/base-builder/ubuntu-20-04.Dockerfile,
# base-clang for CFLAGS) and its compile script: CFLAGS="$CFLAGS $SANITIZER_FLAGS
# $COVERAGE_FLAGS", where COVERAGE_FLAGS_<sanitizer> replaces COVERAGE_FLAGS when set;
# CXXFLAGS = CFLAGS + -stdlib=libc++, left out here: Debian's clang has no libc++ by
# default, and nothing here is C++.
OSS_FUZZ_CFLAGS = "-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
SANITIZER_FLAGS = {
    "address": "-fsanitize=address -fsanitize-address-use-after-scope",
    # the -fsanitize set is the -fno-sanitize-recover set plus unsigned-integer-overflow
    "undefined": "-fsanitize=array-bounds,bool,builtin,enum,function,integer-divide-by-zero,null,"
                 "object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,"
                 "unsigned-integer-overflow,unreachable,vla-bound,vptr "
                 "-fno-sanitize-recover=array-bounds,bool,builtin,enum,function,integer-divide-by-zero,"
                 "null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,"
                 "unreachable,vla-bound,vptr",
    "coverage": "",   # no sanitizer in the coverage build
}
COVERAGE_FLAGS = "-fsanitize=fuzzer-no-link"
COVERAGE_FLAGS_BY_SANITIZER = {
    "coverage": "-fprofile-instr-generate -fcoverage-mapping -pthread -Wl,--no-as-needed -Wl,-ldl -Wl,-lm "
                "-Wno-unused-command-line-argument",
}
FUZZ_SANITIZERS = ("address", "undefined")
# and the run-time options OSS-Fuzz runs targets with (core's hashes wrap on purpose)
RUN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
           "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:silence_unsigned_overflow=1"}
# what the seed corpora alone cover of the two codecs, read from the coverage build's profile
# (make fuzz-coverage measures 98 % and 100 % with gcov; llvm-cov counts lines a little differently)
COVERED_LINES_PCT_MIN = {"core/wire.c": 90.0, "core/tx.c": 90.0}


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
    flags = " ".join(f for f in (OSS_FUZZ_CFLAGS, SANITIZER_FLAGS[sanitizer],
                                 COVERAGE_FLAGS_BY_SANITIZER.get(sanitizer, COVERAGE_FLAGS)) if f)
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


@pytest.fixture(scope="module", params=FUZZ_SANITIZERS)
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


def test_project_and_dockerfile_fit_build_sh():
    import yaml   # python3-yaml (ci/install-deps.sh)
    project = yaml.safe_load((ROOT / ".clusterfuzzlite" / "project.yaml").read_text())
    assert project == {"language": "c"}
    docker = (ROOT / ".clusterfuzzlite" / "Dockerfile").read_text()
    assert "FROM gcr.io/oss-fuzz-base/base-builder" in docker
    assert "COPY .clusterfuzzlite/build.sh $SRC/" in docker and "zip" in docker


def test_every_sanitizer_the_workflows_build_with_is_built_here():
    # the workflows' layout is tests/fuzz/test_cflite_workflows.py's; this ties it to the builds above
    from test_cflite_workflows import load_workflows, workflow_sanitizers
    named = set().union(*(workflow_sanitizers(doc) for doc in load_workflows().values()))
    assert named == set(FUZZ_SANITIZERS) | {"coverage"}, named


# ---- the coverage build (cflite_cron.yml's coverage job) ---------------------------------

def llvm_tool(name):
    """llvm-<name> of the clang that built the targets (its profile format is that version's)."""
    major = re.search(r"clang version (\d+)", subprocess.run(
        ["clang", "--version"], capture_output=True, text=True, timeout=RUN_TIMEOUT_S).stdout)
    for candidate in (["llvm-%s-%s" % (name, major.group(1))] if major else []) + ["llvm-" + name]:
        if shutil.which(candidate):
            return candidate
    pytest.fail("llvm-%s is not installed (it comes with clang: make deps)" % name)


@pytest.fixture(scope="module")
def built_coverage(tmp_path_factory):
    need_libfuzzer()
    tmp = tmp_path_factory.mktemp("cflite-coverage")
    r = run_build(tmp, "coverage")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return tmp


def test_coverage_build_has_the_profile_runtime_and_no_asan(built_coverage):
    for t in TARGETS:
        syms = subprocess.run(["nm", str(built_coverage / "out" / t)], capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S).stdout
        assert "__llvm_profile_write_file" in syms, t
        assert "LLVMFuzzerRunDriver" in syms, t   # linked with $LIB_FUZZING_ENGINE
        # no ASan runtime (UBSan's handlers come with libFuzzer's runtime in every build)
        assert "__asan_init" not in syms, t


def test_coverage_build_replays_the_seed_corpora_into_a_profile(built_coverage):
    """What ClusterFuzzLite's coverage mode does: each target runs its corpus once
    (-runs=0) with LLVM_PROFILE_FILE set; the merged profile is read by llvm-cov."""
    out, tmp = built_coverage / "out", built_coverage
    profiles = []
    for t in TARGETS:
        corpus = tmp / "corpus" / t
        with zipfile.ZipFile(out / ("%s_seed_corpus.zip" % t)) as z:
            z.extractall(corpus)
        profiles.append(tmp / ("%s.profraw" % t))
        r = subprocess.run([str(out / t), "-runs=0", str(corpus)], cwd=tmp, capture_output=True, text=True,
                           env={**os.environ, "LLVM_PROFILE_FILE": str(profiles[-1])}, timeout=RUN_TIMEOUT_S)
        assert r.returncode == 0 and profiles[-1].is_file() and profiles[-1].stat().st_size > 0, "%s:\n%s" % (t, r.stderr[-2000:])
    merged = tmp / "merged.profdata"
    r = subprocess.run([llvm_tool("profdata"), "merge", "-sparse", "-o", str(merged)] + [str(p) for p in profiles],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert r.returncode == 0, r.stderr
    objects = [str(out / TARGETS[0])] + [a for t in TARGETS[1:] for a in ("-object", str(out / t))]
    r = subprocess.run([llvm_tool("cov"), "export", "-summary-only", "-instr-profile=%s" % merged] + objects,
                       capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert r.returncode == 0, r.stderr[-2000:]
    pct = {}
    for f in json.loads(r.stdout)["data"][0]["files"]:
        rel = os.path.relpath(f["filename"], ROOT)
        pct[rel] = f["summary"]["lines"]["percent"]
    low = {f: round(pct.get(f, 0.0), 1) for f, floor in COVERED_LINES_PCT_MIN.items() if pct.get(f, 0.0) < floor}
    assert low == {}, "line coverage under %s: %s" % (COVERED_LINES_PCT_MIN, low)


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
