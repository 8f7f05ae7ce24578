# hosts_helpers.py — the machinery of tests/real/test_hosts.py: one run's namespace hosts
# (alichain-hosts up/down, always torn down), the four real servers spread over them with an
# optional UDP fault relay in front of each backend, clients run from the clients' host,
# and the nft / relay counters read back.
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from e2e_helpers import (  # noqa: E402  (the e2e helpers live next door)
    BACKENDS, BLOCK_NAME, Result, decode, program_env, sample_blocks, wait_file_text,
)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ports import OFFSET_DEFAULT, UDP_BASE  # noqa: E402  (core/ports.h's table)

OFFSET = OFFSET_DEFAULT       # each host has its own network stack: no port can collide
HOST_ADDR = {"M": "198.18.0.1", "A": "198.18.0.2", "B": "198.18.0.3", "C": "198.18.0.4",
             "K": "198.18.0.5"}
TOOL_TIMEOUT_S = 30           # one alichain-hosts call (each ip/nft call inside has 10 s)
CLIENT_TIMEOUT_S = 15
READY_TIMEOUT_S = 10
STOP_TIMEOUT_S = 10
COUNTER_RE = re.compile(r"^counter (\S+) host (\S) packets (\d+) bytes (\d+)$")
RELAY_RE = re.compile(r"^relay: down (.*); up (.*)$")


def ci():
    return os.environ.get("CI", "").lower() == "true"


class Hosts:
    """One run's hosts under tag, owned by this pytest process (a stale-run sweep removes
    them if it dies). up() creates them; down() always removes them."""

    def __init__(self, tool, tag):
        self.tool = str(tool)
        self.tag = tag
        self.owner = os.getpid()
        self.prefix = f"alc-{self.owner}-{tag}-"
        self.names = {h: self.prefix + h for h in HOST_ADDR}

    def run(self, *args, check=True):
        p = subprocess.run([self.tool, *args], capture_output=True, text=True,
                           timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL)
        r = Result(p.returncode, p.stdout, p.stderr)
        if check:
            assert r.rc == 0, f"alichain-hosts {' '.join(args)} -> {r}"
        return r

    def op(self, cmd, *args, check=True):
        return self.run(cmd, self.tag, *args, "--owner", str(self.owner), check=check)

    def up(self):
        return self.op("up")

    def down(self):
        return self.op("down", check=False)

    def exec_argv(self, host, argv):
        return [self.tool, "exec", self.tag, host, "--owner", str(self.owner), "--", *map(str, argv)]

    def counters(self):
        """{counter name: packets} over every host."""
        out = {}
        for line in self.op("counters").out.splitlines():
            m = COUNTER_RE.match(line)
            assert m, f"unexpected counters line {line!r}"
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(3))
        return out


def netns_list():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                          timeout=TOOL_TIMEOUT_S, check=True).stdout


def root_links():
    """The interface names of the root namespace."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                         timeout=TOOL_TIMEOUT_S, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def parse_relay_counts(text):
    """{'down': {...}, 'up': {...}} from the relay's last line."""
    for line in reversed(text.splitlines()):
        m = RELAY_RE.match(line)
        if m:
            return {d: {k: int(v) for k, v in (kv.split("=") for kv in part.split())}
                    for d, part in zip(("down", "up"), m.groups())}
    raise AssertionError(f"no relay counters in {text!r}")


class HostNetwork:
    """serverM on host M, serverA/B/C on hosts A/B/C, clients on host K; files in root.
    relay: None, or {'seed': N, 'down': SPEC, 'up': SPEC} — then a relay runs on each
    backend's host at the backend's address and port, and the backend itself listens on
    that host's 127.0.0.1 (so serverM, told nothing new, talks to the relay, and the relay's
    datagrams come from exactly the address serverM expects)."""

    def __init__(self, hosts, bin_dir, root, env=None, relay=None):
        self.hosts = hosts
        self.bin_dir = Path(bin_dir)
        self.root = Path(root)
        self.logs = self.root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = dict(env or {})
        self.relay = relay
        self.procs = {}
        for b, data in zip(BACKENDS, sample_blocks()):
            (self.root / BLOCK_NAME[b]).write_bytes(data)

    def spawn(self, name, host, argv, extra=None):
        out_p, err_p = self.logs / f"{name}.out", self.logs / f"{name}.err"
        env = program_env(OFFSET, {**self.env, **(extra or {})})
        with open(out_p, "wb") as fo, open(err_p, "wb") as fe:
            proc = subprocess.Popen(self.hosts.exec_argv(host, argv), cwd=self.root, env=env,
                                    stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                                    start_new_session=True)
        self.procs[name] = proc
        return proc, out_p, err_p

    def wait_ready(self, name, line):
        proc = self.procs[name]
        out_p = self.logs / f"{name}.out"
        ok, text = wait_file_text(out_p, lambda t: line in t, READY_TIMEOUT_S, proc)
        err = (self.logs / f"{name}.err").read_text()
        assert ok, f"{name} did not print {line!r}: stdout={text!r} stderr={err!r}"

    def start(self):
        for b in BACKENDS:
            extra = None
            if self.relay:
                port = UDP_BASE[b] + OFFSET
                link = (f"{HOST_ADDR[b]}:{port},{HOST_ADDR['M']}:{UDP_BASE['M'] + OFFSET},"
                        f"127.0.0.1:{UDP_BASE['M'] + OFFSET},127.0.0.1:{port}")
                self.spawn(f"relay{b}", b, [self.hosts.tool, "relay", "--seed",
                                            self.relay["seed"] + ord(b), "--down",
                                            self.relay["down"], "--up", self.relay["up"],
                                            "--link", link])
                self.wait_ready(f"relay{b}", "relay: ready")
                extra = {f"ALICHAIN_HOST_{b}": "127.0.0.1", "ALICHAIN_HOST_M": "127.0.0.1"}
            self.spawn(f"server{b}", b, [self.bin_dir / f"server{b}"], extra)
            self.wait_ready(f"server{b}", "is up and running")
        self.spawn("serverM", "M", [self.bin_dir / "serverM"])
        self.wait_ready("serverM", "The main server is up and running.")
        return self

    def client(self, j, *args, timeout=CLIENT_TIMEOUT_S, env=None):
        argv = self.hosts.exec_argv("K", [self.bin_dir / f"client{j}", *args])
        p = subprocess.run(argv, cwd=self.root, env=program_env(OFFSET, {**self.env, **(env or {})}),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        return Result(p.returncode, decode(p.stdout), decode(p.stderr))

    def popen_client(self, j, *args):
        argv = self.hosts.exec_argv("K", [self.bin_dir / f"client{j}", *args])
        return subprocess.Popen(argv, cwd=self.root, env=program_env(OFFSET, self.env),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def stop_relays(self):
        """SIGTERM to each relay; {backend: counts} from their last lines."""
        counts = {}
        for b in BACKENDS:
            proc = self.procs.get(f"relay{b}")
            if proc is None:
                continue
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=STOP_TIMEOUT_S)
            counts[b] = parse_relay_counts((self.logs / f"relay{b}.out").read_text())
        return counts

    def close(self):
        """Stops every process (SIGTERM, then SIGKILL at the deadline); returns problems."""
        problems = []
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    problems.append(f"{name} did not exit on SIGTERM")
        return problems


def wait_until(predicate, timeout, poll_s=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return predicate()
