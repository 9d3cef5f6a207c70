"""The whole DAG on config/test.yaml, in a copy of the workflow, checked through its real outputs."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from conftest import REPO
from judgeflow.config import load_config

pytestmark = pytest.mark.e2e


def _snakemake(workdir, *args):
    run = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/test.yaml",
                          *args], cwd=workdir, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return run.stdout + run.stderr


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _summary(path):
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("dag")
    for name in ("Snakefile", "workflow", "config", "src", "environment.yml"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    log = _snakemake(work)
    (work / "first_run.log").write_text(log)
    return work


def test_lint_and_plan_every_stage(run_dir):
    for extra in ([], ["--configfile", "config/test.yaml"]):
        lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint", *extra], cwd=run_dir,
                              capture_output=True, text=True)
        assert lint.returncode == 0 and "Lints for" not in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    plan = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall"], cwd=run_dir,
                          capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    for rule in ("prepare_model", "ingest", "generate_responses", "build_items", "annotate", "train_sft",
                 "dpo_sample", "train_dpo", "rollout_sample", "train_rollout", "evaluate", "report"):
        assert re.search(rf"^{rule}\s+\d+", plan.stdout, re.M), rule


def test_every_stage_output_follows_the_config(run_dir):
    cfg = load_config(run_dir / "config/config.yaml", run_dir / "config/test.yaml")
    res = run_dir / "results" / "test"
    splits, rounds = cfg["data"]["splits"], cfg["rollout"]["rounds"]

    questions = _rows(res / "data/questions.jsonl")
    used = [q for q in questions if q["split"] != "unused"]
    assert len(questions) == cfg["data"]["sources"][0]["num_questions"]
    assert len(used) == splits["benchmark"] + splits["seed"] + rounds * splits["rollout_batch"]

    responses = _rows(res / "data/responses/tiny-judge.jsonl")
    assert len(responses) == len(used) * cfg["generate"]["samples_per_question"]

    pairs = _rows(res / "data/pairs.jsonl")
    build = _summary(res / "data/build_items_summary.json")
    assert len(pairs) == build["items_out"] == len(used) - build["rejected_total"]
    assert len(_rows(res / "data/build_items_rejects.jsonl")) == build["rejected_total"]
    seed_items = [p for p in pairs if p["split"] == "seed"]
    bench_items = [p for p in pairs if p["split"] == "benchmark"]
    assert seed_items and bench_items

    annotate = _summary(res / "annotate/summary.json")
    assert len(_rows(res / "annotate/judgments.jsonl")) == 2 * cfg["teacher"]["samples_per_order"] * len(seed_items)
    sft = _rows(res / "annotate/sft.jsonl")
    pool = _rows(res / "annotate/dpo_pool.jsonl")
    assert len(sft) == 2 * annotate["items_out"] and annotate["items_out"] + len(pool) == len(seed_items)

    samples = _rows(res / "dpo/samples.jsonl")
    assert len(samples) == cfg["dpo"]["samples_per_item"] * len(pool)
    dpo = _summary(res / "dpo/summary.json")
    assert dpo["items_out"] + dpo["rejected_total"] == len(pool) and dpo["items_out"] > 0
    assert len(_rows(res / "dpo/pairs.jsonl")) == dpo["items_out"]

    pool = [p for p in pairs if p["split"].startswith("rollout")]
    assert build["rollout_batches"] == {f"rollout_{r}": {"pairwise": len(pool) // rounds}
                                        for r in range(1, rounds + 1)}
    for r in range(1, rounds + 1):
        batch = [p for p in pairs if p["split"] == f"rollout_{r}"]
        assert len(batch) == len(pool) // rounds
        assert len(_rows(res / f"rollout/round_{r}/samples.jsonl")) == cfg["rollout"]["samples_per_item"] * len(batch)
        kept = _summary(res / f"rollout/round_{r}/summary.json")
        assert kept["items_out"] + kept["rejected_total"] == len(batch)
        assert sum(kept["pass_rate_histogram"].values()) == len(batch)
        rows = _rows(res / f"rollout/round_{r}/kept.jsonl")
        rates = [row["pass_rate"] for row in rows]
        assert rates == sorted(rates, reverse=True), "curriculum: K/K first"
        direct = [row for row in rows if row["protocol"] == "direct"]
        assert len(direct) == round(cfg["rollout"]["direct_judgment_share"] * len(rows))
        assert all(re.fullmatch(r"\[\[[AB]\]\]", row["completion"][0]["content"]) for row in direct)

    models = ["base", "sft", "dpo"] + [f"round_{r}" for r in range(1, rounds + 1)]
    for model in models:
        judgments = _rows(res / f"eval/{model}/judgments.jsonl")
        assert len(judgments) == 2 * len(bench_items)
        metrics = _summary(res / f"eval/{model}/metrics.json")
        assert metrics["model"] == model and 0 <= metrics["accuracy"] <= 1
        assert metrics["accuracy"] == pytest.approx(sum(j["correct"] for j in judgments) / len(judgments))

    for summary in list(res.rglob("*summary.json")):
        data = _summary(summary)
        assert data["experiment"] == "test" and data["settings_hash"] and data["seconds"] >= 0

    csv = (res / "report/metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in csv[1:]] == models
    assert all(f"| {m} |" in (res / "report/metrics.md").read_text() for m in models)
    with Image.open(res / "report/metrics.png") as image:
        image.verify()
        assert image.format == "PNG"


def test_each_training_stage_changed_its_init_weights(run_dir):
    res = run_dir / "results" / "test" / "models"
    chain = [run_dir / "resources/models/tiny-judge", res / "sft", res / "dpo", res / "round_1", res / "round_2"]
    for before, after in zip(chain, chain[1:]):
        a, b = load_file(str(before / "model.safetensors")), load_file(str(after / "model.safetensors"))
        assert any(not torch.equal(a[k], b[k]) for k in a), f"{after.name} equals {before.name}"


def test_deleting_the_report_reruns_only_the_report(run_dir):
    report = run_dir / "results/test/report"
    shutil.rmtree(report)
    log = _snakemake(run_dir)
    ran = set(re.findall(r"^localrule (\w+):", log, re.M))
    assert ran == {"report", "all"}, log[-3000:]
    assert (report / "metrics.png").exists()
    nothing = _snakemake(run_dir)
    assert "Nothing to be done" in nothing
