# test_17_disk_full.py — backends on a disk that is really full: the block files live on a
# tiny tmpfs (mounted as root; the kernel's own ENOSPC, no fault file system) filled up by
# a filler file. The first WRITE of a backend's run must write its marker (a new file,
# docs/DESIGN-NOTES.md "Block files") and that is what the full disk refuses first: the
# backend refuses the transfer cleanly ("server X's disk is full", exit 3), stays up, keeps
# its block file byte for byte, and answers reads; once the filler is gone the very same
# transfer is stored, once. Skipped where tmpfs cannot be mounted (not root).
import errno
import os
import subprocess

import pytest

from e2e_helpers import (
    BACKENDS, BLOCK_NAME, Tx, expected_balance_lines, expected_transfer_ok_lines,
    parse_block, sample_blocks,
)

TMPFS_BYTES = 64 * 1024          # a few pages: the sample blocks take one each
FILLER_CHUNK = 4096
FULL_TEXT = "disk is full"


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of TMPFS_BYTES mounted at tmp_path/disk (lazily unmounted at teardown, after
    the servers, which hold their block files open, are gone)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    d = tmp_path / "disk"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(d)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    yield d
    subprocess.run(["umount", "-l", str(d)], capture_output=True)


def fill(d):
    """Writes d/filler until the file system says ENOSPC; returns its path."""
    path = d / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (FILLER_CHUNK, 1):  # pages, then any byte left
            while True:
                try:
                    os.write(fd, b"x" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
    finally:
        os.close(fd)
    return path


def test_full_disk_refuses_the_write_then_recovers(make_network, small_disk):
    sample = sample_blocks()
    for b, data in zip(BACKENDS, sample):
        (small_disk / BLOCK_NAME[b]).write_bytes(data)
    net = make_network(blocks=[None, None, None],
                       server_env={b: {"ALICHAIN_BLOCK": str(small_disk / BLOCK_NAME[b])}
                                   for b in BACKENDS})
    filler = fill(small_disk)

    r = net.client("A", "Chinmay", "Luke", "20", timeout=10)
    assert r.rc == 3, r
    assert FULL_TEXT in r.err, r
    assert "successfully" not in r.out, r
    for name in ("A", "B", "C", "M"):
        assert net.servers[name].proc.poll() is None, f"server{name} died: {net.err(name)}"
    errs = "".join(net.err(b) for b in BACKENDS)
    assert "No space left on device" in errs, errs
    assert "refused the writes not yet synced" in errs, errs
    # nothing of the refused transfer on disk, no marker left behind
    for b, data in zip(BACKENDS, sample):
        assert (small_disk / BLOCK_NAME[b]).read_bytes() == data, b
        assert not (small_disk / (BLOCK_NAME[b] + ".appended")).exists(), b
    assert net.client("B", "Chinmay", timeout=10).lines == \
        expected_balance_lines("B", "Chinmay", 881)

    filler.unlink()  # space again: the same transfer goes through, once
    r = net.client("A", "Chinmay", "Luke", "20", timeout=10)
    assert (r.rc, r.lines) == (0, expected_transfer_ok_lines("A", "Chinmay", "Luke", 20, 861)), r
    txs = [t for b in BACKENDS
           for t in parse_block((small_disk / BLOCK_NAME[b]).read_bytes(), BLOCK_NAME[b])]
    assert txs.count(Tx(10, "Chinmay", "Luke", 20)) == 1
    assert len(txs) == 10
