# test_bench_smoke.py — a few-second run of alichain-bench that checks ANSWERS, never times:
# every mode and floor runs, one-shot and persistent (ALICHAIN/1 KEEPALIVE, pipelined), and
# verifies every reply against the generated ledger's model;
# the bench itself is shown to fail on a ledger that differs from its model (a changed
# amount: balances, stats and the TXLIST file; an extra transaction: transfer serials and
# TXLIST counts); an interrupt stops its servers and removes its temp dir; bad arguments are
# refused; the simulator part alone (--txs 0) against a --sim-baseline prints its rows, and a
# baseline that is missing or no simulator fails it. Benchmarks proper are `make bench`
# (docs/BENCHMARKS.md).
import json
import os
import signal
import subprocess
import time
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from e2e_helpers import Network  # noqa: E402

TXS = 1000
SMOKE_TIMEOUT_S = 180          # a deadline for a hung run, not a timing assertion
INTERRUPT_WAIT_S = 30          # SIGINT -> exit, servers stopped (they get 10 s each)
PHASE_S = "0.3"
CAUGHT_OPS = "300"             # operations a mode of test_a_changed_amount_is_caught runs
MODES = ("balance", "transfer", "mix", "hot", "stats", "txlist", "hol-balance", "hol-txlist")
P_MODES = ("p-balance", "p-transfer", "p-mix", "p-hot", "p-stats", "p-hol-balance",
           "p-hol-txlist")
FLOORS = ("floor-tcp", "floor-ptcp", "floor-udp", "floor-sync")
SIM_METRICS = ("sim-events-per-s", "sim-seeds-per-core-s", "sim-events-per-core-s",
               "sim-events-per-seed")
METRICS = ("startup-one-file", "backend-bytes-per-tx", "startup-three-backends") + SIM_METRICS
SIM_VS_BASE = ("sim-seeds-per-core-vs-base", "sim-seeds-per-core-best-vs-base",
               "sim-events-per-core-vs-base", "sim-events-per-seed-vs-base")
SIM_SEEDS = "50"
SIM_PAIRS = 2


@pytest.fixture
def bench(bin_dir):
    exe = bin_dir / "alichain-bench"
    assert exe.is_file() and os.access(exe, os.X_OK), (
        f"{exe} is missing: build it with `make` (bench/bench.mk), or set ALICHAIN_BIN")
    return exe


def run_bench(exe, args, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALICHAIN_")}
    env["TMPDIR"] = str(tmp_path)          # its temp dir, removed by itself, inside ours
    try:
        p = subprocess.run([str(exe), *args], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"alichain-bench {args} did not finish in {SMOKE_TIMEOUT_S} s: "
                             f"{e.stdout!r}") from None
    return p


def tsv_rows(path):
    loads, metrics = {}, {}
    for line in Path(path).read_text().splitlines():
        f = line.split("\t")
        if f[0] == "load":
            loads.setdefault(f[2], []).append(dict(ops=int(f[4]), wrong=int(f[10]),
                                                   errors=int(f[11])))
        elif f[0] == "metric":
            metrics[f[2]] = float(f[3])
    return loads, metrics


def test_every_mode_and_floor_answers_right(bench, tmp_path):
    tsv, jsonl = tmp_path / "r.tsv", tmp_path / "r.jsonl"
    p = run_bench(bench, ["--txs", str(TXS), "--conns", "1,8", "--seconds", PHASE_S,
                          "--sim-seeds", "5", "--tsv", str(tsv), "--json", str(jsonl)], tmp_path)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert "alichain-bench: every answer verified" in p.stdout
    assert "[bench " in p.stderr, "no progress line"
    loads, metrics = tsv_rows(tsv)
    for what in MODES + P_MODES + FLOORS:
        assert what in loads, f"no {what} row:\n{p.stdout}"
        for r in loads[what]:
            assert r["ops"] > 0, f"{what}: no operation completed:\n{p.stdout}"
            assert r["wrong"] == 0 and r["errors"] == 0, f"{what}: {r}\n{p.stdout}"
    for m in METRICS:
        assert m in metrics, f"no {m} figure:\n{p.stdout}"
    for m in SIM_METRICS:
        assert metrics[m] > 0, f"{m}: {metrics[m]}\n{p.stdout}"
    # the same rows as JSON lines, each with its ratio to its floor
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) == len(tsv.read_text().splitlines()), "a row missing from --json"
    floored = [r for r in rows if r["kind"] == "load" and r["floor_rate"] > 0]
    assert floored, rows
    for r in floored:
        assert abs(r["ratio"] - r["rate"] / r["floor_rate"]) <= 1e-3 * max(1.0, r["ratio"]), r
    # the run compares with itself: no row regressed
    c = subprocess.run([str(bench), "compare", str(tsv), str(tsv)], capture_output=True, text=True,
                       timeout=SMOKE_TIMEOUT_S)
    assert c.returncode == 0 and "0 regressions" in c.stdout, c.stdout + c.stderr
    # its temp dir (block files, logs, alichain.txt) is gone, its servers stopped
    assert not list(tmp_path.glob("alichain-bench.*")), "the bench left its temp dir behind"


