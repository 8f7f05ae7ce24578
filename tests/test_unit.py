# test_unit.py — runs each C unit-test executable of the build ($ALICHAIN_BUILD/tests/test_*)
# as one pytest test, so `make test-run` reports them with the end-to-end tests. Having
# none at all is a failure: it means the unit tests were not built.
import subprocess

UNIT_TIMEOUT_S = 300


def test_unit(unit_exe, build_dir, tmp_path):
    assert unit_exe is not None, f"no unit test executables found in {build_dir / 'tests'}"
    proc = subprocess.run([str(unit_exe)], cwd=tmp_path, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=UNIT_TIMEOUT_S)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, (
        f"{unit_exe.name} exited {proc.returncode}\n--- stdout ---\n{out}\n--- stderr ---\n{err}")
