"""Rules of workflow/rules/rl.smk: GRPO, the scalar reward model and its evaluation."""

from __future__ import annotations

from collections import Counter

from judgeflow import tasks
from judgeflow.core.config import config_hash
from judgeflow.core.records import read_json, stage, write_json, write_jsonl
from judgeflow.evaluation import metrics as metrics_mod
from judgeflow.stages.common import RM_NOTE, benchmark_items, carry_forward, eval_prompts, judgment_stats, split_items
from judgeflow.training import launch, rl, score_conversations


def train_rl(config: dict, judge_items: str, init: str, model: str, summary: str, log: str, threads: int, gpus: int = 0,
             accelerate_config: str | None = None) -> None:
    """GRPO on the seed items (the items the teacher annotated for SFT and DPO) with the verifiable verdict
    reward, plain or EIS grouping (rl.grouping), from the model rl.init names."""
    rcfg = config["rl"]
    with stage("train_rl", config, summary, log, threads) as s:
        items = split_items(judge_items, "seed")
        items, capped = rl.cap_items(items, rcfg["max_items"], config["seed"])
        if capped:
            s.reject("max_items", capped)
        rows = rl.rl_rows(items, config["judge"]["templates"], config["seed"])
        s.items_in = len(items)
        per_batch = rcfg["training"]["batch_size"] * rcfg["training"]["gradient_accumulation_steps"] * max(1, gpus)
        if len(rows) * rcfg["num_generations"] < per_batch:
            carry_forward(s, init, model, f"{len(rows)} RL rows x {rcfg['num_generations']} generations fill "
                           f"no generation batch of {per_batch} completions")
            return
        result = launch.run_training("rl", dict(init_dir=init, rows=rows, out_dir=model, rcfg=rcfg,
                                                seed=config["seed"]),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        if result.get("items_prompt_too_long"):
            s.reject("prompt_too_long", result["items_prompt_too_long"])
        s.items_out = result.get("items_trained", len(items))
        s.extra.update(init_model=init, init=rcfg["init"], per_task=dict(Counter(i["task_type"] for i in items)),
                       **result)


def train_rm(config: dict, judge_items: str, init: str, model: str, summary: str, log: str, threads: int, gpus: int = 0,
             accelerate_config: str | None = None) -> None:
    """A Bradley-Terry reward model (TRL RewardTrainer) from the base model on the seed items (the items the
    teacher annotated): chosen vs rejected of the pairwise ones, a "yes" vs a "no" response of the verification
    ones (rl.rm_pairs). Then each verification task type's reward threshold for yes/no verdicts, chosen on the
    items of its training pairs (rl.rm_thresholds), goes into the summary (`thresholds`; the model folder
    holds the weights only)."""
    tcfg = config["reward_model"]["training"]
    with stage("train_rm", config, summary, log, threads) as s:
        items = [i for i in split_items(judge_items, "seed") if i["task_type"] in rl.rm_task_types()]
        pairs, reasons = rl.rm_pairs(items, config["seed"])
        s.items_in = len(items)
        for reason, count in reasons.items():
            s.reject(reason, count)
        if not pairs:
            raise ValueError("train_rm: the seed split gives no pair: no pairwise item with a chosen and a rejected "
                             "response, and no verification task type with both 'yes' and 'no' items; give "
                             "data.task_ratio.pairwise or a verification task type a share, or turn "
                             "reward_model.enabled off")
        result = launch.run_training("rm", dict(init_dir=init, pairs=pairs, out_dir=model, tcfg=tcfg,
                                                seed=config["seed"]),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        if result.get("pairs_too_long"):
            s.reject("too_long", result["pairs_too_long"])
        s.items_out = result.get("pairs_trained", len(pairs))
        by_id = {item["id"]: item for item in items}
        calibration = [by_id[pair[side]] for pair in pairs if pair["task_type"] != "pairwise"
                       for side in ("chosen_item_id", "rejected_item_id")]
        rewards = score_conversations(model, [rl.rm_conversation(i) for i in calibration], tcfg["max_length"]) \
            if calibration else []
        s.extra.update(init_model=init, pairs_by_task=dict(Counter(p["task_type"] for p in pairs)),
                       **rl.rm_thresholds(calibration, rewards), **result)


def evaluate_rm(config: dict, benchmark: str, heldout: bool, judge_items: str, model_dir: str, rm_summary: str,
                judgments: str, metrics: str, summary: str, log: str, threads: int) -> None:
    """The reward model as a judge: each pairwise item's two responses scored (both orders written), each
    verification item's response scored and judged against its task type's threshold (train_rm's summary,
    `rm_summary`); judgments in the `evaluate` record format so the same metrics and report tables read them as
    model rm. Verification task types without a threshold (no training pair) and the other task types are
    left out (rejected: no_threshold, not_scored)."""
    ecfg = config["evaluation"]
    with stage("evaluate_rm", config, summary, log, threads) as s:
        thresholds = read_json(rm_summary).get("thresholds")
        if thresholds is None:
            raise ValueError(f"evaluate_rm: {rm_summary} records no reward thresholds (a reward model trained "
                             "before verification items were scored): re-run train_rm")
        items = benchmark_items(judge_items, heldout)
        pairwise = [i for i in items if i["task_type"] == "pairwise"]
        verification = [i for i in items if i["task_type"] in thresholds]
        s.items_in = len(items)
        left = Counter("no_threshold" if i["task_type"] in tasks.binary_tasks() else "not_scored"
                       for i in items if i["task_type"] != "pairwise" and i["task_type"] not in thresholds)
        for reason, count in left.items():
            s.reject(reason, count)
        conversations = [rl.rm_conversation(i, side) for i in pairwise for side in (i["chosen"], i["rejected"])]
        conversations += [rl.rm_conversation(i) for i in verification]
        scores = score_conversations(model_dir, conversations, config["reward_model"]["training"]["max_length"])
        rewards = {item["id"]: (scores[2 * k], scores[2 * k + 1]) for k, item in enumerate(pairwise)}
        judged = rl.rm_judgments(eval_prompts(config, pairwise), rewards, config["seed"])
        judged += rl.rm_verification_judgments(eval_prompts(config, verification),
                                               dict(zip((i["id"] for i in verification),
                                                        scores[2 * len(pairwise):])), thresholds)
        s.items_out = write_jsonl(judgments, judged)
        result = metrics_mod.task_metrics(judged, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"]) \
            if judged else {"tasks": {}, "reason": "no pairwise items and no verification items with a threshold"}
        result.update(model="rm", benchmark=benchmark, model_dir=model_dir, weights_of=None,
                      experiment=config["experiment"], settings_hash=config_hash(config), note=RM_NOTE,
                      thresholds=thresholds, judgment_stats=judgment_stats(judged))
        write_json(metrics, result)
        s.extra.update(model="rm", benchmark=benchmark, ties=sum(j["verdict"] == "tie" for j in judged),
                       thresholds=thresholds)
