"""The test DAG (config/test.yaml) on a real one-node SLURM cluster, through `snakemake --profile profiles/slurm`.

ci/start_local_slurm.sh starts slurmctld, slurmd, munge and slurmdbd (MariaDB) from Debian's packages, with
fake gres GPUs. The DAG runs in a temporary copy of the repository, with training given one (fake) GPU.
A fault switched on in the copy makes one job (the evaluation of the SFT model) fail; the profile's
keep-going lets the rest of the DAG finish. The test then checks from SLURM's side (sacct) that every job
went through sbatch with the resources Snakemake declared for it, that the failed job is FAILED with its
logs kept, and that the run after the fix submits only the jobs that had not finished. Needs root and
Debian's apt (the cluster is installed and started on the fly); skipped otherwise, or with
JUDGEFLOW_SKIP_SLURM=1. Every step has a timeout, so a hang fails the test.
"""

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.slurm

START = REPO / "ci" / "start_local_slurm.sh"
STOP = REPO / "ci" / "stop_local_slurm.sh"
FAILING_RULE, FAILING_MODEL = "evaluate", "sft"
INJECTED = "judgeflow test_slurm: injected failure"
FAULT_SWITCH = "INJECT_FAILURE"          # the fault is on while this file exists in the copy
# Config for this test only, over config/test.yaml: training on one fake GPU (gpu: 1 trains in-process;
# > 1 would launch accelerate), sizes that differ per block so that sacct shows which block each job took.
# The DAG is trimmed to data -> teacher -> SFT -> evaluation -> report (no DPO, no rollout rounds, no
# benchmark files; test_e2e.py runs those): each step of the longest chain costs 15-25 s on SLURM here (job
# start, Snakemake inside the job, the plugin's status polling), and the test must fit CI's 5 minutes.
OVERLAY = {"resources": {"training": {"gpu": 1, "mem_mb": 3000, "runtime": 20},
                         "sampling": {"gpu": 0, "mem_mb": 2500, "runtime": 15},
                         "light": {"gpu": 0, "mem_mb": 1000, "runtime": 5}},
           "dpo": {"max_pairs": 0},
           "rollout": {"rounds": 0},
           "evaluation": {"benchmarks": []}}
# The plugin polls sacct this long after a submission, then 10 s, 20 s, ... later until a job ends; jobs
# here take 5-20 s from submission (longer on a busy machine), which 5 s catches at the second poll.
FIRST_STATUS_CHECK_S = 5
RUN_TIMEOUT_S = 1200  # a hang guard, not a speed target: the test DAG took > 420 s under SLURM on a slow hour


def _unavailable() -> str | None:
    if os.environ.get("JUDGEFLOW_SKIP_SLURM") == "1":
        return "JUDGEFLOW_SKIP_SLURM=1"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "starting a local SLURM cluster needs root"
    if not Path("/etc/debian_version").exists() or not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        return "starting a local SLURM cluster needs Debian's apt-get"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e .)"
    return None


if _unavailable():
    pytestmark = [pytest.mark.slurm, pytest.mark.skip(reason=f"SLURM test skipped: {_unavailable()}")]


