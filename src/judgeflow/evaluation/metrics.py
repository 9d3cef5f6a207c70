"""Judge metrics for every task type, each number with an item-level bootstrap confidence interval.

Input: judgment records {item_id, order ("original" | "swapped"), sample (int, default 0), task_type, label,
verdict (None on a parse error), parse_error (None or a reason), correct (bool)} and optionally num_tokens,
subset, tie (pairwise: the human label is a tie), chosen_first, chosen_longer (pairwise), protocol
("critique" | "direct"), model, reward (verification: a scalar reward model's score, which adds
`reward_roc_auc`, the threshold-free ROC AUC of the rewards, to the task's block).

Conventions, everywhere:
- Headline numbers use each item/order's first sample (lowest `sample`); the other samples feed SC@k only.
- A parse error is a wrong judgment, never 0.5. The RewardBench-compatible score (a parse error or a tie
  verdict scores 0.5, as allenai/reward-bench scripts/run_generative.py does) is reported beside it under
  its own name, `rewardbench_score`. A pairwise tie verdict is "C" (the [[C]] tag) or "tie".
- Pairwise items whose human label is a tie (`tie: true`) are left out of every accuracy and counted in
  `ties`; they enter the human-agreement numbers only.
- Intervals: percentile bootstrap over items (both orders and all samples of an item move together), with
  the given seed. Subset-weighted scores (sections, mean over subsets) resample within each subset, so each
  subset keeps its size and weight.
- A number that is not defined (no items, a constant rating vector) is None, its interval None, and a
  `<name>_reason` says why.
- JudgeBench-format items (subset = a JudgeBench `source`: mmlu-pro-*, livebench-*, livecodebench) also get
  JudgeBench's official score `judgebench_score` (see JUDGEBENCH_SCORE_NOTE), overall and per category.
- Step-level blocks lead with ProcessBench's headline `subset_mean_f1`, the unweighted mean of the per-subset F1.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from judgeflow import tasks
from judgeflow.core.records import read_jsonl
from judgeflow.evaluation.bootstrap import Item, Resamples, by_subset, difference_stat, fill, group_items, mean_stat
from judgeflow.tasks.pairwise import JUDGEBENCH_CATEGORIES, REWARDBENCH_SECTIONS

SC_TIE_RULE = ("majority of the parsed verdicts among the first k samples; parse errors do not vote; a tie between "
               "verdicts goes to the one voted first (lowest sample index); no parsed verdict = wrong")

_REQUIRED = ("item_id", "order", "label", "verdict", "parse_error", "correct")


def _validate(judgments: list[dict], need_task_type: bool) -> None:
    required = _REQUIRED + (("task_type",) if need_task_type else ())
    for number, judgment in enumerate(judgments):
        missing = [name for name in required if name not in judgment]
        if missing:
            raise ValueError(f"judgment {number} (item {judgment.get('item_id')!r}): missing field(s) {missing}")
        if need_task_type and judgment["task_type"] not in tasks.names():
            raise ValueError(f"judgment {number} (item {judgment['item_id']!r}): field 'task_type' is "
                             f"{judgment['task_type']!r}, expected one of {tasks.names()}")


# ------------------------------------------------------------------------------------------- SC@k


def _vote(verdicts: list):
    counts = Counter(v for v in verdicts if v is not None)
    if not counts:
        return None
    top = max(counts.values())
    return next(v for v in verdicts if v is not None and counts[v] == top)


def _sc_at_k(items: list[Item], samples: int, confidence: float, seed: int, max_k: int | None = None) -> dict | None:
    """SC@k for k = 1, 2, 4, ... up to the largest power of 2 that every item/order has samples for (and <= max_k)."""
    scored = [item for item in items if not item.tie]
    pools = [list(item.samples.values()) for item in scored]
    sizes = [len(pool) for item in pools for pool in item]
    if not sizes or (max_k is None and max(sizes) < 2):
        return None
    available = min(sizes) if max_k is None else min(min(sizes), max_k)
    ks = [2 ** power for power in range(int(math.log2(available)) + 1)]
    resamples = Resamples(len(scored), samples, seed)
    rows = []
    for k in ks:
        scores = np.array([np.mean([_vote([j["verdict"] for j in pool[:k]]) == pool[0]["label"] for pool in item])
                           for item in pools], dtype=float)
        row = {"k": k, "items": len(scored)}
        fill(row, "accuracy", resamples, mean_stat(scores), confidence, "no items")
        rows.append(row)
    return {"max_k": ks[-1], "requested_max_k": max_k, "samples_min": min(sizes), "samples_max": max(sizes),
            "tie_rule": SC_TIE_RULE, "by_k": rows}


# ------------------------------------------------------------------------------------- entry point


def _task_block(task_type: str, records: list[dict], samples: int, confidence: float, seed: int) -> dict:
    """The task type's metric block over all its items and per subset, then what only the whole task has (its
    extras), then SC@k when there are several samples."""
    task = tasks.get(task_type)
    items = group_items(records, task.orders)
    block = {"task_type": task_type, "primary_metric": task.primary_metric,
             **task.metric_block(items, samples, confidence, seed)}
    if any(item.subset is not None for item in items):
        block["subsets"] = {name: task.metric_block(members, samples, confidence, seed)
                            for name, members in by_subset(items).items()}
        for sub in block["subsets"].values():  # the notes stay on the task's block
            for key in [key for key in sub if key.endswith("_note")]:
                del sub[key]
    task.extras(block, items, records, samples, confidence, seed)
    sc = _sc_at_k(items, samples, confidence, seed)
    if sc:
        block["sc_at_k"] = sc
    return block


def task_metrics(judgments: list[dict], bootstrap_samples: int, confidence: float, seed: int) -> dict:
    """Every metric that applies, per task type (and per protocol when the judgments mix protocols).

    Returns {"bootstrap_samples", "confidence", "seed", "judgments", "model", "tasks": {group: block},
    "protocols": [rows]} (protocols only when a judgment has a `protocol` field). A group is the task type,
    or "task_type/protocol" when that task type's judgments carry several protocols. JSON-serializable."""
    result = _header(judgments, bootstrap_samples, confidence, seed)
    for group, task_type, protocol, records in _groups(judgments):
        result["tasks"][group] = {"protocol": protocol,
                                  **_task_block(task_type, records, bootstrap_samples, confidence, seed)}
    if any("protocol" in j for j in judgments):
        result["protocols"] = [_protocol_row(group, block) for group, block in result["tasks"].items()]
    return result


