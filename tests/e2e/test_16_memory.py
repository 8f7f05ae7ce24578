# test_16_memory.py — serverM's memory is bounded whatever clients do (docs/PROTOCOL.md 2.5):
# many keep-alive clients pipeline STATS and never read their replies; serverM's RSS stays
# under its reply budget (core/common.h COORD_UNSENT_BYTES_BUDGET) and a one-shot client is
# still served meanwhile.
import resource
import socket
import time

from e2e_helpers import Tx, balance_of, block_text, expected_balance_lines

CLIENTS_WANTED = 1000
FDS_PER_CLIENT = 1             # this process's end; serverM raises its own limit
FDS_SPARE = 200                # pytest, the network's logs, the clients it runs
BUDGET_MIB = 64                # core/common.h COORD_UNSENT_BYTES_BUDGET
SLACK_MIB = 128                # over the budget: the replies of requests admitted before a
                               # connection reached its bound (docs/PROTOCOL.md 2.5 "Memory":
                               # measured 45-116 MiB in all on a loaded machine), allocator slack
PARTNERS = 4000               # rows of each STATS reply (about 80 KB)
LOAD_S = 20                    # how long the hostile clients keep pipelining
SAMPLE_S = 0.25
KEEPALIVE = b"ALICHAIN/1 KEEPALIVE\n"
STATS_LINE = b"ALICHAIN/1 STATS Hub\n"
PIPELINE = 64                  # core/common.h TCP_PIPELINE_MAX: the first send fills it
TOP_UP = STATS_LINE * 2        # then each round adds a little (more is only ERROR BUSY)
RCVBUF_BYTES = 4096            # the hostile clients' receive buffers: little kernel memory
# In the ASan build (make asan) freed memory waits in ASan's quarantine (256 MiB by default)
# and counts in RSS though serverM freed it: keep the quarantine small so RSS is serverM's.
# The variable is ignored by the builds without ASan.
ASAN_QUARANTINE = {"ASAN_OPTIONS": "quarantine_size_mb=8"}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def client_count():
    """As many clients as the descriptor limit allows (raised to the hard limit), at most
    CLIENTS_WANTED; the reason is printed when fewer."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CLIENTS_WANTED * FDS_PER_CLIENT + FDS_SPARE
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    n = min(CLIENTS_WANTED, (soft - FDS_SPARE) // FDS_PER_CLIENT)
    if n < CLIENTS_WANTED:
        print(f"test_16: {n} clients, not {CLIENTS_WANTED}: RLIMIT_NOFILE hard limit is {hard}")
    return n


def hub_blocks():
    txs = [Tx(k + 1, "Hub" if k % 2 else f"P{k}", f"P{k}" if k % 2 else "Hub", 1)
           for k in range(PARTNERS)]
    return txs, [block_text(txs[b::3]) for b in range(3)]


def test_slow_readers_cannot_grow_serverM(make_network):
    txs, blocks = hub_blocks()
    net = make_network(blocks=blocks, server_env={"M": ASAN_QUARANTINE})
    pid = net.servers["M"].proc.pid
    n = client_count()
    assert n >= 100, "too few descriptors to prove anything"
    base_kib = rss_kib(pid)
    limit_kib = base_kib + (BUDGET_MIB + SLACK_MIB) * 1024
    socks = []
    try:
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
            s.connect(("127.0.0.1", net.ports["tcpA" if i % 2 == 0 else "tcpB"]))
            s.setblocking(False)
            s.send(KEEPALIVE + STATS_LINE * PIPELINE)
            socks.append(s)
        peak_kib = base_kib
        served = []
        end = time.monotonic() + LOAD_S
        next_probe = time.monotonic() + LOAD_S / 4
        while time.monotonic() < end:
            for s in socks:           # never read: each pipeline only grows
                try:
                    s.send(TOP_UP)
                except (BlockingIOError, ConnectionError):
                    pass
            peak_kib = max(peak_kib, rss_kib(pid))
            assert peak_kib <= limit_kib, (
                f"serverM grew from {base_kib // 1024} MiB to {peak_kib // 1024} MiB with {n} "
                f"clients that do not read (limit {limit_kib // 1024} MiB)")
            if time.monotonic() >= next_probe:  # meanwhile, someone else is served
                t0 = time.monotonic()
                r = net.client("A", "P0", timeout=15)
                served.append(time.monotonic() - t0)
                want = expected_balance_lines("A", "P0", balance_of(txs, "P0"))
                assert (r.rc, r.lines) == (0, want), r
                next_probe += LOAD_S / 4
            time.sleep(SAMPLE_S)
    finally:
        for s in socks:
            s.close()
    print(f"test_16: {n} clients, serverM RSS {base_kib // 1024} MiB -> peak "
          f"{peak_kib // 1024} MiB (limit {limit_kib // 1024} MiB); one-shot balance served in "
          + ", ".join(f"{t:.2f} s" for t in served))
    assert len(served) >= 3
    # and afterwards serverM still serves, and the hub's ledger is intact
    r = net.client("B", "Hub")
    assert (r.rc, r.lines) == (0, expected_balance_lines("B", "Hub", balance_of(txs, "Hub"))), r
