# test_sim_cli.py — alichain-sim's command line: verdicts and exit codes, a wrong
# expectation fails, a checker violation prints checker, virtual time, seed and the
# command that reproduces it, traces (text and Chrome JSON), printing scenarios back,
# the swarm and the suite table, every refused argument (exit 2, one line naming it,
# nothing created), scenarios refused for repeated serials or a leading-zero amount, and
# the C unit tests of the simulator.
import json
import re
import subprocess

import pytest

from sim_helpers import BUILD_DIR, REPO, SCENARIOS, faults, field, run_sim

EXAMPLE = SCENARIOS / "01_worked_example.scn"


def scenario(tmp_path, body, name="s.scn"):
    sample = REPO / "data" / "sample"
    head = "".join("block %s file %s\n" % (b, sample / ("block%d.txt" % (i + 1)))
                   for i, b in enumerate("ABC"))
    p = tmp_path / name
    p.write_text(head + body)
    return p


def test_wrong_expectation_fails(tmp_path):
    p = scenario(tmp_path, "at 0ms b: clientA Chinmay\nrun until quiet max 10s\n"
                           "expect b stdout \"The current balance of \\\"Chinmay\\\" is : 1 alicoins.\"\n"
                           "expect balance Chinmay 881\n")
    r = run_sim("run", p)
    assert r.returncode == 1
    assert field(r.stdout, "verdict") == "fail"
    assert "expect failed: line 6:" in r.stdout
    assert "expect failed: line 7" not in r.stdout  # the true one holds


def test_wrong_exit_expectation_fails(tmp_path):
    p = scenario(tmp_path, "at 0ms b: clientA Nobody\nexpect b exit 0\n")
    r = run_sim("run", p)
    assert r.returncode == 1
    assert "b exited 1" in r.stdout


def test_violation_names_checker_time_seed_and_reproducer(tmp_path):
    # a liveness bound of 1 ms cannot be met: the liveness checker must fire
    p = scenario(tmp_path, "seed 7\nliveness 1ms\nat 0ms b: clientA Chinmay\n")
    r = run_sim("run", p)
    assert r.returncode == 1
    m = re.search(r"^violation: liveness at t=(\d+\.\d{6})s \(seed 7\): ", r.stdout, re.M)
    assert m, r.stdout
    assert float(m.group(1)) > 0
    assert "reproduce: alichain-sim run %s --seed 7" % p in r.stdout
    again = run_sim("run", p, "--seed", "7")
    assert field(again.stdout, "trace-hash") == field(r.stdout, "trace-hash")


def test_seed_option_overrides_the_scenario(tmp_path):
    p = scenario(tmp_path, "seed 1\nnet udp loss 0.3 delay 1ms..20ms\n"
                           "at 0ms a: clientA Chinmay\nat 0ms b: clientB Luke 5 stats\n"
                           "at 0ms c: clientB Luke Ali 3\n")
    r1 = run_sim("run", p, "--seed", "1")
    r2 = run_sim("run", p, "--seed", "2")
    assert field(r1.stdout, "seed") == "1" and field(r2.stdout, "seed") == "2"
    assert field(r1.stdout, "trace-hash") != field(r2.stdout, "trace-hash")


def test_usage_and_scenario_errors_exit_2(tmp_path):
    assert run_sim().returncode == 2
    assert run_sim("frobnicate").returncode == 2
    assert run_sim("run").returncode == 2
    bad = tmp_path / "bad.scn"
    bad.write_text("seed 1\nat soon clientA Ann\n")
    r = run_sim("run", bad)
    assert r.returncode == 2
    assert "line 2: bad time" in r.stderr
    assert run_sim("run", tmp_path / "missing.scn").returncode == 2
    refused = scenario(tmp_path, "", name="r.scn")
    refused.write_text("block A raw \"1 Ann Bob 5\\n1 Ann Bob 5\\n\"\n")
    r = run_sim("run", refused)
    assert r.returncode == 2
    assert "block1.txt:2" in r.stderr


def test_control_characters_are_escaped_in_error_lines(tmp_path):
    # an argument or a scenario line echoed back cannot drive the terminal (issue 17 item 8)
    r = run_sim("swarm", "--seeds", "1\x1b[31mx")
    assert r.returncode == 2 and '"1\\x1b[31mx"' in r.stderr and "\x1b" not in r.stderr, r.stderr
    bad = tmp_path / "ctl.scn"
    bad.write_bytes(b"seed 1\nfoo\x07\x1b[2J bar\n")
    r = run_sim("run", bad)
    assert r.returncode == 2 and "foo\\x07\\x1b[2J" in r.stderr, r.stderr
    assert not any(ord(c) < 0x20 for c in r.stderr.replace("\n", "")), r.stderr


