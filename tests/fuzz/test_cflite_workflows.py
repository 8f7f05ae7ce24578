"""test_cflite_workflows.py — checks .github/workflows/cflite_*.yml against the layout of
ClusterFuzzLite's GitHub Actions page (google.github.io/clusterfuzzlite/running-clusterfuzzlite/
github-actions/): PR fuzzing, continuous builds, batch fuzzing, and pruning plus coverage on a
cron schedule, each with its trigger, actions, mode, sanitizers and the one storage repository.
Each check takes parsed documents and returns the problems it finds; the tests at the end run
every check on a broken copy of the real workflows to show it fires."""
import copy
import re
from pathlib import Path

import pytest
import yaml   # python3-yaml (ci/install-deps.sh)

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION_BUILD = "google/clusterfuzzlite/actions/build_fuzzers@v1"
ACTION_RUN = "google/clusterfuzzlite/actions/run_fuzzers@v1"
# the inputs each action declares (its action.yml); anything else is a typo GitHub only warns about
INPUTS = {
    ACTION_BUILD: {"language", "dry-run", "allowed-broken-targets-percentage", "sanitizer",
                   "project-src-path", "bad-build-check", "storage-repo", "storage-repo-branch",
                   "storage-repo-branch-coverage", "upload-build", "github-token"},
    ACTION_RUN: {"language", "fuzz-seconds", "dry-run", "sanitizer", "mode", "github-token",
                 "storage-repo", "storage-repo-branch", "storage-repo-branch-coverage",
                 "report-unreproducible-crashes"},
}
FUZZ_SANITIZERS = {"address", "undefined"}   # PR, continuous builds and batch fuzzing
# what .clusterfuzzlite/build.sh compiles: a pull request touching any of it is fuzzed
PR_PATHS = {"core/**", "sim/**", "fuzz/**", ".clusterfuzzlite/**"}
STORAGE_ENV = "CFLITE_STORAGE_REPO"
STORAGE_SECRET = "CFLITE_STORAGE_TOKEN"
STORAGE = {"storage-repo": "${{ env.%s }}" % STORAGE_ENV, "storage-repo-branch": "main",
           "storage-repo-branch-coverage": "gh-pages"}
# the secret's URL when the secret is set, else '' (ClusterFuzzLite then keeps artifacts)
STORAGE_EXPR = re.compile(r"^\$\{\{ secrets\.%s && format\('https://\{0\}@github\.com/[^']+\.git', "
                          r"secrets\.%s[^)]*\) \|\| '' \}\}$" % (STORAGE_SECRET, STORAGE_SECRET))
# file: (the mode of each job that fuzzes, whether its steps take the storage repository)
LAYOUT = {
    "cflite_pr.yml": {"modes": {"code-change"}, "storage": True},
    "cflite_build.yml": {"modes": set(), "storage": False},
    "cflite_batch.yml": {"modes": {"batch"}, "storage": True},
    "cflite_cron.yml": {"modes": {"prune", "coverage"}, "storage": True},
}


def load_workflows(directory=WORKFLOWS):
    """{file name: parsed document} of the layout's files that exist in directory."""
    return {name: yaml.safe_load((directory / name).read_text())
            for name in LAYOUT if (directory / name).is_file()}


def triggers(doc):
    # PyYAML reads the key `on` as True (YAML 1.1)
    return doc.get("on", doc.get(True)) or {}


def jobs(doc):
    return (doc.get("jobs") or {}).items()


def job_sanitizers(job, value):
    """The sanitizers a step's `sanitizer: value` stands for (the action's default: address)."""
    if value is None:
        return {"address"}
    m = re.fullmatch(r"\$\{\{ matrix\.(\w+) \}\}", str(value))
    if m:
        return set(job.get("strategy", {}).get("matrix", {}).get(m.group(1)) or [])
    return {str(value)}


def cf_steps(job):
    """(uses, with) of each step that names a ClusterFuzzLite action, in order."""
    return [(s["uses"], s.get("with") or {}) for s in job.get("steps", [])
            if "clusterfuzzlite" in s.get("uses", "")]


def workflow_sanitizers(doc, mode=None):
    """The sanitizers doc's build steps build (of the jobs that run `mode`, when given)."""
    out = set()
    for _, job in jobs(doc):
        steps = cf_steps(job)
        if mode is not None and mode not in {w.get("mode") for u, w in steps if u == ACTION_RUN}:
            continue
        for uses, w in steps:
            if uses == ACTION_BUILD:
                out |= job_sanitizers(job, w.get("sanitizer"))
    return out


