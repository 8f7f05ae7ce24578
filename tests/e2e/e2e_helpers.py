# e2e_helpers.py — the machinery of the end-to-end tests: a locked, verified-free port
# offset; a Network of the four real servers in a temp dir (start, stop, kill, pause,
# restart, logs); client runs; the exact SPEC.md screen lines; a reference model of the
# ledger (block parsing, balances, stats) computed independently of the C code; and a UDP
# tap between serverM and the backends that opens fault windows on protocol events.
import atexit
import errno
import fcntl
import os
import random
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO / "data" / "sample"
sys.path.insert(0, str(REPO / "tests"))
from ports import TCP_BASE, UDP_BASE  # noqa: E402  (core/ports.h's table)

BACKENDS = ("A", "B", "C")
SERVERS = ("A", "B", "C", "M")
BLOCK_NAME = {"A": "block1.txt", "B": "block2.txt", "C": "block3.txt"}



def _lease_rule():
    """The port-offset lease rule, read from the one place it is written (sim/proc/proc.h:
    PROC_LEASE_DIR, PROC_LEASE_MIN..PROC_LEASE_MAX, PROC_LEASE_ATTEMPTS), so these tests,
    alichain-sim real/soak and alichain-bench share lock files and never pick one offset."""
    text = (REPO / "sim" / "proc" / "proc.h").read_text()
    found = dict(re.findall(r'^#define (PROC_LEASE_[A-Z]+) "?([^"\s]+?)u?"?\s', text, re.M))
    return (Path(found["PROC_LEASE_DIR"]), int(found["PROC_LEASE_MIN"]), int(found["PROC_LEASE_MAX"]),
            int(found["PROC_LEASE_ATTEMPTS"]))


LOCK_DIR, OFFSET_MIN, OFFSET_MAX, OFFSET_ATTEMPTS_MAX = _lease_rule()

CLIENT_TIMEOUT_S = 10          # a client run that takes longer is a failure
READY_TIMEOUT_S = 10           # a server must print its "up and running" line by then
STOP_TIMEOUT_S = 10            # SIGTERM -> exit
LOG_TIMEOUT_S = 5              # a log line expected after a client returned
POLL_S = 0.02

AMOUNT_MAX = 10 ** 12
NAME_RE = re.compile(rb"^[A-Za-z0-9_.\-]{1,64}$")
DIGITS_RE = re.compile(rb"^[0-9]+$")
AMOUNT_RE = re.compile(rb"^[1-9][0-9]*$")   # one spelling: no leading zero


# ---------------------------------------------------------------- ports ----------------
def ports_of(offset):
    """The six static ports of an offset: {'A','B','C','M'} UDP and ('tcpA','tcpB')."""
    p = {k: v + offset for k, v in UDP_BASE.items()}
    p["tcpA"] = TCP_BASE["A"] + offset
    p["tcpB"] = TCP_BASE["B"] + offset
    return p


def ports_free(offset):
    """Binds each of the six ports on 127.0.0.1 (UDP x4, TCP x2) and releases them."""
    socks = []
    try:
        for base in UDP_BASE.values():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("127.0.0.1", base + offset))
        for base in TCP_BASE.values():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            # like the servers: TIME_WAIT leftovers do not block, a listener does
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", base + offset))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


