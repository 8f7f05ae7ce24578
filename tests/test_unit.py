# test_unit.py — runs each C test executable of the build ($ALICHAIN_BUILD/tests/<dir>/test_*,
# built from tests/<dir>/test_*.c by the Makefile's one glob) as one pytest test, so
# `make test-run` reports them with the end-to-end tests; and checks that every C test
# source was built and is run — here, or by the pytest test conftest.py names for it.
# Having none at all is a failure: it means the C tests were not built.
import re
import subprocess

from c_tests import C_TESTS_RUN_ELSEWHERE, REPO, build_dir_path, c_test_sources

UNIT_TIMEOUT_S = 300


def test_unit(unit_exe, build_dir, tmp_path):
    assert unit_exe is not None, f"no unit test executables found in {build_dir / 'tests'}"
    proc = subprocess.run([str(unit_exe)], cwd=tmp_path, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=UNIT_TIMEOUT_S)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, (
        f"{unit_exe.name} exited {proc.returncode}\n--- stdout ---\n{out}\n--- stderr ---\n{err}")
    # check.h's closing line: a test binary that checked nothing is not a pass
    m = re.search(r"^(\d+) passed, 0 failed$", out, re.M)
    assert m and int(m.group(1)) > 0, f"{unit_exe.name}: no 'N passed, 0 failed' line\n{out[-2000:]}"


def test_every_c_test_source_is_built_and_run():
    sources = c_test_sources()
    assert sources, "no tests/*/test_*.c found"
    build = build_dir_path() / "tests"
    for src in sources:
        rel = f"{src.parent.name}/{src.stem}"
        exe = build / rel
        assert exe.is_file(), f"{src.relative_to(REPO)} was not built ({exe} missing: make unit)"
        runner = C_TESTS_RUN_ELSEWHERE.get(rel)
        if runner is not None:
            assert src.stem in (REPO / runner).read_text(), f"{runner} does not run {rel}"
    for rel in C_TESTS_RUN_ELSEWHERE:
        assert (REPO / "tests" / (rel + ".c")).is_file(), f"C_TESTS_RUN_ELSEWHERE names {rel}, which is gone"