def check_present(docs):
    return ["%s: missing" % name for name in LAYOUT if name not in docs]


def check_header(name, text):
    first = text.splitlines()[0] if text else ""
    return [] if first.startswith("# %s — " % name) else ["%s: no header comment saying what it does" % name]


def cron_is_daily(cron):
    """True when the cron line runs at least once a day (day, month and weekday all '*')."""
    fields = cron.split()
    return len(fields) == 5 and fields[2:] == ["*", "*", "*"]


def check_triggers(name, doc):
    on = triggers(doc)
    bad = []
    if name == "cflite_pr.yml":
        paths = set((on.get("pull_request") or {}).get("paths") or [])
        if not PR_PATHS <= paths:
            bad.append("%s: pull_request paths miss %s" % (name, sorted(PR_PATHS - paths)))
        if set(on) != {"pull_request"}:
            bad.append("%s: triggered by %s, not pull requests alone" % (name, sorted(on)))
    elif name == "cflite_build.yml":
        if (on.get("push") or {}).get("branches") != ["main"]:
            bad.append("%s: not triggered by a push to main" % name)
    else:
        crons = [c.get("cron", "") for c in on.get("schedule") or []]
        if not crons:
            bad.append("%s: no schedule" % name)
        if name == "cflite_cron.yml" and not any(cron_is_daily(c) for c in crons):
            bad.append("%s: pruning and coverage are not scheduled daily" % name)
    return bad


def check_steps(name, doc):
    """Every job builds with build_fuzzers@v1 (language c, the job's sanitizers), then runs
    run_fuzzers@v1 with the same sanitizers, the workflow's token and a mode; only known inputs."""
    bad = []
    for jname, job in jobs(doc):
        where = "%s: job %s" % (name, jname)
        steps = cf_steps(job)
        for uses, w in steps:
            if uses not in INPUTS:
                bad.append("%s uses %s, not %s or %s" % (where, uses, ACTION_BUILD, ACTION_RUN))
                continue
            unknown = set(w) - INPUTS[uses]
            if unknown:
                bad.append("%s: %s has no input %s" % (where, uses, sorted(unknown)))
        kinds = [u for u, _ in steps]
        if not kinds or kinds[0] != ACTION_BUILD:
            bad.append("%s does not start by building the fuzzers" % where)
        builds = [w for u, w in steps if u == ACTION_BUILD]
        runs = [w for u, w in steps if u == ACTION_RUN]
        for w in builds:
            if w.get("language") != "c":
                bad.append("%s: build language %r, not c (project.yaml)" % (where, w.get("language")))
        if name == "cflite_build.yml":
            if runs:
                bad.append("%s runs fuzzers; continuous builds only build" % where)
            if any(w.get("upload-build") is not True for w in builds):
                bad.append("%s: build without upload-build: true" % where)
            continue
        if len(runs) != 1:
            bad.append("%s: %d run_fuzzers steps, not 1" % (where, len(runs)))
            continue
        run = runs[0]
        if run.get("github-token") != "${{ secrets.GITHUB_TOKEN }}":
            bad.append("%s: run_fuzzers without github-token ${{ secrets.GITHUB_TOKEN }}" % where)
        if not isinstance(run.get("fuzz-seconds"), int) or run["fuzz-seconds"] <= 0:
            bad.append("%s: fuzz-seconds %r" % (where, run.get("fuzz-seconds")))
        built = set().union(*(job_sanitizers(job, w.get("sanitizer")) for w in builds)) if builds else set()
        if job_sanitizers(job, run.get("sanitizer")) != built:
            bad.append("%s runs sanitizer %r, builds %s" % (where, run.get("sanitizer"), sorted(built)))
    return bad


def check_modes(name, doc):
    want = LAYOUT[name]["modes"]
    got = {w.get("mode") for _, job in jobs(doc) for u, w in cf_steps(job) if u == ACTION_RUN}
    return [] if got == want else ["%s: modes %s, not %s" % (name, sorted(map(str, got)), sorted(want))]


