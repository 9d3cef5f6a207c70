"""The whole DAG on config/test.yaml, every ablation figure included, in a copy of the workflow, checked
through its real outputs."""

import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import load_file

from judgeflow.core.config import select
from judgeflow.core.config_checks import load_config
from judgeflow.core.variants import stage_keys
from judgeflow.stages import data as data_stages

from conftest import REPO

pytestmark = pytest.mark.e2e
TARGETS = ("all", "figures")


def _snakemake(workdir, *args, configfiles=("config/test.yaml",)):
    run = subprocess.run([sys.executable, "-m", "snakemake", *args, "--cores", "2", "--configfile", *configfiles],
                         cwd=workdir, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return run.stdout + run.stderr


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _summary(path):
    return json.loads(Path(path).read_text())


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("dag")
    for name in ("Snakefile", "workflow", "config", "src", "environment.yml", "tests/fixtures"):
        source = REPO / name
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    log = _snakemake(work, *TARGETS)
    (work / "first_run.log").write_text(log)
    return work


@pytest.fixture(scope="module")
def cfg(run_dir):
    return load_config(run_dir / "config/config.yaml", run_dir / "config/test.yaml")


def test_lint_and_plan_every_stage(run_dir):
    for extra in ([], ["--configfile", "config/test.yaml"]):
        lint = subprocess.run([sys.executable, "-m", "snakemake", "--lint", *extra], cwd=run_dir,
                              capture_output=True, text=True)
        assert lint.returncode == 0 and "Lints for" not in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    plan = subprocess.run([sys.executable, "-m", "snakemake", *TARGETS, "-n", "--forceall", "--configfile",
                           "config/test.yaml"], cwd=run_dir, capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    for rule in ("prepare_model", "ingest", "generate_responses", "prepare_benchmark", "build_items", "annotate",
                 "train_sft", "dpo_sample", "train_dpo", "rollout_sample", "train_rollout", "evaluate", "evaluate_sc",
                 "report_table", "report_figure", "ablation_table", "ablation_figure", "policy_answers",
                 "best_of_n", "downstream_table", "downstream_figure", "tournament", "train_policy",
                 "policy_accuracy", "policy_table", "policy_figure", "train_rl", "train_rm", "evaluate_rm"):
        assert re.search(rf"^{rule}\s+\d+", plan.stdout, re.M), rule


def test_data_stages_follow_the_config(run_dir, cfg):
    res = run_dir / "results/test/main/data"
    splits, rounds = cfg["data"]["splits"], cfg["rollout"]["rounds"]
    records = _rows(res / "records.jsonl")
    sizes = {"synthetic_instructions": "num_instructions"}
    assert len(records) == sum(s[sizes.get(s["type"], "num_questions")] for s in cfg["data"]["sources"])
    used = [r for r in records if r["split"] != "unused"]
    assert len(used) == splits["benchmark"] + splits["seed"] + rounds * splits["rollout_batch"]
    assert {r["domain"] for r in records} == {"math", "code", "tool_use", "chat"}

    responses = _rows(res / "responses/tiny-judge.jsonl")
    questions = [r for r in used if r["kind"] == "question"]
    graded = [r for r in responses if "text" in r]
    assert len(graded) == len(questions) * cfg["generate"]["samples_per_question"]
    assert len([r for r in responses if "chosen" in r]) == len([r for r in used if r["kind"] == "instruction"])

    items = _rows(res / "items.jsonl")
    build = _summary(res / "build_items_summary.json")
    assert {i["task_type"] for i in items} == set(cfg["data"]["task_ratio"])
    assert len(_rows(res / "build_items_rejects.jsonl")) == build["rejected_total"]
    assert sum(row["built"] for row in build["per_task_domain_source"]) == len(items) + sum(
        n for reason, n in build["rejected"].items() if reason == "contaminated")
    assert all(i["template_id"] in cfg["judge"]["templates"] for i in items)
    # the seed split follows the task ratio (largest remainder of the largest size the pool allows)
    seed = Counter(i["task_type"] for i in items if i["split"] == "seed")
    ratio = cfg["data"]["task_ratio"]
    size = sum(seed.values())
    assert all(abs(seed[t] - size * w / sum(ratio.values())) < 1 for t, w in ratio.items())
    # step-level items from injected slips carry the exact first wrong step
    steps = [i for i in items if i["task_type"] == "step_level" and i["steps_origin"] != "reference"]
    assert steps and all(1 <= i["label"] <= len(i["steps"]) for i in steps)


def test_same_seed_gives_byte_identical_data(run_dir, cfg, tmp_path):
    res = run_dir / "results/test/main/data"
    data_stages.ingest(config=select(cfg, *stage_keys("ingest")), records=tmp_path / "records.jsonl",
                       rejects=tmp_path / "rejects.jsonl", summary=tmp_path / "ingest.json",
                       log=tmp_path / "ingest.log")
    assert _sha(tmp_path / "records.jsonl") == _sha(res / "records.jsonl")
    data_stages.build_items(config=select(cfg, *stage_keys("build_items")), records=res / "records.jsonl",
                            responses=[res / "responses/tiny-judge.jsonl"],
                            benchmarks=[run_dir / "results/test/benchmarks/rewardbench_fixture.jsonl"],
                            judge_items=tmp_path / "items.jsonl", rejects=tmp_path / "rejects.jsonl",
                            summary=tmp_path / "build.json", log=tmp_path / "b.log")
    assert _sha(tmp_path / "items.jsonl") == _sha(res / "items.jsonl")


def test_training_and_evaluation_follow_the_config(run_dir, cfg):
    res = run_dir / "results/test/main"
    items = _rows(res / "data/items.jsonl")
    seed_items = [i for i in items if i["split"] == "seed"]
    orders = lambda item: 2 if item["task_type"] == "pairwise" else 1  # noqa: E731
    annotate = _summary(res / "annotate/summary.json")
    judgments = _rows(res / "annotate/judgments.jsonl")
    assert len(judgments) == cfg["teacher"]["samples_per_order"] * sum(orders(i) for i in seed_items)
    sft = _rows(res / "annotate/sft.jsonl")
    pool = _rows(res / "annotate/dpo_pool.jsonl")
    assert len(sft) == annotate["judge_sft_examples"] + annotate["chat_examples"] == annotate["items_out"]
    assert sum(annotate["dpo_pool_reasons"].values()) == len(pool)

    samples = _rows(res / "dpo/samples.jsonl")
    assert len(samples) == cfg["dpo"]["samples_per_item"] * len(pool)
    dpo = _summary(res / "dpo/summary.json")
    assert dpo["items_out"] + dpo["rejected_total"] == len(pool)
    assert dpo["items_out"] > 0 or _summary(res / "models/dpo.summary.json")["carried_forward"]

    rounds = cfg["rollout"]["rounds"]
    for r in range(1, rounds + 1):
        batch = [i for i in items if i["split"] == f"rollout_{r}"]
        assert len(_rows(res / f"rollout/round_{r}/samples.jsonl")) == cfg["rollout"]["samples_per_item"] * len(batch)
        kept = _summary(res / f"rollout/round_{r}/summary.json")
        assert kept["items_out"] + kept["rejected_total"] == len(batch)
        rows = _rows(res / f"rollout/round_{r}/kept.jsonl")
        rates = [row["pass_rate"] for row in rows]
        assert rates == sorted(rates, reverse=True), "curriculum: K/K first"
        direct = [row for row in rows if row["protocol"] == "direct"]
        assert len(direct) == round(cfg["rollout"]["direct_judgment_share"] * len(rows))
        assert all(re.fullmatch(r"\[\[(A|B|yes|no|none|\d+)\]\]", row["completion"][0]["content"]) for row in direct)

    bench = [i for i in items if i["split"] == "benchmark"]
    external = _rows(run_dir / "results/test/benchmarks/rewardbench_fixture.jsonl")
    for model in ["base", "sft", "dpo"] + [f"round_{r}" for r in range(1, rounds + 1)]:
        for name, its in (("heldout", bench), ("rewardbench_fixture", external)):
            judged = _rows(res / f"eval/{model}/{name}/judgments.jsonl")
            assert len(judged) == sum(orders(i) for i in its)
            metrics = _summary(res / f"eval/{model}/{name}/metrics.json")
            pairwise = [j for j in judged if j["task_type"] == "pairwise"]
            block = metrics["tasks"]["pairwise"]
            assert block["accuracy"] == pytest.approx(sum(j["correct"] for j in pairwise) / len(pairwise))
            assert block["parse_error_rate"] == pytest.approx(
                sum(j["parse_error"] is not None for j in pairwise) / len(pairwise))
    sections = _summary(res / "eval/dpo/rewardbench_fixture/metrics.json")["tasks"]["pairwise"]["sections"]
    assert sections["scheme"] == "rewardbench" and "Reasoning" in sections["by_section"]

    for summary in res.rglob("*summary.json"):
        data = _summary(summary)
        assert data["experiment"] == "test" and data["settings_hash"] and data["seconds"] >= 0


def test_report_and_every_ablation_figure(run_dir, cfg):
    report = run_dir / "results/test/report"
    table = (report / "metrics.md").read_text()
    assert all(f"| {m} |" in table for m in ("base", "sft", "dpo", "round_2", "rl", "rm"))
    assert "scalar Bradley-Terry reward model" in table
    assert "\\begin{tabular}" in (report / "metrics.tex").read_text()
    delta = (report / "delta_vs_base.csv").read_text()
    assert all(f",{m}," in delta for m in ("baseline:constant", "baseline:shorter", "sft", "dpo", "round_1"))
    with Image.open(report / "training_curves.png") as image:
        image.verify()
    costs = (report / "training_costs.md").read_text()
    assert all(f"| {m} |" in costs for m in ("sft", "dpo", "round_1", "round_2", "rl", "rm"))
    # the compute table: every model job of the main run, sampling and training, with its share of the peak
    assert all(f"| {stage} |" in costs for stage in ("generate_responses", "annotate", "dpo_sample", "rollout_sample",
                                                     "evaluate", "train_sft", "train_dpo"))
    assert "| sampling |" in costs and "| training |" in costs and "| eval/sft/heldout |" in costs
    enhancement = (run_dir / "results/test/figures/enhancement.csv").read_text()
    assert all(f"{m}," in enhancement for m in ("rl", "rm")) and "eis" in enhancement and "plain" in enhancement
    eis = _summary(run_dir / "results/test/enhancement.grouping=eis/models/rl.summary.json")
    assert eis["grouping"] == "eis" and (eis["steps"] > 0 or eis["carried_forward"])
    assert not (run_dir / "results/test/enhancement.grouping=eis/models/sft").exists(), "EIS reuses the main SFT"
    for name in cfg["ablations"]:
        stem = run_dir / "results/test/figures" / name
        for ext in (".csv", ".md", ".tex", ".pdf"):
            assert (stem.parent / (stem.name + ext)).stat().st_size > 0, name + ext
        with Image.open(stem.parent / (stem.name + ".png")) as image:
            image.verify()
        rows = (stem.parent / (stem.name + ".csv")).read_text().splitlines()
        assert len(rows) > 1, name
    policy = (run_dir / "results/test/figures/downstream_policy_dpo.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in policy[1:]] == ["base", "dpo"]
    tournament = _summary(run_dir / "results/test/main/downstream/tournament/summary.json")
    assert tournament["items_out"] > 0 and sum(tournament["decisions"].values()) > 0
    best = run_dir / "results/test/figures/downstream_best_of_n"
    rows = (best.parent / "downstream_best_of_n.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * (3 + cfg["rollout"]["rounds"])  # judge, random, oracle per model
    assert (best.parent / "downstream_best_of_n.png").stat().st_size > 0
    grid = (run_dir / "results/test/figures/rise_data_size.csv").read_text()
    assert grid.count("\n") - 1 >= 6  # 3 x 2 cells, at least one task group each



def test_reward_model_judges_pairs_and_verification_items(run_dir):
    """rm: pairwise items by their two rewards, verification items by the reward against the threshold train_rm
    chose on its training items (in its summary), the other task types left out and counted."""
    res = run_dir / "results/test/main"
    trained = _summary(res / "models/rm.summary.json")
    thresholds = trained["thresholds"]
    assert set(trained["rejected"]) <= {"tie", "unpaired", "too_long"}
    assert set(thresholds) == set(trained["pairs_by_task"]) - {"pairwise"}
    items = [i for i in _rows(res / "data/items.jsonl") if i["split"] == "benchmark"]
    judged = _rows(res / "eval/rm/heldout/judgments.jsonl")
    scored = {i["id"] for i in items if i["task_type"] in {"pairwise", *thresholds}}
    assert {j["item_id"] for j in judged} == scored
    for judgment in judged:
        if judgment["task_type"] != "pairwise":
            threshold = thresholds[judgment["task_type"]]
            assert judgment["verdict"] == ("yes" if judgment["reward"] > threshold else "no"), judgment["item_id"]
    summary = _summary(res / "eval/rm/heldout/summary.json")
    assert summary["items_in"] == len(items) and summary["rejected_total"] == len(items) - len(scored)
    assert set(summary["rejected"]) <= {"no_threshold", "not_scored"}
    tasks = _summary(res / "eval/rm/heldout/metrics.json")["tasks"]
    assert {block["task_type"] for block in tasks.values()} == {j["task_type"] for j in judged}
    assert all("reward_roc_auc" in block for block in tasks.values() if block["task_type"] in thresholds)

def test_ablation_variants_reuse_unchanged_stages(run_dir):
    res = run_dir / "results/test"
    direct = res / "fare_direct_share.direct_judgment_share=0.5"
    assert (direct / "rollout").is_dir() and (direct / "models/round_1").is_dir()
    assert (not (direct / "data").exists() and not (direct / "annotate").exists()
            and not (direct / "models/sft").exists())
    assert not (res / "fare_direct_share.direct_judgment_share=0.2").exists(), "the main run's value is the main run"
    bad = res / "ste_bad_response.method=worse_answer"
    assert (bad / "data/items.jsonl").exists() and not (bad / "data/records.jsonl").exists()


def test_each_training_stage_changed_its_init_weights_or_says_it_kept_them(run_dir):
    """A stage trained on something changes its weights; one whose data came out empty (the tiny model's
    verdicts differ between CPU kinds, so a rollout round may keep nothing) keeps them, and says so in its
    summary, its model folder and the report."""
    from judgeflow.models import carried_from

    res = run_dir / "results/test/main/models"
    chain = [run_dir / "resources/models/tiny-judge", res / "sft", res / "dpo", res / "round_1", res / "round_2"]
    carried = []
    for before, after in zip(chain, chain[1:]):
        a, b = load_file(str(before / "model.safetensors")), load_file(str(after / "model.safetensors"))
        changed = any(not torch.equal(a[k], b[k]) for k in a)
        summary = _summary(after.with_name(after.name + ".summary.json"))
        if summary.get("carried_forward"):
            assert not changed and summary["steps"] == 0 and carried_from(after), after.name
            carried.append(after.name)
        else:
            assert changed and summary["steps"] > 0, f"{after.name} equals {before.name}"
    table = (run_dir / "results/test/report/metrics.md").read_text()
    assert all(f"{name} = " in table for name in carried), "the report names every carried-forward model"
    assert chain[1].name not in carried, "the SFT warm-up of the test config always has data"


def test_style_change_reruns_only_figures(run_dir):
    style = run_dir / "style.yaml"
    style.write_text(yaml.safe_dump({"report": {"style": {"dpi": 72}}}))
    plan = _snakemake(run_dir, *TARGETS, "-n", configfiles=("config/test.yaml", str(style)))
    planned = set(re.findall(r"^(\w+)\s+\d+$", plan, re.M)) - {"total"}
    assert planned == {"report_figure", "report_training", "ablation_figure", "downstream_figure", "policy_figure",
                       "figures", "all"}, plan[-3000:]


def test_deleting_the_report_reruns_only_the_report_and_html_report(run_dir):
    shutil.rmtree(run_dir / "results/test/report")
    log = _snakemake(run_dir, *TARGETS)
    ran = set(re.findall(r"^localrule (\w+):", log, re.M)) | set(re.findall(r"^rule (\w+):", log, re.M))
    assert ran - {"all", "figures"} == {"report_table", "report_figure", "report_delta", "report_training"}, log[-3000:]
    assert "Nothing to be done" in _snakemake(run_dir, *TARGETS)
    html = run_dir / "report.html"
    _snakemake(run_dir, *TARGETS, "--report", str(html))
    text = html.read_text(errors="replace")
    assert "metrics.png" in text and "rise_data_size.png" in text and "Ablation" in text


def _planned(run_dir, *configfiles):
    plan = _snakemake(run_dir, *TARGETS, "-n", configfiles=("config/test.yaml", *configfiles))
    return set(re.findall(r"^(\w+)\s+\d+$", plan, re.M)) - {"total"}


def test_a_moved_benchmark_reruns_and_experiments_share_the_models(run_dir):
    # a benchmark pointed at another file re-runs its preparation
    shutil.copy(run_dir / "tests/fixtures/datasets/rewardbench.jsonl", run_dir / "moved.jsonl")
    moved = run_dir / "moved.yaml"
    bench = {"name": "rewardbench_fixture", "type": "rewardbench", "path": "moved.jsonl"}
    moved.write_text(yaml.safe_dump({"evaluation": {"benchmarks": [bench]}}))
    assert "prepare_benchmark" in _planned(run_dir, str(moved))
    # another experiment plans its own results but reuses the prepared models
    other = run_dir / "other.yaml"
    other.write_text(yaml.safe_dump({"experiment": "other"}))
    plan = _planned(run_dir, str(other))
    assert "ingest" in plan and "prepare_model" not in plan, plan


def test_a_deleted_metrics_json_is_rebuilt(run_dir):
    metrics = run_dir / "results/test/main/eval/base/heldout/metrics.json"
    kept = metrics.read_bytes()
    metrics.unlink()
    try:
        assert "evaluate" in _planned(run_dir)
    finally:
        metrics.write_bytes(kept)


def test_a_missing_benchmark_file_fails_the_plan_naming_it(run_dir):
    missing = run_dir / "missing.yaml"
    bench = {"name": "rewardbench_fixture", "type": "rewardbench", "path": "missing.jsonl"}
    missing.write_text(yaml.safe_dump({"evaluation": {"benchmarks": [bench]}}))
    failed = subprocess.run([sys.executable, "-m", "snakemake", *TARGETS, "-n", "--cores", "2", "--configfile",
                             "config/test.yaml", str(missing)], cwd=run_dir, capture_output=True, text=True)
    assert failed.returncode != 0 and "missing.jsonl" in failed.stdout + failed.stderr
