# test_slurm.py — the shipped deploy/slurm-swarm.sh, unchanged, on a real Slurm (issue 18,
# item 1): a private single-node cluster (Debian's slurmctld, slurmd and munged, installed by
# ci/install-deps.sh) with its own config, munge key, spool, state and loopback ports, started
# for this module and stopped by pid at its end, also when a test fails. Small arrays: a
# cancelled task is reported missing and a requeue mends it; a failing block keeps its
# results and names its host and attempt; a running task cancelled leaves nothing partial;
# sbatch --chdir is honoured, and without a repository a task exits 2, not 127.
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from engines_helpers import (REPO, SIM, Daemons, free_port, kill_pids, need_root_and, pids_inside,
                             unavailable, wait_for)
from test_scaling import MUTANT, clean_env, jsonl, mutant_sim  # noqa: F401 (fixture)

SCRIPT = REPO / "deploy" / "slurm-swarm.sh"
START_TIMEOUT_S = 60       # daemons up, node idle
JOB_TIMEOUT_S = 180        # an array of small blocks done, on a loaded 2-core machine
CMD_TIMEOUT_S = 30         # one sbatch/scontrol/squeue call
NODE = "alinode"

CONF = """\
ClusterName=alichaintest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge/socket
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=5
NodeName={node} NodeAddr=127.0.0.1 NodeHostname={host} CPUs=2 RealMemory=1024 State=UNKNOWN
PartitionName=alichain Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


class Slurm:
    def __init__(self, tree):
        self.tree = tree
        self.conf = tree / "slurm.conf"

    def env(self, **extra):
        env = {k: v for k, v in clean_env(**extra).items() if not k.startswith("SLURM_")}
        env["SLURM_CONF"] = str(self.conf)
        return env

    def run(self, *argv, cwd=None, check=True, **extra):
        r = subprocess.run([str(a) for a in argv], cwd=cwd or self.tree, env=self.env(**extra),
                           capture_output=True, text=True, timeout=CMD_TIMEOUT_S, stdin=subprocess.DEVNULL)
        if check:
            assert r.returncode == 0, "%s -> %d\n%s%s" % (" ".join(map(str, argv)), r.returncode, r.stdout, r.stderr)
        return r

    def sbatch(self, chdir, *args, cwd=REPO, script=SCRIPT, **extra):
        """The job id of `sbatch --chdir=chdir ARGS script`, submitted from cwd."""
        r = self.run("sbatch", "--parsable", "--chdir=%s" % chdir, *args, script, cwd=cwd, **extra)
        return r.stdout.strip().split(";")[0]

    def job(self, jid):
        """scontrol's fields of one job (array task JOB_K) as a dict."""
        out = self.run("scontrol", "show", "job", "-o", jid).stdout
        return dict(re.findall(r"(\w+)=(\S*)", out))

    def wait_done(self, jid):
        try:
            wait_for("job %s to end" % jid,
                     lambda: not self.run("squeue", "-h", "-j", jid, check=False).stdout.strip(), JOB_TIMEOUT_S, 0.3)
        except AssertionError as e:
            state = self.run("squeue", "-j", jid, "-o", "%i %T %r", check=False).stdout
            raise AssertionError("%s; squeue:\n%s" % (e, state)) from None

    def cancel_all(self):
        self.run("scancel", "--user=root", check=False)


@pytest.fixture(scope="module")
def slurm():
    need_root_and("munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "sbatch", "scontrol", "squeue")
    tree = Path(tempfile.mkdtemp(prefix="alichain-slurm-"))
    tree.chmod(0o700)
    daemons = Daemons()
    s = Slurm(tree)
    try:
        for sub in ("munge", "state", "spool"):
            (tree / sub).mkdir(mode=0o700)
        key = tree / "munge" / "munge.key"
        key.write_bytes(Path("/dev/urandom").open("rb").read(1024))
        key.chmod(0o400)
        daemons.start("munged", ["munged", "--foreground", "--force", "--socket=%s" % (tree / "munge" / "socket"),
                                 "--key-file=%s" % key, "--log-file=%s" % (tree / "munge" / "log"),
                                 "--pid-file=%s" % (tree / "munge" / "pid"), "--seed-file=%s" % (tree / "munge" / "seed")],
                      tree / "munged.out")
        wait_for("munged's socket", lambda: (tree / "munge" / "socket").exists(), START_TIMEOUT_S)
        host = socket.gethostname().split(".")[0]
        s.conf.write_text(CONF.format(host=host, ctld_port=free_port(), d_port=free_port(), d=tree, node=NODE))
        env = s.env()
        daemons.start("slurmctld", ["/usr/sbin/slurmctld", "-D", "-f", s.conf], tree / "slurmctld.out", env=env)
        daemons.start("slurmd", ["/usr/sbin/slurmd", "-D", "-f", s.conf, "-N", NODE], tree / "slurmd.out", env=env)

        def idle():
            r = s.run("sinfo", "-h", "-N", "-o", "%T", check=False)
            return r.returncode == 0 and r.stdout.strip() == "idle"
        try:
            wait_for("the node to be idle", idle, START_TIMEOUT_S, 0.5)
        except AssertionError:
            logs = "".join(p.read_text()[-2000:] for p in tree.glob("*.log") if p.is_file())
            raise AssertionError("private Slurm did not come up:\n" + logs)
        yield s
    finally:
        try:
            if s.conf.exists():
                s.cancel_all()
                time.sleep(1)
        finally:
            daemons.stop()
            kill_pids(pids_inside(tree))   # a job step whose daemon was stopped under it
            shutil.rmtree(tree, ignore_errors=True)


def report_command(out_file):
    """The report command a task prints at the end of its output."""
    m = re.search(r"^slurm-swarm: merge with: (.*)$", out_file.read_text(), re.M)
    assert m, out_file.read_text()
    return m.group(1)


def run_report(command, cwd):
    return subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True, timeout=CMD_TIMEOUT_S)


