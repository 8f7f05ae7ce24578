# test_report_trust.py — a report to trust when many machines ran the blocks (issue 18, item
# 4; docs/SCALING.md "Merging and triage"): results of two commits refused unless asked, a
# file cut at a line boundary named, host and attempt recorded per block by the job script and
# shown beside each failure, the shrunk reproducers carried inside the JSON lines (written out
# by `report --out DIR`), and recipes that start from an empty results directory.
import re
import subprocess

from sim_helpers import REPO, RUN_TIMEOUT_S, SIM, run_sim
from test_scaling import MUTANT, clean_env, jsonl, mutant_sim, report, run_job  # noqa: F401 (fixture)

DOC = REPO / "docs" / "SCALING.md"


def block(tmp_path, name, index, seeds=3, commit=None, sim=SIM, extra=()):
    """One block's JSON lines, as the swarm writes them (commit: $ALICHAIN_COMMIT)."""
    out = tmp_path / name
    env = clean_env(**({"ALICHAIN_COMMIT": commit} if commit else {}))
    r = subprocess.run([str(sim), "swarm", "--block", str(index), "--block-seeds", str(seeds),
                        "--jsonl", str(out), "--out", str(tmp_path / ("failures-%d" % index)), *extra],
                       env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return out


# ---------------------------------------------------------------- mixed commits

def test_blocks_of_two_commits_are_refused_unless_allow_mixed(tmp_path):
    a = block(tmp_path, "a.jsonl", 0, commit="aaaaaaaaaaaa")
    b = block(tmp_path, "b.jsonl", 1, commit="bbbbbbbbbbbb")
    r = report(a, b, "--first", 0, "--seeds", 6)
    assert r.returncode == 2, r.stdout
    assert "commit: aaaaaaaaaaaa (3 seeds)" in r.stdout and "commit: bbbbbbbbbbbb (3 seeds)" in r.stdout
    assert "damaged: the results come from more than one commit" in r.stdout
    assert "report: DAMAGED: mixed commits" in r.stdout
    r = report(a, b, "--first", 0, "--seeds", 6, "--allow-mixed")
    assert r.returncode == 0, r.stdout
    assert "warning: the results come from more than one commit (--allow-mixed)" in r.stdout
    # one commit merges as before, with or without the option
    c = block(tmp_path, "c.jsonl", 1, commit="aaaaaaaaaaaa")
    assert report(a, c).returncode == 0
    assert report(a, c, "--allow-mixed").returncode == 0


def test_a_block_of_another_commit_counts_even_with_no_seed_line(tmp_path):
    a = block(tmp_path, "a.jsonl", 0, commit="aaaaaaaaaaaa")
    b = block(tmp_path, "b.jsonl", 1, commit="bbbbbbbbbbbb")
    head = tmp_path / "head.jsonl"
    head.write_text(b.read_text().splitlines(keepends=True)[0])
    r = report(a, head, "--allow-mixed")
    assert r.returncode == 2 and "commit: bbbbbbbbbbbb (0 seeds)" in r.stdout, r.stdout


# ---------------------------------------------------------------- short files

def test_a_file_cut_at_every_line_boundary_is_named(tmp_path):
    whole = block(tmp_path, "whole.jsonl", 0, seeds=5)
    other = block(tmp_path, "other.jsonl", 1, seeds=5)
    lines = whole.read_text().splitlines(keepends=True)
    assert len(lines) == 6
    cut = tmp_path / "cut.jsonl"
    for keep in range(1, len(lines)):
        cut.write_text("".join(lines[:keep]))
        r = report(cut, other)   # no --first/--seeds: the run lines alone must tell
        assert r.returncode == 2, r.stdout
        assert re.search(r"^damaged: %s:1: short: the run line declares seeds 0\.\.4" % re.escape(str(cut)),
                         r.stdout, re.M), (keep, r.stdout)
        assert "short files: 1" in r.stdout
    cut.write_text("".join(lines))
    assert report(cut, other).returncode == 0


def test_a_short_run_inside_a_concatenated_stream_is_named_at_its_run_line(tmp_path):
    a = block(tmp_path, "a.jsonl", 0, seeds=4).read_text().splitlines(keepends=True)
    b = block(tmp_path, "b.jsonl", 1, seeds=4).read_text()
    stream = tmp_path / "all.jsonl"
    stream.write_text("".join(a[:3]) + b)   # block 0 lost its last two seeds mid-stream
    r = report(stream)
    assert r.returncode == 2, r.stdout
    assert "damaged: %s:1: short: the run line declares seeds 0..3, 2 of 4 seed lines follow, the last for seed 1" \
        % stream in r.stdout
    assert "%s:4: short" % stream not in r.stdout


# ---------------------------------------------------------------- host and attempt

def origin(path):
    run = jsonl(path)[0]
    return run.get("host"), run.get("attempt")


def test_job_script_records_host_and_attempt_in_the_run_line(tmp_path):
    uname = subprocess.run(["uname", "-n"], capture_output=True, text=True).stdout.strip()
    res = tmp_path / "results"
    assert run_job(tmp_path, ["0"]).returncode == 0
    host, attempt = origin(res / "block-0.jsonl")
    assert host == uname and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ pid \d+", attempt), attempt
    assert run_job(tmp_path, SLURM_ARRAY_TASK_ID=1, SLURM_JOB_ID=4242, SLURM_RESTART_COUNT=2).returncode == 0
    assert origin(res / "block-1.jsonl") == (uname, "slurm job 4242 restart 2")
    assert run_job(tmp_path, JOB_COMPLETION_INDEX=2, HOSTNAME="alichain-swarm-2-x7k2p").returncode == 0
    assert origin(res / "block-2.jsonl") == (uname, "pod alichain-swarm-2-x7k2p")
    r = run_job(tmp_path, ["3"], ALICHAIN_HOST="node-9", ALICHAIN_ATTEMPT="retry 2")
    assert r.returncode == 0 and "on node-9, attempt retry 2" in r.stdout, r.stdout
    assert origin(res / "block-3.jsonl") == ("node-9", "retry 2")
    # every seed line is unchanged: the origin is the run line's
    assert all("host" not in x and "attempt" not in x for x in jsonl(res / "block-3.jsonl")[1:])


def test_report_shows_host_and_attempt_for_each_failure_and_short_file(tmp_path, mutant_sim):
    r = run_job(tmp_path, ["0"], ALICHAIN_SIM=mutant_sim, ALICHAIN_BLOCK_SEEDS=10, ALICHAIN_HOST="node-3",
                ALICHAIN_ATTEMPT="try 1", ALICHAIN_SWARM_ARGS="--mutant %s --no-shrink" % MUTANT)
    assert r.returncode == 1, r.stdout + r.stderr
    out = tmp_path / "results" / "block-0.jsonl"
    rep = report(out)
    assert rep.returncode == 1, rep.stdout
    groups = re.findall(r"^  \[\d+\] .*\n      seeds: (\d+)", rep.stdout, re.M)
    assert groups, rep.stdout
    lines = out.read_text().splitlines()
    for low in groups:
        no = next(i + 1 for i, x in enumerate(lines) if '"seed":%s,' % low in x)
        assert "      seed %s ran on: node-3, attempt try 1 (%s:%d)" % (low, out, no) in rep.stdout, rep.stdout
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:4]) + "\n")
    rep = report(cut)
    assert rep.returncode == 2 and "(ran on node-3, attempt try 1)" in rep.stdout, rep.stdout


