"""Rules of workflow/rules/annotate.smk: the teacher's judgments of the seed split and the SFT set."""

from __future__ import annotations

from collections import Counter

from judgeflow.core.records import read_jsonl, stage, write_jsonl
from judgeflow.generation import SamplingParams
from judgeflow.generation.backends import make_backend
from judgeflow.judge import critiques, judging
from judgeflow.stages.common import judgment_stats


def annotate(config: dict, judge_items: str, teacher: str | None, judgments: str, sft: str, dpo_pool: str, summary: str,
             log: str, threads: int) -> None:
    """Teacher judgments of the seed items in every order (samples_per_order each); items correct in every
    order -> SFT set (balanced by label and length, capped, mixed with chat data), the rest -> DPO pool."""
    tcfg = config["teacher"]
    with stage("annotate", config, summary, log, threads) as s:
        all_items = read_jsonl(judge_items)
        items = [i for i in all_items if i["split"] == "seed"]
        prompts = judging.prompts_for(items, config["judge"]["templates"], config["seed"])
        no_critique = {}
        if tcfg["critiques"] == "programmatic":
            judged, no_critique = critiques.teacher_judgments(items, prompts)
        else:
            params = SamplingParams.from_config(tcfg["sampling"], n=tcfg["samples_per_order"], seed=config["seed"])
            judged = judging.sample_judgments(make_backend(teacher, config["generation"]), prompts, params,
                                              config["judge"]["verdict_cue"], tcfg["model"])
        sft_items, pool, reasons = judging.split_teacher_judgments(items, judged, config["seed"])
        if tcfg["critiques"] == "programmatic":  # why the programmatic teacher wrote nothing for a pool item
            reasons = Counter(no_critique.get(i["id"], "no_judgment") for i in pool)
        by_id = {i["id"]: i for i in items}
        sft_items, dropped = judging.balance_sft_items(by_id, sft_items, tcfg["balance_labels"], tcfg["balance_length"],
                                                       config["seed"])
        examples = [example for item_id in sorted(sft_items) for example in sft_items[item_id]]
        chat = judging.chat_examples(all_items, len(examples), tcfg["chat_share"], config["seed"]) if examples else []
        for reason, count in dropped.items():
            s.reject(reason, count)
        write_jsonl(judgments, judged)
        s.items_in = len(items)
        s.items_out = write_jsonl(sft, examples + chat)
        write_jsonl(dpo_pool, pool)
        s.extra.update(judge_sft_examples=len(examples), chat_examples=len(chat), dpo_pool_items=len(pool),
                       dpo_pool_reasons=dict(reasons), sft_items_by_task=dict(Counter(
                           by_id[e["item_id"]]["task_type"] for e in examples)),
                       judgment_stats=judgment_stats(judged))