def test_a_phase_shorter_than_its_first_operation_still_measures_one(bench, tmp_path):
    # a microsecond phase: over before a persistent connection has said its hello (as a
    # 0.3 s one was, once, under sanitizers on a loaded machine): it runs on until its
    # first operation has ended, and then stops starting new ones
    tsv = tmp_path / "r.tsv"
    p = run_bench(bench, ["--txs", str(TXS), "--conns", "1,8", "--modes", "p-stats,p-balance,balance",
                          "--seconds", "0.000001", "--sim-seeds", "0", "--no-floors", "--tsv", str(tsv)],
                  tmp_path)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    loads, _ = tsv_rows(tsv)
    for what in ("p-stats", "p-balance", "balance"):
        for r in loads[what]:
            assert r["ops"] > 0 and r["wrong"] == 0 and r["errors"] == 0, f"{what}: {r}\n{p.stdout}"
    # and not many more: a request per connection slot (depth 16) at most beyond the first
    assert all(r["ops"] <= 8 * 16 for rows in loads.values() for r in rows), loads


def generated_blocks(bench, tmp_path):
    d = tmp_path / "gen"
    d.mkdir()
    p = run_bench(bench, ["gen", "--txs", str(TXS), "--dir", str(d)], tmp_path)
    assert p.returncode == 0, p.stderr
    return [(d / f"block{i}.txt").read_text() for i in (1, 2, 3)]


def bench_external(bench, tmp_path, blocks, modes, phase=("--seconds", PHASE_S)):
    net = Network(bench.parent, tmp_path / "net", blocks=blocks)
    try:
        net.start()
        return run_bench(bench, ["--external", "--port-offset", str(net.offset), "--txs",
                                 str(TXS), "--modes", modes, "--conns", "1", *phase,
                                 "--no-floors", "--sim-seeds", "0", "--ledger-dir",
                                 str(net.root)], tmp_path)
    finally:
        problems = net.close()
        assert not problems, problems


def test_external_servers_on_the_generated_ledger_pass(bench, tmp_path):
    p = bench_external(bench, tmp_path, generated_blocks(bench, tmp_path),
                       "balance,transfer,mix,stats,txlist")
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr}"
    assert "WRONG" not in p.stdout


STATS_USERS = {f"u{i}" for i in range(50, 66)}   # the bench asks stats of users U/2 .. U/2+15


def test_persistent_modes_on_external_servers_pass(bench, tmp_path):
    p = bench_external(bench, tmp_path, generated_blocks(bench, tmp_path),
                       "p-balance,p-transfer,p-mix,p-stats,p-hol")
    assert p.returncode == 0, f"{p.stdout}\n{p.stderr}"
    assert "WRONG" not in p.stdout
    for what in ("p-balance", "p-transfer", "p-mix", "p-stats", "p-hol-balance"):
        assert f" {what} " in p.stdout, p.stdout


