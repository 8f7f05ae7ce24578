# test_ssh_hosts.py — the GNU parallel over ssh recipe of docs/SCALING.md, run as written (but
# for its sizes) against real ssh hosts (issue 18, item 2): network-namespace hosts of
# alichain-hosts (198.18.0.0/15), three of them each running Debian's sshd with a host key and
# an authorized user key of this test's own (private config; the machine's ssh setup is not
# touched: each sshd has its own mount and UTS namespace, its own /run and /srv, and its host
# name), the recipe driven from the clients' host. Results come back on each job's standard
# output (ALICHAIN_JOB_STDOUT=1), one host is killed mid-block, and the block is rerun
# elsewhere (--retries).
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from engines_helpers import (BIN_DIR, REPO, SIM, Daemons, kill_pids, need_root_and, pids_inside,
                             unavailable, wait_for)
from test_scaling import jsonl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "real"))
from hosts_helpers import HOST_ADDR, Hosts, netns_list  # noqa: E402  (alichain-hosts' layout)

DOC = REPO / "docs" / "SCALING.md"
SSH_HOSTS = ("A", "B", "C")      # the machines of machines.txt; K drives the recipe
KILLED = "B"
BLOCKS = 9
BLOCK_SEEDS = 300
RUN_TIMEOUT_S = 300
START_TIMEOUT_S = 30

SSHD_CONFIG = """\
ListenAddress {addr}
Port 22
HostKey {d}/ssh/host_key
AuthorizedKeysFile {d}/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp internal-sftp
"""

SSH_CONFIG = """\
Host *
  User root
  IdentityFile {d}/ssh/id
  IdentitiesOnly yes
  UserKnownHostsFile {d}/ssh/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
"""


def recipe():
    """The ssh recipe's lines from docs/SCALING.md, sized down: blocks, seeds per block."""
    (block,) = [b for b in re.findall(r"^```\n(.*?)^```$", DOC.read_text(), re.M | re.S) if "--sshloginfile" in b]
    sized = block.replace("seq 0 999", "seq 0 %d" % (BLOCKS - 1))
    sized = sized.replace("ALICHAIN_BLOCK_SEEDS=10000", "ALICHAIN_BLOCK_SEEDS=%d" % BLOCK_SEEDS)
    sized = sized.replace("--seeds 10000000", "--seeds %d" % (BLOCKS * BLOCK_SEEDS))
    assert sized.count("%d" % (BLOCKS - 1)) and "--seeds %d" % (BLOCKS * BLOCK_SEEDS) in sized, block
    return sized