def _groups(judgments: list[dict]):
    """(group, task_type, protocol, records): a group is the task type, or "task_type/protocol" when that task
    type's judgments carry several protocols."""
    for task_type in tasks.names():
        records = [j for j in judgments if j["task_type"] == task_type]
        protocols = sorted({j.get("protocol") for j in records}, key=str)
        for protocol in protocols:
            group = task_type if len(protocols) == 1 else f"{task_type}/{protocol}"
            yield group, task_type, protocol, [j for j in records if j.get("protocol") == protocol]


def _header(judgments: list[dict], bootstrap_samples: int, confidence: float, seed: int) -> dict:
    if not judgments:
        raise ValueError("no judgments to score")
    _validate(judgments, need_task_type=True)
    models = sorted({str(j["model"]) for j in judgments if j.get("model") is not None})
    if len(models) > 1:
        raise ValueError(f"judgments from several models {models}: score each model separately")
    return {"bootstrap_samples": bootstrap_samples, "confidence": confidence, "seed": seed,
            "judgments": len(judgments), "model": models[0] if models else None, "tasks": {}}


def sc_at_k(judgments: list[dict], max_k: int, bootstrap_samples: int, confidence: float, seed: int) -> dict:
    """SC@k majority-vote accuracy (see SC_TIE_RULE) for k = 1, 2, 4, ... up to max_k, per task-type group.

    Returns the task_metrics header and "tasks": {group: {task_type, protocol, items, ties, sc_at_k: {max_k,
    requested_max_k, samples_min, samples_max, tie_rule, by_k: [{k, items, accuracy, accuracy_ci}]}}}. When some
    item/order has fewer than max_k samples, k stops at the largest power of 2 they all have (max_k says which)."""
    if max_k < 1:
        raise ValueError(f"max_k must be >= 1, got {max_k}")
    result = _header(judgments, bootstrap_samples, confidence, seed)
    for group, task_type, protocol, records in _groups(judgments):
        items = group_items(records, tasks.get(task_type).orders)
        result["tasks"][group] = {"task_type": task_type, "protocol": protocol,
                                  "items": sum(not item.tie for item in items), "ties": sum(item.tie for item in items),
                                  "sc_at_k": _sc_at_k(items, bootstrap_samples, confidence, seed, max_k)}
    return result


