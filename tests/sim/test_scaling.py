# test_scaling.py — the swarm beyond one machine (docs/SCALING.md): seed blocks, the JSON
# lines (format alichain-swarm v1), `alichain-sim report` merging them (and refusing damaged
# input line by line, exit 2, never a crash: fuzz-like cases), sim/swarm/swarm-job.sh under each
# engine's index variable, and `make swarm-parallel` through GNU parallel.
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import time

import pytest

from sim_helpers import BUILD_DIR, REPO, RUN_TIMEOUT_S, SIM, build_mutant_sim, run_sim

JOB = REPO / "sim" / "swarm" / "swarm-job.sh"
INDEX_VARS = ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX")
FAULT_NAMES = ("dgrams", "lost", "duplicated", "reordered", "cut", "to-down", "split", "resets",
               "stalled", "crashes", "restarts", "pauses", "partitions", "torn", "unsynced", "nospace", "eio",
               "forged", "replayed")
FUZZ_CASES = 150          # random garbage / byte-flip variants per test
MUTANT = "same-balance"   # a planted bug the swarm catches within a few seeds
CANCEL_WAIT_S = 60       # deadline for the job to start, and to end after SIGTERM


def jsonl(path):
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines()]


def swarm_jsonl(tmp_path, name, *args):
    out = tmp_path / name
    r = run_sim("swarm", *args, "--jsonl", out, "--out", tmp_path / "failures")
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def report(*args):
    r = run_sim("report", *args)
    assert r.returncode in (0, 1, 2), "report crashed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr)
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    return r


