# test_07_blocks.py — block files and start-up configuration: a malformed file stops its
# backend at start with "blockN.txt:<line>:" on stderr and is left byte-for-byte unchanged;
# CRLF, blank lines and a missing final newline are accepted (and appends stay well formed);
# a torn last line is moved aside to "<block>.torn"; bad settings are one stderr line and a
# non-zero exit before anything else happens.
import socket

import pytest

from e2e_helpers import (
    BACKENDS, BLOCK_NAME, SAMPLE_DIR, Tx, c_txlist_ok, expected_balance_lines, parse_block,
    program_env, run_program, sample_blocks, start_expect_exit,
)

GOOD1 = "1 Alice Bob 10"
GOOD2 = "2 Bob Carol 5"
GOOD4 = "4 Carol Alice 1"

DEFECTS = {
    "three_fields": "3 Alice Bob",
    "five_fields": "3 Alice Bob 10 extra",
    "amount_word": "3 Alice Bob ten",
    "amount_fraction": "3 Alice Bob 1.5",
    "amount_negative": "3 Alice Bob -4",
    "amount_zero": "3 Alice Bob 0",
    "amount_too_big": "3 Alice Bob 1000000000001",
    "amount_huge": "3 Alice Bob 99999999999999999999999",
    "serial_zero": "0 Alice Bob 10",
    "serial_duplicate": "2 Alice Bob 10",
    "serial_word": "x3 Alice Bob 10",
    "serial_negative": "-3 Alice Bob 10",
    "serial_over_64_bits": "18446744073709551616 Alice Bob 10",
    "name_slash": "3 Al/ice Bob 10",
    "name_65_bytes": "3 " + "N" * 65 + " Bob 10",
    "name_non_ascii": "3 Alic\u00e9 Bob 10",
    "garbage": "this is not a transaction",
}


def backend_refuses(bin_dir, lease, tmp_path, content, backend="B"):
    """Runs one backend on content; returns (Result, file bytes before, after, listing)."""
    d = tmp_path / "d"
    d.mkdir()
    path = d / BLOCK_NAME[backend]
    path.write_bytes(content)
    before = sorted(p.name for p in d.iterdir())
    up = f"The Server{backend} is up and running"
    r = start_expect_exit(bin_dir / f"server{backend}", d, program_env(lease.offset), up,
                          log_dir=tmp_path / "logs")
    assert sorted(p.name for p in d.iterdir()) == before, "files created or removed"
    assert path.read_bytes() == content, "the block file was changed"
    return r


@pytest.mark.parametrize("defect", list(DEFECTS), ids=list(DEFECTS))
def test_malformed_line_stops_backend(bin_dir, lease, tmp_path, defect):
    content = "\n".join([GOOD1, GOOD2, DEFECTS[defect], GOOD4]).encode() + b"\n"
    r = backend_refuses(bin_dir, lease, tmp_path, content)
    assert r.rc != 0, r
    assert "block2.txt:3:" in r.err, r
    assert r.out == "", r


@pytest.mark.parametrize("name,content,line", [
    ("crlf", b"1 Alice Bob 10\r\n2 Bob Carol 5\r\n3 Alice Bob 0\r\n4 Carol Alice 1\r\n", 3),
    ("blank_lines_count", b"1 Alice Bob 10\n\n2 Bob Carol 5\n3 Alice Bob\n", 4),
    ("last_line_with_newline", b"1 Alice Bob 10\n2 Bob Carol 5\n3 Alice Bob\n", 3),
    ("duplicate_far_apart", b"7 Alice Bob 10\n2 Bob Carol 5\n3 Carol Bob 1\n7 Bob Alice 2\n", 4),
    ("first_line", b"1 Alice Bob 0\n2 Bob Carol 5\n", 1),
])
def test_malformed_line_number(bin_dir, lease, tmp_path, name, content, line):
    r = backend_refuses(bin_dir, lease, tmp_path, content, backend="C")
    assert r.rc != 0, r
    assert f"block3.txt:{line}:" in r.err, r


def test_accepted_forms_and_appends_stay_well_formed(make_network):
    s1, s2, s3 = [parse_block(b) for b in sample_blocks()]
    # CRLF lines with a blank CRLF line, and no final newline
    crlf = "\r\n".join(t.line() for t in s1[:2]) + "\r\n\r\n" + s1[2].line()
    blanks = "\n\n" + "\n\n".join(t.line() for t in s2)            # blank lines, no final newline
    bare = "\n".join(t.line() for t in s3)                         # no final newline
    net = make_network(blocks=[crlf, blanks, bare], env={"ALICHAIN_SEED": 7})
    assert net.client("A", "Chinmay").lines == expected_balance_lines("A", "Chinmay", 881)
    assert net.client("B", "Luke").lines == expected_balance_lines("B", "Luke", 1180)
    all_txs = s1 + s2 + s3
    moves = [("Luke", "Ali", 7), ("Ali", "Luke", 3), ("Alice", "John", 11),
             ("John", "Ben", 2), ("Victor", "Rachit", 4), ("Rachit", "Oliver", 9)]
    for k, (a, b, amt) in enumerate(moves):
        r = net.client("AB"[k % 2], a, b, str(amt))
        assert r.rc == 0, r
        all_txs.append(Tx(10 + k, a, b, amt))
    # every file still parses, old lines intact, each new line appended exactly once
    disk = net.disk_txs()
    assert sorted(t for b in BACKENDS for t in disk[b]) == sorted(all_txs)
    for b, orig in zip(BACKENDS, (s1, s2, s3)):
        assert disk[b][:len(orig)] == orig
        data = net.block_path(b).read_bytes()
        if len(disk[b]) > len(orig):
            # appended lines are whole lines: the file now ends with a newline
            assert data.endswith(b"\n"), data
    # the backends themselves accept the files they wrote
    for b in BACKENDS:
        net.restart(b)
    r = net.client("A", "TXLIST")
    assert (r.rc, r.lines[-1]) == (0, c_txlist_ok(15, "alichain.txt")), r
    listed = parse_block((net.root / "alichain.txt").read_bytes())
    assert listed == sorted(all_txs)


