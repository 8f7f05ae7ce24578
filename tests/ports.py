# ports.py — SPEC.md's port table for the Python tests and ci/demo.sh, read from the one
# place it is written, core/ports.h (its "#define PORT_... <number>" lines), so no script
# keeps a copy of the numbers. Python cannot include the header; a regex is the honest cost.
import re
from pathlib import Path

HEADER = Path(__file__).resolve().parents[1] / "core" / "ports.h"
DEFINE_RE = re.compile(r"^#define (PORT_[A-Z_]+) ([0-9]+)\b", re.MULTILINE)


def read_table(path=HEADER):
    """{name: number} of every '#define PORT_<NAME> <number>' line of core/ports.h."""
    table = {name: int(value) for name, value in DEFINE_RE.findall(Path(path).read_text())}
    wanted = ("OFFSET_DEFAULT", "OFFSET_MAX", "BASE_SERVER_A", "BASE_SERVER_B",
              "BASE_SERVER_C", "BASE_M_UDP", "BASE_CLIENT_A", "BASE_CLIENT_B")
    missing = [w for w in wanted if "PORT_" + w not in table]
    if missing:
        raise RuntimeError(f"{path}: no #define PORT_{missing[0]} <number>")
    return table


_T = read_table()
OFFSET_DEFAULT = _T["PORT_OFFSET_DEFAULT"]   # ALICHAIN_PORT_OFFSET when unset
OFFSET_MAX = _T["PORT_OFFSET_MAX"]           # ALICHAIN_PORT_OFFSET is 0..OFFSET_MAX
UDP_BASE = {"A": _T["PORT_BASE_SERVER_A"], "B": _T["PORT_BASE_SERVER_B"],
            "C": _T["PORT_BASE_SERVER_C"], "M": _T["PORT_BASE_M_UDP"]}
TCP_BASE = {"A": _T["PORT_BASE_CLIENT_A"], "B": _T["PORT_BASE_CLIENT_B"]}  # serverM's, per client
