# test_k8s_job.py — deploy/k8s-swarm-job.yaml without a cluster: every document checked against
# the Kubernetes API schemas offline (npm kubernetes-models, which ci/install-deps.sh installs in
# build/k8s-validator/; the validator is shown to fire on broken copies), the failure policy
# read back from the YAML as docs/SCALING.md promises it, and the pod's PID 1 signal path:
# swarm-job.sh run as PID 1 of a new PID namespace (unshare -fp) with the pod's environment,
# SIGTERM from outside as the kubelet sends it, and a failing seed's exit 1.
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml   # python3-yaml (ci/install-deps.sh)

from engines_helpers import REPO, SIM, need_root_and, pids_inside, kill_pids, unavailable, wait_for
from sim_helpers import build_mutant_sim

MANIFEST = REPO / "deploy" / "k8s-swarm-job.yaml"
DOCKERFILE = REPO / "deploy" / "swarm.Dockerfile"
JOB_SCRIPT = REPO / "sim" / "swarm" / "swarm-job.sh"
VALIDATOR_DIR = REPO / "build" / "k8s-validator"
VALIDATOR = Path(__file__).resolve().parent / "k8s_validate.cjs"
VALIDATE_TIMEOUT_S = 60
START_TIMEOUT_S = 60          # for the block to start writing
GRACE_PERIOD_S = 30           # Kubernetes' default terminationGracePeriodSeconds
EXIT_AFTER_SIGTERM_MAX_S = 5  # well under the grace period: stops at a seed boundary
BIG_BLOCK_SEEDS = 10 ** 7     # hours of seeds: still running whenever SIGTERM comes
POD_NAME = "alichain-swarm-0-x7k2q"   # what the downward API's metadata.name gives
EXIT_PASS, EXIT_SEED_FAILED, EXIT_RETRY = 0, 1, 2   # swarm-job.sh's exit codes


def documents(text=None):
    return list(yaml.safe_load_all(text if text is not None else MANIFEST.read_text()))


def job_and_claim():
    docs = documents()
    kinds = {d["kind"]: d for d in docs}
    assert sorted(kinds) == ["Job", "PersistentVolumeClaim"] and len(docs) == 2, [d["kind"] for d in docs]
    return kinds["Job"], kinds["PersistentVolumeClaim"]


def container(job):
    (c,) = job["spec"]["template"]["spec"]["containers"]
    return c


# ---------------------------------------------------------------- the schema validator

def need_validator():
    if shutil.which("node") is None:
        unavailable("Node.js is missing (make deps installs it): the Kubernetes schema validator runs on it")
    if not (VALIDATOR_DIR / "node_modules" / "kubernetes-models" / "package.json").is_file():
        unavailable("the Kubernetes schema validator (npm kubernetes-models) is not in %s: make deps installs it"
                    % VALIDATOR_DIR)


def validate(docs):
    r = subprocess.run(["node", str(VALIDATOR), str(VALIDATOR_DIR)], input=json.dumps(docs),
                       capture_output=True, text=True, timeout=VALIDATE_TIMEOUT_S)
    assert r.returncode in (0, 1), "the validator could not run (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr)
    print(r.stdout, end="")
    return r


def test_every_document_of_the_manifest_is_valid_against_the_kubernetes_schemas():
    need_validator()
    docs = documents()
    r = validate(docs)
    assert r.returncode == 0, r.stdout
    assert re.match(r"validator: kubernetes-models \d+\.\d+\.\d+\n", r.stdout), r.stdout
    ok = re.findall(r"^ok \d+ (\S+) (\S+)$", r.stdout, re.M)
    assert ok == [(d["kind"], d["metadata"]["name"]) for d in docs] and len(ok) == 2, r.stdout


def _set(doc, path, value):
    *parents, last = path
    for k in parents:
        doc = doc[k]
    doc[last] = value


def _rename(doc, path, new):
    *parents, last = path
    for k in parents:
        doc = doc[k]
    doc[new] = doc.pop(last)


RULES = ("spec", "podFailurePolicy", "rules")
POD = ("spec", "template", "spec")


