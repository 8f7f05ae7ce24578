# test_06_usage.py — the clients' command line: wrong arguments, invalid names and invalid
# amounts exit 2 with nothing on stdout, a message on stderr and nothing sent to serverM;
# --help exits 0 with the usage on stdout; an unreachable serverM exits 3.
import pytest

from e2e_helpers import (
    c_insufficient, m_client_requests, m_recv_balance, program_env, run_program,
)

BAD_NAMES = ["N" * 65, "a b", "\u00e9", "a/b", "", "a\tb", "na*me", "x;y"]
BAD_AMOUNTS = ["0", "-5", "+5", "1.5", "1e3", "abc", "1000000000001", "", " 5", "5 ",
               "0x10", "99999999999999999999999", "18446744073709551621"]

USAGE_CASES = (
    [()]
    + [("a", "b", "c", "d"), ("Chinmay", "Luke", "5", "extra", "more")]
    + [(n,) for n in BAD_NAMES]
    + [(n, "stats") for n in BAD_NAMES]
    + [(n, "Luke", "5") for n in BAD_NAMES]
    + [("Chinmay", n, "5") for n in BAD_NAMES]
    + [("Chinmay", "Luke", a) for a in BAD_AMOUNTS]
    + [("Chinmay", "STATS"), ("Chinmay", "Stats"), ("Chinmay", "stat"), ("TXLIST", "now"),
       ("Chinmay", "Luke")]
)


def test_usage_errors_exit_2_and_send_nothing(net):
    for n, args in enumerate(USAGE_CASES):
        j = "AB"[n % 2]
        r = net.client(j, *args)
        assert r.rc == 2, (args, r)
        assert r.out == "", (args, r)
        assert r.err.strip() != "", (args, r)
    # nothing reached serverM: after one valid request, it has logged exactly one request
    r = net.client("A", "Chinmay")
    assert r.rc == 0, r
    lines = net.wait_line("M", m_recv_balance("Chinmay", net.ports["tcpA"]))
    assert m_client_requests(lines) == [m_recv_balance("Chinmay", net.ports["tcpA"])], lines


def test_largest_amount_is_valid(net):
    r = net.client("B", "Chinmay", "Luke", "1000000000000")
    assert r.rc == 1, r
    assert c_insufficient("Chinmay", 1000000000000, "Luke") in r.lines


@pytest.mark.parametrize("j", ["A", "B"])
def test_help_exits_0_with_usage_on_stdout(bin_dir, lease, j):
    r = run_program(bin_dir / f"client{j}", ["--help"], env=program_env(lease.offset))
    assert r.rc == 0, r
    low = r.out.lower()
    assert "usage" in low, r
    assert "TXLIST" in r.out and "stats" in r.out, r


@pytest.mark.parametrize("args", [("Chinmay",), ("Chinmay", "Luke", "5"), ("TXLIST",),
                                  ("Chinmay", "stats")])
def test_unreachable_main_server_exits_3(bin_dir, lease, tmp_path, args):
    r = run_program(bin_dir / "clientA", args, cwd=tmp_path, env=program_env(lease.offset))
    assert r.rc == 3, r
    assert r.err.strip() != "", r
    assert "The current balance" not in r.out and "successfully" not in r.out, r