def clean_env(**extra):
    """The environment without any engine's index variable or a parent make's flags."""
    env = {k: v for k, v in os.environ.items()
           if k not in INDEX_VARS and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def need_gnu_parallel():
    """GNU parallel or a loud failure under CI (a loud skip elsewhere)."""
    p = shutil.which("parallel")
    ok = p is not None and "GNU parallel" in subprocess.run(
        [p, "--version"], capture_output=True, text=True, timeout=RUN_TIMEOUT_S).stdout
    if not ok:
        msg = "GNU parallel is not installed (make deps installs Debian's parallel)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip("NOT TESTED: " + msg)


# ---------------------------------------------------------------- blocks and JSON lines

def test_block_runs_its_seeds_and_every_line_has_the_documented_fields(tmp_path):
    lines = jsonl(swarm_jsonl(tmp_path, "b.jsonl", "--block", 3, "--block-seeds", 4))
    run, seeds = lines[0], lines[1:]
    assert run["format"] == "alichain-swarm" and run["v"] == 1 and run["type"] == "run"
    assert (run["first"], run["seeds"], run["block"], run["block_seeds"]) == (12, 4, 3, 4)
    assert run["mutant"] is None and isinstance(run["commit"], str) and run["commit"]
    assert [s["seed"] for s in seeds] == [12, 13, 14, 15]
    for s in seeds:
        assert s["type"] == "seed" and s["verdict"] == "pass" and s["commit"] == run["commit"]
        for k in ("events", "virtual_us", "wall_us"):
            assert isinstance(s[k], int) and s[k] >= 0
        assert s["events"] > 0 and s["virtual_us"] > 0
        assert sorted(s["faults"]) == sorted(FAULT_NAMES)
        assert s["violation"] is None and s["reproducer"] is None and s["reproduce"] is None


def test_block_is_the_same_swarm_as_first_and_seeds(tmp_path):
    def strip(lines):  # wall time and the run line's block fields are all that may differ
        return [{k: v for k, v in x.items() if k != "wall_us"} for x in lines[1:]]
    a = jsonl(swarm_jsonl(tmp_path, "a.jsonl", "--block", 2, "--block-seeds", 5))
    b = jsonl(swarm_jsonl(tmp_path, "b.jsonl", "--first", 10, "--seeds", 5))
    assert strip(a) == strip(b)
    assert b[0]["block"] is None and b[0]["block_seeds"] is None


def test_commit_comes_from_the_build_or_the_environment(tmp_path):
    out = tmp_path / "c.jsonl"
    r = subprocess.run([str(SIM), "swarm", "--seeds", "1", "--jsonl", str(out)],
                       env=clean_env(ALICHAIN_COMMIT="abc123"), capture_output=True, text=True,
                       timeout=RUN_TIMEOUT_S)
    assert r.returncode == 0, r.stderr
    assert {x["commit"] for x in jsonl(out)} == {"abc123"}


@pytest.mark.parametrize("args, needle", [
    (["--block", "1"], "--block and --block-seeds go together"),
    (["--block-seeds", "5"], "--block and --block-seeds go together"),
    (["--block", "1", "--block-seeds", "0"], "--block-seeds"),
    (["--block", "x", "--block-seeds", "5"], "--block"),
    (["--block", "1", "--block-seeds", "5", "--first", "3"], "no --first or --seeds"),
    (["--block", "1", "--block-seeds", "5", "--seeds", "3"], "no --first or --seeds"),
    (["--block", "18446744073709551615", "--block-seeds", "2"], "goes past"),
    (["--block", "1", "--block-seeds", "18446744073709551615"], "goes past"),
])
def test_block_refusals(args, needle):
    r = run_sim("swarm", *args)
    assert r.returncode == 2 and needle in r.stderr, r.stderr


def test_jsonl_must_be_writable(tmp_path):
    r = run_sim("swarm", "--seeds", 1, "--jsonl", tmp_path)
    assert r.returncode == 2 and "--jsonl" in r.stderr
    r = run_sim("swarm", "--seeds", 1, "--jsonl", tmp_path / "no" / "such.jsonl")
    assert r.returncode == 2 and "--jsonl" in r.stderr


def test_jsonl_unit_tests_round_trip_and_mutations():
    exe = BUILD_DIR / "tests" / "sim" / "test_sim_jsonl"
    assert exe.exists(), "build it with make test-run (TEST_RUN_EXTRA)"
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^7 passed, 0 failed$", r.stdout, re.M), r.stdout


# ---------------------------------------------------------------- report

def test_report_merges_blocks_from_many_machines(tmp_path):
    files = [swarm_jsonl(tmp_path, "b%d.jsonl" % k, "--block", k, "--block-seeds", 4) for k in (2, 0, 1)]
    r = report(*files)
    assert r.returncode == 0, r.stdout
    assert "seeds run: 12 seeds in 1 range: 0..11" in r.stdout
    assert "missing seeds: none" in r.stdout and "duplicated seeds: none" in r.stdout
    assert "report: PASS" in r.stdout
    events = sum(x["events"] for f in files for x in jsonl(f)[1:])
    virtual_us = sum(x["virtual_us"] for f in files for x in jsonl(f)[1:])
    assert re.search(r"^speed: %d events in [0-9.]+s of runs \([0-9]+ events/s" % events, r.stdout, re.M)
    assert "virtual time: %.1fs" % (virtual_us / 1e6) in r.stdout


def test_report_names_missing_and_duplicated_seed_ranges(tmp_path):
    b0 = swarm_jsonl(tmp_path, "b0.jsonl", "--block", 0, "--block-seeds", 4)
    b2 = swarm_jsonl(tmp_path, "b2.jsonl", "--block", 2, "--block-seeds", 4)
    r = report(b0, b2)   # block 1 lost between them
    assert r.returncode == 2 and "missing seeds: 4 seeds in 1 range: 4..7" in r.stdout, r.stdout
    r = report(b0, b2, "--first", 0, "--seeds", 16)   # and block 3 expected too
    assert r.returncode == 2 and "missing seeds: 8 seeds in 2 ranges: 4..7 12..15" in r.stdout, r.stdout
    r = report(b0, b0)
    assert r.returncode == 2 and "duplicated seeds: 4 seeds in 1 range: 0..3" in r.stdout, r.stdout
    assert "report: DAMAGED" in r.stdout
    r = report(b0, "--first", 0)
    assert r.returncode == 2 and "--first and --seeds go together" in r.stderr
    r = report()
    assert r.returncode == 2 and "report needs a FILE" in r.stderr


@pytest.fixture(scope="module")
def mutant_sim():
    """alichain-sim-mutants (built here if `make sim-mutants` has not yet)."""
    return build_mutant_sim(clean_env())


def test_report_groups_real_failures_with_one_reproducer_each(tmp_path, mutant_sim):
    out = tmp_path / "m.jsonl"
    r = subprocess.run([str(mutant_sim), "swarm", "--block", "0", "--block-seeds", "12", "--mutant", MUTANT,
                        "--jsonl", str(out), "--out", str(tmp_path / "f")],
                       capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = jsonl(out)
    assert lines[0]["mutant"] == MUTANT
    failed = [x for x in lines[1:] if x["verdict"] == "fail"]
    assert len(failed) >= 2
    for x in failed:
        v = x["violation"]
        assert v["checker"] and isinstance(v["at_us"], int) and v["message"].startswith(v["checker"])
        assert x["reproduce"] == "alichain-sim-mutants swarm --seeds 1 --first %d --mutant %s" % (x["seed"], MUTANT)
        assert pathlib.Path(x["reproducer"]).is_file()
    rep = report(out)
    assert rep.returncode == 1, rep.stdout
    groups = re.findall(r"^  \[\d+\] (\d+) seeds?, checker (\S+): ", rep.stdout, re.M)
    checkers = {x["violation"]["checker"] for x in failed}
    assert {c for _, c in groups} == checkers
    assert sum(int(n) for n, _ in groups) == len(failed)
    assert len(groups) < len(failed)   # same bug, other numbers and names: one group
    assert len(re.findall(r"^      reproduce: ", rep.stdout, re.M)) == len(groups)
    low = min(x["seed"] for x in failed)
    assert "reproduce: alichain-sim-mutants swarm --seeds 1 --first %d --mutant %s" % (low, MUTANT) in rep.stdout
    assert "report: FAIL" in rep.stdout


# ---------------------------------------------------------------- damaged input

@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    r = run_sim("swarm", "--block", 0, "--block-seeds", 3, "--jsonl", d / "g.jsonl")
    assert r.returncode == 0
    return (d / "g.jsonl").read_bytes()


def write(tmp_path, data, name="x.jsonl"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_truncated_at_every_byte_is_damaged_and_named(tmp_path, good_file):
    lines = good_file.split(b"\n")
    head = b"\n".join(lines[:3]) + b"\n"   # the run line and two seeds
    last = lines[3]
    for cut in range(0, len(last) + 1):
        data = head + last[:cut]
        r = report(write(tmp_path, data))
        assert r.returncode == 2, (cut, r.stdout)
        if cut > 0:
            assert "damaged: %s:4: truncated" % (tmp_path / "x.jsonl") in r.stdout, r.stdout
        else:
            assert "missing seeds: 1 seed in 1 range: 2" in r.stdout, r.stdout


@pytest.mark.parametrize("bad, reason", [
    (b"", "an empty line"),
    (b"not json", "malformed: not a JSON object"),
    (b"{}", "malformed: no field \"format\""),
    (b'{"format":"alichain-swarm","v":2}', "version 2"),
    (b'{"format":"other","v":1}', "format \"other\""),
    (b'{"a":{"b":{"c":1}}}', "nested deeper"),
    (b'{"a":1,"a":2}', "field \"a\" twice"),
    (b'{"a":-1}', "unexpected '-'"),
    (b'{"a":1.5}', "not a whole number"),
    (b'{"a":99999999999999999999}', "number too large"),
    (b'{"a":[1]}', "unexpected '['"),
    (b'{"a":"\\u0000"}', "\\u0000"),
    (b'{"a":"x\\q"}', "bad escape"),
    (b'{"a":1} x', "text after the object"),
    (b'{"a":1\x00}', "a NUL byte"),
    (b'{"a":"' + b"x" * 20000 + b'"}', "line longer than"),
    (b"{" + b",".join(b'"k%d":1' % i for i in range(70)) + b"}", "more than 64 fields"),
])
def test_each_kind_of_damage_is_named_with_its_line(tmp_path, good_file, bad, reason):
    lines = good_file.split(b"\n")
    data = b"\n".join(lines[:2] + [bad] + lines[2:])
    r = report(write(tmp_path, data))
    assert r.returncode == 2, r.stdout
    m = re.search(r"^damaged: .*x\.jsonl:3: (.*)$", r.stdout, re.M)
    assert m and reason in m.group(1), r.stdout
    assert "seeds run: 3 seeds in 1 range: 0..2" in r.stdout   # the good lines still count


def test_seed_lines_must_belong_to_a_run_line(tmp_path, good_file):
    lines = good_file.split(b"\n")
    r = report(write(tmp_path, b"\n".join(lines[1:])))   # no run line
    assert r.returncode == 2 and "x.jsonl:1: a seed line before any run line" in r.stdout
    moved = lines[1].replace(b'"seed":0,', b'"seed":7,')
    r = report(write(tmp_path, b"\n".join([lines[0], moved] + lines[2:])))
    assert r.returncode == 2 and "seed 7 is outside its run line's seeds 0..2" in r.stdout
    failed = lines[1].replace(b'"verdict":"pass"', b'"verdict":"fail"')
    r = report(write(tmp_path, b"\n".join([lines[0], failed] + lines[2:])))
    assert r.returncode == 2 and "a failed seed without a violation" in r.stdout


def test_unreadable_and_empty_files_are_damaged(tmp_path, good_file):
    g = write(tmp_path, good_file, "g.jsonl")
    r = report(g, tmp_path / "absent.jsonl")
    assert r.returncode == 2 and "absent.jsonl: cannot open" in r.stdout
    r = report(g, write(tmp_path, b"", "empty.jsonl"))
    assert r.returncode == 2 and "empty.jsonl: empty file" in r.stdout
    r = report(write(tmp_path, b"\n".join(good_file.split(b"\n")[:1]) + b"\n"))
    assert r.returncode == 2 and "no seed results at all" in r.stdout


def test_random_garbage_and_byte_flips_never_crash(tmp_path, good_file):
    rng = random.Random(20261130)   # fixed: a failure here reproduces
    lines = good_file.split(b"\n")
    for case in range(FUZZ_CASES):
        if case % 2 == 0:   # a line of random bytes among good ones
            garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            garbage = garbage.replace(b"\n", b" ")
            data = b"\n".join(lines[:2] + [garbage] + lines[2:])
            r = report(write(tmp_path, data))
            assert r.returncode == 2, (garbage, r.stdout)
            assert re.search(r"^damaged: .*x\.jsonl:3: ", r.stdout, re.M), r.stdout
        else:               # a few bytes of a good file changed: any verdict, never a crash
            data = bytearray(good_file)
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            r = report(write(tmp_path, bytes(data)))
            if r.returncode == 2:
                assert "report: DAMAGED" in r.stdout, r.stdout


# ---------------------------------------------------------------- the job script

def run_job(tmp_path, args=(), **env):
    env.setdefault("ALICHAIN_SIM", SIM)
    env.setdefault("ALICHAIN_RESULTS", tmp_path / "results")
    env.setdefault("ALICHAIN_BLOCK_SEEDS", 3)
    return subprocess.run(["bash", str(JOB), *map(str, args)], cwd=tmp_path, env=clean_env(**env),
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def block_seeds_of(path):
    return [x["seed"] for x in jsonl(path)[1:]]


def test_job_script_runs_unchanged_under_every_engine_and_the_blocks_merge(tmp_path):
    r = run_job(tmp_path, ["0"])                           # GNU parallel: the argument
    assert r.returncode == 0 and "index from argument" in r.stdout, r.stdout + r.stderr
    r = run_job(tmp_path, SLURM_ARRAY_TASK_ID=1)           # Slurm job array
    assert r.returncode == 0 and "index from SLURM_ARRAY_TASK_ID" in r.stdout, r.stderr
    r = run_job(tmp_path, JOB_COMPLETION_INDEX=2)          # Kubernetes Indexed Job
    assert r.returncode == 0 and "index from JOB_COMPLETION_INDEX" in r.stdout, r.stderr
    results = tmp_path / "results"
    for k in range(3):
        assert block_seeds_of(results / ("block-%d.jsonl" % k)) == [3 * k, 3 * k + 1, 3 * k + 2]
    assert not list(results.glob("*.partial*"))
    rep = report(*sorted(results.glob("block-*.jsonl")), "--first", 0, "--seeds", 9)
    assert rep.returncode == 0 and "seeds run: 9 seeds in 1 range: 0..8" in rep.stdout, rep.stdout


def test_job_script_index_precedence_and_defaults(tmp_path):
    r = run_job(tmp_path, ["4"], SLURM_ARRAY_TASK_ID=5, JOB_COMPLETION_INDEX=6)
    assert r.returncode == 0 and "index from argument" in r.stdout
    r = run_job(tmp_path, SLURM_ARRAY_TASK_ID=5, JOB_COMPLETION_INDEX=6)
    assert r.returncode == 0 and "index from SLURM_ARRAY_TASK_ID" in r.stdout
    assert block_seeds_of(tmp_path / "results" / "block-5.jsonl") == [15, 16, 17]
    # the defaults, seen by an alichain-sim that only records how it was called
    fake = tmp_path / "fake-sim"
    fake.write_text('#!/bin/sh\necho "$*" >"%s"\nwhile [ "$1" != --jsonl ]; do shift; done\n'
                    'echo "{}" >"$2"\n' % (tmp_path / "args"))
    fake.chmod(0o755)
    r = run_job(tmp_path, ["7"], ALICHAIN_SIM=fake, ALICHAIN_RESULTS="", ALICHAIN_BLOCK_SEEDS="")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "args").read_text().startswith("swarm --block 7 --block-seeds 10000 --jsonl results/")
    assert (tmp_path / "results" / "block-7.jsonl").is_file()


def test_job_script_cancelled_by_the_engine_leaves_no_partial_file(tmp_path):
    # Slurm's scancel and Kubernetes send SIGTERM to the job's processes
    env = clean_env(ALICHAIN_SIM=SIM, ALICHAIN_RESULTS=tmp_path / "results", ALICHAIN_BLOCK_SEEDS=10 ** 7)
    p = subprocess.Popen(["bash", str(JOB), "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        partials = lambda: list((tmp_path / "results").glob("block-0.jsonl.partial-*"))  # noqa: E731
        deadline = time.monotonic() + CANCEL_WAIT_S
        while not (partials() and partials()[0].stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert partials(), "the block never started"
        os.killpg(p.pid, signal.SIGTERM)
        _, err = p.communicate(timeout=CANCEL_WAIT_S)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=CANCEL_WAIT_S)
    assert p.returncode == 2 and "interrupted" in err, err
    assert not list((tmp_path / "results").glob("block-0.jsonl*"))


@pytest.mark.parametrize("args, env, needle", [
    ([], {}, "no block index"),
    (["x"], {}, "not a whole number"),
    (["-1"], {}, "not a whole number"),
    (["01"], {}, "not a whole number"),
    (["1", "2"], {}, "usage"),
    ([], {"SLURM_ARRAY_TASK_ID": "3x"}, "from SLURM_ARRAY_TASK_ID is not a whole number"),
    ([], {"JOB_COMPLETION_INDEX": " "}, "from JOB_COMPLETION_INDEX is not a whole number"),
    (["0"], {"ALICHAIN_BLOCK_SEEDS": "0"}, "ALICHAIN_BLOCK_SEEDS"),
    (["0"], {"ALICHAIN_SIM": "/nonexistent/alichain-sim"}, "ALICHAIN_SIM"),
    (["9999999999999999999"], {}, "alichain-sim exited 2"),
    (["18446744073709551615"], {}, "from argument is out of range"),          # 2^64 - 1
    (["1\x1b[2J"], {}, 'not a whole number: "1\\x1b[2J"'),                  # escaped
    (["0"], {"ALICHAIN_SIM": "/"}, 'ALICHAIN_SIM is not an executable file: "/"'),  # a directory
    (["0"], {"ALICHAIN_JOB_STDOUT": "yes"}, 'ALICHAIN_JOB_STDOUT is neither 0 nor 1: "yes"'),
])
def test_job_script_refuses_with_exit_2(tmp_path, args, env, needle):
    r = run_job(tmp_path, args, **env)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 1 or "alichain-sim exited" in r.stderr, r.stderr
    assert "\x1b" not in r.stderr, r.stderr
    if "alichain-sim exited" not in needle:
        assert not (tmp_path / "results").exists(), "a refused job created its results directory"


def test_job_script_help(tmp_path):
    r = run_job(tmp_path, ["--help"])
    assert r.returncode == 0 and r.stdout.startswith("swarm-job.sh — runs ONE block"), r
    assert "ALICHAIN_RESULTS" in r.stdout and "#" not in r.stdout.splitlines()[0]
    assert not (tmp_path / "results").exists()


def test_job_script_exit_1_on_a_failing_seed_keeps_the_results(tmp_path, mutant_sim):
    r = run_job(tmp_path, ["0"], ALICHAIN_SIM=mutant_sim, ALICHAIN_BLOCK_SEEDS=10,
                ALICHAIN_SWARM_ARGS="--mutant %s --no-shrink" % MUTANT)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = jsonl(tmp_path / "results" / "block-0.jsonl")
    assert any(x["verdict"] == "fail" for x in lines[1:]) and len(lines) == 11
    # ALICHAIN_JOB_STDOUT=1 (the ssh recipe): the same lines on stdout, failing seeds too
    r = run_job(tmp_path, ["0"], ALICHAIN_SIM=mutant_sim, ALICHAIN_BLOCK_SEEDS=10, ALICHAIN_JOB_STDOUT=1,
                ALICHAIN_SWARM_ARGS="--mutant %s --no-shrink" % MUTANT)
    assert r.returncode == 1 and r.stdout == (tmp_path / "results" / "block-0.jsonl").read_text(), r.stderr
    assert [x["seed"] for x in map(json.loads, r.stdout.splitlines()[1:])] == [x["seed"] for x in lines[1:]]


def test_job_script_copies_a_whole_block_to_stdout_and_the_blocks_merge(tmp_path):
    out = b""
    for k in range(3):
        r = run_job(tmp_path, [k], ALICHAIN_JOB_STDOUT=1)
        assert r.returncode == 0 and r.stderr.startswith("swarm-job: block %d of 3 seeds" % k), r.stderr
        assert r.stdout == (tmp_path / "results" / ("block-%d.jsonl" % k)).read_text()
        out += r.stdout.encode()
    (tmp_path / "blocks.jsonl").write_bytes(out)         # what GNU parallel prints, one job after another
    rep = report(tmp_path / "blocks.jsonl", "--first", 0, "--seeds", 9)
    assert rep.returncode == 0 and "seeds run: 9 seeds in 1 range: 0..8" in rep.stdout, rep.stdout
    # a job that could not run prints nothing on stdout
    r = run_job(tmp_path, ["9999999999999999999"], ALICHAIN_JOB_STDOUT=1)
    assert r.returncode == 2 and r.stdout == "", r.stdout


# ---------------------------------------------------------------- the shipped deploy files

SHIPPED_SEEDS = 10 ** 7   # what deploy/ runs as shipped: 1000 blocks of 10,000 seeds


def test_slurm_array_script_runs_the_job_script_unchanged(tmp_path):
    text = (REPO / "deploy" / "slurm-swarm.sh").read_text()
    array = re.search(r"^#SBATCH --array=0-(\d+)$", text, re.M)
    assert array and (int(array.group(1)) + 1) * 10000 == SHIPPED_SEEDS
    assert "ALICHAIN_BLOCK_SEEDS:-10000" in text
    # as Slurm runs it: a copy elsewhere, the repository in SLURM_SUBMIT_DIR
    copy = tmp_path / "spool" / "slurm_script"
    copy.parent.mkdir()
    copy.write_text(text)
    r = subprocess.run(["bash", str(copy)], cwd=tmp_path,
                       env=clean_env(SLURM_ARRAY_TASK_ID=2, SLURM_SUBMIT_DIR=REPO, ALICHAIN_SIM=SIM,
                                     ALICHAIN_RESULTS=tmp_path / "res", ALICHAIN_BLOCK_SEEDS=3),
                       capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert r.returncode == 0 and "index from SLURM_ARRAY_TASK_ID" in r.stdout, r.stdout + r.stderr
    assert block_seeds_of(tmp_path / "res" / "block-2.jsonl") == [6, 7, 8]


def test_kubernetes_indexed_job_runs_the_job_script_unchanged(tmp_path):
    import yaml   # python3-yaml (ci/install-deps.sh)
    job, claim = yaml.safe_load_all((REPO / "deploy" / "k8s-swarm-job.yaml").read_text())
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed" and claim["kind"] == "PersistentVolumeClaim"
    (c,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}   # POD_NAME: the downward API
    assert spec["completions"] * int(env["ALICHAIN_BLOCK_SEEDS"]) == SHIPPED_SEEDS
    assert c["command"] == ["/alichain/sim/swarm/swarm-job.sh"] and c["workingDir"] == "/alichain"
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert env["ALICHAIN_RESULTS"] in mounts
    # the pod's command, from the repository as the image has it at /alichain; fewer seeds, a
    # local volume (tests/engines/test_k8s_job.py runs it as PID 1 with the whole environment)
    env.update(ALICHAIN_BLOCK_SEEDS=3, ALICHAIN_RESULTS=tmp_path / "res", ALICHAIN_ATTEMPT="pod swarm-4-abcde")
    command = [str(REPO / c["command"][0][len("/alichain/"):])]
    r = subprocess.run(command, cwd=REPO, env=clean_env(JOB_COMPLETION_INDEX=4, ALICHAIN_SIM=SIM, **env),
                       capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert r.returncode == 0 and "index from JOB_COMPLETION_INDEX" in r.stdout, r.stdout + r.stderr
    assert block_seeds_of(tmp_path / "res" / "block-4.jsonl") == [12, 13, 14]


# ---------------------------------------------------------------- make swarm-parallel

def make_swarm(tmp_path, seeds, sim=SIM, block=10, jobs=2, results=None):
    return subprocess.run(["make", "--no-print-directory", "swarm-parallel", "SEEDS=%s" % seeds,
                           "JOBS=%s" % jobs, "SWARM_BLOCK_SEEDS=%s" % block, "SWARM_SIM=%s" % sim,
                           "SWARM_RESULTS=%s" % (results or tmp_path / "res")],
                          cwd=REPO, env=clean_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def test_make_swarm_parallel_quotes_the_results_path(tmp_path):
    """A results path with a space is one directory: the word before the space is another
    directory, and it is kept (the unquoted rm -rf of old deleted it)."""
    need_gnu_parallel()
    keep = tmp_path / "x" / "keep"
    keep.mkdir(parents=True)
    (keep / "precious.txt").write_text("data")
    results = "%s %s" % (keep, tmp_path / "x" / "res")
    r = make_swarm(tmp_path, 10, results=results)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (keep / "precious.txt").read_text() == "data"
    assert (pathlib.Path(results) / "block-0.jsonl").is_file()


def test_make_swarm_parallel_refuses_a_results_directory_of_other_files(tmp_path):
    need_gnu_parallel()
    res = tmp_path / "res"
    res.mkdir()
    (res / "block-notes.txt").write_text("mine")     # block-* but no block result
    (res / "thesis.tex").write_text("mine")
    r = make_swarm(tmp_path, 10)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "which is no block result: refusing to empty it" in r.stderr, r.stderr
    assert len([x for x in r.stderr.splitlines() if not x.startswith("make")]) == 1, r.stderr
    assert sorted(p.name for p in res.iterdir()) == ["block-notes.txt", "thesis.tex"]
    (tmp_path / "afile").write_text("mine")
    r = make_swarm(tmp_path, 10, results=tmp_path / "afile")
    assert r.returncode == 2 and "is not a directory" in r.stderr, r.stderr
    # a directory holding only an earlier run's blocks is emptied of them and reused
    old = tmp_path / "old"
    assert make_swarm(tmp_path, 20, results=old).returncode == 0
    r = make_swarm(tmp_path, 10, results=old)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.name for p in old.glob("block-*.jsonl")) == ["block-0.jsonl"]


@pytest.mark.parametrize("seeds, jobs, block, needle", [
    (10, 0, 10, "JOBS is not a whole number in 1.."),
    (10, 2, 0, "SWARM_BLOCK_SEEDS is not a whole number >= 1"),
    (0, 2, 10, "SEEDS is not a whole number >= 1"),
    (10, "2x", 10, "JOBS is not a whole number"),
    (10, 2, "1e3", "SWARM_BLOCK_SEEDS is not a whole number"),
])
def test_make_swarm_parallel_refuses_zero_and_non_numbers(tmp_path, seeds, jobs, block, needle):
    need_gnu_parallel()
    r = make_swarm(tmp_path, seeds, jobs=jobs, block=block)
    assert r.returncode == 2, r.stdout + r.stderr
    assert needle in r.stderr and "division" not in r.stderr, r.stderr
    assert not (tmp_path / "res").exists(), "nothing is created for a refused run"


def test_make_swarm_parallel_runs_the_blocks_and_merges(tmp_path):
    need_gnu_parallel()
    r = make_swarm(tmp_path, 25)   # rounds up to 3 whole blocks of 10
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 blocks of 10 seeds, 2 at a time" in r.stdout
    assert "seeds run: 30 seeds in 1 range: 0..29" in r.stdout and "report: PASS" in r.stdout
    assert "citation" not in r.stderr.lower(), r.stderr   # --will-cite
    assert sorted(p.name for p in (tmp_path / "res").glob("block-*.jsonl")) == \
        ["block-0.jsonl", "block-1.jsonl", "block-2.jsonl"]


def test_make_swarm_parallel_fails_when_a_block_is_lost(tmp_path):
    need_gnu_parallel()
    # a planted defect: an alichain-sim that dies on block 1 (a machine lost mid-night)
    broken = tmp_path / "broken-sim"
    broken.write_text('#!/bin/sh\ncase " $* " in *" --block 1 "*) exit 3;; esac\nexec %s "$@"\n' % SIM)
    broken.chmod(0o755)
    r = make_swarm(tmp_path, 30, sim=broken)
    assert r.returncode != 0, r.stdout
    assert "missing seeds: 10 seeds in 1 range: 10..19" in r.stdout and "report: DAMAGED" in r.stdout