# ---------------------------------------------------------------- reproducers carried

def test_failing_seeds_carry_their_reproducer_back_with_the_results(tmp_path, mutant_sim):
    r = run_job(tmp_path, ["0"], ALICHAIN_SIM=mutant_sim, ALICHAIN_BLOCK_SEEDS=6,
                ALICHAIN_SWARM_ARGS="--mutant %s" % MUTANT)
    assert r.returncode == 1, r.stdout + r.stderr
    results = tmp_path / "results"
    failed = [x for x in jsonl(results / "block-0.jsonl")[1:] if x["verdict"] == "fail"]
    assert failed
    written = {}
    for x in failed:
        assert x["reproducer"], x
        text = (tmp_path / x["reproducer"]).read_text() if not x["reproducer"].startswith("/") \
            else open(x["reproducer"]).read()
        assert x["scenario"] == text          # the very file the swarm wrote, in the line
        written[x["seed"]] = text
    assert all("scenario" not in x for x in jsonl(results / "block-0.jsonl")[1:] if x["verdict"] == "pass")
    # only the JSON lines come back (GNU parallel --return): the failures-K/ stay behind
    back = tmp_path / "back"
    back.mkdir()
    (back / "block-0.jsonl").write_bytes((results / "block-0.jsonl").read_bytes())
    rep = report(back / "block-0.jsonl", "--out", tmp_path / "triage" / "scn")
    assert rep.returncode == 1, rep.stdout
    assert "scenarios carried: %d failing seeds; %d written into %s" % (
        len(failed), len(failed), tmp_path / "triage" / "scn") in rep.stdout, rep.stdout
    for seed, text in written.items():
        got = tmp_path / "triage" / "scn" / ("seed-%d.scn" % seed)
        assert got.read_text() == text
    low = min(written)
    assert "shrunk scenario, carried in the JSON lines: %s" % (tmp_path / "triage" / "scn" / ("seed-%d.scn" % low)) \
        in rep.stdout
    # and it reproduces where it came back to
    run = subprocess.run([str(mutant_sim), "run", str(tmp_path / "triage" / "scn" / ("seed-%d.scn" % low)),
                          "--mutant", MUTANT], capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert run.returncode == 1 and "verdict: fail" in run.stdout, run.stdout + run.stderr
    # without --out the report says they are there
    rep = report(back / "block-0.jsonl")
    assert "scenarios carried: %d failing seeds (report --out DIR writes them out)" % len(failed) in rep.stdout


def test_report_out_that_cannot_be_written_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    r = run_sim("report", "x.jsonl", "--out", f / "sub")
    assert r.returncode == 2 and "--out" in r.stderr, r.stderr


# ---------------------------------------------------------------- the recipes

def code_blocks(text):
    return re.findall(r"^```\n(.*?)^```$", text, re.M | re.S)


def test_recipes_start_from_an_empty_results_directory():
    """Old blocks in results/ would fill the holes of a new run without a word: every recipe
    that submits blocks empties it first (make swarm-parallel empties its own)."""
    blocks = code_blocks(DOC.read_text())
    submits = [b for b in blocks if re.search(r"--sshloginfile|^sbatch ", b, re.M)]
    assert len(submits) >= 2, "the ssh and Slurm recipes are not in docs/SCALING.md"
    for b in submits:
        first = b.strip().splitlines()[0]
        assert first.startswith("rm -rf results && mkdir results"), b
    header = (REPO / "deploy" / "slurm-swarm.sh").read_text()
    assert "rm -rf results && sbatch deploy/slurm-swarm.sh" in header
    assert "--seeds 10000000 results/block" not in header.split("#SBATCH")[-1]   # no 10^7 in the code
