# test_15_txlist_target.py — the TXLIST file cannot be aimed at something else (README.md
# "The TXLIST file"): its temporary file has a name nobody can plant (a symlink at the old,
# predictable name is never written through); a TXLIST path that is a block file, a FIFO,
# a device or a directory is refused at start (exit 2, one line naming it and why); the
# temporary files of a killed serverM are removed at start, those of a living one kept.
import fcntl
import os

import pytest

from e2e_helpers import program_env, sample_blocks, start_expect_exit

M_UP = "The main server is up and running."


def test_symlink_at_the_old_temporary_name_is_not_written_through(net):
    victim = net.root / "victim.txt"
    victim.write_text("precious\n")
    pid = net.servers["M"].proc.pid
    for name in (f"alichain.txt.tmp.{pid}", f"alichain.txt.tmp.{pid + 1}"):
        (net.root / name).symlink_to(victim)
    r = net.client("A", "TXLIST")
    assert r.rc == 0, r
    assert victim.read_text() == "precious\n", "serverM wrote through a planted symlink"
    listing = net.root / "alichain.txt"
    assert not listing.is_symlink() and listing.read_text().startswith("1 Racheal John 45\n")
    assert [p.name for p in net.root.iterdir() if ".tmp-" in p.name] == []


def refused(bin_dir, lease, tmp_path, txlist, env=None, cwd=None):
    d = cwd or tmp_path / "d"
    d.mkdir(exist_ok=True)
    for name, data in zip(("block1.txt", "block2.txt", "block3.txt"), sample_blocks()):
        if not (d / name).exists():
            (d / name).write_bytes(data)
    before = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}
    extra = {"ALICHAIN_TXLIST": txlist, **(env or {})}
    r = start_expect_exit(bin_dir / "serverM", d, program_env(lease.offset, extra), M_UP,
                          log_dir=tmp_path / "logs")
    assert r.rc == 2, r
    lines = r.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("serverM: ALICHAIN_TXLIST: "), r
    assert {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()} == before
    return lines[0]


@pytest.mark.parametrize("txlist", ["block1.txt", "./block2.txt", "../d/block3.txt"])
def test_txlist_on_a_default_block_file_is_refused(bin_dir, lease, tmp_path, txlist):
    line = refused(bin_dir, lease, tmp_path, txlist)
    assert "block file" in line and "would replace it" in line, line


def test_txlist_on_the_block_file_alichain_block_names_is_refused(bin_dir, lease, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "ledger.txt").write_text("1 A B 5\n")
    line = refused(bin_dir, lease, tmp_path, "ledger.txt", env={"ALICHAIN_BLOCK": "ledger.txt"})
    assert "ALICHAIN_BLOCK names" in line, line


def test_txlist_on_a_symlink_to_a_block_file_is_refused(bin_dir, lease, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "list.txt").symlink_to("block1.txt")
    line = refused(bin_dir, lease, tmp_path, "list.txt")
    assert "serverA's block file block1.txt" in line, line


def test_txlist_on_a_block_file_a_running_backend_holds_is_refused(net, bin_dir, lease, tmp_path):
    """serverM elsewhere, no name or variable in common: only the backend's lock tells."""
    line = refused(bin_dir, lease, tmp_path, str(net.block_path("B")))
    assert "a backend holds its lock" in line, line
    assert net.client("A", "Chinmay").rc == 0


def test_txlist_on_a_fifo_device_or_directory_is_refused(bin_dir, lease, tmp_path):
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "d" / "fifo")
    (tmp_path / "d" / "dir").mkdir()
    assert "is a FIFO, not a file" in refused(bin_dir, lease, tmp_path, "fifo")
    assert "is a character device, not a file" in refused(bin_dir, lease, tmp_path, "/dev/null")
    assert "is a directory, not a file" in refused(bin_dir, lease, tmp_path, "dir")


def test_stale_temporary_files_are_removed_at_start(make_network):
    net = make_network(start=False)
    stale = [net.root / f"alichain.txt.tmp-{i:016x}" for i in (1, 0xabcdef, 2 ** 63)]
    for p in stale:
        p.write_bytes(b"9 half a list\n" * 80000)         # ~1.1 MB each
    alive = net.root / "alichain.txt.tmp-00000000000000ff"
    alive.write_bytes(b"being written\n")
    keep = [net.root / "alichain.txt.tmp-short", net.root / "alichain.txt.tmp.123",
            net.root / "other.txt.tmp-0000000000000001"]
    for p in keep:
        p.write_text("not ours\n")
    with open(alive, "rb") as held:                       # a living writer holds its lock
        fcntl.flock(held, fcntl.LOCK_EX)
        net.start()
        err = net.wait_err("M", lambda t: "removed" in t)
    assert "removed 3 temporary files of alichain.txt" in err, err
    assert f"({3 * 14 * 80000} bytes)" in err, err
    assert not any(p.exists() for p in stale)
    assert alive.exists() and all(p.exists() for p in keep)
    assert net.client("A", "TXLIST").rc == 0