def _run(command, timeout, **kwargs):
    """Run a command in its own process group; on timeout kill the whole group and fail."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, **kwargs)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        _cancel(_slurm_ids(out))
        pytest.fail(f"timed out after {timeout} s: {' '.join(map(str, command))}\n{out[-4000:]}")
    return proc.returncode, out


def _cancel(job_ids):
    if job_ids:
        subprocess.run(["scancel", *job_ids], timeout=30, capture_output=True, check=False)


@pytest.fixture(scope="module")
def cluster():
    """A running local cluster; stopped afterwards only if this fixture started it."""
    was_up = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30,
                            check=False).returncode == 0 if shutil.which("scontrol") else False
    started = time.monotonic()
    rc, out = _run(["bash", str(START)], timeout=600)
    assert rc == 0, out[-4000:]
    seconds = time.monotonic() - started
    rc, sinfo = _run(["sinfo", "-h", "-N", "-o", "%T %G"], timeout=30)
    assert rc == 0 and "gpu:" in sinfo, sinfo
    yield {"start_seconds": seconds, "log": out}
    if not was_up:
        _run(["bash", str(STOP)], timeout=120)


def _copy_repo(dest: Path) -> Path:
    """The repository as a user has it, without its environments, outputs and caches."""
    top = {".git", "results", "resources", ".snakemake", ".pytest_cache", ".ruff_cache"}

    def ignore(directory, names):
        skip = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
        if Path(directory) == REPO:
            skip |= {n for n in names if n in top or n.startswith(".venv")}
        return skip

    shutil.copytree(REPO, dest, ignore=ignore)
    return dest


def _rule_script(work: Path, rule: str) -> Path:
    """The script file a rule runs, read from workflow/rules/*.smk."""
    for smk in (work / "workflow" / "rules").glob("*.smk"):
        block = re.search(rf"^rule {rule}:\n(.*?)(?=^rule |\Z)", smk.read_text(), re.M | re.S)
        if block:
            script = re.search(r"^\s+script:\s*\n\s+\"([^\"]+)\"", block.group(1), re.M)
            assert script, f"rule {rule} in {smk} has no script"
            return (smk.parent / script.group(1)).resolve()
    raise AssertionError(f"no rule {rule} in {work / 'workflow/rules'}")


def _snakemake(work: Path, *args, timeout=RUN_TIMEOUT_S):
    env = {**os.environ, "PYTHONPATH": str(work / "src")}   # jobs import the copy's package (sbatch --export=ALL)
    command = [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm",
               "--configfile", "config/test.yaml", "slurm_test.yaml",
               "--slurm-init-seconds-before-status-checks", str(FIRST_STATUS_CHECK_S), *args]
    started = time.monotonic()
    rc, out = _run(command, timeout, cwd=work, env=env)
    return rc, out, time.monotonic() - started


def _slurm_ids(log: str) -> list[str]:
    return re.findall(r"has been submitted with SLURM jobid (\d+)", log)


def _declared(log: str) -> dict[str, dict]:
    """SLURM job id -> the rule and resources Snakemake printed for that job."""
    jobs, current = {}, None
    for line in log.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):$", line):
            current = {"rule": m.group(1), "threads": 1}
        elif not line.startswith((" ", "\t")):      # the block ended ("Error in rule ..." has a jobid too)
            current = None
        elif current is not None and (m := re.match(r"^\s+jobid: (\d+)$", line)):
            jobs.setdefault(m.group(1), current)
        elif current is not None and (m := re.match(r"^\s+threads: (\d+)$", line)):
            current["threads"] = int(m.group(1))
        elif current is not None and (m := re.match(r"^\s+resources: (.*)$", line)):
            current["resources"] = dict(kv.split("=", 1) for kv in m.group(1).split(", ") if "=" in kv)
    by_slurm = {}
    for snakemake_id, slurm_id in re.findall(r"^Job (\d+) has been submitted with SLURM jobid (\d+)", log, re.M):
        by_slurm[slurm_id] = jobs[snakemake_id]
    return by_slurm


def _sacct(job_ids: list[str]) -> dict[str, dict]:
    """Accounting records of the given jobs, waiting (bounded) until SLURM has written all of them."""
    fields = ["JobID", "JobName", "Comment", "State", "ExitCode", "TimelimitRaw", "ReqMem", "ReqCPUS", "ReqTRES"]
    deadline = time.monotonic() + 60
    while True:
        rc, out = _run(["sacct", "-X", "-P", "-n", "-j", ",".join(job_ids), "-o", ",".join(fields)], timeout=30)
        assert rc == 0, out
        rows = {r["JobID"]: r for r in (dict(zip(fields, line.split("|"))) for line in out.splitlines() if line)}
        if set(job_ids) <= set(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(1)


def _rule_of(comment: str) -> str:
    """The plugin's sbatch --comment is rule_<name> or rule_<name>_wildcards_<values>."""
    m = re.fullmatch(r"rule_(\w+?)(?:_wildcards_.*)?", comment)
    assert m, comment
    return m.group(1)


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    work = _copy_repo(tmp_path_factory.mktemp("slurm") / "repo")
    (work / "slurm_test.yaml").write_text(yaml.safe_dump(OVERLAY))
    # the fault: the script, for one model, writes a line to its log and exits 1 while the switch exists.
    # The script stays the same in both runs, so no finished job is redone because its code changed.
    script = _rule_script(work, FAILING_RULE)
    script.write_text(
        "from pathlib import Path\n"
        f"if Path({FAULT_SWITCH!r}).exists() and snakemake.wildcards.model == {FAILING_MODEL!r}:\n"
        f"    Path(snakemake.log[0]).write_text({INJECTED!r} + '\\n')\n"
        f"    raise SystemExit({INJECTED!r})\n" + script.read_text())
    (work / FAULT_SWITCH).touch()
    rc1, log1, seconds1 = _snakemake(work)
    # the job counts Snakemake planned for the whole DAG, printed before the first submission
    stats = log1[log1.index("Job stats:"):]
    planned = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stats[:stats.index("total")], re.M)}
    failed_logs = {p: p.read_text() for p in (work / ".snakemake" / "slurm_logs").rglob("*.log")}
    error = re.search(rf"^Error in rule {FAILING_RULE}:\n(.*?)\n\S", log1, re.M | re.S)
    rule_log = work / re.search(r"^\s+log: ([^,\n]+)", error.group(1), re.M).group(1).strip() if error else None
    rule_log_text = rule_log.read_text() if rule_log and rule_log.exists() else None
    (work / FAULT_SWITCH).unlink()                           # the fix
    rc2, log2, seconds2 = _snakemake(work)
    rc3, log3, _ = _snakemake(work, "-n", timeout=180)
    (work / "run1.log").write_text(log1)
    (work / "run2.log").write_text(log2)
    ids1, ids2 = _slurm_ids(log1), _slurm_ids(log2)
    return {"work": work, "planned": planned, "rc1": rc1, "log1": log1, "rc2": rc2, "log2": log2,
            "rc3": rc3, "log3": log3, "seconds": (seconds1, seconds2), "failed_logs": failed_logs,
            "rule_log": rule_log, "rule_log_text": rule_log_text,
            "ids1": ids1, "ids2": ids2, "declared": {**_declared(log1), **_declared(log2)},
            "sacct": _sacct(ids1 + ids2)}


def test_every_job_went_through_sbatch_with_its_declared_resources(runs):
    assert runs["ids1"] and runs["ids2"]
    sacct, declared = runs["sacct"], runs["declared"]
    assert set(sacct) == set(runs["ids1"] + runs["ids2"]), "sacct lacks some submitted jobs"
    for job_id, row in sacct.items():
        job = declared[job_id]
        res = job["resources"]
        assert _rule_of(row["Comment"]) == job["rule"], (job_id, row)
        assert row["ReqMem"] == f"{res['mem_mb']}M", (job["rule"], row)
        assert int(row["TimelimitRaw"]) == int(res["runtime"]), (job["rule"], row)
        assert int(row["ReqCPUS"]) == job["threads"], (job["rule"], row)
        gpus = int(res.get("gpu", 0))
        assert (f"gres/gpu={gpus}" in row["ReqTRES"]) == (gpus > 0), (job["rule"], row)
        assert gpus > 0 or "gres/gpu" not in row["ReqTRES"], (job["rule"], row)
    # every planned rule but the local ones (`all`) ran as SLURM jobs, as many as planned (the failed one twice)
    ran = {}
    for row in sacct.values():
        ran[_rule_of(row["Comment"])] = ran.get(_rule_of(row["Comment"]), 0) + 1
    # rules Snakemake ran itself (`all`); a failed job's log, printed into the output, has the job's own
    # "localrule" line, hence the rules that went to SLURM are not counted as local
    local = set(re.findall(r"^localrule (\w+):", runs["log1"] + runs["log2"], re.M)) - set(ran)
    assert "all" in local
    expected = {rule: n for rule, n in runs["planned"].items() if rule not in local}
    expected[FAILING_RULE] += 1
    assert ran == expected


def test_training_asked_slurm_for_one_fake_gpu(runs):
    rows = [row for row in runs["sacct"].values() if _rule_of(row["Comment"]) == "train_sft"]
    assert len(rows) == 1
    row = rows[0]
    # the overlay's training block, hand-copied: gpu 1, 3000 MB, 20 minutes
    assert "gres/gpu=1" in row["ReqTRES"] and row["ReqMem"] == "3000M" and row["TimelimitRaw"] == "20"
    assert row["State"] == "COMPLETED"
    # one GPU: training ran in-process, not under accelerate launch
    train_logs = list((runs["work"] / "results" / "test" / "logs").rglob("train_sft.log"))
    assert len(train_logs) == 1 and "accelerate.commands.launch" not in train_logs[0].read_text()
    light = [row for row in runs["sacct"].values() if _rule_of(row["Comment"]) == "ingest"]
    assert light and "gres/gpu" not in light[0]["ReqTRES"] and light[0]["ReqMem"] == "1000M"


def test_failed_job_is_reported_failed_and_its_logs_are_kept(runs):
    assert runs["rc1"] != 0
    assert f"Error in rule {FAILING_RULE}" in runs["log1"]
    assert "SLURM status is: 'FAILED'" in runs["log1"]
    failed = [(job_id, row) for job_id, row in runs["sacct"].items() if row["State"] != "COMPLETED"]
    assert [_rule_of(row["Comment"]) for _, row in failed] == [FAILING_RULE], failed
    job_id, row = failed[0]
    assert f"_{FAILING_MODEL}_" in row["Comment"], row
    assert row["State"] == "FAILED" and row["ExitCode"] == "1:0" and job_id in runs["ids1"]
    # the plugin keeps the SLURM log of a failed job (those of finished jobs are deleted)
    kept = [path for path in runs["failed_logs"] if path.name == f"{job_id}.log"]
    assert len(kept) == 1 and f"rule_{FAILING_RULE}" in str(kept[0]), list(runs["failed_logs"])
    assert INJECTED in runs["failed_logs"][kept[0]]
    assert kept[0].exists(), "the failed job's SLURM log was removed by the rerun"
    # the stage's own log, named in the error report, was kept with what the job wrote
    assert runs["rule_log"] is not None and runs["rule_log_text"] == INJECTED + "\n", runs["rule_log"]


def test_rerun_after_the_fix_resumes_without_redoing_finished_jobs(runs):
    sacct = runs["sacct"]
    # a job is its rule and wildcards: the plugin's comment
    done_first = {sacct[i]["Comment"] for i in runs["ids1"] if sacct[i]["State"] == "COMPLETED"}
    second = [sacct[i]["Comment"] for i in runs["ids2"]]
    assert done_first and second and len(set(second)) == len(second)
    assert not done_first & set(second), f"redone: {done_first & set(second)}"
    failed = [row["Comment"] for row in sacct.values() if row["State"] == "FAILED"]
    assert len(failed) == 1 and failed[0] in second
    assert all(sacct[i]["State"] == "COMPLETED" for i in runs["ids2"])
    assert runs["rc2"] == 0, runs["log2"][-4000:]
    assert runs["rc3"] == 0 and "Nothing to be done" in runs["log3"], runs["log3"][-2000:]
    assert (runs["work"] / "results" / "test").is_dir()