@pytest.mark.parametrize("pre", ["", "p-"], ids=["one-shot", "persistent"])
def test_a_changed_amount_is_caught(bench, tmp_path, pre):
    blocks = generated_blocks(bench, tmp_path)
    lines = blocks[0].splitlines(keepends=True)
    i = max(k for k, l in enumerate(lines) if l.split()[1] in STATS_USERS)
    serial, sender, receiver, amount = lines[i].split()
    lines[i] = f"{serial} {sender} {receiver} {int(amount) + 1}\n"
    blocks[0] = "".join(lines)
    modes = [pre + m for m in ("balance", "mix", "stats")] + ["txlist"]
    # a number of operations, not of seconds: about 3 % of the balances touch the changed
    # line, so a phase of 0.3 s on a loaded machine (20 mix operations, seen) can miss it;
    # 300 miss it with a chance under 1e-4
    p = bench_external(bench, tmp_path, blocks, ",".join(modes), phase=("--ops", CAUGHT_OPS))
    assert p.returncode == 1, f"{p.stdout}\n{p.stderr}"
    assert "FAILED" in p.stdout
    out = {l.split()[1]: l for l in p.stdout.splitlines() if len(l.split()) > 2 and l[0].isdigit()}
    assert "WRONG" in out[pre + "balance"] and "BALANCE u" in out[pre + "balance"], p.stdout
    assert "WRONG" in out[pre + "mix"], p.stdout
    assert "WRONG" in out[pre + "stats"] and f"STATS {sender}" in out[pre + "stats"], p.stdout
    assert f"line {serial}:" in out["txlist"], p.stdout


@pytest.mark.parametrize("pre", ["", "p-"], ids=["one-shot", "persistent"])
def test_an_extra_transaction_is_caught(bench, tmp_path, pre):
    blocks = generated_blocks(bench, tmp_path)
    blocks[2] += f"{TXS + 1} u1 u2 5\n"
    p = bench_external(bench, tmp_path, blocks, f"{pre}transfer,txlist")
    assert p.returncode == 1, f"{p.stdout}\n{p.stderr}"
    transfer = next(l for l in p.stdout.splitlines() if f" {pre}transfer " in l)
    assert "serials not contiguous" in transfer, p.stdout
    txlist = next(l for l in p.stdout.splitlines() if " txlist " in l)
    assert "TXLIST: " in txlist and "WRONG" in txlist, p.stdout


