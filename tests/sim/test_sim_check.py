# test_sim_check.py — `alichain-sim check DIR`: the block files judged together (README.md
# "Checking block files"). The sample is clean (exit 0); each planted problem is named
# (exit 1): a malformed line and a serial twice in one file with file:line, a serial in two
# files with both lines, a torn tail behind its backend's marker; gaps, a marker with
# nothing torn, a .torn file and a last line without newline are notes (exit 0); a
# missing directory or block file cannot be read (exit 2).
import shutil

import pytest

from sim_helpers import REPO, run_sim

SAMPLE = REPO / "data" / "sample"


def fnv1a(data):
    """core/blockfile.c's blockfile_hash, for a marker that matches."""
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


@pytest.fixture
def blocks(tmp_path):
    d = tmp_path / "blocks"
    d.mkdir()
    for i in (1, 2, 3):
        shutil.copy(SAMPLE / f"block{i}.txt", d / f"block{i}.txt")
    return d


def check(d):
    r = run_sim("check", d)
    return r.returncode, r.stdout.splitlines(), r.stderr


def test_sample_is_clean(blocks):
    rc, lines, err = check(blocks)
    assert (rc, err) == (0, ""), (lines, err)
    assert lines == ["check: 3 files, 9 transactions, largest serial 9: clean (0 problems, 0 notes)"]


def test_a_serial_in_two_files_is_named_with_both_lines(blocks):
    with open(blocks / "block2.txt", "a") as f:
        f.write("1 Racheal John 45\n")
    rc, lines, _ = check(blocks)
    assert rc == 1, lines
    assert any(l.startswith("problem: serial 1 is in both block1.txt:2 and block2.txt:4") for l in lines), lines


@pytest.mark.parametrize("line,why", [("7 Ali", "block3.txt:4: expected 4 fields"),
                                      ("4 Ben Victor 85", "block3.txt:4: duplicate serial 4"),
                                      ("10 Ali Luke 0012", "block3.txt:4: ")])
def test_a_line_the_backend_refuses_is_named(blocks, line, why):
    with open(blocks / "block3.txt", "a") as f:
        f.write(line + "\n")
    rc, lines, _ = check(blocks)
    assert rc == 1, lines
    assert any(l.startswith("problem: " + why) for l in lines), lines


def test_a_torn_tail_behind_a_marker_is_a_problem(blocks):
    p = blocks / "block1.txt"
    before = p.read_bytes()
    (blocks / "block1.txt.appended").write_text(f"alichain-appended 1 {len(before)} {fnv1a(before):016x}\n")
    p.write_bytes(before + b"10 Ali Luke 5\n11 Ali Lu")
    rc, lines, _ = check(blocks)
    assert rc == 1, lines
    assert any("block1.txt: a torn last line (9 bytes)" in l for l in lines), lines


def test_notes_are_not_problems(blocks):
    p = blocks / "block1.txt"
    before = p.read_bytes()
    (blocks / "block1.txt.appended").write_text(f"alichain-appended 1 {len(before)} {fnv1a(before):016x}\n")
    p.write_bytes(before + b"12 Ali Luke 5\n")            # serials 10..11 missing: a gap
    (blocks / "block2.txt.torn").write_text("13 Ali\n")
    (blocks / "block3.txt").write_bytes((blocks / "block3.txt").read_bytes().rstrip(b"\n"))
    rc, lines, _ = check(blocks)
    assert rc == 0, lines
    text = "\n".join(lines)
    assert "note: serials 10..11 are in no file (a gap)" in text
    assert "note: block1.txt.appended: its backend appended since its last clean stop" in text
    assert "note: block2.txt.torn holds 7 bytes" in text
    assert "note: block3.txt: the last line has no newline" in text
    assert lines[-1].endswith("clean (0 problems, 4 notes)"), lines


def test_what_cannot_be_read(blocks, tmp_path):
    r = run_sim("check", tmp_path / "nowhere")
    assert r.returncode == 2 and "not a directory" in r.stderr, r
    (blocks / "block2.txt").unlink()
    r = run_sim("check", blocks)
    assert r.returncode == 2 and "block2.txt: no such file" in r.stderr, r
    r = run_sim("check", "--help")
    assert r.returncode == 0 and "alichain-sim check DIR" in r.stdout
