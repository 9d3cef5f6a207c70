"""What several stage modules share (as workflow/rules/common.smk for the rules): reading a split of the items,
sampling judgments for training, the evaluation prompts, a stage's judgment counts, carrying a model forward."""

from __future__ import annotations

from collections import Counter

from judgeflow import models
from judgeflow.core.records import read_jsonl
from judgeflow.generation import SamplingParams
from judgeflow.generation.backends import make_backend
from judgeflow.judge import judging


def split_items(items_path: str, split: str) -> list[dict]:
    return [item for item in read_jsonl(items_path) if item["split"] == split]


def judgment_stats(judgments: list[dict]) -> dict:
    return {"judgments": len(judgments), "correct": sum(j["correct"] for j in judgments),
            "parse_errors": dict(Counter(j["parse_error"] for j in judgments if j["parse_error"])),
            "cue_used": sum(j["cue_used"] for j in judgments), "tokens": sum(j["num_tokens"] for j in judgments)}


def carry_forward(s, init_dir: str, out_dir: str, reason: str) -> None:
    """A trained stage with nothing to train on keeps its starting weights (recorded in the summary, the
    model folder, and from there in the evaluation and the report) instead of failing the run."""
    record = models.carry_forward(init_dir, out_dir, reason)
    s.items_in = s.items_out = 0
    s.extra.update(init_model=init_dir, carried_forward=True, steps=0, **record)


def sample_for_training(config: dict, items: list[dict], model_dir: str, samples_per_item: int, sampling: dict,
                        model_name: str) -> list[dict]:
    """K judgments per item in its 'original' order (whose A/B position is itself a seeded coin)."""
    prompts = judging.prompts_for(items, config["judge"]["templates"], config["seed"], orders=("original",))
    params = SamplingParams.from_config(sampling, n=samples_per_item, seed=config["seed"])
    return judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                    config["judge"]["verdict_cue"], model_name)


def benchmark_items(items_path: str, heldout: bool) -> list[dict]:
    """The held-out split of the run's own items, or every item of a prepared benchmark file."""
    return split_items(items_path, "benchmark") if heldout else read_jsonl(items_path)


def eval_prompts(config: dict, items: list[dict]) -> list[dict]:
    """Benchmark prompts: each item's own template, or one drawn from evaluation.templates when it is set
    (the prompt is then varied at evaluation time only, as RISE's prompt comparison does)."""
    override = config["evaluation"]["templates"]
    return judging.prompts_for(items, override or config["judge"]["templates"], config["seed"],
                               override=bool(override))


RM_NOTE = ("rm is a scalar Bradley-Terry reward model (TRL RewardTrainer) from the base model: a pair is judged "
           "by its two rewards (the higher wins; equal rewards are a tie verdict), so both orders are identical by "
           "construction; a verification item is judged 'yes' when the reward of its response is above a threshold "
           "chosen on the training items (the best balanced accuracy there), and reward_roc_auc is the "
           "threshold-free ROC AUC of its held-out rewards; it gives no verdict for step-level and rating items, "
           "which it is left out of")
