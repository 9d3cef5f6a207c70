"""Rules of workflow/rules/rollout.smk: rejection-sampling rounds (their SFT is stages.train.train_sft)."""

from __future__ import annotations

from collections import Counter

from judgeflow.core.records import stage, write_jsonl
from judgeflow.judge import judging
from judgeflow.stages.common import judgment_stats, sample_for_training, split_items


def rollout_sample(config: dict, round_index: int, items_path: str, model_dir: str, samples_out: str,
                   kept_out: str, summary: str, log_path: str, threads: int) -> None:
    """Round r: K judgments per item of the round's fresh batch (rollout.items: fresh, FARE) or of the seed
    items (seed, STE's iterations over one pool) from the previous model; keep one correct per item (rejection
    sampling), order by the curriculum, rewrite a share as direct judgments."""
    rcfg = config["rollout"]
    seed = config["seed"] + round_index
    with stage("rollout_sample", config, summary, log_path, threads) as s:
        items = split_items(items_path, "seed" if rcfg["items"] == "seed" else f"rollout_{round_index}")
        samples = sample_for_training(config, items, model_dir, rcfg["samples_per_item"], rcfg["sampling"],
                                      f"round_{round_index - 1}" if round_index > 1 else "dpo")
        kept, reasons, histogram = judging.keep_one_correct(samples, seed)
        for reason, count in reasons.items():
            s.reject(reason, count)
        kept = judging.curriculum_order(kept, seed) if rcfg["curriculum"] else judging.shuffled(kept, seed)
        kept = judging.to_direct_judgments(kept, {item["id"]: item for item in items},
                                           rcfg["direct_judgment_share"], config["judge"]["direct_templates"],
                                           prompt_seed=config["seed"], seed=seed)
        write_jsonl(samples_out, samples)
        s.items_in, s.items_out = len(items), write_jsonl(kept_out, kept)
        s.extra.update(round=round_index, pass_rate_histogram=histogram, judgment_stats=judgment_stats(samples),
                       curriculum=rcfg["curriculum"], protocols=dict(Counter(k["protocol"] for k in kept)))
