"""Rules of workflow/rules/rollout.smk: rejection-sampling rounds (rule train_rollout runs stages.train.train_sft
with training: rollout.training)."""

from __future__ import annotations

from collections import Counter

from judgeflow.core.records import stage, write_jsonl
from judgeflow.judge import judging
from judgeflow.stages.common import judgment_stats, sample_for_training, split_items


def rollout_sample(config: dict, round_index: int, judge_items: str, model_dir: str, samples: str, kept: str,
                   summary: str, log: str, threads: int) -> None:
    """Round r: K judgments per item of the round's fresh batch (rollout.items: fresh, FARE) or of the seed
    items (seed, STE's iterations over one pool) from the previous model; keep one correct per item (rejection
    sampling), order by the curriculum, rewrite a share as direct judgments."""
    rcfg = config["rollout"]
    seed = config["seed"] + round_index
    with stage("rollout_sample", config, summary, log, threads) as s:
        items = split_items(judge_items, "seed" if rcfg["items"] == "seed" else f"rollout_{round_index}")
        sampled = sample_for_training(config, items, model_dir, rcfg["samples_per_item"], rcfg["sampling"],
                                      f"round_{round_index - 1}" if round_index > 1 else "dpo")
        keep, reasons, histogram = judging.keep_one_correct(sampled, seed)
        for reason, count in reasons.items():
            s.reject(reason, count)
        keep = judging.curriculum_order(keep, seed) if rcfg["curriculum"] else judging.shuffled(keep, seed)
        keep = judging.to_direct_judgments(keep, {item["id"]: item for item in items},
                                           rcfg["direct_judgment_share"], config["judge"]["direct_templates"],
                                           prompt_seed=config["seed"], seed=seed)
        write_jsonl(samples, sampled)
        s.items_in, s.items_out = len(items), write_jsonl(kept, keep)
        s.extra.update(round=round_index, pass_rate_histogram=histogram, judgment_stats=judgment_stats(sampled),
                       curriculum=rcfg["curriculum"], protocols=dict(Counter(k["protocol"] for k in keep)))