def check_sanitizers(name, doc):
    bad = []
    if name in ("cflite_pr.yml", "cflite_build.yml", "cflite_batch.yml"):
        got = workflow_sanitizers(doc)
        if got != FUZZ_SANITIZERS:
            bad.append("%s: sanitizers %s, not %s" % (name, sorted(got), sorted(FUZZ_SANITIZERS)))
    if name == "cflite_cron.yml":
        if workflow_sanitizers(doc, "coverage") != {"coverage"}:
            bad.append("%s: the coverage job is not built with sanitizer coverage" % name)
        if workflow_sanitizers(doc, "prune") - FUZZ_SANITIZERS:
            bad.append("%s: pruning built with a sanitizer no fuzzing job uses" % name)
    return bad


def check_storage(name, doc):
    """The storage repository: set on every run_fuzzers step (and PR's build step, for its
    affected-target list) from the workflow's env, whose value comes from the one secret."""
    if not LAYOUT[name]["storage"]:
        return []
    bad = []
    expr = (doc.get("env") or {}).get(STORAGE_ENV, "")
    if not STORAGE_EXPR.match(str(expr)):
        bad.append("%s: env %s is not the secret %s's URL or ''" % (name, STORAGE_ENV, STORAGE_SECRET))
    for jname, job in jobs(doc):
        for uses, w in cf_steps(job):
            if uses == ACTION_RUN or name == "cflite_pr.yml":
                got = {k: w.get(k) for k in STORAGE}
                if got != STORAGE:
                    bad.append("%s: job %s, %s: storage %s, not %s" % (name, jname, uses, got, STORAGE))
    return bad


def check_same_storage(docs):
    values = {name: (doc.get("env") or {}).get(STORAGE_ENV) for name, doc in docs.items()
              if LAYOUT[name]["storage"]}
    return [] if len(set(values.values())) <= 1 else ["storage repository differs: %s" % values]


def check_permissions(name, doc):
    bad = [] if doc.get("permissions") == "read-all" else ["%s: permissions %r, not read-all" % (
        name, doc.get("permissions"))]
    for jname, job in jobs(doc):
        if "permissions" in job:
            bad.append("%s: job %s sets its own permissions" % (name, jname))
    return bad


def check_all(docs):
    bad = check_present(docs) + check_same_storage(docs)
    for name, doc in docs.items():
        for check in (check_triggers, check_steps, check_modes, check_sanitizers, check_storage,
                      check_permissions):
            bad += check(name, doc)
    return bad


# ---- the workflows as committed ---------------------------------------------------------

def test_the_workflows_follow_the_documented_layout():
    assert check_all(load_workflows()) == []


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_each_workflow_opens_with_what_it_does(name):
    assert check_header(name, (WORKFLOWS / name).read_text()) == []


def test_fuzzing_md_names_each_workflow_and_the_storage_secret():
    text = (ROOT / "docs" / "FUZZING.md").read_text()
    missing = [w for w in list(LAYOUT) + [STORAGE_SECRET, "alichain-fuzz-storage", "gh-pages"] if w not in text]
    assert missing == []


# ---- each check fires on a broken copy --------------------------------------------------

def step(doc, job, action):
    return next(s for s in doc["jobs"][job]["steps"] if s["uses"] == action)


def drop_build(docs):
    del docs["cflite_build.yml"]


def pr_mode_batch(docs):
    step(docs["cflite_pr.yml"], "PR", ACTION_RUN)["with"]["mode"] = "batch"


def batch_action_v2(docs):
    step(docs["cflite_batch.yml"], "BatchFuzzing", ACTION_BUILD)["uses"] = ACTION_BUILD.replace("@v1", "@v2")


def run_action_main(docs):
    step(docs["cflite_cron.yml"], "Pruning", ACTION_RUN)["uses"] = ACTION_RUN.replace("@v1", "@main")


def build_no_upload(docs):
    del step(docs["cflite_build.yml"], "Build", ACTION_BUILD)["with"]["upload-build"]


def build_on_master(docs):
    triggers(docs["cflite_build.yml"])["push"]["branches"] = ["master"]


def pr_paths_without_core(docs):
    triggers(docs["cflite_pr.yml"])["pull_request"]["paths"].remove("core/**")


def batch_unscheduled(docs):
    del triggers(docs["cflite_batch.yml"])["schedule"]


def cron_weekly(docs):
    triggers(docs["cflite_cron.yml"])["schedule"] = [{"cron": "0 0 * * 0"}]


def cron_without_pruning(docs):
    del docs["cflite_cron.yml"]["jobs"]["Pruning"]


def coverage_built_with_asan(docs):
    step(docs["cflite_cron.yml"], "Coverage", ACTION_BUILD)["with"]["sanitizer"] = "address"