def _protocol_row(group: str, block: dict) -> dict:
    name = "accuracy" if "accuracy" in block else "exact_agreement"
    row = {"group": group, "task_type": block["task_type"], "protocol": block["protocol"], "items": block["items"],
           "accuracy_metric": name, "accuracy": block[name], "accuracy_ci": block[f"{name}_ci"]}
    for key in ("tokens_per_item", "tokens_per_judgment"):
        row[key], row[f"{key}_ci"] = block.get(key), block.get(f"{key}_ci")
    return row


def tidy(result: dict) -> list[dict]:
    """One row per reported number of a task_metrics result: {group, task_type, protocol, scope, name, k,
    metric, value, ci_low, ci_high, n}; scope is overall | subset | section | judgebench_category | bias |
    human_agreement | sc_at_k."""
    rows = []

    def emit(group, block, scope, name, values, n, k=None):
        for key, value in values.items():
            if f"{key}_ci" in values:
                ci = values[f"{key}_ci"] or [None, None]
                rows.append({"group": group, "task_type": block["task_type"], "protocol": block.get("protocol"),
                             "scope": scope, "name": name, "k": k, "metric": key, "value": value,
                             "ci_low": ci[0], "ci_high": ci[1], "n": n})

    def order(group):  # write_json sorts keys: restore the task and section order
        return (tasks.names().index(group.split("/")[0]), group)

    for group in sorted(result["tasks"], key=order):
        block = result["tasks"][group]
        emit(group, block, "overall", group, block, block["items"])
        for name, sub in block.get("subsets", {}).items():
            emit(group, block, "subset", name, sub, sub["items"])
        sections = block.get("sections")
        if sections:
            known = list(REWARDBENCH_SECTIONS)
            for name in sorted(sections["by_section"], key=lambda n: (known.index(n) if n in known else len(known), n)):
                values = sections["by_section"][name]
                emit(group, block, "section", name, values, values["items"])
            emit(group, block, "section", "overall", sections["overall"], sections["overall"]["items"])
        for name in JUDGEBENCH_CATEGORIES:
            values = block.get("judgebench_categories", {}).get(name)
            if values is not None:
                emit(group, block, "judgebench_category", name, values, values["items"])
        for scope in ("bias", "human_agreement"):
            if scope in block:
                emit(group, block, scope, scope, block[scope], block[scope]["items"])
        for row in sorted((block.get("sc_at_k") or {}).get("by_k", []), key=lambda r: r["k"]):
            emit(group, block, "sc_at_k", f"SC@{row['k']}", row, row["items"], k=row["k"])
    return rows


# ------------------------------------------------------------- paired comparison and shortcut baselines

PAIRED_NOTE = ("paired bootstrap: the same resampled items score both models; a Pearson correlation that is "
               "undefined (constant ratings) counts as 0, the correlation of ratings that carry no information")


def paired_comparison(judgments: list[dict], reference: list[dict], bootstrap_samples: int, confidence: float,
                      seed: int) -> list[dict]:
    """Per task type and its paired metrics (TaskType.paired_metrics): the judge's value, the reference judge's
    (the base model's) and their difference, each with a bootstrap interval where the same items are resampled for both.
    Both lists must judge the same items."""
    _validate(judgments, need_task_type=True)
    _validate(reference, need_task_type=True)
    rows = []
    mine, theirs = dict(_by_task(judgments)), dict(_by_task(reference))
    for task_type in tasks.names():
        if task_type not in mine and task_type not in theirs:
            continue
        task = tasks.get(task_type)
        a = [item for item in group_items(mine.get(task_type, []), task.orders) if not item.tie]
        b = [item for item in group_items(theirs.get(task_type, []), task.orders) if not item.tie]
        if [item.item_id for item in a] != [item.item_id for item in b]:
            raise ValueError(f"{task_type}: the two judges did not judge the same items "
                             f"({len(a)} vs {len(b)} items)")
        resamples = Resamples(len(a), bootstrap_samples, seed)
        stats_a, stats_b = task.item_stats(a), task.item_stats(b)
        for metric in task.paired_metrics:
            row = {"task_type": task_type, "metric": metric, "items": len(a)}
            for name, stat in (("value", stats_a[metric]), ("reference_value", stats_b[metric]),
                               ("delta", difference_stat(stats_a[metric], stats_b[metric]))):
                value, ci = resamples.estimate(stat, confidence)
                row[name] = value
                row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci if ci else (None, None)
            rows.append(row)
    return rows


