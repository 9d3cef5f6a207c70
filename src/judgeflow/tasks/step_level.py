"""Step-level: the number of the first wrong step of a step-by-step solution (ProcessBench, PRM800K).

Verdicts [[k]], k >= 1 the first wrong step (at most the number of steps shown), or [[none]] when every step
is right (the verdict 0). Metrics: ProcessBench's accuracy on erroneous and on error-free solutions, their F1
(harmonic mean) and the mean of the per-subset F1.
"""

from __future__ import annotations

import re

import numpy as np

from judgeflow.evaluation.bootstrap import (
    Item,
    Resamples,
    by_subset,
    fill,
    gold_labels,
    harmonic_stat,
    mean_stat,
    ratio_stat,
    token_stats,
    undefined,
)
from judgeflow.tasks.base import INTEGER_TOKEN, TaskType, item_base, item_field, register, single_order

NO_WRONG_STEP = "none"
_STEP_PREFIX = {"en": "Step {n}: ", "zh": "步骤 {n}："}
_STEP_LINE = re.compile(r"^\s*Step\s+\d+\s*:\s*(.*)$", re.IGNORECASE)


def render_steps(steps: list[str], language: str = "en") -> str:
    """Steps one per line, numbered from 1: "Step 1: ..." (Chinese: "步骤 1：...")."""
    return "\n".join(_STEP_PREFIX[language].format(n=n) + step for n, step in enumerate(steps, start=1))


def solution_steps(text: str) -> list[str]:
    """The 'Step i: ...' lines of a step-by-step solution (empty when it has none)."""
    return [m.group(1).strip() for line in text.splitlines() if (m := _STEP_LINE.match(line))]


def _step_block(items: list[Item], samples: int, confidence: float, seed: int) -> dict:
    """ProcessBench: accuracy on erroneous samples (exact first-error step), on error-free samples, and F1 =
    their harmonic mean (QwenLM/ProcessBench code/run_eval_prm_*.py: f1 = 2 * acc1 * acc2 / (acc1 + acc2))."""
    for item in items:
        label = item.main()["label"]
        if not isinstance(label, int) or isinstance(label, bool) or label < 0:
            raise ValueError(f"item {item.item_id}: step_level field 'label' must be an int >= 0, got {label!r}")
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    erroneous = np.array([label != 0 for label in gold_labels(items)], dtype=float)
    clean = 1 - erroneous
    parse = np.array([item.main()["parse_error"] is not None for item in items], dtype=float)
    out = {"items": len(items), "erroneous_items": int(erroneous.sum()), "correct_items": int(clean.sum())}
    resamples = Resamples(len(items), samples, seed)
    error_acc, clean_acc = ratio_stat(correct * erroneous, erroneous), ratio_stat(correct * clean, clean)
    fill(out, "accuracy", resamples, mean_stat(correct), confidence, "no items")
    fill(out, "error_accuracy", resamples, error_acc, confidence, "no erroneous samples")
    fill(out, "correct_accuracy", resamples, clean_acc, confidence, "no error-free samples")
    fill(out, "f1", resamples, harmonic_stat(error_acc, clean_acc), confidence,
          "F1 needs both erroneous and error-free samples")
    fill(out, "parse_error_rate", resamples, mean_stat(parse), confidence, "no items")
    token_stats(out, items, resamples, confidence)
    return out


def _subset_mean_f1(items: list[Item], samples: int, confidence: float, seed: int) -> dict:
    """ProcessBench's headline: the unweighted mean of the per-subset F1 (subsets with both classes; items with
    no subset form one group), each subset resampled within itself."""
    groups = by_subset(items)
    usable = [name for name, members in groups.items()
              if {label != 0 for label in gold_labels(members)} == {True, False}]
    ordered = [item for name in usable for item in groups[name]]
    strata, start = [], 0
    for name in usable:
        strata.append(list(range(start, start + len(groups[name]))))
        start += len(groups[name])
    resamples = Resamples(len(ordered), samples, seed, strata)
    correct = np.array([bool(item.main()["correct"]) for item in ordered], dtype=float)
    erroneous = np.array([label != 0 for label in gold_labels(ordered)], dtype=float)
    clean = 1 - erroneous
    f1 = harmonic_stat(ratio_stat(correct * erroneous, erroneous), ratio_stat(correct * clean, clean))

    def mean_f1(idx):
        return sum(f1(idx[:, part]) for part in resamples.slices) / len(resamples.slices)
    out = {"subset_mean_f1_subsets": usable}
    if usable:
        fill(out, "subset_mean_f1", resamples, mean_f1, confidence, "")
    else:
        undefined(out, "subset_mean_f1", "no subset has both erroneous and error-free samples")
    return out