def batch_asan_only(docs):
    docs["cflite_batch.yml"]["jobs"]["BatchFuzzing"]["strategy"]["matrix"]["sanitizer"] = ["address"]


def pr_runs_a_sanitizer_not_built(docs):
    step(docs["cflite_pr.yml"], "PR", ACTION_RUN)["with"]["sanitizer"] = "memory"


def batch_storage_branch(docs):
    step(docs["cflite_batch.yml"], "BatchFuzzing", ACTION_RUN)["with"]["storage-repo-branch"] = "corpus"


def pr_build_without_storage(docs):
    del step(docs["cflite_pr.yml"], "PR", ACTION_BUILD)["with"]["storage-repo"]


def cron_other_storage_repo(docs):
    docs["cflite_cron.yml"]["env"][STORAGE_ENV] = docs["cflite_cron.yml"]["env"][STORAGE_ENV].replace(
        "alichain-fuzz-storage", "other-storage")


def storage_without_fallback(docs):
    for name in ("cflite_pr.yml", "cflite_batch.yml", "cflite_cron.yml"):
        docs[name]["env"][STORAGE_ENV] = "https://${{ secrets.%s }}@github.com/o/s.git" % STORAGE_SECRET


def batch_write_all(docs):
    docs["cflite_batch.yml"]["permissions"] = "write-all"


def pr_job_permissions(docs):
    docs["cflite_pr.yml"]["jobs"]["PR"]["permissions"] = {"contents": "write"}


def pr_input_typo(docs):
    w = step(docs["cflite_pr.yml"], "PR", ACTION_RUN)["with"]
    w["fuzz-second"] = w.pop("fuzz-seconds")


def batch_language_cpp(docs):
    step(docs["cflite_batch.yml"], "BatchFuzzing", ACTION_BUILD)["with"]["language"] = "c++"


def pr_run_without_token(docs):
    del step(docs["cflite_pr.yml"], "PR", ACTION_RUN)["with"]["github-token"]


BREAKS = [
    (drop_build, "cflite_build.yml: missing"),
    (pr_mode_batch, "cflite_pr.yml: modes ['batch'], not ['code-change']"),
    (batch_action_v2, "uses google/clusterfuzzlite/actions/build_fuzzers@v2"),
    (run_action_main, "uses google/clusterfuzzlite/actions/run_fuzzers@main"),
    (build_no_upload, "build without upload-build: true"),
    (build_on_master, "cflite_build.yml: not triggered by a push to main"),
    (pr_paths_without_core, "pull_request paths miss ['core/**']"),
    (batch_unscheduled, "cflite_batch.yml: no schedule"),
    (cron_weekly, "not scheduled daily"),
    (cron_without_pruning, "cflite_cron.yml: modes ['coverage'], not ['coverage', 'prune']"),
    (coverage_built_with_asan, "the coverage job is not built with sanitizer coverage"),
    (batch_asan_only, "cflite_batch.yml: sanitizers ['address'], not ['address', 'undefined']"),
    (pr_runs_a_sanitizer_not_built, "runs sanitizer 'memory'"),
    (batch_storage_branch, "cflite_batch.yml: job BatchFuzzing"),
    (pr_build_without_storage, "build_fuzzers@v1: storage"),
    (cron_other_storage_repo, "storage repository differs"),
    (storage_without_fallback, "is not the secret CFLITE_STORAGE_TOKEN's URL or ''"),
    (batch_write_all, "cflite_batch.yml: permissions 'write-all'"),
    (pr_job_permissions, "job PR sets its own permissions"),
    (pr_input_typo, "has no input ['fuzz-second']"),
    (batch_language_cpp, "build language 'c++'"),
    (pr_run_without_token, "run_fuzzers without github-token"),
]


@pytest.mark.parametrize("brk,problem", BREAKS, ids=[b.__name__ for b, _ in BREAKS])
def test_a_broken_copy_is_caught(brk, problem):
    docs = copy.deepcopy(load_workflows())
    brk(docs)
    found = check_all(docs)
    assert any(problem in p for p in found), found


def test_a_workflow_without_its_header_is_caught():
    text = (WORKFLOWS / "cflite_pr.yml").read_text()
    assert check_header("cflite_pr.yml", "name: x\n" + text) != []
    assert check_header("cflite_pr.yml", text.replace("cflite_pr.yml", "cflite.yml", 1)) != []