def test_an_interrupt_stops_servers_and_cleans_up(bench, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALICHAIN_")}
    env["TMPDIR"] = str(tmp_path)
    p = subprocess.Popen([str(bench), "--txs", str(TXS), "--modes", "balance", "--conns", "8",
                          "--seconds", "60", "--no-floors", "--sim-seeds", "0"], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + SMOKE_TIMEOUT_S
        for line in p.stderr:                        # wait for the load phase to begin
            if "balance, 8 connections" in line or time.monotonic() > deadline:
                break
        servers = [c for c in Path("/proc").glob("[0-9]*")
                   if (c / "stat").exists() and _ppid(c) == p.pid and _comm(c).startswith("server")]
        assert len(servers) == 4, "the four servers are not running under the bench"
        p.send_signal(signal.SIGINT)
        rest = p.stderr.read()
        assert p.wait(timeout=INTERRUPT_WAIT_S) == 130, rest
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "alichain-bench: interrupted" in rest
    assert not any(s.exists() for s in servers), "a server outlived the bench"
    assert not list(tmp_path.glob("alichain-bench.*")), "the bench left its temp dir behind"


def _ppid(proc_dir):
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _comm(proc_dir):
    try:
        return (proc_dir / "comm").read_text().strip()
    except OSError:
        return ""


def test_the_simulator_against_a_baseline(bench, tmp_path):
    """--txs 0: the simulator only; our own alichain-sim as the baseline, so both sides run
    the same work: equal events a seed, every figure there (no timing is judged)."""
    tsv = tmp_path / "sim.tsv"
    p = run_bench(bench, ["--txs", "0", "--sim-seeds", SIM_SEEDS, "--sim-pairs", str(SIM_PAIRS),
                          "--sim-baseline", str(bench.parent / "alichain-sim"), "--tsv", str(tsv)],
                  tmp_path)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert "alichain-bench: the simulator only (--txs 0)" in p.stdout
    for who in ("current ", "baseline"):
        runs = [l for l in p.stdout.splitlines() if l.startswith(f"simulator {who} run ")]
        assert len(runs) == SIM_PAIRS, p.stdout
        assert all(f"{SIM_SEEDS} seeds" in l for l in runs), p.stdout
    assert f"simulator pair {SIM_PAIRS}/{SIM_PAIRS}: current / baseline " in p.stdout
    rows = {}
    for line in tsv.read_text().splitlines():
        f = line.split("\t")
        assert f[0] == "metric", f"a ledger row in a simulator-only run: {line}"
        rows[f[2]] = dict(value=float(f[3]), unit=f[4], floor=f[5], base=float(f[6]))
    assert set(rows) == set(SIM_METRICS + SIM_VS_BASE), rows
    for m in SIM_METRICS:
        assert rows[m]["value"] > 0 and rows[m]["floor"] == "-", rows[m]
    for m in SIM_VS_BASE:   # ours, with the baseline's figure where a floor would be
        r = rows[m]
        assert r["floor"] == "baseline" and r["value"] > 0 and r["base"] > 0, (m, r)
        assert f"{m} " in p.stdout and "x baseline (" in p.stdout.split(m, 1)[1].splitlines()[0], p.stdout
    assert rows["sim-seeds-per-core-vs-base"]["value"] == rows["sim-seeds-per-core-s"]["value"]
    assert rows["sim-seeds-per-core-best-vs-base"]["value"] >= rows["sim-seeds-per-core-s"]["value"]
    work = rows["sim-events-per-seed-vs-base"]
    assert work["value"] == work["base"] == rows["sim-events-per-seed"]["value"], work
    # the run compares with itself: no row regressed, and events a seed are not judged
    c = subprocess.run([str(bench), "compare", str(tsv), str(tsv)], capture_output=True, text=True,
                       timeout=SMOKE_TIMEOUT_S)
    assert c.returncode == 0 and "0 regressions" in c.stdout, c.stdout + c.stderr
    work_lines = [l for l in c.stdout.splitlines() if " sim-events-per-seed" in l]
    assert len(work_lines) == 2 and all("(work, not judged)" in l for l in work_lines), c.stdout


def test_a_missing_baseline_is_refused_before_anything_runs(bench, tmp_path):
    missing = tmp_path / "no-such-alichain-sim"
    p = run_bench(bench, ["--txs", "0", "--sim-seeds", SIM_SEEDS, "--sim-baseline", str(missing)],
                  tmp_path)
    assert p.returncode == 2, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert p.stderr.startswith(f"alichain-bench: --sim-baseline {missing}: No such file"), p.stderr
    assert "[bench " not in p.stderr, "a run began before the baseline was checked"


def test_a_baseline_that_is_no_simulator_fails_the_run(bench, tmp_path):
    fake = tmp_path / "fake-sim"
    fake.write_text("#!/bin/sh\necho 'fake-sim: not a simulator' >&2\nexit 1\n")
    fake.chmod(0o755)
    p = run_bench(bench, ["--txs", "0", "--sim-seeds", SIM_SEEDS, "--sim-baseline", str(fake)],
                  tmp_path)
    assert p.returncode == 1, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    line = next(l for l in p.stdout.splitlines() if l.startswith("simulator: `"))
    assert str(fake) in line and "exited with 1" in line and "fake-sim: not a simulator" in line, line
    assert "alichain-bench: FAILED" in p.stdout


@pytest.mark.parametrize("args", [["--conns", "0"], ["--modes", "nosuch"], ["--txs", "5"],
                                  ["--seconds", "-1"], ["--bogus"], ["gen", "--txs", "1000"],
                                  ["--depth", "0"], ["--depth", "65"], ["--modes", "p-txlist"],
                                  ["--modes", "p-nosuch"], ["--persistent", "--modes", "txlist"],
                                  ["--txs", "0,1000"], ["--txs", "0", "--sim-seeds", "0"],
                                  ["--sim-pairs", "0"], ["--sim-pairs", "100"],
                                  ["--sim-baseline", "/", "--sim-seeds", "5"],
                                  ["--sim-baseline", "/bin/sh", "--sim-seeds", "0"]])
def test_bad_arguments_are_refused(bench, tmp_path, args):
    p = run_bench(bench, args, tmp_path)
    assert p.returncode == 2, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert p.stderr.startswith("alichain-bench: "), p.stderr