def _render(item: dict, order: str, template, seed: int) -> tuple[dict, int, dict]:
    single_order(item, order, "step_level")
    question = item_field(item, "question", str)
    steps = item_field(item, "steps", list)
    if not steps or not all(isinstance(step, str) for step in steps):
        raise ValueError(f"item {item.get('id')!r}: field 'steps' must be a non-empty list of strings")
    label = item_field(item, "label", int)
    if not 0 <= label <= len(steps):
        raise ValueError(f"item {item.get('id')!r}: field 'label' {label} is not 0 or a step number 1..{len(steps)}")
    return {"question": question, "steps": render_steps(steps, template.language)}, label, {"num_steps": len(steps)}


def _read_tag(token: str, verdict_args: dict) -> tuple[int | None, str | None]:
    if token == NO_WRONG_STEP:
        return 0, None
    if not INTEGER_TOKEN.fullmatch(token):
        return None, "unknown_tag"
    value, num_steps = int(token), verdict_args.get("num_steps")
    in_range = value >= 1 and (num_steps is None or value <= num_steps)
    return (value, None) if in_range else (None, "out_of_range")


def _format_verdict(verdict: int) -> str:
    return f"[[{NO_WRONG_STEP}]]" if verdict == 0 else f"[[{verdict}]]"


def _build(record: dict, candidates: list[dict], slips: list[dict], rng) -> dict | str:
    """The reference's steps (no wrong step) or an injected slip's, whose first wrong step is exact."""
    reference_steps = record.get("steps") or solution_steps(record.get("solution", ""))
    options = [(reference_steps, 0, "reference")] if reference_steps else []
    options += [(solution_steps(s["text"]), s["first_error_step"], s["method"]) for s in slips
                if s.get("first_error_step") and solution_steps(s["text"])]
    if not options:
        return "no_step_trace"
    steps, label, origin = rng.choice(options)
    return {**item_base(record, "step_level"), "steps": steps, "label": label, "steps_origin": origin}


def _extras(block: dict, items: list[Item], records: list[dict], samples: int, confidence: float, seed: int) -> None:
    block.update(_subset_mean_f1(items, samples, confidence, seed))  # without subsets: the one group's F1


def _item_stats(items: list[Item]) -> dict:
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    erroneous = np.array([label != 0 for label in gold_labels(items)], dtype=float)
    clean = 1 - erroneous
    return {"f1": harmonic_stat(ratio_stat(correct * erroneous, erroneous), ratio_stat(correct * clean, clean)),
            "accuracy": mean_stat(correct)}


STEP_LEVEL = register(TaskType(
    name="step_level",
    description="the first wrong step of a solution: [[k]], or [[none]] when every step is right",
    fields=("question", "steps"),
    render=_render,
    read_tag=_read_tag,
    format_verdict=_format_verdict,
    build=_build,
    position=10,
    build_rank=40,
    metric_block=_step_block,
    extras=_extras,
    item_stats=_item_stats,
    primary_metric="f1",
    paired_metrics=("f1", "accuracy"),
    # ProcessBench's headline, the mean of the subset F1s, first
    table_metrics=("subset_mean_f1", "f1", "error_accuracy", "correct_accuracy", "accuracy", "parse_error_rate"),
    table_title="Step-level (subset_mean_f1: ProcessBench's headline, the mean of the per-subset F1)",
    tiny_fields=lambda ctx: {"steps": ctx["steps"], "label": 0},
    random_verdict=lambda rng, ctx: rng.randint(0, len(ctx["steps"])),
))
