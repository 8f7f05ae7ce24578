# test_sim_scenarios.py — every scenario of sim/scenarios passes, twice with the same
# trace hash (determinism), documents what it shows, and the faults it enables really
# fire (no scenario passes with its faults silently off); since a scenario runs with its
# own seed, none (regressions included) accepts two exit codes for one operation.
import re

import pytest

from sim_helpers import SCENARIOS, faults, field, run_sim, scenario_files

FILES = scenario_files()
ALL_FILES = FILES + scenario_files(SCENARIOS / "regress")
MULTI_EXIT_RE = re.compile(r"^\s*expect\s+\S+\s+exit\s+\d+\s*,", re.M)

# a statement in a scenario -> the fault counter that must then be non-zero
FAULT_EVIDENCE = [
    (r"^(at \S+ +)?net udp\b.*\bloss 0*\.?0*[1-9]", "lost"),
    (r"^(at \S+ +)?net udp\b.*\bdup 0*\.?0*[1-9]", "duplicated"),
    (r"^(at \S+ +)?net udp\b.*\breorder 0*\.?0*[1-9]", "reordered"),
    (r"^(at \S+ +)?net tcp\b.*\bsegment 1\.\.", "split"),
    (r"^(at \S+ +)?net tcp\b.*\breset 0*\.?0*[1-9]", "resets"),
    (r"^at \S+ +crash ", "crashes"),
    (r"^at \S+ +restart ", "restarts"),
    (r"^at \S+ +pause ", "pauses"),
    (r"^at \S+ +(partition|isolate) ", "partitions"),
    (r"^at \S+ +isolate clients", "stalled"),
]


def test_there_are_at_least_twenty_scenarios():
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_passes_twice_with_the_same_trace(path):
    first = run_sim("run", path)
    second = run_sim("run", path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert field(first.stdout, "verdict") == "pass"
    assert second.returncode == 0
    hash1 = field(first.stdout, "trace-hash")
    assert re.fullmatch(r"[0-9a-f]{16}", hash1)
    assert hash1 == field(second.stdout, "trace-hash")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_says_what_it_shows(path):
    lines = path.read_text().splitlines()
    assert lines and lines[0].startswith("# "), "a scenario opens with a comment"
    assert re.match(r"# \d\d — ", lines[0]), "the comment names the scenario: '# NN — ...'"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_enabled_faults_fire(path):
    text = path.read_text()
    wanted = {counter for pattern, counter in FAULT_EVIDENCE if re.search(pattern, text, re.M)}
    if re.search(r"\btorn (1|0?\.\d*[1-9])", text) and "crash" in text:
        wanted.add("torn")
    run = run_sim("run", path)
    fired = faults(run.stdout)
    silent = sorted(c for c in wanted if fired.get(c, 0) == 0)
    assert not silent, "enabled but never fired: %s\n%s" % (silent, run.stdout)


def test_multi_exit_pattern_matches_what_it_must():
    assert MULTI_EXIT_RE.search("expect t1 exit 0,3\n")
    assert MULTI_EXIT_RE.search("expect t1 exit 0, 1\n")
    assert not MULTI_EXIT_RE.search("expect t1 exit 3\nexpect t1 stderr \"a, b\"\n")


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_each_operation_expects_one_exit_code(path):
    # a run is deterministic (one seed, fixed data), so "exit 0,3" cannot fail when the run
    # takes the other branch: it hides a fault that missed (issue #7, item 9)
    multi = [m.group(0) for m in MULTI_EXIT_RE.finditer(path.read_text())]
    assert not multi, "expect the one exit code the run has: %s" % multi


def test_every_fault_kind_and_operation_is_covered():
    text = "\n".join(p.read_text() for p in FILES)
    for needle in ["loss", "dup", "reorder", "segment", "reset", "crash", "restart", "pause",
                   "resume", "partition M", " -> M", "isolate", "heal", "recover", "torn",
                   "sync", "TXLIST", " stats", "client-timeout"]:
        assert needle in text, needle
    assert re.search(r"client[AB] \w+ \w+ \d+\s*$", text, re.M), "a transfer"
    assert re.search(r"client[AB] \w+\s*$", text, re.M), "a balance"


def test_all_scenarios_are_under_the_scenarios_directory():
    assert SCENARIOS.is_dir()