@pytest.fixture(scope="module")
def tool():
    need_root_and("/usr/sbin/sshd", "ssh", "ssh-keygen", "parallel", "unshare")
    path = BIN_DIR / "alichain-hosts"
    assert path.exists(), "%s is missing: build it with make" % path
    r = subprocess.run([str(path), "check"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        unavailable("NAMESPACE HOSTS UNAVAILABLE: %s" % r.stderr.strip())
    r = subprocess.run([str(path), "sweep"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    return path


@pytest.fixture
def ssh_hosts(tool):
    """Three ssh hosts up, with their sshd; everything stopped and removed at the end."""
    tree = Path(tempfile.mkdtemp(prefix="alichain-ssh-"))
    tree.chmod(0o700)
    hosts = Hosts(tool, "ssh")
    daemons = Daemons()
    try:
        (tree / "ssh").mkdir()
        for key in ("host_key", "id"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alichain-test-" + key,
                            "-f", str(tree / "ssh" / key)], check=True, timeout=30)
        shutil.copy(tree / "ssh" / "id.pub", tree / "ssh" / "authorized_keys")
        pub = (tree / "ssh" / "host_key.pub").read_text().split()
        (tree / "ssh" / "known_hosts").write_text(
            "".join("%s %s %s\n" % (HOST_ADDR[h], pub[0], pub[1]) for h in SSH_HOSTS))
        (tree / "ssh" / "config").write_text(SSH_CONFIG.format(d=tree))
        hosts.up()
        for h in SSH_HOSTS:
            # the machine: the same commit built at the same path (/srv/alichain)
            srv = tree / ("host-" + h)
            (srv / "alichain" / "sim" / "swarm").mkdir(parents=True)
            shutil.copy(REPO / "sim" / "swarm" / "swarm-job.sh", srv / "alichain" / "sim" / "swarm")
            shutil.copy(SIM, srv / "alichain" / "alichain-sim")
            cfg = tree / "ssh" / ("sshd-%s.conf" % h)
            cfg.write_text(SSHD_CONFIG.format(addr=HOST_ADDR[h], d=tree))
            boot = ("hostname sshhost-{h} && mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && "
                    "mount --bind {srv} /srv && exec /usr/sbin/sshd -D -e -f {cfg}").format(h=h, srv=srv, cfg=cfg)
            daemons.start("sshd-" + h, hosts.exec_argv(h, ["unshare", "--uts", "--mount", "--propagation", "private",
                                                            "sh", "-c", boot]), tree / ("sshd-%s.log" % h))
        for h in SSH_HOSTS:
            wait_for("sshd on host %s" % h, lambda h=h: "Server listening" in
                     (tree / ("sshd-%s.log" % h)).read_text(), START_TIMEOUT_S)
        yield hosts, tree
    finally:
        daemons.stop()
        r = hosts.down()              # also kills whatever still runs inside the hosts
        kill_pids(pids_inside(tree))
        shutil.rmtree(tree, ignore_errors=True)
    assert r.rc == 0, "teardown failed: %s" % (r,)
    assert hosts.prefix not in netns_list()


def netns_pids(hosts, h):
    r = subprocess.run(["ip", "netns", "pids", hosts.names[h]], capture_output=True, text=True, timeout=30)
    return [int(p) for p in r.stdout.split()]


def freeze_a_block(hosts, h):
    """The block index of an alichain-sim running on host h, stopped (SIGSTOP) mid-run, or
    None when none runs there now: a block caught running cannot end before the host dies."""
    for pid in netns_pids(hosts, h):
        try:
            if Path("/proc/%d/comm" % pid).read_text().strip() != "alichain-sim":
                continue
            os.kill(pid, signal.SIGSTOP)
            args = Path("/proc/%d/cmdline" % pid).read_bytes().split(b"\0")
            wait_for("alichain-sim %d stopped" % pid, lambda: Path("/proc/%d/stat" % pid).read_text()
                     .rsplit(")", 1)[1].split()[0] == "T", START_TIMEOUT_S, 0.01)
        except OSError:
            continue              # it ended (and its pid is gone) before the stop reached it
        return int(args[args.index(b"--block") + 1])
    return None


def blocks_of(path):
    """{block: (run line, seed lines)} of a file of several blocks' JSON lines."""
    out = {}
    for x in jsonl(path):
        if x["type"] == "run":
            assert x["block"] not in out, "block %d came back twice" % x["block"]
            cur = out[x["block"]] = (x, [])
        else:
            cur[1].append(x)
    return out


def whole_block_on(tree, h):
    """A block host h has finished (its block-K.jsonl renamed into place), or None."""
    done = sorted((tree / ("host-" + h) / "alichain" / "results").glob("block-*.jsonl"))
    return int(done[0].name[len("block-"):-len(".jsonl")]) if done else None


def run_recipe(hosts, tree, catch):
    """Runs the recipe from host K; kills host B, every process in it, its sshd included,
    once catch() names a block of B's. Returns (that block, the recipe's output, its
    results directory)."""
    local = tree / "local"
    (local / "home").mkdir(parents=True)
    os.symlink(SIM, local / "alichain-sim")
    (local / "machines.txt").write_text("".join("1/root@%s\n" % HOST_ADDR[h] for h in SSH_HOSTS))
    script = local / "recipe.sh"
    script.write_text("set -e\n" + recipe())
    env = ["env", "HOME=%s" % (local / "home"), "PARALLEL_SSH=ssh -F %s" % (tree / "ssh" / "config"),
           "PATH=%s" % os.environ.get("PATH", "/usr/bin:/bin")]
    log = open(tree / "recipe.out", "w")
    p = subprocess.Popen(hosts.exec_argv("K", env + ["bash", str(script)]), cwd=local, stdout=log,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    caught = []
    try:
        def seen():
            if p.poll() is not None:
                return True
            k = catch()
            if k is not None:
                caught.append(k)
            return k is not None
        wait_for("host %s's moment" % KILLED, seen, RUN_TIMEOUT_S, 0.01)
        assert caught, "the recipe ended before host %s's moment came:\n%s" % (
            KILLED, (tree / "recipe.out").read_text())
        kill_pids(netns_pids(hosts, KILLED))
        p.wait(timeout=RUN_TIMEOUT_S)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
            p.wait(timeout=30)
    out = (tree / "recipe.out").read_text()
    assert p.returncode == 0, out
    return caught[0], out, local / "results"


def check_whole(out, res):
    """Every block came back exactly once, whole, and the joblog (one row per block, its
    last try) names the host each block's run line names. Returns {block: host}."""
    assert "report: PASS" in out and "seeds run: %d seeds in 1 range: 0..%d" % (
        BLOCKS * BLOCK_SEEDS, BLOCKS * BLOCK_SEEDS - 1) in out, out
    blocks = blocks_of(res / "blocks.jsonl")
    assert sorted(blocks) == list(range(BLOCKS))
    assert all(len(seeds) == BLOCK_SEEDS for _, seeds in blocks.values())
    hosts_seen = {k: run["host"] for k, (run, _) in blocks.items()}
    rows = [line.split("\t") for line in (res / "joblog").read_text().splitlines()[1:]]
    assert len(rows) == BLOCKS and all(r[6] == "0" and r[7] == "0" for r in rows), rows
    by_block = {int(r[-1].split()[-1]): r[1] for r in rows}
    addr = {"sshhost-%s" % h: "root@%s" % HOST_ADDR[h] for h in SSH_HOSTS}
    assert by_block == {k: addr[h] for k, h in hosts_seen.items()}
    return hosts_seen


def test_recipe_reruns_elsewhere_the_block_a_host_died_in(ssh_hosts):
    hosts, tree = ssh_hosts
    # the block is stopped first, so that it cannot end (and be sent back) before B dies
    frozen, out, res = run_recipe(hosts, tree, lambda: freeze_a_block(hosts, KILLED))
    hosts_seen = check_whole(out, res)
    # it came back from A or C (--retries ran it elsewhere); B may have finished blocks before
    assert hosts_seen[frozen] in ("sshhost-A", "sshhost-C"), (frozen, hosts_seen)
    assert {"sshhost-A", "sshhost-C"} <= set(hosts_seen.values())


def test_recipe_loses_nothing_when_a_host_dies_as_its_block_ends(ssh_hosts):
    """B dies as soon as a block of its is whole on its disk: before, while or after its lines
    travel back. Whichever it was, the block comes back once: from B when its job ended
    well, else from a rerun (a result fetched after the job, --return, would be missing)."""
    hosts, tree = ssh_hosts
    _, out, res = run_recipe(hosts, tree, lambda: whole_block_on(tree, KILLED))
    check_whole(out, res)
