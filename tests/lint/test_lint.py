# test_lint.py — shows ci/lint.sh fires: on a copy of core/ with one impurity planted at a
# time (a call to fgetc, a call to remove, a quoted include of net/sock.h) it exits 1 naming
# it, and the clean copy passes. Also shows the build guards of issue #7 item 6 fire:
# core/common.h refuses NDEBUG, every net main refuses ALICHAIN_MUTANTS, and the one
# mutants build (make sim-mutants) compiles no net/ file.
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = ROOT / "ci" / "lint.sh"
CC = os.environ.get("CC", "gcc")
CPPFLAGS = ["-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE", "-std=c11"]
LINT_TIMEOUT_S = 300  # a hang guard on a shared machine, not a timing assertion


def run_lint(directory):
    """Runs ci/lint.sh on directory; returns (exit code, stdout + stderr)."""
    proc = subprocess.run(["bash", str(LINT), str(directory)], capture_output=True, text=True,
                          timeout=LINT_TIMEOUT_S)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def core_copy(tmp_path):
    """A fresh copy of core/ in tmp_path/core (the test owns it and may plant in it)."""
    dest = tmp_path / "core"
    shutil.copytree(ROOT / "core", dest)
    return dest


def plant_and_lint(core_copy, name, expected, *, top="", bottom=""):
    """Adds top before the first line and bottom after the last line of core_copy/name,
    runs the lint on core_copy, asserts it exits 1 with expected in its output; returns
    that output."""
    path = core_copy / name
    path.write_text(top + path.read_text() + bottom)
    rc, out = run_lint(core_copy)
    assert rc == 1, out
    assert expected in out, out
    return out


def test_the_clean_copy_passes(core_copy):
    rc, out = run_lint(core_copy)
    assert rc == 0, out
    assert "is pure" in out


def test_a_call_to_fgetc_is_refused_by_symbol(core_copy):
    # fgetc is not among the source greps: only the nm -u check can see it.
    out = plant_and_lint(core_copy, "tx.c", "core/tx.c calls fgetc", top="#include <stdio.h>\n",
                         bottom="int lint_plant_fgetc(FILE *f);\n"
                                "int lint_plant_fgetc(FILE *f) { return fgetc(f); }\n")
    assert "not a pure libc function" in out


def test_a_call_to_remove_in_an_unused_static_function_is_refused(core_copy):
    # A function nobody calls: an optimising build would drop it and the call with it.
    plant_and_lint(core_copy, "ledger.c", "core/ledger.c calls remove", top="#include <stdio.h>\n",
                   bottom="static int lint_plant_remove(const char *p) { return remove(p); }\n")


def test_a_call_only_in_the_mutants_build_is_refused(core_copy):
    out = plant_and_lint(core_copy, "prng.c", "core/prng.c calls rename", top="#include <stdio.h>\n",
                         bottom="#if defined(ALICHAIN_MUTANTS)\nint lint_plant_rename(void);\n"
                                "int lint_plant_rename(void) { return rename(\"a\", \"b\"); }\n"
                                "#endif\n")
    assert "/mutants/prng.o" in out


@pytest.mark.parametrize("include", ['"../net/sock.h"', '"sock.h"', '"net/sock.h"'])
def test_a_quoted_include_of_net_sock_h_is_refused(core_copy, include):
    plant_and_lint(core_copy, "wire.c", f"core/wire.c:1: lint: #include {include}",
                   top=f"#include {include}\n")


def test_a_header_that_resolves_outside_core_is_refused(core_copy):
    # net/sock.h present next to the copy, so the include compiles: what the compiler read
    # is checked too, not only the text of the line.
    net = core_copy.parent / "net"
    net.mkdir()
    shutil.copy(ROOT / "net" / "sock.h", net / "sock.h")
    plant_and_lint(core_copy, "outbox.c", f"core/outbox.c reads {(net / 'sock.h').resolve()}",
                   top='#include "../net/sock.h"\n')


def test_a_macro_include_is_checked_by_what_the_compiler_read(core_copy):
    # The text check cannot see through a macro; the compiler's list of headers can.
    net = core_copy.parent / "net"
    net.mkdir()
    shutil.copy(ROOT / "net" / "sock.h", net / "sock.h")
    out = plant_and_lint(core_copy, "outbox.c", "core/outbox.c reads",
                         top='#define LINT_PLANT "../net/sock.h"\n#include LINT_PLANT\n')
    assert "net/sock.h, outside" in out
    assert "#include \"" not in out


def syntax_check(source, *defines, stdin=None):
    """Compiles source (a path, or '-' with stdin) with -fsyntax-only; returns (rc, stderr)."""
    cmd = [CC, "-fsyntax-only", *CPPFLAGS, "-I" + str(ROOT / "core"), "-I" + str(ROOT / "net"),
           *["-D" + d for d in defines]]
    if stdin is not None:
        cmd += ["-x", "c"]
    proc = subprocess.run(cmd + [str(source)], input=stdin, capture_output=True, text=True,
                          timeout=LINT_TIMEOUT_S)
    return proc.returncode, proc.stderr


def test_common_h_refuses_ndebug():
    rc, err = syntax_check("-", stdin='#include "common.h"\n')
    assert rc == 0, err
    rc, err = syntax_check("-", "NDEBUG", stdin='#include "common.h"\n')
    assert rc != 0
    assert "NDEBUG is defined" in err


def test_every_core_file_with_assertions_refuses_ndebug():
    words = ("assert(", "AC_ASSERT(", "ALWAYS(", "NEVER(")
    users = [p for p in sorted((ROOT / "core").glob("*.c")) if any(w in p.read_text() for w in words)]
    assert users, "no core file uses an assertion?"
    for src in users:
        rc, err = syntax_check(src, "NDEBUG")
        assert rc != 0 and "NDEBUG is defined" in err, f"{src.name} compiles with NDEBUG"


NET_MAINS = sorted((ROOT / "net").glob("main_*.c"))


@pytest.mark.parametrize("main", NET_MAINS, ids=[p.name for p in NET_MAINS])
def test_every_net_main_refuses_alichain_mutants(main):
    index = ["BACKEND_INDEX=0", "CLIENT_INDEX=0"]
    rc, err = syntax_check(main, *index)
    assert rc == 0, err
    rc, err = syntax_check(main, *index, "ALICHAIN_MUTANTS")
    assert rc != 0
    assert "must not be built with ALICHAIN_MUTANTS" in err


def test_the_mutants_build_compiles_no_net_file():
    # make sim-mutants is the one build with -DALICHAIN_MUTANTS: it must build the simulator
    # only (a dry run with every target out of date lists every compile it would do).
    proc = subprocess.run(["make", "-n", "-B", "--no-print-directory", "sim-mutants"], cwd=ROOT,
                          capture_output=True, text=True, timeout=LINT_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    compiles = [line for line in proc.stdout.splitlines() if " -c " in line]
    assert compiles and all("-DALICHAIN_MUTANTS" in line for line in compiles), proc.stdout
    assert any(" -c sim/cmd/alichain-sim.c " in line for line in compiles), proc.stdout
    assert not [line for line in compiles if " -c net/" in line], proc.stdout
