"""Rules of workflow/rules/evaluate.smk: every judge on every benchmark, greedy and SC@k."""

from __future__ import annotations

from judgeflow import models
from judgeflow.core.config import config_hash
from judgeflow.core.records import stage, write_json, write_jsonl
from judgeflow.evaluation import metrics as metrics_mod
from judgeflow.generation import SamplingParams
from judgeflow.generation.backends import make_backend
from judgeflow.judge import judging
from judgeflow.stages.common import benchmark_items, eval_prompts, judgment_stats


def evaluate(config: dict, model: str, benchmark: str, heldout: bool, judge_items: str, model_dir: str, judgments: str,
             metrics: str, summary: str, log: str, threads: int) -> None:
    """Judge every benchmark item (pairwise in both orders) once with the evaluation sampling; write the
    per-item judgments and every metric that applies, each with a bootstrap CI."""
    ecfg = config["evaluation"]
    with stage("evaluate", config, summary, log, threads) as s:
        items = benchmark_items(judge_items, heldout)
        prompts = eval_prompts(config, items)
        params = SamplingParams.from_config(ecfg["sampling"], n=1, seed=config["seed"])
        judged = judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                          config["judge"]["verdict_cue"], model)
        s.items_in = len(items)
        s.items_out = write_jsonl(judgments, judged)
        result = metrics_mod.task_metrics(judged, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"])
        result.update(model=model, benchmark=benchmark, model_dir=model_dir, weights_of=models.carried_from(model_dir),
                      experiment=config["experiment"],
                      settings_hash=config_hash(config), judgment_stats=judgment_stats(judged))
        write_json(metrics, result)
        s.extra.update(model=model, benchmark=benchmark)


def evaluate_sc(config: dict, model: str, benchmark: str, heldout: bool, judge_items: str, model_dir: str,
                judgments: str, metrics: str, summary: str, log: str, threads: int) -> None:
    """Test-time scaling (FARE): sc_max_k sampled judgments per item and order; SC@k majority-vote accuracy
    for k = 1, 2, 4, ... up to sc_max_k."""
    ecfg = config["evaluation"]
    with stage("evaluate_sc", config, summary, log, threads) as s:
        items = benchmark_items(judge_items, heldout)
        prompts = eval_prompts(config, items)
        params = SamplingParams.from_config(ecfg["sc_sampling"], n=ecfg["sc_max_k"], seed=config["seed"])
        judged = judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                          config["judge"]["verdict_cue"], model)
        s.items_in = len(items)
        s.items_out = write_jsonl(judgments, judged)
        result = metrics_mod.sc_at_k(judged, ecfg["sc_max_k"], ecfg["bootstrap_samples"], ecfg["confidence"],
                                     config["seed"])
        result.update(model=model, benchmark=benchmark, experiment=config["experiment"],
                      settings_hash=config_hash(config), judgment_stats=judgment_stats(judged))
        write_json(metrics, result)
        s.extra.update(model=model, benchmark=benchmark)