def test_this_build_has_no_mutants():
    r = run_sim("run", EXAMPLE, "--mutant", "no-fencing")
    assert r.returncode == 2
    assert "alichain-sim-mutants" in r.stderr


def test_text_and_json_traces(tmp_path):
    text, js = tmp_path / "t.txt", tmp_path / "t.json"
    r = run_sim("run", SCENARIOS / "07_udp_loss.scn", "--trace", text, "--trace-json", js)
    assert r.returncode == 0
    lines = text.read_text().splitlines()
    assert len(lines) > 100
    assert all(re.match(r"\d+\.\d{6} \S+ +\S+", l) for l in lines[:-1])
    assert lines[-1] == "# trace-hash: " + field(r.stdout, "trace-hash")
    assert any(" lost " in l for l in lines)
    doc = json.loads(js.read_text())
    events = doc["traceEvents"]
    names = {e["args"]["name"] for e in events if e.get("ph") == "M" and e["name"] == "thread_name"}
    assert {"serverM", "serverA", "serverB", "serverC", "t1"} <= names
    starts = {e["id"] for e in events if e["ph"] == "s"}
    ends = {e["id"] for e in events if e["ph"] == "f"}
    assert ends and ends <= starts  # every arrow that lands was sent
    assert any(e["ph"] == "X" and e["name"] == "stdout" for e in events)
    # slices of one track never overlap (Perfetto requires proper nesting)
    by_tid = {}
    for e in events:
        if e["ph"] == "X":
            by_tid.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_tid.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_traces_do_not_change_the_run(tmp_path):
    plain = run_sim("run", EXAMPLE)
    traced = run_sim("run", EXAMPLE, "--trace", tmp_path / "x.txt")
    assert field(plain.stdout, "trace-hash") == field(traced.stdout, "trace-hash")


def test_verbose_shows_the_clients_output():
    r = run_sim("run", EXAMPLE, "-v")
    assert 'stdout: The current balance of "Chinmay" is : 881 alicoins.' in r.stdout
    assert re.search(r"^op tx: clientA Chinmay Luke 20 +\[.*\] exit 0$", r.stdout, re.M)


def test_print_round_trips(tmp_path):
    for path in sorted(SCENARIOS.glob("*.scn")):
        first = run_sim("print", path)
        assert first.returncode == 0, first.stderr
        p = tmp_path / path.name
        p.write_text(first.stdout)
        second = run_sim("print", p)
        assert second.stdout == first.stdout, path.name
        assert field(run_sim("run", p).stdout, "trace-hash") == \
            field(run_sim("run", path).stdout, "trace-hash"), path.name


def test_gen_prints_the_swarm_scenario_that_runs(tmp_path):
    r = run_sim("gen", 42)
    assert r.returncode == 0
    p = tmp_path / "g.scn"
    p.write_text(r.stdout)
    run = run_sim("run", p)
    assert run.returncode in (0, 1)
    assert field(run.stdout, "seed") == "42"


def test_short_swarm_passes():
    r = run_sim("swarm", "--seeds", 30, "--first", 1, "--out", "build/sim-failures")
    assert r.returncode == 0, r.stdout
    assert "swarm: 30 seeds, 0 failed" in r.stdout
    assert re.search(r"faults fired: .*crashes=\d+", r.stdout)


def test_swarm_reaches_group_commit():
    """The swarm's faults reach both ends of group commit (PROTOCOL.md 3.3): batches that
    fetched ahead and caught up with the batch before, and ones thrown away because a write
    of that batch was refused or in doubt; a feature the swarm never reaches, it never
    checks."""
    r = run_sim("swarm", "--seeds", 1000, "--first", 1, "--out", "build/sim-failures")
    assert r.returncode == 0, r.stdout
    m = re.search(r"group commit: batches ahead=(\d+), transfers caught up=(\d+), discarded=(\d+)",
                  r.stdout)
    assert m, r.stdout
    ahead, caught_up, discarded = (int(x) for x in m.groups())
    assert ahead > 0 and caught_up > 0 and discarded > 0, m.group(0)


def test_swarm_needs_seeds():
    assert run_sim("swarm").returncode == 2


