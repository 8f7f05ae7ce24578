# test_bench_compare.py — `alichain-bench compare OLD.tsv NEW.tsv`: rows lined up by what they
# measure, each as a ratio to the floor measured in its own run; a row worse than the noise
# band is a REGRESSION (exit 1), within it nothing (exit 0), unreadable input exit 2. Built
# from hand-made rows, so the verdicts are known: nothing here times anything.
import subprocess
from pathlib import Path

import pytest

TIMEOUT_S = 60


def load(what, conns, rate, p99, floor_rate, floor_p99, txs=1000):
    return (f"load\t{txs}\t{what}\t{conns}\t1000\t1.000\t{rate}\t100\t{p99}\t200\t0\t0\t"
            f"floor-tcp\t{floor_rate}\t50\t{floor_p99}")


def metric(name, value, unit, floor, txs=1000):
    return f"metric\t{txs}\t{name}\t{value}\t{unit}\t{'read file' if floor else '-'}\t{floor}"


def run_compare(bench_exe, tmp_path, old_rows, new_rows, *extra):
    old, new = tmp_path / "old.tsv", tmp_path / "new.tsv"
    old.write_text("\n".join(old_rows) + "\n")
    new.write_text("\n".join(new_rows) + "\n")
    return subprocess.run([str(bench_exe), "compare", str(old), str(new), *extra],
                          capture_output=True, text=True, timeout=TIMEOUT_S)


@pytest.fixture
def bench_exe(bin_dir):
    return bin_dir / "alichain-bench"


def test_a_faster_machine_is_no_change(bench_exe, tmp_path):
    # twice the rate on a machine whose floor is also twice as fast: the ratio is the same
    r = run_compare(bench_exe, tmp_path, [load("balance", 64, 1000, 900, 2000, 300)],
                    [load("balance", 64, 2000, 450, 4000, 150)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "REGRESSION" not in r.stdout and "1 rows compared, 0 regressions" in r.stdout, r.stdout


def test_a_worse_ratio_past_the_band_is_a_regression(bench_exe, tmp_path):
    old = [load("balance", 64, 1000, 900, 2000, 300), metric("startup-one-file", 2.0, "s", 1.0)]
    # the rate's ratio drops 0.50 -> 0.40 (25 % worse); startup 2x -> 2.5x the read (25 % worse)
    new = [load("balance", 64, 800, 900, 2000, 300), metric("startup-one-file", 2.5, "s", 1.0)]
    r = run_compare(bench_exe, tmp_path, old, new)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [l for l in r.stdout.splitlines() if "REGRESSION" in l]
    assert len(lines) == 2 and "load 1000 balance c=64" in lines[0] and "startup-one-file" in lines[1], r.stdout
    # a band wider than the change: nothing flagged
    r = run_compare(bench_exe, tmp_path, old, new, "--noise", "30")
    assert r.returncode == 0 and "REGRESSION" not in r.stdout, r.stdout


def test_p99_and_direction(bench_exe, tmp_path):
    # same rate ratio, p99 over its floor's p99 doubled: a latency regression; a rate metric
    # (ev/s) that grew is better, not worse
    old = [load("p-balance", 64, 1000, 600, 2000, 300), metric("sim-events-per-s", 500000, "ev/s", 0, txs=0)]
    new = [load("p-balance", 64, 1000, 1200, 2000, 300), metric("sim-events-per-s", 900000, "ev/s", 0, txs=0)]
    r = run_compare(bench_exe, tmp_path, old, new)
    assert r.returncode == 1, r.stdout
    flagged = [l for l in r.stdout.splitlines() if "REGRESSION" in l]
    assert len(flagged) == 1 and flagged[0].lstrip().startswith("p99 of load 1000 p-balance c=64"), r.stdout
    assert any(l.startswith("metric 0 sim-events-per-s*") and "+" in l for l in r.stdout.splitlines()), r.stdout


def test_rows_on_one_side_only_are_named(bench_exe, tmp_path):
    r = run_compare(bench_exe, tmp_path, [load("balance", 1, 1000, 900, 2000, 300), load("stats", 1, 10, 9, 20, 3)],
                    [load("balance", 1, 1000, 900, 2000, 300), load("hot", 64, 10, 9, 20, 3)])
    assert r.returncode == 0, r.stdout
    assert "new row" in r.stdout and "gone" in r.stdout and "1 rows only in the old run" in r.stdout, r.stdout


def test_unreadable_input_is_refused(bench_exe, tmp_path):
    r = subprocess.run([str(bench_exe), "compare", str(tmp_path / "none.tsv"), str(tmp_path / "none.tsv")],
                       capture_output=True, text=True, timeout=TIMEOUT_S)
    assert r.returncode == 2 and "cannot read" in r.stderr, r.stderr
    empty = tmp_path / "empty.tsv"
    empty.write_text("not a result\n")
    r = subprocess.run([str(bench_exe), "compare", str(empty), str(empty)], capture_output=True, text=True,
                       timeout=TIMEOUT_S)
    assert r.returncode == 2 and "no result rows" in r.stderr, r.stderr
    r = subprocess.run([str(bench_exe), "compare", str(empty)], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert r.returncode == 2, r.stderr
    r = subprocess.run([str(bench_exe), "compare", str(empty), str(empty), "--noise", "x"], capture_output=True,
                       text=True, timeout=TIMEOUT_S)
    assert r.returncode == 2 and "--noise" in r.stderr, r.stderr


def test_the_report_of_a_run_without_a_ledger(tmp_path):
    # bench/report.py on the simulator's rows alone (no ledger size): the page is written, the
    # size-bound targets say "not measured" (it used to stop on min() of no sizes)
    repo = Path(__file__).resolve().parents[2]
    tsv = tmp_path / "results.tsv"
    tsv.write_text(metric("sim-seeds-per-core-s", 894.8, "seeds/s", 0, txs=0) + "\n")
    r = subprocess.run(["/usr/bin/python3", str(repo / "bench" / "report.py"), "--tsv", str(tsv),
                        "--out", str(tmp_path / "B.md"), "--data", str(tmp_path)],
                       capture_output=True, text=True, timeout=TIMEOUT_S)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "B.md").read_text()
    assert "| — | sim-seeds-per-core-s | 894.800 seeds/s |" in page, page
    assert "| balance latency at 10^7 within 1.5× of 10^3 | no 10^7 ledger in this run | not measured |" in page