def _by_task(judgments: list[dict]) -> list[tuple[str, list[dict]]]:
    by_task: dict[str, list[dict]] = defaultdict(list)
    for judgment in judgments:
        by_task[judgment["task_type"]].append(judgment)
    return sorted(by_task.items(), key=lambda kv: tasks.names().index(kv[0]))


def baseline_judgments(judgments: list[dict]) -> dict[str, list[dict]]:
    """Judgments of answers that read no content, on the same prompts (one record per item and order):
    'constant' answers each task type's most frequent gold verdict (TaskType.constant_verdict where it has one;
    pairwise: always A), the best any constant can do; each shortcut of a task type (TaskType.shortcuts; pairwise:
    'shorter' picks the shorter response of a pair, A when they are equally long) answers that task type's
    judgments, the constant answers the others. A shortcut that cannot answer some judgment (None: e.g. an old
    judgment without the length flags) is left out. A trained judge that does not beat these has learnt a
    shortcut or nothing."""
    firsts = [j for j in judgments if int(j.get("sample") or 0) == 0]
    majority = {}
    for task_type, records in _by_task(firsts):
        counts = Counter(str(j["label"]) for j in records)
        constant = tasks.get(task_type).constant_verdict
        majority[task_type] = constant(records) if constant else max(
            (j["label"] for j in records), key=lambda label: (counts[str(label)], str(label)))
    shortcuts = {name: fn for task_type in tasks.names() for name, fn in tasks.get(task_type).shortcuts.items()}
    usable = [name for name in shortcuts
              if all(tasks.get(j["task_type"]).shortcuts[name](j) is not None for j in firsts
                     if name in tasks.get(j["task_type"]).shortcuts)]
    out = {name: [] for name in ["constant", *usable]}
    for judgment in firsts:
        for name in out:
            shortcut = tasks.get(judgment["task_type"]).shortcuts.get(name)
            verdict = shortcut(judgment) if shortcut else majority[judgment["task_type"]]
            out[name].append({**{k: v for k, v in judgment.items() if k not in ("text", "messages")},
                              "model": f"baseline:{name}", "verdict": verdict, "parse_error": None,
                              "correct": verdict == judgment["label"], "num_tokens": 0})
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m judgeflow.evaluation.metrics JUDGMENTS REFERENCE [--bootstrap N] [--confidence C] [--seed S]`:
    one judge against another on the same items (paired bootstrap, as report_delta does against the base model), as a
    Markdown table; e.g. an enhanced model against the SFT model it started from."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m judgeflow.evaluation.metrics", description=main.__doc__)
    parser.add_argument("judgments", help="judgments.jsonl of the judge")
    parser.add_argument("reference", help="judgments.jsonl of the reference judge, on the same items")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = paired_comparison(read_jsonl(args.judgments), read_jsonl(args.reference), args.bootstrap,
                             args.confidence, args.seed)

    def cell(row: dict, name: str) -> str:
        value, low, high = row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"]
        if value is None:
            return "-"
        if low is None:
            return f"{value:.3f}"
        form = "+.3f" if name == "delta" else ".3f"
        return f"{value:{form}} [{low:{form}}, {high:{form}}]"

    print(f"| task type | metric | items | judge | reference | judge - reference, paired {args.confidence:.0%} |")
    print("|---|---|--:|---|---|---|")
    for row in rows:
        print(f"| {row['task_type']} | {row['metric']} | {row['items']} | {cell(row, 'value')} | "
              f"{cell(row, 'reference_value')} | {cell(row, 'delta')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
