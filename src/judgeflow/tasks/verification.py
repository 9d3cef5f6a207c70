"""Verification: is the response correct, with the reference answer shown (ref_verification) or without it
(ref_free_verification)?

Verdicts [[yes]] or [[no]]. Metrics: accuracy, balanced accuracy (the mean recall of the gold classes), recall
per class; with a scalar reward model's rewards, the threshold-free ROC AUC.
"""

from __future__ import annotations

import numpy as np

from judgeflow.evaluation.bootstrap import (
    Item,
    Resamples,
    auc_stat,
    fill,
    gold_labels,
    mean2_stat,
    mean_stat,
    ratio_stat,
    token_stats,
)
from judgeflow.tasks.base import TaskType, item_base, item_field, register, single_order

LABELS = ("yes", "no")


def _verification_block(items: list[Item], samples: int, confidence: float, seed: int) -> dict:
    """accuracy, balanced accuracy (mean recall over the gold classes present), per-class recall."""
    for item in items:
        if item.main()["label"] not in ("yes", "no"):
            raise ValueError(f"item {item.item_id}: verification field 'label' must be 'yes' or 'no', "
                             f"got {item.main()['label']!r}")
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    yes = np.array([label == "yes" for label in gold_labels(items)], dtype=float)
    no = 1 - yes
    parse = np.array([item.main()["parse_error"] is not None for item in items], dtype=float)
    out = {"items": len(items), "yes_items": int(yes.sum()), "no_items": int(no.sum())}
    resamples = Resamples(len(items), samples, seed)
    recall_yes, recall_no = ratio_stat(correct * yes, yes), ratio_stat(correct * no, no)
    fill(out, "accuracy", resamples, mean_stat(correct), confidence, "no items")
    fill(out, "balanced_accuracy", resamples, mean2_stat(recall_yes, recall_no), confidence, "no items")
    if items and (yes.all() or not yes.any()):
        out["balanced_accuracy_note"] = f"only '{'yes' if yes.all() else 'no'}' labels: the recall of that class"
    fill(out, "recall_yes", resamples, recall_yes, confidence, "no 'yes' labels")
    fill(out, "recall_no", resamples, recall_no, confidence, "no 'no' labels")
    fill(out, "parse_error_rate", resamples, mean_stat(parse), confidence, "no items")
    token_stats(out, items, resamples, confidence)
    return out


REWARD_AUC_NOTE = ("reward_roc_auc: ROC AUC of a scalar reward model's rewards against the gold labels, the chance "
                   "that a 'yes' item scores above a 'no' item (equal rewards count 1/2); threshold-free, unlike "
                   "its verdicts, whose threshold was chosen on the training items")


def _reward_auc(items: list[Item], samples: int, confidence: float, seed: int) -> dict:
    """reward_roc_auc of verification judgments that carry a scalar `reward` (the reward model's), with its
    bootstrap interval."""
    rewards = [item.main()["reward"] for item in items]
    yes = [label == "yes" for label in gold_labels(items)]
    out = {"reward_roc_auc_note": REWARD_AUC_NOTE}
    fill(out, "reward_roc_auc", Resamples(len(items), samples, seed), auc_stat(rewards, yes), confidence,
          "needs both 'yes' and 'no' items")
    return out


def _renderer(task_type: str, reference: bool):
    def render(item: dict, order: str, template, seed: int) -> tuple[dict, str, dict]:
        single_order(item, order, task_type)
        question = item_field(item, "question", str)
        label = item_field(item, "label", str)
        if label not in LABELS:
            raise ValueError(f"item {item.get('id')!r}: field 'label' must be 'yes' or 'no', got {label!r}")
        values = {"question": question, "response": item_field(item, "response", str)}
        if reference:
            values["reference"] = item_field(item, "reference", str)
        return values, label, {}
    return render


def _read_tag(token: str, verdict_args: dict) -> tuple[str | None, str | None]:
    return (token, None) if token in LABELS else (None, "unknown_tag")


def _builder(task_type: str, reference: bool):
    def build(record: dict, candidates: list[dict], slips: list[dict], rng) -> dict | str:
        """One response: a balanced coin picks which class to show when both exist."""
        if not candidates:
            return "no_response"
        correct = [c for c in candidates if c["correct"]]
        incorrect = [c for c in candidates if not c["correct"]]
        pool = (correct if rng.random() < 0.5 else incorrect) or correct or incorrect
        picked = rng.choice(pool)
        item = {**item_base(record, task_type), "response": picked["text"],
                "label": "yes" if picked["correct"] else "no", "response_origin": picked["generator"]}
        if reference:
            item["reference"] = record.get("reference", record["answer"])
        return item
    return build


def _extras(block: dict, items: list[Item], records: list[dict], samples: int, confidence: float, seed: int) -> None:
    if all("reward" in j for j in records):
        block.update(_reward_auc(items, samples, confidence, seed))


def _item_stats(items: list[Item]) -> dict:
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    yes = np.array([label == "yes" for label in gold_labels(items)], dtype=float)
    return {"accuracy": mean_stat(correct),
            "balanced_accuracy": mean2_stat(ratio_stat(correct * yes, yes), ratio_stat(correct * (1 - yes), 1 - yes))}


def _task(name: str, reference: bool, position: int, rank: int, title: str, description: str) -> TaskType:
    return register(TaskType(
        name=name,
        description=description,
        fields=("question", "reference", "response") if reference else ("question", "response"),
        render=_renderer(name, reference),
        read_tag=_read_tag,
        build=_builder(name, reference),
        position=position,
        build_rank=rank,
        metric_block=_verification_block,
        extras=_extras,
        item_stats=_item_stats,
        primary_metric="accuracy",
        paired_metrics=("accuracy", "balanced_accuracy"),
        # the reward model's threshold-free ROC AUC last (rm only)
        table_metrics=("accuracy", "balanced_accuracy", "parse_error_rate", "reward_roc_auc"),
        table_title=title,
        binary_labels=LABELS,
        tiny_fields=(lambda ctx: {"response": ctx["response"], "reference": ctx["answer"], "label": "yes"}) if reference
        else (lambda ctx: {"response": ctx["response"], "label": "yes"}),
        random_verdict=lambda rng, ctx: rng.choice(["yes", "no"]),
    ))


REF_VERIFICATION = _task("ref_verification", True, 20, 10, "Reference-based verification",
                         "is the response correct, given the reference answer: [[yes]] or [[no]]")
REF_FREE_VERIFICATION = _task("ref_free_verification", False, 30, 20, "Reference-free verification",
                              "is the response correct, without a reference: [[yes]] or [[no]]")