class PortLease:
    """An offset whose six ports were free when taken, held under a lock file so that two
    pytest processes never pick the same one. release() frees it."""

    def __init__(self):
        LOCK_DIR.mkdir(mode=0o777, parents=True, exist_ok=True)
        rng = random.SystemRandom()
        for _ in range(OFFSET_ATTEMPTS_MAX):
            offset = rng.randint(OFFSET_MIN, OFFSET_MAX)
            fd = os.open(LOCK_DIR / f"{offset}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    continue
                raise
            if ports_free(offset):
                self.offset = offset
                self._fd = fd
                return
            os.close(fd)
        raise RuntimeError(f"no free port offset found in {OFFSET_MIN}..{OFFSET_MAX}")

    @property
    def ports(self):
        return ports_of(self.offset)

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# ---------------------------------------------------------------- processes ------------
# The servers' shared key (README.md "Authenticated backends") of every program a test
# starts: a file in this session's temporary directory, created by the first server that
# starts (so that path is tested too), never the user's ~/.alichain.key.
TEST_KEY_DIR = Path(tempfile.mkdtemp(prefix="alichain-test-key-"))
TEST_KEY_FILE = TEST_KEY_DIR / "alichain.key"
atexit.register(shutil.rmtree, TEST_KEY_DIR, True)


def program_env(offset=None, extra=None):
    """The environment for a program: ours without any ALICHAIN_* variable, plus the
    session's key file (ALICHAIN_KEY_FILE), the offset and extra (a value of None removes
    the variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALICHAIN_")}
    env["ALICHAIN_KEY_FILE"] = str(TEST_KEY_FILE)
    if offset is not None:
        env["ALICHAIN_PORT_OFFSET"] = str(offset)
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


class Result(NamedTuple):
    rc: int
    out: str
    err: str

    @property
    def lines(self):
        return self.out.splitlines()


def decode(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def run_program(path, args=(), cwd=None, env=None, timeout=CLIENT_TIMEOUT_S):
    """Runs a program to its end; (rc, stdout, stderr). A timeout is a test failure."""
    try:
        p = subprocess.run([str(path), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{Path(path).name} {list(args)} did not finish within "
                             f"{timeout} s; stdout={decode(e.stdout or b'')!r} "
                             f"stderr={decode(e.stderr or b'')!r}") from None
    return Result(p.returncode, decode(p.stdout), decode(p.stderr))


def wait_file_text(path, predicate, timeout, proc=None):
    """Polls a text file until predicate(text) is true; returns (True, text) or, on
    timeout or when proc exits first, (False, text)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text("utf-8", "replace") if path.exists() else ""
        if predicate(text):
            return True, text
        if proc is not None and proc.poll() is not None:
            text = path.read_text("utf-8", "replace") if path.exists() else ""
            return predicate(text), text
        if time.monotonic() >= deadline:
            return False, text
        time.sleep(POLL_S)


def start_expect_exit(path, cwd, env, up_line, log_dir, timeout=READY_TIMEOUT_S, args=()):
    """Starts a server (with args) that is expected to refuse to start (its logs go to
    log_dir, not to cwd). Returns Result when it exited; raises AssertionError when it
    printed up_line (it started) or kept running."""
    logs = Path(log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    out_p = logs / f".{Path(path).name}.expect.out"
    err_p = logs / f".{Path(path).name}.expect.err"
    with open(out_p, "wb") as fo, open(err_p, "wb") as fe:
        proc = subprocess.Popen([str(path), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=fo, stderr=fe, start_new_session=True)
    try:
        started, _ = wait_file_text(out_p, lambda t: up_line in t, timeout, proc)
        if started or proc.poll() is None:
            raise AssertionError(f"{Path(path).name} started (or kept running) although it "
                                 f"should have refused: stdout={out_p.read_text()!r} "
                                 f"stderr={err_p.read_text()!r}")
        return Result(proc.returncode, decode(out_p.read_bytes()), decode(err_p.read_bytes()))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        out_p.unlink()
        err_p.unlink()


# ---------------------------------------------------------------- the network ----------
def sample_blocks():
    return [(SAMPLE_DIR / BLOCK_NAME[b]).read_bytes() for b in BACKENDS]


class Server:
    def __init__(self, name, proc, out_path, err_path):
        self.name = name
        self.proc = proc
        self.out_path = out_path
        self.err_path = err_path
        self.expected_exit = False    # set when the test stopped or killed it on purpose
        self.paused = False

    def out(self):
        return self.out_path.read_text("utf-8", "replace")

    def err(self):
        return self.err_path.read_text("utf-8", "replace")


class Network:
    """serverA/B/C and serverM on one leased port offset, in directory root (their cwd,
    holding block1..3.txt). Logs go to root/logs/<server>.<generation>.{out,err}."""

    def __init__(self, bin_dir, root, blocks=None, env=None, server_env=None,
                 ready_timeout=READY_TIMEOUT_S):
        self.bin_dir = Path(bin_dir)
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs = self.root / "logs"
        self.logs.mkdir(exist_ok=True)
        self.lease = PortLease()
        self.offset = self.lease.offset
        self.ports = ports_of(self.offset)
        self.env = dict(env or {})
        self.server_env = {k: dict(v) for k, v in (server_env or {}).items()}
        self.ready_timeout = ready_timeout
        self.servers = {}
        self.generation = {s: 0 for s in SERVERS}
        self.problems = []            # unexpected exits, found at teardown
        blocks = sample_blocks() if blocks is None else blocks
        for b, content in zip(BACKENDS, blocks):
            if content is None:
                continue
            data = content.encode() if isinstance(content, str) else content
            (self.root / BLOCK_NAME[b]).write_bytes(data)

    # ---- environment and paths
    def server_environ(self, name):
        extra = dict(self.env)
        extra.update(self.server_env.get(name, {}))
        return program_env(self.offset, extra)

    def block_path(self, b):
        return self.root / BLOCK_NAME[b]

    @staticmethod
    def program(name):
        return "serverM" if name == "M" else f"server{name}"

    def up_line(self, name):
        if name == "M":
            return "The main server is up and running."
        return f"The Server{name} is up and running using UDP on port {self.ports[name]}."

    # ---- lifecycle
    def start(self):
        for name in ("A", "B", "C", "M"):
            self.start_server(name)
        return self

    def start_server(self, name, timeout=None):
        old = self.servers.get(name)
        assert old is None or old.proc.poll() is not None, f"server{name} is still running"
        self.generation[name] += 1
        g = self.generation[name]
        out_p = self.logs / f"server{name}.{g}.out"
        err_p = self.logs / f"server{name}.{g}.err"
        with open(out_p, "wb") as fo, open(err_p, "wb") as fe:
            proc = subprocess.Popen([str(self.bin_dir / self.program(name))], cwd=self.root,
                                    env=self.server_environ(name), stdin=subprocess.DEVNULL,
                                    stdout=fo, stderr=fe, start_new_session=True)
        srv = Server(name, proc, out_p, err_p)
        self.servers[name] = srv
        line = self.up_line(name)
        ok, text = wait_file_text(out_p, lambda t: line in t.splitlines(),
                                  timeout or self.ready_timeout, proc)
        if not ok:
            srv.expected_exit = True
            self._end(srv)
            raise AssertionError(f"server{name} did not print {line!r} (exit "
                                 f"{proc.returncode}); stdout={text!r} stderr={srv.err()!r}")
        return srv

    def send_signal(self, name, sig):
        os.kill(self.servers[name].proc.pid, sig)

    def pause(self, name):
        self.send_signal(name, signal.SIGSTOP)
        self.servers[name].paused = True

    def resume(self, name):
        self.send_signal(name, signal.SIGCONT)
        self.servers[name].paused = False

    def kill(self, name):
        """kill -9, on purpose."""
        srv = self.servers[name]
        srv.expected_exit = True
        srv.proc.kill()
        srv.proc.wait(timeout=STOP_TIMEOUT_S)

    def stop(self, name, sig=signal.SIGTERM):
        """Stops a server with sig (SIGTERM by default); returns its exit code."""
        srv = self.servers[name]
        srv.expected_exit = True
        if srv.paused:
            self.resume(name)
        srv.proc.send_signal(sig)
        try:
            return srv.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            srv.proc.kill()
            srv.proc.wait()
            raise AssertionError(f"server{name} did not exit within {STOP_TIMEOUT_S} s "
                                 f"of signal {sig}") from None

    def restart(self, name, kill=False):
        if self.servers[name].proc.poll() is None:
            if kill:
                self.kill(name)
            else:
                rc = self.stop(name)
                assert rc == 0, f"server{name} exited {rc} on SIGTERM"
        return self.start_server(name)

    def _end(self, srv):
        if srv.proc.poll() is None:
            if srv.paused:
                os.kill(srv.proc.pid, signal.SIGCONT)
            srv.proc.terminate()
            try:
                srv.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                srv.proc.kill()
                srv.proc.wait()
                return "did not exit on SIGTERM (killed)"
            if srv.proc.returncode != 0:
                return f"exited {srv.proc.returncode} on SIGTERM"
            return None
        if not srv.expected_exit:
            return f"died during the test (exit {srv.proc.returncode})"
        return None

    def close(self):
        """Stops everything (always) and returns the problems seen: servers that died
        unexpectedly or did not exit 0 on SIGTERM."""
        problems = []
        for srv in self.servers.values():
            try:
                why = self._end(srv)
            except Exception as e:   # keep stopping the others
                why = f"teardown error {e!r}"
            if why:
                tail = srv.err()[-2000:]
                problems.append(f"server{srv.name} {why}; stderr tail: {tail!r}")
        self.lease.release()
        return problems

    # ---- logs
    def out(self, name):
        """stdout of the current generation of a server."""
        return self.servers[name].out()

    def err(self, name):
        return self.servers[name].err()

    def out_lines(self, name):
        return self.out(name).splitlines()

    def wait_line(self, name, line, count=1, timeout=LOG_TIMEOUT_S):
        """Polls the server's stdout until `line` (a whole line) appears `count` times;
        returns the lines. Fails with the log when it does not."""
        srv = self.servers[name]
        ok, text = wait_file_text(srv.out_path,
                                  lambda t: t.splitlines().count(line) >= count, timeout)
        assert ok, (f"server{name} did not print {line!r} x{count} within {timeout} s; "
                    f"stdout:\n{text}\nstderr:\n{srv.err()}")
        return text.splitlines()

    def wait_err(self, name, predicate=lambda t: t.strip() != "", timeout=LOG_TIMEOUT_S):
        srv = self.servers[name]
        ok, text = wait_file_text(srv.err_path, predicate, timeout)
        assert ok, f"server{name}'s stderr did not show the expected diagnostic: {text!r}"
        return text

    # ---- clients
    def client_cmd(self, j, args):
        return [str(self.bin_dir / f"client{j}"), *args]

    def client(self, j, *args, timeout=CLIENT_TIMEOUT_S, env=None):
        return run_program(self.bin_dir / f"client{j}", args, cwd=self.root,
                           env=program_env(self.offset, env), timeout=timeout)

    def popen_client(self, j, *args, env=None):
        return subprocess.Popen(self.client_cmd(j, args), cwd=self.root,
                                env=program_env(self.offset, env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    # ---- data on disk
    def block_bytes(self):
        return {b: self.block_path(b).read_bytes() for b in BACKENDS}

    def disk_txs(self):
        """{backend: [tx, ...]} parsed strictly from the three block files."""
        return {b: parse_block(data, BLOCK_NAME[b]) for b, data in self.block_bytes().items()}

    def all_disk_txs(self):
        return [t for txs in self.disk_txs().values() for t in txs]


def communicate_all(procs, timeout=30):
    """Waits for Popen'ed clients; returns their Results in order."""
    deadline = time.monotonic() + timeout
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                if q.poll() is None:
                    q.kill()
                    q.communicate()
            raise AssertionError(f"clients did not finish within {timeout} s") from None
        results.append(Result(p.returncode, decode(out), decode(err)))
    return results


# ---------------------------------------------------------------- reference model -------
class Tx(NamedTuple):
    serial: int
    sender: str
    receiver: str
    amount: int

    def line(self):
        return f"{self.serial} {self.sender} {self.receiver} {self.amount}"


def parse_block(data, label="block"):
    """Strict parser of a block file as SPEC.md defines it (blank lines ignored, trailing
    CR tolerated, final newline optional); raises ValueError naming label:line."""
    txs = []
    for no, raw in enumerate(data.split(b"\n"), 1):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if raw.strip() == b"":
            continue
        f = raw.split()
        if (len(f) != 4 or not DIGITS_RE.match(f[0]) or not AMOUNT_RE.match(f[3])
                or not NAME_RE.match(f[1]) or not NAME_RE.match(f[2])):
            raise ValueError(f"{label}:{no}: malformed {raw!r}")
        serial, amount = int(f[0]), int(f[3])
        if serial < 1 or serial >= 2 ** 64 or not 1 <= amount <= AMOUNT_MAX:
            raise ValueError(f"{label}:{no}: out of range {raw!r}")
        txs.append(Tx(serial, f[1].decode(), f[2].decode(), amount))
    return txs


def block_text(txs, newline="\n", final_newline=True):
    text = newline.join(t.line() for t in txs)
    return text + newline if final_newline and txs else text


def balance_of(txs, user):
    bal = 1000
    for t in txs:
        if t.sender == user:
            bal -= t.amount
        if t.receiver == user:
            bal += t.amount
    return bal


def members_of(txs):
    return {t.sender for t in txs} | {t.receiver for t in txs}


def stats_of(txs, user):
    """Expected stats rows [(rank, partner, count, total)] of SPEC.md: one row per partner,
    count in either direction, total = received - sent; count desc, then name bytes asc."""
    agg = {}
    for t in txs:
        if user not in (t.sender, t.receiver):
            continue
        partner = t.receiver if t.sender == user else t.sender
        c, n = agg.get(partner, (0, 0))
        net = 0
        if t.receiver == user:
            net += t.amount
        if t.sender == user:
            net -= t.amount
        agg[partner] = (c + 1, n + net)
    order = sorted(agg.items(), key=lambda kv: (-kv[1][0], kv[0].encode()))
    return [(i, p, c, n) for i, (p, (c, n)) in enumerate(order, 1)]


def split_block_files(txs, rng=None):
    """Spreads txs over three block texts (round robin, or randomly with rng)."""
    parts = [[], [], []]
    for i, t in enumerate(txs):
        parts[rng.randrange(3) if rng else i % 3].append(t)
    return [block_text(p) for p in parts]


# ---------------------------------------------------------------- SPEC.md messages -------
def m_recv_balance(user, port):
    return f'The main server received input="{user}" from the client using TCP over port {port}.'


def m_recv_transfer(sender, amount, receiver, port):
    return (f'The main server received from "{sender}" to transfer {amount} coins to '
            f'"{receiver}" using TCP over port {port}.')


def m_sent_backend(i):
    return f"The main server sent a request to server {i}."


def m_recv_txs(i, port):
    return f"The main server received transactions from Server {i} using UDP over port {port}."


def m_recv_feedback(i, port):
    return f"The main server received the feedback from server {i} using UDP over port {port}."


def m_sent_balance(j):
    return f"The main server sent the current balance to client {j}."


def m_sent_result(j):
    return f"The main server sent the result of the transaction to client {j}."


def m_recv_txlist(j, port):
    return (f"The main server received a sorted list request from client {j} using TCP over "
            f"port {port}.")


def m_wrote_txlist(path):
    return f"The main server wrote the sorted list to {path}."


def m_recv_stats(user, j, port):
    return (f'The main server received a statistics request for "{user}" from client {j} '
            f"using TCP over port {port}.")


def m_sent_stats(j):
    return f"The main server sent the statistics to client {j}."


M_CLIENT_REQUEST_PREFIXES = ("The main server received input=",
                             "The main server received from ",
                             "The main server received a sorted list request",
                             "The main server received a statistics request")


def m_client_requests(lines):
    """serverM's lines that say a client request arrived."""
    return [l for l in lines if l.startswith(M_CLIENT_REQUEST_PREFIXES)]


def b_received(i):
    return f"The Server{i} received a request from the Main Server."


def b_sent(i):
    return f"The Server{i} finished sending the response to the Main Server."


def c_up(j):
    return f"The client {j} is up and running."


def c_balance_sent(user):
    return f'"{user}" sent a balance enquiry request to the main server.'


def c_balance(user, bal):
    return f'The current balance of "{user}" is : {bal} alicoins.'


def c_nouser_request(user):
    return f'Unable to proceed with the request as "{user}" is not part of the network.'


def c_transfer_sent(sender, amount, receiver):
    return f'"{sender}" has requested to transfer {amount} coins to "{receiver}".'


def c_transfer_ok(sender, amount, receiver):
    return f'"{sender}" successfully transferred {amount} alicoins to "{receiver}".'


def c_insufficient(sender, amount, receiver):
    return (f'"{sender}" was unable to transfer {amount} alicoins to "{receiver}" because of '
            f"insufficient balance.")


def c_nouser_tx(name):
    return f'Unable to proceed with the transaction as "{name}" is not part of the network.'


def c_nousers_tx(sender, receiver):
    return (f'Unable to proceed with the transaction as "{sender}" and "{receiver}" are not '
            f"part of the network.")


def c_same_tx(name):
    return f'Unable to proceed with the transaction as "{name}" cannot transfer coins to itself.'


def c_txlist_sent(j):
    return f"Client {j} sent a sorted list request to the main server."


def c_txlist_ok(n, path):
    return f"The sorted list of {n} transactions is ready in {path} on the main server."


def c_stats_sent(user):
    return f'"{user}" sent a statistics enquiry request to the main server.'


def c_stats_head(user):
    return f'"{user}" statistics are the following.:'


C_STATS_COLUMNS = "Rank--Username--NumofTransactions--Total"


def expected_balance_lines(j, user, bal):
    return [c_up(j), c_balance_sent(user), c_balance(user, bal)]


def expected_transfer_ok_lines(j, sender, receiver, amount, new_bal):
    return [c_up(j), c_transfer_sent(sender, amount, receiver),
            c_transfer_ok(sender, amount, receiver), c_balance(sender, new_bal)]


def parse_stats_output(j, user, out):
    """Checks the fixed lines of a stats answer and returns its rows as
    [(rank, name, count, total)] ints/str, from whitespace-split row lines."""
    lines = out.splitlines()
    head = [c_up(j), c_stats_sent(user), c_stats_head(user), C_STATS_COLUMNS]
    assert lines[:4] == head, f"stats head lines: expected {head}, got {lines[:4]}"
    rows = []
    for l in lines[4:]:
        f = l.split()
        assert len(f) == 4, f"stats row {l!r} does not have 4 fields"
        rows.append((int(f[0]), f[1], int(f[2]), int(f[3])))
    return rows


def transfer_then_reset(net, port_key, before=b""):
    """Sends `before` and "TRANSFER Chinmay Luke 20" on a new connection to serverM's
    port_key, waits until serverM accepted the transfer, then resets the connection (a zero
    linger: RST, not FIN). The transfer must still complete: Luke's balance is then 1200
    on the sample blocks."""
    s = socket.create_connection(("127.0.0.1", net.ports[port_key]), timeout=5)
    try:
        s.sendall(before + b"ALICHAIN/1 TRANSFER Chinmay Luke 20\n")
        # by event, not by sleep: serverM has accepted the request as an operation
        net.wait_line("M", m_recv_transfer("Chinmay", 20, "Luke", net.ports[port_key]))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        s.close()
    r = net.client("A", "Luke")
    assert r.rc == 0, r
    assert r.lines[-1] == 'The current balance of "Luke" is : 1200 alicoins.', r


def read_until_closed(sock, timeout):
    """Reads from sock until the peer closes it (True, data) or timeout (False, data)."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True, data
        if not chunk:
            return True, data
        data += chunk
    return False, data


# ---------------------------------------------------------------- UDP tap ----------------
# The UDP protocol of PROTOCOL.md section 1, as far as the tap needs it: every datagram
# starts with a 20-byte header (magic, version, type, flags, u64 incarnation, u64 request
# id); a reply's type is the request's | 0x80 and its status byte follows the header.
WIRE_HEADER_BYTES = 20
WIRE_WRITE_FIXED_BYTES = WIRE_HEADER_BYTES + 8 + 1   # then the boot epoch (u64) and the count
WIRE_QUERY = 1
WIRE_WRITE = 2
WIRE_REPLY = 0x80
WIRE_ST_OK = 0
WIRE_ST_STALE = 1
WIRE_ST_UNFENCED = 2
WIRE_ST_EPOCH = 3
# Every datagram ends with the authentication trailer (PROTOCOL.md 1.10): scheme, backend,
# u64 sequence number, 32-byte MAC.
AUTH_TRAILER_BYTES = 42
TAP_HOST_BACKENDS = "127.0.0.2"   # where serverM believes the backends are
TAP_HOST_M = "127.0.0.3"          # where the backends believe serverM is
TAP_EVENT_TIMEOUT_S = 10          # a fault window the test waits for must open by then
TAP_PAUSE_MAX_S = 2               # a backend paused by the tap is resumed by then at most


def wire_header(data):
    """(type, incarnation, request id) of a datagram, or None when it is too short."""
    if len(data) < WIRE_HEADER_BYTES:
        return None
    return data[2], int.from_bytes(data[4:12], "big"), int.from_bytes(data[12:20], "big")


def wire_write_txs(data):
    """The transactions [Tx] of a WRITE request (PROTOCOL.md 1.4: page transactions, 1.3);
    raises ValueError on a datagram that is not one."""
    if len(data) < WIRE_WRITE_FIXED_BYTES or data[2] != WIRE_WRITE:
        raise ValueError("not a WRITE request")
    pos = WIRE_WRITE_FIXED_BYTES
    txs = []

    def name():
        nonlocal pos
        n = data[pos]
        s = data[pos + 1:pos + 1 + n].decode("ascii")
        pos += 1 + n
        return s

    def varint():
        nonlocal pos
        v, shift = 0, 0
        while True:
            b = data[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    serial = 0
    for _ in range(data[WIRE_WRITE_FIXED_BYTES - 1]):
        serial += varint()        # page transactions (1.3): the step from the one before
        sender, receiver = name(), name()
        amount = varint()
        txs.append(Tx(serial, sender, receiver, amount))
    if pos != len(data) - AUTH_TRAILER_BYTES:
        raise ValueError("trailing bytes after a WRITE request")
    return txs


class HeldWrite(NamedTuple):
    backend: str           # "A", "B" or "C"
    txs: list              # the transactions of that WRITE request
    data: bytes            # the request as serverM sent it (for release_write)


class UdpTap:
    """A man in the middle on the UDP links between serverM and the three backends, so that
    a test opens a fault window on an event (a WRITE sent, a WRITE acknowledged) instead of
    after a sleep. serverM reaches the backends at TAP_HOST_BACKENDS and the backends reach
    serverM at TAP_HOST_M (server_env() sets both); a thread forwards every datagram and
    applies the armed rule. start() before the network starts, stop() at the end."""

    def __init__(self, offset):
        self.ports = ports_of(offset)
        self.lock = threading.Lock()
        self.event = threading.Event()     # set when an armed rule fired
        self.rule = None                   # "hold-ack", "hold-write", "drop-writes", None
        self.cut = None                    # a backend whose link drops everything
        self.cut_writes = None             # a backend whose WRITE requests are dropped
        self.held = None                   # HeldWrite of the rule that fired
        self.writes = {}                   # (incarnation, request id) -> HeldWrite
        self.reply_status = {}             # (incarnation, request id) -> last status seen
        self.pause_every = None            # {request type: n}: pause on every n-th one
        self.pid_of = None
        self.ack_loss_every = None         # (n, phase): lose an ack of WRITE number k*n+phase
        self.write_index = {}              # (incarnation, request id) -> WRITE number (1..)
        self.acks_lost = set()             # WRITEs whose first OK reply was lost
        self.paused = {}                   # backend -> (key, monotonic time paused)
        self.seen = {}                     # (backend, incarnation, request id) -> copies
        self.counts = {"requests": 0, "replies": 0, "dropped": 0, "paused": 0,
                       "duplicates_delivered": 0, "pause_timeouts": 0, "acks_lost": 0}
        self.type_seen = {}                # request type -> number of first copies
        self.problems = []
        self._stop = threading.Event()
        self._from_m = {}                  # backend -> socket serverM sends to
        for b in BACKENDS:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((TAP_HOST_BACKENDS, self.ports[b]))
            self._from_m[b] = s
        self._to_backends = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._to_backends.bind((TAP_HOST_M, self.ports["M"]))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def server_env(self):
        """server_env for make_network: serverM sends to the tap, backends answer it."""
        env = {"M": {f"ALICHAIN_HOST_{b}": TAP_HOST_BACKENDS for b in BACKENDS}}
        for b in BACKENDS:
            env[b] = {"ALICHAIN_HOST_M": TAP_HOST_M}
        return env

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        """Ends the thread, resumes any backend it paused, closes the sockets; returns the
        problems seen (a pause nobody ended, an exception in the thread)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        with self.lock:
            for b in list(self.paused):
                self._resume(b)
        for s in (*self._from_m.values(), self._to_backends):
            s.close()
        return self.problems

    # ---- rules (each fires once; wait() returns what it caught)
    def hold_next_write_ack(self):
        """The next WRITE's first OK reply is not delivered: the write is durable on its backend
        but serverM never hears it, and from then on that backend's link drops everything
        until heal(). wait() returns the HeldWrite."""
        with self.lock:
            self.event.clear()
            self.held = None
            self.rule = "hold-ack"

    def hold_next_write(self):
        """The next WRITE request is kept instead of delivered (release_write() delivers it
        later), and that backend's link drops everything until heal()."""
        with self.lock:
            self.event.clear()
            self.held = None
            self.rule = "hold-write"

    def drop_next_writes(self):
        """From the next WRITE request on, every WRITE to that backend is dropped (its other
        requests pass) until heal(): the write never lands while serverM keeps retrying.
        wait() returns the first one as a HeldWrite."""
        with self.lock:
            self.event.clear()
            self.held = None
            self.rule = "drop-writes"

    def wait(self, what, timeout=TAP_EVENT_TIMEOUT_S):
        """Waits for the armed rule to fire; returns the HeldWrite, fails with `what`."""
        assert self.event.wait(timeout), f"the fault window never opened: {what} " \
                                         f"(within {timeout} s; tap counts {self.counts})"
        return self.held

    def heal(self):
        """Ends the cuts of hold_next_write_ack(), hold_next_write() and drop_next_writes()."""
        with self.lock:
            self.cut = None
            self.cut_writes = None

    def release_write(self, timeout=TAP_EVENT_TIMEOUT_S):
        """Delivers the WRITE kept by hold_next_write() to its backend, as serverM sent it,
        and returns the status of the backend's reply (WIRE_ST_*), which the tap passes on
        to serverM. Fails when no reply comes within timeout."""
        h = self.held
        assert h is not None and self.rule is None, "no WRITE is held"
        _, inc, rid = wire_header(h.data)
        with self.lock:
            self.reply_status.pop((inc, rid), None)
        self._to_backends.sendto(h.data, ("127.0.0.1", self.ports[h.backend]))
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                status = self.reply_status.get((inc, rid))
            if status is not None:
                return status
            assert time.monotonic() < deadline, f"the held WRITE got no answer from " \
                                                f"server{h.backend} within {timeout} s"
            time.sleep(POLL_S / 4)

    def pause_on_requests(self, pid_of, every):
        """Pauses (SIGSTOP) a backend just before the n-th first copy of a request type
        (every = {type: n}) reaches it, and resumes it (SIGCONT) just after serverM's
        retransmission of that request has reached it too: the backend then reads both
        copies. pid_of(backend) gives the backend's pid."""
        with self.lock:
            self.pid_of = pid_of
            self.pause_every = dict(every)

    def lose_write_acks(self, every, phase):
        """Loses the first OK reply to WRITE number k * every + phase (WRITEs counted from 1
        in the order serverM sends them): the backend has stored it, and serverM's
        retransmission reaches a backend that already holds that serial."""
        with self.lock:
            self.ack_loss_every = (every, phase)

    # ---- the thread
    def _resume(self, b):
        self.paused.pop(b, None)
        try:
            os.kill(self.pid_of(b), signal.SIGCONT)
        except (ProcessLookupError, KeyError):
            pass

    def _on_request(self, b, data):
        """A datagram from serverM to backend b: returns True to deliver it."""
        h = wire_header(data)
        self.counts["requests"] += 1
        if self.cut == b or (self.cut_writes == b and h is not None and h[0] == WIRE_WRITE):
            self.counts["dropped"] += 1
            return False
        if h is None:
            return True
        typ, inc, rid = h
        copies = self.seen.get((b, inc, rid), 0) + 1
        self.seen[(b, inc, rid)] = copies
        if copies == 1:
            n = self.type_seen.get(typ, 0) + 1
            self.type_seen[typ] = n
        if typ == WIRE_WRITE and copies == 1:
            self.writes[(inc, rid)] = HeldWrite(b, wire_write_txs(data), data)
            self.write_index[(inc, rid)] = n
        if self.rule in ("hold-write", "drop-writes") and typ == WIRE_WRITE:
            self.held = self.writes[(inc, rid)]
            if self.rule == "hold-write":
                self.cut = b
            else:
                self.cut_writes = b
            self.rule = None
            self.event.set()
            self.counts["dropped"] += 1
            return False
        if copies == 1:
            every = (self.pause_every or {}).get(typ)
            if every and n % every == 0 and b not in self.paused:
                os.kill(self.pid_of(b), signal.SIGSTOP)
                self.paused[b] = ((inc, rid), time.monotonic())
                self.counts["paused"] += 1
        return True

    def _after_request(self, b, data):
        """After delivery: a retransmission that reached a backend paused for it resumes it."""
        h = wire_header(data)
        if h is None or b not in self.paused:
            return
        if self.paused[b][0] == (h[1], h[2]) and self.seen[(b, h[1], h[2])] >= 2:
            self.counts["duplicates_delivered"] += 1
            self._resume(b)

    def _on_reply(self, b, data):
        """A datagram from backend b to serverM: returns True to deliver it."""
        h = wire_header(data)
        self.counts["replies"] += 1
        if self.cut == b:
            self.counts["dropped"] += 1
            return False
        if h is None or len(data) <= WIRE_HEADER_BYTES:
            return True
        typ, inc, rid = h
        before = self.reply_status.get((inc, rid))
        self.reply_status[(inc, rid)] = data[WIRE_HEADER_BYTES]
        # the first OK of a WRITE: a repeat (the backend answering serverM's retransmission
        # of a write it already acknowledged, when a slow sync outlasted the resend timer)
        # tells serverM nothing new, so holding it would open no window
        if (self.rule == "hold-ack" and typ == WIRE_REPLY | WIRE_WRITE
                and data[WIRE_HEADER_BYTES] == WIRE_ST_OK and before != WIRE_ST_OK
                and (inc, rid) in self.writes):
            self.rule = None
            self.held = self.writes[(inc, rid)]
            self.cut = b
            self.event.set()
            return False
        if (self.ack_loss_every and typ == WIRE_REPLY | WIRE_WRITE
                and data[WIRE_HEADER_BYTES] == WIRE_ST_OK and (inc, rid) not in self.acks_lost):
            every, phase = self.ack_loss_every
            if self.write_index.get((inc, rid), 0) % every == phase:
                self.acks_lost.add((inc, rid))
                self.counts["acks_lost"] += 1
                return False
        return True

    def _run(self):
        sel = selectors.DefaultSelector()
        for b, s in self._from_m.items():
            sel.register(s, selectors.EVENT_READ, ("req", b))
        sel.register(self._to_backends, selectors.EVENT_READ, ("rep", None))
        by_port = {self.ports[b]: b for b in BACKENDS}
        m_addr = ("127.0.0.1", self.ports["M"])
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(timeout=0.01):
                    kind, b = key.data
                    data, src = key.fileobj.recvfrom(65536)
                    with self.lock:
                        if kind == "req":
                            if self._on_request(b, data):
                                self._send(self._to_backends, data, ("127.0.0.1", self.ports[b]))
                                self._after_request(b, data)
                        else:
                            rb = by_port.get(src[1])
                            if rb is not None and self._on_reply(rb, data):
                                self._send(self._from_m[rb], data, m_addr)
                with self.lock:
                    for b, (_, since) in list(self.paused.items()):
                        if time.monotonic() - since > TAP_PAUSE_MAX_S:
                            self.counts["pause_timeouts"] += 1
                            self._resume(b)
        except Exception as e:   # reported by stop(); the test then fails
            self.problems.append(f"tap thread: {e!r}")
        finally:
            sel.close()

    @staticmethod
    def _send(sock, data, addr):
        try:
            sock.sendto(data, addr)
        except OSError:
            pass             # a dead backend: the datagram is lost, as on a real network


def processes_with_offset(offset):
    """Pids of our processes whose environment holds ALICHAIN_PORT_OFFSET=offset."""
    want = f"ALICHAIN_PORT_OFFSET={offset}".encode()
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if want in (p / "environ").read_bytes().split(b"\0"):
                found.append(int(p.name))
        except OSError:
            continue
    return found