def test_array_merges_a_cancelled_task_is_missing_and_a_requeue_mends_it(slurm):
    work = slurm.tree / "work-array"
    work.mkdir()
    # submitted from the repository root, run in --chdir (results/ there, not in the repository)
    jid = slurm.sbatch(work, "--hold", "--array=0-2", ALICHAIN_SIM=SIM, ALICHAIN_BLOCK_SEEDS=200)
    # tasks 0 and 1 released (each split from the array's record), task 2 cancelled before
    # it ran: the array's own record, kept as CANCELLED (a held task cancelled while others
    # still wait in that record would leave the array instead, and could not be requeued)
    slurm.run("scontrol", "release", "%s_0" % jid)
    slurm.run("scontrol", "release", "%s_1" % jid)
    slurm.run("scancel", "%s_2" % jid)
    slurm.wait_done(jid)
    res = work / "results"
    assert sorted(p.name for p in res.glob("block-*.jsonl*")) == ["block-0.jsonl", "block-1.jsonl"]
    assert not (REPO / "results").exists() or not list((REPO / "results").glob("block-*")), \
        "the task wrote into the submit directory, not sbatch --chdir"
    cmd = report_command(work / ("slurm-%s_0.out" % jid))
    assert "--first 0 --seeds 600 results/block-*.jsonl" in cmd, cmd
    r = run_report(cmd, work)
    assert r.returncode == 2, r.stdout
    assert "missing seeds: 200 seeds in 1 range: 400..599" in r.stdout, r.stdout
    assert slurm.job("%s_2" % jid)["JobState"] == "CANCELLED"
    # requeued it runs again: PASS (it keeps the array's hold, so released; and its begin time
    # is pushed back on a requeue, so brought forward)
    slurm.run("scontrol", "requeue", "%s_2" % jid)
    slurm.run("scontrol", "release", "%s_2" % jid)
    slurm.run("scontrol", "update", "jobid=%s_2" % jid, "StartTime=now")
    slurm.wait_done(jid)
    r = run_report(cmd, work)
    assert r.returncode == 0 and "report: PASS" in r.stdout, r.stdout
    run = jsonl(res / "block-2.jsonl")[0]
    assert re.fullmatch(r"slurm job \d+ restart 1", run["attempt"]), run
    assert re.fullmatch(r"slurm job \d+ restart 0", jsonl(res / "block-0.jsonl")[0]["attempt"])


def test_a_failing_block_keeps_its_results_and_names_host_and_attempt(slurm, mutant_sim):
    work = slurm.tree / "work-fail"
    work.mkdir()
    jid = slurm.sbatch(work, "--array=0-1", ALICHAIN_SIM=mutant_sim, ALICHAIN_BLOCK_SEEDS=8,
                       ALICHAIN_SWARM_ARGS="--mutant %s" % MUTANT)
    slurm.wait_done(jid)
    states = {k: slurm.job("%s_%d" % (jid, k)) for k in (0, 1)}
    assert any(s["JobState"] == "FAILED" and s["ExitCode"] == "1:0" for s in states.values()), states
    r = run_report(report_command(work / ("slurm-%s_0.out" % jid)), work)
    assert r.returncode == 1 and "report: FAIL" in r.stdout, r.stdout
    assert re.search(r"ran on: \S+, attempt slurm job \d+ restart 0 \(results/block-\d\.jsonl:\d+\)", r.stdout), r.stdout
    assert "scenarios carried:" in r.stdout, r.stdout


def test_a_running_task_cancelled_leaves_no_partial_file(slurm):
    work = slurm.tree / "work-cancel"
    work.mkdir()
    jid = slurm.sbatch(work, "--array=0", ALICHAIN_SIM=SIM, ALICHAIN_BLOCK_SEEDS=10 ** 7)
    def started():   # the attempt's own name: block-0.jsonl.partial-slurm_job_ID_restart_0
        found = list((work / "results").glob("block-0.jsonl.partial-slurm_job_*"))
        return found and found[0].stat().st_size > 0
    wait_for("the task to start writing", started, JOB_TIMEOUT_S, 0.1)
    slurm.run("scancel", jid)
    slurm.wait_done(jid)
    assert slurm.job("%s_0" % jid)["JobState"] == "CANCELLED"
    assert not list((work / "results").glob("block-0.jsonl*"))


def test_without_a_repository_a_task_exits_2_not_127(slurm):
    elsewhere = slurm.tree / "elsewhere"
    elsewhere.mkdir()
    # submitted from outside the repository, run there: no sim/swarm/swarm-job.sh to run
    jid = slurm.sbatch(elsewhere, "--array=0", cwd=elsewhere, ALICHAIN_SIM=SIM, ALICHAIN_BLOCK_SEEDS=5)
    slurm.wait_done(jid)
    assert slurm.job("%s_0" % jid)["ExitCode"] == "2:0"
    assert "slurm-swarm: no repository" in (elsewhere / ("slurm-%s_0.out" % jid)).read_text()