def test_torn_last_line_is_moved_aside(make_network):
    original = (SAMPLE_DIR / "block1.txt").read_bytes()
    blocks = sample_blocks()
    blocks[0] = original + b"12 Chin"
    net = make_network(blocks=blocks)
    torn = net.root / "block1.txt.torn"
    assert torn.exists(), f"no block1.txt.torn; files: {sorted(p.name for p in net.root.iterdir())}"
    assert b"12 Chin" in torn.read_bytes()
    assert net.block_path("A").read_bytes() == original
    assert net.err("A").strip() != "", "no warning on stderr about the torn line"
    assert net.client("A", "Chinmay").lines == expected_balance_lines("A", "Chinmay", 881)
    r = net.client("B", "TXLIST")
    assert (r.rc, r.lines[-1]) == (0, c_txlist_ok(9, "alichain.txt")), r


def test_parseable_torn_tail_of_an_appended_file_is_moved_aside(make_network):
    # Once a backend has appended to a file (it leaves "<block>.appended"), an unterminated
    # last line can only be a torn append, even one that parses ("10 Ali Luke 5" cut from
    # "10 Ali Luke 55"): it must not become a transaction nobody asked for.
    original = (SAMPLE_DIR / "block1.txt").read_bytes()
    blocks = sample_blocks()
    blocks[0] = original + b"10 Ali Luke 5"
    net = make_network(blocks=blocks, start=False)
    (net.root / "block1.txt.appended").write_bytes(b"")
    net.start()
    assert b"10 Ali Luke 5" in (net.root / "block1.txt.torn").read_bytes()
    assert net.block_path("A").read_bytes() == original
    assert net.client("A", "Luke").lines == expected_balance_lines("A", "Luke", 1180)
    # the first append creates the marker; a hand-written file has none until then
    assert not (net.root / "block2.txt.appended").exists()
    r = net.client("A", "Chinmay", "Luke", "20")
    assert r.rc == 0, r
    assert sum((net.root / f"block{i}.txt.appended").exists() for i in (1, 2, 3)) >= 1


def test_block_env_selects_the_file(make_network):
    blocks = sample_blocks()
    net = make_network(blocks=[None, blocks[1], blocks[2]],
                       server_env={"A": {"ALICHAIN_BLOCK": "custom/a.txt"}}, start=False)
    (net.root / "custom").mkdir()
    (net.root / "custom" / "a.txt").write_bytes(blocks[0])
    net.start()
    assert net.client("A", "Chinmay").lines == expected_balance_lines("A", "Chinmay", 881)
    assert not (net.root / "block1.txt").exists()


# ---- configuration errors: one line on stderr, non-zero exit, nothing on stdout
PROGRAM_NAMES = ["serverA", "serverB", "serverC", "serverM", "clientA", "clientB"]


def sample_dir(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    for name in BLOCK_NAME.values():
        (d / name).write_bytes((SAMPLE_DIR / name).read_bytes())
    return d


def assert_one_line_error(r):
    assert r.rc != 0, r
    assert r.out == "", r
    lines = [l for l in r.err.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {r.err!r}"


@pytest.mark.parametrize("value", ["abc", "1000", "-1", "99999999999999999999", "12x"])
@pytest.mark.parametrize("program", PROGRAM_NAMES)
def test_bad_port_offset(bin_dir, tmp_path, program, value):
    d = sample_dir(tmp_path)
    env = program_env(extra={"ALICHAIN_PORT_OFFSET": value})
    if program.startswith("client"):
        r = run_program(bin_dir / program, ["Chinmay"], cwd=d, env=env)
    else:
        r = start_expect_exit(bin_dir / program, d, env, "up and running",
                              log_dir=tmp_path / "logs")
    assert_one_line_error(r)


@pytest.mark.parametrize("block_env", [None, "/nonexistent/dir/block.txt", "."])
def test_unreadable_block_file(bin_dir, lease, tmp_path, block_env):
    d = tmp_path / "d"
    d.mkdir()
    extra = {} if block_env is None else {"ALICHAIN_BLOCK": block_env}
    r = start_expect_exit(bin_dir / "serverB", d, program_env(lease.offset, extra),
                          "up and running", log_dir=tmp_path / "logs")
    assert_one_line_error(r)
    assert sorted(p.name for p in d.iterdir()) == []


@pytest.mark.parametrize("program,port_key,kind", [
    ("serverA", "A", socket.SOCK_DGRAM), ("serverC", "C", socket.SOCK_DGRAM),
    ("serverM", "M", socket.SOCK_DGRAM), ("serverM", "tcpA", socket.SOCK_STREAM),
    ("serverM", "tcpB", socket.SOCK_STREAM),
])
def test_port_in_use(bin_dir, lease, tmp_path, program, port_key, kind):
    d = sample_dir(tmp_path)
    s = socket.socket(socket.AF_INET, kind)
    if kind == socket.SOCK_STREAM:
        # ignore TIME_WAIT leftovers of earlier tests; our listener still holds the port
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", lease.ports[port_key]))
        if kind == socket.SOCK_STREAM:
            s.listen(1)
        r = start_expect_exit(bin_dir / program, d, program_env(lease.offset),
                              "up and running", log_dir=tmp_path / "logs")
    finally:
        s.close()
    assert_one_line_error(r)
