"""Rules of workflow/rules/train.smk: the SFT warm-up, DPO sampling and DPO (+ NLL)."""

from __future__ import annotations

from judgeflow.core.records import read_jsonl, stage, write_jsonl
from judgeflow.judge import judging
from judgeflow.stages.common import carry_forward, judgment_stats, sample_for_training, split_items
from judgeflow.training import launch


def train_sft(config: dict, examples: str, init: str, model: str, summary: str, log: str, threads: int,
              training: str = "sft", shuffle: bool = True, gpus: int = 0, accelerate_config: str | None = None,
              max_examples: int | None = None, stage_name: str = "train_sft") -> None:
    """SFT from a prompt/completion file with the hyperparameters of config block `training` (sft: the warm-up;
    rollout.training: a rollout round, run as stage train_rollout); shuffle=False keeps the file's order (the
    rollout curriculum). With more than one GPU the training runs under `accelerate launch`
    (judgeflow.training.launch)."""
    tcfg = config
    for part in training.split("."):
        tcfg = tcfg[part]
    with stage(stage_name, config, summary, log, threads) as s:
        rows = read_jsonl(examples)
        rows, capped = judging.cap_sft_examples(rows, max_examples, config["seed"])
        if capped:
            s.reject("max_sft_examples", capped)
        if not rows:
            carry_forward(s, init, model, "no training examples: the stage before kept none")
            return
        result = launch.run_training("sft", dict(init_dir=init, examples=rows, out_dir=model, tcfg=tcfg,
                                                 seed=config["seed"], shuffle=shuffle),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        s.items_in = s.items_out = len(rows)
        s.extra.update(init_model=init, **result)


def dpo_sample(config: dict, judge_items: str, model_dir: str, samples: str, pairs: str, summary: str, log: str,
               threads: int) -> None:
    """K judgments per item from the DPO init model, paired correct vs incorrect. The items: the teacher's
    DPO pool (dpo.items: pool, RISE; `judge_items` is annotate's dpo_pool.jsonl) or every seed item (seed: the
    items GRPO and seed-item rounds get; `judge_items` is build_items' items.jsonl)."""
    dcfg = config["dpo"]
    with stage("dpo_sample", config, summary, log, threads) as s:
        items = split_items(judge_items, "seed")  # the pool holds seed items only; items.jsonl every split
        sampled = sample_for_training(config, items, model_dir, dcfg["samples_per_item"], dcfg["sampling"],
                                      dcfg["init"])
        dpo_pairs, reasons = judging.dpo_pairs(sampled, config["seed"])
        if dcfg["max_pairs"] is not None and len(dpo_pairs) > dcfg["max_pairs"]:
            reasons["max_pairs"] += len(dpo_pairs) - dcfg["max_pairs"]
            dpo_pairs = judging.shuffled(dpo_pairs, config["seed"])[:dcfg["max_pairs"]]
        for reason, count in reasons.items():
            s.reject(reason, count)
        write_jsonl(samples, sampled)
        s.items_in, s.items_out = len(items), write_jsonl(pairs, dpo_pairs)
        s.extra.update(judgment_stats=judgment_stats(sampled))


def train_dpo(config: dict, pairs: str, init: str, model: str, summary: str, log: str, threads: int, gpus: int = 0,
              accelerate_config: str | None = None, block: str = "dpo", stage_name: str = "train_dpo") -> None:
    """DPO from preference pairs with the hyperparameters of config block `block` (dpo: the judge;
    downstream.policy_dpo: the downstream policy)."""
    dcfg = config
    for part in block.split("."):
        dcfg = dcfg[part]
    with stage(stage_name, config, summary, log, threads) as s:
        rows = read_jsonl(pairs)
        if not rows:
            carry_forward(s, init, model, "no preference pairs: no item had both a correct and an "
                           "incorrect sampled judgment")
            return
        result = launch.run_training("dpo", dict(init_dir=init, pairs=rows, out_dir=model,
                                                 tcfg=dcfg["training"], beta=dcfg["beta"],
                                                 nll_weight=dcfg["nll_weight"], seed=config["seed"]),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        s.items_in = s.items_out = len(rows)
        s.extra.update(init_model=init, **result)
