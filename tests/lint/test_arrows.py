# test_arrows.py — shows ci/arrows.sh (part of `make lint`) fires: on a copy of the tree with
# one offence planted at a time — a back-arrow between rooms (judge including world, world
# including real, net including the harness), a room nobody gave arrows, a library source
# missing from sim/lib.sources, a main() in a listed file — it exits 1 naming the file and
# the rule, and the clean copy passes.
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARROWS = ROOT / "ci" / "arrows.sh"
TIMEOUT_S = 120  # a hang guard on a shared machine, not a timing assertion


@pytest.fixture
def tree(tmp_path):
    """A copy of the directories ci/arrows.sh reads, which the test may plant in."""
    for d in ("core", "sim", "net", "bench", "fuzz"):
        shutil.copytree(ROOT / d, tmp_path / d, ignore=shutil.ignore_patterns("corpus", "regress"))
    return tmp_path


def run_arrows(root):
    proc = subprocess.run(["bash", str(ARROWS), str(root)], capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    return proc.returncode, proc.stdout + proc.stderr


def append(path, text):
    path.write_text(path.read_text() + text)


def test_the_clean_copy_passes(tree):
    rc, out = run_arrows(tree)
    assert rc == 0, out
    assert "follows the rooms' arrows" in out


@pytest.mark.parametrize("room_file, include, message", [
    ("sim/judge/check.c", "world/world.h", "judge may not include world"),
    ("sim/world/world.c", "real/real.h", "world may not include real"),
    ("sim/scenario/gen.c", "judge/judge.h", "scenario may not include judge"),
    ("sim/hosts/relay.c", "real/realnet.h", "hosts may not include real"),
    ("sim/swarm/report.c", "cmd/nothing.h", "not a room"),
    ("net/loop.c", "proc/proc.h", "net may not include proc"),
    ("bench/bench.c", "world/sim.h", "bench may not include world"),
])
def test_a_back_arrow_is_refused(tree, room_file, include, message):
    if include.startswith("cmd/"):
        (tree / "sim" / "cmd" / "nothing.h").write_text("/* planted */\n")
        message = "swarm may not include cmd"
    append(tree / room_file, f'\n#include "{include}"\n')
    rc, out = run_arrows(tree)
    assert rc == 1, out
    assert f'{room_file}:' in out and message in out, out


def test_a_climb_out_of_the_room_is_refused(tree):
    append(tree / "sim/judge/history.c", '\n#include "../world/world.h"\n')
    rc, out = run_arrows(tree)
    assert rc == 1 and "climbs out of its room" in out, out


def test_a_bare_include_of_another_rooms_header_is_refused(tree):
    append(tree / "sim/swarm/suite.c", '\n#include "judge.h"\n')
    rc, out = run_arrows(tree)
    assert rc == 1 and 'sim/swarm/suite.c' in out and 'another room\'s header is "room/judge.h"' in out, out


def test_a_room_without_arrows_is_refused(tree):
    (tree / "sim" / "disks").mkdir()
    rc, out = run_arrows(tree)
    assert rc == 1 and "sim/disks/: a room without arrows" in out, out


def test_a_library_source_missing_from_the_list_is_refused(tree):
    (tree / "sim" / "world" / "planted.c").write_text("int planted(void);\nint planted(void) { return 1; }\n")
    rc, out = run_arrows(tree)
    assert rc == 1 and "sim/world/planted.c is not listed" in out, out


def test_a_main_in_the_library_is_refused(tree):
    append(tree / "sim/hosts/netns.c", "\nint main(void) { return 0; }\n")
    rc, out = run_arrows(tree)
    assert rc == 1 and "sim/hosts/netns.c defines main()" in out, out


def test_a_listed_file_that_is_gone_is_refused(tree):
    (tree / "sim" / "swarm" / "report.c").unlink()
    rc, out = run_arrows(tree)
    assert rc == 1 and "sim/swarm/report.c does not exist" in out, out
