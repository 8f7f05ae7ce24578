# test_07_blocks.py — block files and start-up configuration: a malformed file stops its
# backend at start with "blockN.txt:<line>:" on stderr and is left byte-for-byte unchanged;
# CRLF, blank lines and a missing final newline are accepted (and appends stay well formed);
# after a crash a torn append is moved aside to "<block>.torn", while a hand-written or
# hand-replaced file is always read as the user's (core/blockfile.h has the rule); one
# backend per file; bad settings are one stderr line and a non-zero exit before anything
# else happens.
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


def test_malformed_unterminated_last_line_of_a_hand_written_file_is_refused(bin_dir, lease,
                                                                            tmp_path):
    # alichain never appended to this file, so no crash can have torn its last line: a
    # malformed one is the user's mistake, refused with its line number, file untouched
    original = (SAMPLE_DIR / "block1.txt").read_bytes()
    r = backend_refuses(bin_dir, lease, tmp_path, original + b"12 Chin", backend="A")
    assert r.rc == 1, r
    assert "block1.txt:4: expected 4 fields" in r.err, r
    assert len(r.err.strip().splitlines()) == 1, r


def appended_backend(net):
    """The backend whose block file carries the marker "<block>.appended"."""
    marked = [b for b in BACKENDS
              if (net.root / (BLOCK_NAME[b] + ".appended")).exists()]
    assert len(marked) == 1, f"expected one marked block file, found {marked}"
    return marked[0]


def test_torn_append_is_set_aside_after_a_crash(make_network):
    # A transfer makes its backend write "<block>.appended"; kill -9 keeps it. The disk is
    # then left as a crash in the middle of the next append would leave it: a cut line that
    # happens to parse ("11 Ali Luke 5" of "11 Ali Luke 55"). The restart moves it to
    # "<block>.torn" (it was never acknowledged) instead of loading a phantom transaction.
    net = make_network(env={"ALICHAIN_SEED": 3})
    r = net.client("A", "Chinmay", "Luke", "20")
    assert r.rc == 0, r
    b = appended_backend(net)
    net.kill(b)
    assert (net.root / (BLOCK_NAME[b] + ".appended")).exists(), "kill -9 removed the marker"
    path = net.block_path(b)
    before = path.read_bytes()
    assert before.endswith(b"10 Chinmay Luke 20\n"), before
    path.write_bytes(before + b"11 Ali Luke 5")
    net.start_server(b)
    assert (net.root / (BLOCK_NAME[b] + ".torn")).read_bytes() == b"11 Ali Luke 5\n"
    assert path.read_bytes() == before
    assert "moved a torn last line" in net.err(b), net.err(b)
    assert not (net.root / (BLOCK_NAME[b] + ".appended")).exists(), "the marker outlived recovery"
    assert net.client("A", "Ali").lines == expected_balance_lines("A", "Ali", 845)
    assert net.client("B", "Luke").lines == expected_balance_lines("B", "Luke", 1200)


def test_file_replaced_by_hand_after_a_crash_keeps_its_last_line(make_network):
    # The marker describes the file it was written for (size and hash of what preceded the
    # first append). A file replaced by hand since is the user's again: its valid last line
    # without a newline counts, nothing goes to ".torn", and the stale marker is removed.
    net = make_network(env={"ALICHAIN_SEED": 3})
    assert net.client("A", "Chinmay", "Luke", "20").rc == 0
    b = appended_backend(net)
    net.kill(b)
    path = net.block_path(b)
    replacement = b"50 Ali Zed 7\n51 Zed Ali 2"
    path.write_bytes(replacement)
    net.start_server(b)
    assert path.read_bytes() == replacement
    assert not (net.root / (BLOCK_NAME[b] + ".torn")).exists()
    assert not (net.root / (BLOCK_NAME[b] + ".appended")).exists()
    assert net.client("A", "Zed").lines == expected_balance_lines("A", "Zed", 1005)


def test_clean_stop_removes_the_marker(make_network):
    # After SIGTERM every append is synced and the file ends in a newline: no marker stays
    # behind to misread a later edit by hand.
    net = make_network(env={"ALICHAIN_SEED": 3})
    assert net.client("A", "Chinmay", "Luke", "20").rc == 0
    b = appended_backend(net)
    assert net.stop(b) == 0
    assert not (net.root / (BLOCK_NAME[b] + ".appended")).exists()
    path = net.block_path(b)
    path.write_bytes(path.read_bytes() + b"60 Luke Ali 1")  # edited by hand, no newline
    net.start_server(b)
    assert net.client("A", "Luke").lines == expected_balance_lines("A", "Luke", 1199)


def test_second_backend_on_the_same_file_is_refused(make_network, bin_dir, tmp_path):
    # serverB given serverA's block file: it would count every line twice. The running
    # serverA holds the file's lock, so serverB refuses before it reads or binds anything.
    net = make_network()
    before = net.block_path("A").read_bytes()
    env = program_env(net.offset, {"ALICHAIN_BLOCK": str(net.block_path("A"))})
    r = start_expect_exit(bin_dir / "serverB", net.root, env, "up and running",
                          log_dir=tmp_path / "logs")
    assert r.rc == 1, r
    assert "block1.txt is in use by another backend" in r.err, r
    assert len(r.err.strip().splitlines()) == 1, r
    assert net.block_path("A").read_bytes() == before
    assert net.client("A", "Chinmay").lines == expected_balance_lines("A", "Chinmay", 881)


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