def test_suite_prints_a_row_per_scenario_and_the_speed():
    r = run_sim("suite", SCENARIOS, "--swarm", 20, "--out", "build/sim-failures")
    assert r.returncode == 0, r.stdout
    rows = [l for l in r.stdout.splitlines() if l.startswith(str(SCENARIOS))]
    assert len(rows) == len(list(SCENARIOS.glob("*.scn")))
    assert all(re.search(r" pass +\d+\.\d{3}s +\d+\.\d{3}s  \S", l) for l in rows)
    assert re.search(r"^speed .* events/s; .* time compression$", r.stdout, re.M)
    assert "swarm: 20 seeds, 0 failed" in r.stdout


def test_fault_report_lists_every_counter():
    r = run_sim("run", SCENARIOS / "19_recover_after_chaos.scn")
    f = faults(r.stdout)
    for name in ["dgrams", "lost", "duplicated", "reordered", "cut", "to-down", "split", "resets",
                 "stalled", "crashes", "restarts", "pauses", "partitions", "torn", "unsynced", "nospace", "eio",
                 "forged", "replayed"]:
        assert name in f
    assert f["crashes"] == 1 and f["pauses"] == 1 and f["lost"] > 0


# ---- refusals: exit 2, one stderr line naming the argument, nothing created --------------
def refusal_cases(tmp):
    ex = str(EXAMPLE)
    a_file = tmp / "a_file"
    a_file.write_text("x")
    return [
        ([], "missing a command"),
        (["frobnicate"], '"frobnicate"'),
        (["run"], "run needs a FILE"),
        (["run", ex, "extra"], '"extra"'),
        (["run", ex, "--seed", "18446744073709551616"], "--seed"),
        (["run", ex, "--seed", "-1"], "--seed"),
        (["run", ex, "--seed", " 5"], "--seed"),
        (["run", ex, "--seed", ""], "--seed"),
        (["run", ex, "--seed"], "--seed needs a value"),
        (["run", ex, "--seed", "1", "--seed", "2"], "--seed is given twice"),
        (["run", ex, "--trace", str(tmp / "nodir" / "t.txt")], "--trace"),
        (["run", ex, "--trace", str(tmp)], "--trace"),
        (["run", ex, "--trace-json", str(tmp / "nodir" / "t.json")], "--trace-json"),
        (["run", ex, "--trace", str(tmp / "t"), "--trace-json", str(tmp / "t")], "same file"),
        (["run", ex, "--seeds", "5"], "--seeds does not apply to run"),
        (["run", ex, "--bogus"], '"--bogus"'),
        (["run", ex, "-v=1"], "-v takes no value"),
        (["run", str(tmp)], "Is a directory"),
        (["run", "--", "-v"], "-v"),
        (["print", ex, "--trace", str(tmp / "t.txt")], "--trace does not apply to print"),
        (["swarm"], "swarm needs --seeds"),
        (["swarm", "--seeds", "0"], "--seeds"),
        (["swarm", "--seeds", "x"], "--seeds"),
        (["swarm", "--seeds", "2", "--first", "18446744073709551615"], "--first"),
        (["swarm", "--seeds", "1", "--out", str(a_file / "x")], "--out"),
        (["swarm", "--seeds", "1", "extra"], '"extra"'),
        (["suite", str(tmp / "missing")], "missing"),
        (["suite", str(a_file)], "a_file"),
        (["suite", "--swarm", "x"], "--swarm"),
        (["gen"], "gen needs a SEED"),
        (["gen", "18446744073709551616"], "SEED"),
        (["gen", "1", "2"], '"2"'),
        (["gen", "1", "--seed", "2"], "--seed does not apply to gen"),
    ]