@pytest.mark.parametrize("broken, needle", [
    # a wrong type
    (lambda j: _set(j, ("spec", "backoffLimitPerIndex"), "2"), "backoffLimitPerIndex must be integer"),
    (lambda j: _set(j, ("spec", "completions"), "1000"), "completions must be integer"),
    # a misspelled value of an enumeration
    (lambda j: _set(j, RULES + (1, "action"), "FailIndx"), "action must be equal to one of the allowed values"),
    (lambda j: _set(j, ("spec", "completionMode"), "indexed"), "completionMode must be equal to one of"),
    (lambda j: _set(j, RULES + (1, "onExitCodes", "operator"), "in"), "operator must be equal to one of"),
    # a misspelled field the schema requires: the required one is then missing
    (lambda j: _rename(j, POD + ("containers",), "containres"), "must have required property containers"),
    (lambda j: _rename(j, RULES + (1, "action"), "actoin"), "must have required property action"),
])
def test_the_validator_fires_on_a_broken_copy(broken, needle):
    need_validator()
    job, claim = job_and_claim()
    bad = copy.deepcopy(job)
    broken(bad)
    r = validate([bad, claim])
    assert r.returncode == 1 and "invalid 0 Job:" in r.stdout and needle in r.stdout, r.stdout
    assert "ok 1 PersistentVolumeClaim" in r.stdout, r.stdout


def test_the_claim_must_be_valid_too():
    need_validator()
    job, claim = job_and_claim()
    bad = copy.deepcopy(claim)
    bad["spec"]["accessModes"] = "ReadWriteMany"   # a list in the schema
    r = validate([job, bad])
    assert r.returncode == 1 and "invalid 1 PersistentVolumeClaim:" in r.stdout and "must be array" in r.stdout, r.stdout


# ---------------------------------------------------------------- the promised policy

def test_the_failure_policy_is_the_one_promised():
    job, claim = job_and_claim()
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["backoffLimitPerIndex"] >= 1 and "backoffLimit" not in spec   # per block, not per job
    assert 0 < spec["maxFailedIndexes"] <= spec["completions"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"   # podFailurePolicy requires it
    rules = spec["podFailurePolicy"]["rules"]
    # the first matching rule decides: a disruption first, whatever the exit code it caused
    assert rules[0] == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
    by_code = {}
    for rule in rules[1:]:
        ec = rule["onExitCodes"]
        assert ec["containerName"] == container(job)["name"] and ec["operator"] == "In", rule
        for code in ec["values"]:
            by_code[code] = rule["action"]
    assert by_code == {EXIT_SEED_FAILED: "FailIndex", EXIT_RETRY: "Count"}, by_code
    # the codes are the job script's own, as its header documents them
    head = JOB_SCRIPT.read_text()
    assert "# Exit: 0 every seed passed, 1 a seed failed" in head and "2 cancelled or the run could not" in head
    # the claim shipped beside it, the one the pods mount, on many nodes at once
    (vol,) = spec["template"]["spec"]["volumes"]
    assert vol["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_command_is_absolute_and_where_the_image_puts_it():
    job, _ = job_and_claim()
    c = container(job)
    (command,) = c["command"]
    assert command.startswith("/") and command.endswith("/sim/swarm/swarm-job.sh")
    docker = DOCKERFILE.read_text()
    dest = re.search(r"^COPY \. (\S+)$", docker, re.M).group(1)
    assert command == dest + "/sim/swarm/swarm-job.sh" and c["workingDir"] == dest
    assert re.search(r"^WORKDIR %s$" % re.escape(dest), docker, re.M)
    assert re.search(r'^CMD \["%s"\]$' % re.escape(command), docker, re.M)
    assert os.access(JOB_SCRIPT, os.X_OK)


def test_each_attempt_is_named_by_its_pod():
    job, _ = job_and_claim()
    env = {e["name"]: e for e in container(job)["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["ALICHAIN_ATTEMPT"]["value"] == "pod $(POD_NAME)"


# ---------------------------------------------------------------- the pod's PID 1

def pod_env(job, results, **override):
    """The container's environment as Kubernetes builds it: the manifest's values, the
    downward API's pod name, $(VAR) references expanded, JOB_COMPLETION_INDEX set; the image's
    paths mapped to this repository (the image holds it at the Dockerfile's COPY)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOSTNAME": POD_NAME, "JOB_COMPLETION_INDEX": "0"}
    for e in container(job)["env"]:
        if "value" in e:
            env[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), e["value"])
        else:
            assert e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", e
            env[e["name"]] = POD_NAME
    env.update(ALICHAIN_RESULTS=str(results), ALICHAIN_SIM=str(SIM))
    env.update({k: str(v) for k, v in override.items()})
    return env


def image_path(job, path):
    dest = container(job)["workingDir"]
    assert path.startswith(dest + "/")
    return str(REPO / path[len(dest) + 1:])


def start_as_pid_1(tmp_path, job, env):
    c = container(job)
    return subprocess.Popen(["unshare", "--fork", "--pid", "--mount-proc", "--", image_path(job, c["command"][0])],
                            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def namespace_init(unshare_pid):
    """The pid (in our namespace) of unshare's child: PID 1 of the new namespace."""
    try:
        children = Path("/proc/%d/task/%d/children" % (unshare_pid, unshare_pid)).read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def procs_running_with(needle):
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if needle in (d / "cmdline").read_bytes():
                    found.append(int(d.name))
            except OSError:
                pass
    return found


def test_sigterm_to_pid_1_stops_the_block_at_once_and_publishes_nothing(tmp_path):
    need_root_and("unshare")
    job, _ = job_and_claim()
    results = tmp_path / "results"
    env = pod_env(job, results, ALICHAIN_BLOCK_SEEDS=BIG_BLOCK_SEEDS)
    p = start_as_pid_1(tmp_path, job, env)
    try:
        init = wait_for("PID 1 of the new namespace", lambda: namespace_init(p.pid), START_TIMEOUT_S)
        status = Path("/proc/%d/status" % init).read_text()
        assert re.search(r"^NSpid:\s+%d\s+1$" % init, status, re.M), status   # it is PID 1 there
        partial = results / ("block-0.jsonl.partial-pod_" + POD_NAME)
        wait_for("the block to start writing", lambda: partial.exists() and partial.stat().st_size > 0,
                 START_TIMEOUT_S, 0.05)
        time.sleep(1)   # well inside the block: seeds are running
        t0 = time.monotonic()
        os.kill(init, signal.SIGTERM)   # the kubelet's stop: SIGTERM to PID 1 only
        out, err = p.communicate(timeout=GRACE_PERIOD_S)
        took_s = time.monotonic() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=GRACE_PERIOD_S)
        kill_pids(pids_inside(tmp_path))
    print("SIGTERM to PID 1 -> exit %d in %.3f s (the grace period is %d s)" % (p.returncode, took_s, GRACE_PERIOD_S))
    assert p.returncode == EXIT_RETRY, (out, err)
    assert took_s < EXIT_AFTER_SIGTERM_MAX_S, took_s
    # the forwarded signal reached alichain-sim, which stopped by itself at a seed boundary
    assert re.search(r"swarm: cancelled \(SIGINT/SIGTERM\) at a seed boundary after [1-9]\d* seeds", err), err
    assert "interrupted (attempt pod %s): nothing published" % POD_NAME in err, err
    assert not list(results.glob("block-0.*")), list(results.iterdir())
    assert procs_running_with(str(results).encode()) == []


def test_a_failing_seed_as_pid_1_exits_1_and_keeps_its_results(tmp_path):
    need_root_and("unshare")
    job, _ = job_and_claim()
    results = tmp_path / "results"
    mutant = build_mutant_sim({k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")})
    env = pod_env(job, results, ALICHAIN_SIM=mutant, ALICHAIN_BLOCK_SEEDS=10,
                  ALICHAIN_SWARM_ARGS="--mutant same-balance --no-shrink")
    p = start_as_pid_1(tmp_path, job, env)
    try:
        out, err = p.communicate(timeout=GRACE_PERIOD_S * 4)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=GRACE_PERIOD_S)
    assert p.returncode == EXIT_SEED_FAILED, (out, err)
    lines = [json.loads(x) for x in (results / "block-0.jsonl").read_text().splitlines()]
    assert lines[0]["attempt"] == "pod " + POD_NAME and len(lines) == 11
    assert any(x["verdict"] == "fail" for x in lines[1:])
    assert (results / "block-0.log").is_file() and not list(results.glob("*.partial*"))