def test_every_refused_argument_is_one_line_naming_it(tmp_path):
    tmp = tmp_path / "w"
    tmp.mkdir()
    for args, named in refusal_cases(tmp):
        before = sorted(tmp.rglob("*"))
        r = run_sim(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stdout == "", (args, r.stdout)
        lines = r.stderr.splitlines()
        assert len(lines) == 1, (args, r.stderr)
        assert named in lines[0], (args, named, lines[0])
        assert sorted(tmp.rglob("*")) == before, (args, "created files")


def test_double_dash_ends_the_options(tmp_path):
    scenario(tmp_path, "at 0ms a: clientA Chinmay\nexpect a exit 0\n", name="-v")
    r = run_sim("run", "--", "-v", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert field(r.stdout, "scenario") == "-v"
    assert "stdout: " not in r.stdout  # -v was the file, not --verbose


def test_help_of_a_command_exits_0():
    r = run_sim("run", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: alichain-sim")


@pytest.mark.parametrize("blocks,named", [
    ("block A 1 Ann Bob 5\nblock B 2 Bob Ann 1\nblock C 1 Cy Ann 3\n",
     "line 3: initial blocks repeat serial 1: block1.txt:1 and block3.txt:1"),
    ("block A raw \"7 Ann Bob 5\\n\\n7 Ann Bob 5\\n\"\n",
     "line 1: initial blocks repeat serial 7: block1.txt:1 and block1.txt:3"),
])
def test_scenario_repeating_a_serial_is_refused(tmp_path, blocks, named):
    p = tmp_path / "dup.scn"
    p.write_text(blocks + "at 0ms a: clientA Ann\n")
    trace = tmp_path / "t.txt"
    r = run_sim("run", p, "--trace", trace)
    assert r.returncode == 2, r.stdout
    assert r.stdout == "" and named in r.stderr, r.stderr
    assert not trace.exists()


def test_amount_with_leading_zero_refused_in_scenarios(tmp_path):
    p = tmp_path / "b.scn"
    p.write_text("block A 1 Ann Bob 0012\nat 0ms a: clientA Ann\n")
    r = run_sim("run", p)
    assert r.returncode == 2
    assert "block1.txt:1: amount with a leading zero" in r.stderr, r.stderr
    p = scenario(tmp_path, "at 0ms a: clientA Chinmay Luke 0012\nexpect a exit 2\n"
                           "expect a stderr \"invalid amount \\\"0012\\\"\"\n"
                           "at 0ms b: clientA Chinmay Luke 12\nexpect b exit 0\n", name="c.scn")
    r = run_sim("run", p)
    assert r.returncode == 0, r.stdout


def test_mutant_list_needs_no_other_argument():
    # sim/swarm/mutants.sh iterates over this list: it must not be refused for lacking a FILE
    r = run_sim("run", "--mutant", "list")
    assert r.returncode == 0, r.stderr
    assert "no-fencing" in r.stdout.split()


# compare --generated's generator profile (gen_limits_real; docs/REAL.md "Generated scenarios,
# both ways"): only faults real hosts produce, on 120 ms slot boundaries, each operation alone
# in the middle of its slot; the simulator passes them all.
REAL_SLOT_MS = 120
REAL_FAULT_WORDS = ("crash", "restart", "pause", "resume", "partition", "heal", "recover")


def at_ms(word):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(us|ms|s)", word)
    assert m, word
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def test_gen_real_profile_keeps_to_real_faults_and_slots(tmp_path):
    for seed in range(60):
        r = run_sim("gen", seed, "--real")
        assert r.returncode == 0, r.stderr
        text = r.stdout
        assert not re.search(r"\btcp\b|\bdisk\b|\bfile\b|torn|half|keepalive|session|\bset\b", text), text
        op_times = []
        for line in text.splitlines():
            if not line.startswith("at "):
                continue
            words = line.split()
            t = at_ms(words[1])
            if re.fullmatch(r"o\d+:", words[2]):
                assert round(t) % REAL_SLOT_MS == REAL_SLOT_MS // 2, line
                op_times.append(t)
            else:
                assert words[2] in REAL_FAULT_WORDS, line
                assert round(t) % REAL_SLOT_MS == 0, line
        assert op_times and len(set(op_times)) == len(op_times), text
        path = tmp_path / f"real-{seed}.scn"
        path.write_text(text)
        run = run_sim("run", path)
        assert run.returncode == 0 and "verdict: pass" in run.stdout, (seed, run.stdout[-2000:])


def test_compare_generated_arguments(tmp_path):
    r = run_sim("compare", EXAMPLE, "--seeds", 3)
    assert r.returncode == 2 and "go with --generated" in r.stderr
    r = run_sim("compare", "--generated", EXAMPLE, "--seeds", 3)
    assert r.returncode == 2 and "unexpected argument" in r.stderr
    r = run_sim("compare", "--generated")
    assert r.returncode == 2 and "needs --seeds N" in r.stderr
    r = run_sim("compare", "--generated", "--seeds", 1, "--net", "loopback")
    assert r.returncode == 2 and "needs namespace hosts" in r.stderr
    assert run_sim("gen", 5, "--real").stdout == run_sim("gen", 5, "--real").stdout
    assert run_sim("gen", 5, "--real").stdout != run_sim("gen", 5).stdout
