"""Pairwise preference: which of two responses is better, judged in both orders (the position swap).

Verdicts [[A]] or [[B]]; [[C]] (tie) only where the template allows a tie. Metrics: accuracy per judgment,
consistent accuracy and consistency over the two orders, RewardBench's section scores, JudgeBench's official
pair score, position and length bias, agreement with human labels (with ties).
"""

from __future__ import annotations

import hashlib

import numpy as np

from judgeflow.evaluation.bootstrap import (
    Item,
    Resamples,
    by_subset,
    difference_stat,
    fill,
    mean_stat,
    ratio_stat,
    token_stats,
    undefined,
)
from judgeflow.tasks.base import ORDERS, TaskType, item_base, item_field, register

# The per-item pairwise numbers (both orders collapsed into one row per item).
PAIRWISE_METRICS = ("accuracy", "consistent_accuracy", "consistency", "parse_error_rate", "rewardbench_score")


SECTION_METRICS = ("accuracy", "consistent_accuracy", "rewardbench_score")


TIE_VERDICTS = ("C", "tie")


REWARDBENCH_SCORE_NOTE = ("RewardBench-compatible: a parse error or a tie verdict scores 0.5 (not an accuracy; "
                          "`accuracy` counts parse errors as wrong)")


# RewardBench sections, from allenai/reward-bench rewardbench/constants.py (SUBSET_MAPPING, EXAMPLE_COUNTS) and
# rewardbench/utils.py calculate_scores_per_section: a section's score is sum(acc_s * count_s) / sum(count_s)
# over its subsets, and EXAMPLE_COUNTS gives math-prm 984 = 6 x 164 ("actual length 447, upweighting to be
# equal to code"). The leaderboard's overall score is the mean of the section scores. Here count_s is the
# number of scored items of each subset in the file (on the full filtered set these are EXAMPLE_COUNTS;
# one stored version of constants.py has xstest-should-refuse/should-respond swapped, 250/154 instead of
# 154/250, which counting the file avoids) and math-prm's weight is the total count of the code subsets
# present.
REWARDBENCH_SECTIONS = {
    "Chat": ("alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"),
    "Chat Hard": ("mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst",
                  "llmbar-adver-GPTOut", "llmbar-adver-manual"),
    "Safety": ("refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond",
               "donotanswer"),
    "Reasoning": ("math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"),
}


REWARDBENCH_UPWEIGHTED = "math-prm"


REWARDBENCH_CODE_SUBSETS = ("hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust")


# JudgeBench (ScalerLab/JudgeBench utils/metrics.py compute_final_metrics, reverse_order): per pair, each order
# judged right adds 1, judged wrong (the other response preferred) subtracts 1, a tie verdict or no decision
# (a parse error) adds 0; the pair is correct when the total is > 0; the score is the fraction of correct pairs
# (JudgeBench prints it x 100). run_judge.py reports it per `source` prefix and overall; the categories are
# named as in the paper. An item is JudgeBench-format when its subset (the loader stores the row's `source`
# there) starts with one of JUDGEBENCH_PREFIXES; one in no category counts in the overall score only.
JUDGEBENCH_CATEGORIES = {"knowledge": "mmlu-pro", "reasoning": "livebench-reasoning", "math": "livebench-math",
                         "coding": "livecodebench"}


JUDGEBENCH_PREFIXES = ("mmlu-pro", "livebench", "livecodebench")


JUDGEBENCH_SCORE_NOTE = ("JudgeBench official (ScalerLab/JudgeBench utils/metrics.py): per pair +1 for each order "
                         "judged right, -1 for each judged wrong, 0 for a tie verdict or a parse error; the pair is "
                         "correct when the total is > 0; score = fraction of correct pairs (JudgeBench prints x100)")


HUMAN_VOTE_RULE = ("judge vote per item from both orders (MT-Bench): the same response preferred in both = that "
                   "response; a tie verdict or a different response per order = tie; a parse error in either "
                   "order = error (never agrees)")


def order_label(item_id: str, seed: int) -> str:
    """Which position holds the chosen response in the 'original' order: a seeded, balanced coin per item."""
    digest = hashlib.sha256(f"{seed}:{item_id}".encode()).digest()
    return "A" if digest[0] % 2 == 0 else "B"


def _rewardbench_point(judgment: dict) -> float:
    if judgment["correct"]:
        return 1.0
    return 0.5 if judgment["parse_error"] is not None or judgment["verdict"] in TIE_VERDICTS else 0.0


def _pairwise_row(item: Item) -> dict:
    first, second = item.main("original"), item.main("swapped")
    # The same response preferred in both orders: the verdict letter flips with the swap.
    a, b = first["verdict"], second["verdict"]
    consistent = a in ("A", "B") and b in ("A", "B") and a != b
    return {
        "item_id": item.item_id, "subset": item.subset, "tie": item.tie,
        "accuracy": (bool(first["correct"]) + bool(second["correct"])) / 2,
        "consistent_accuracy": float(bool(first["correct"]) and bool(second["correct"])),
        "consistency": float(consistent),
        "parse_error_rate": ((first["parse_error"] is not None) + (second["parse_error"] is not None)) / 2,
        "rewardbench_score": (_rewardbench_point(first) + _rewardbench_point(second)) / 2,
    }


def is_judgebench_source(subset) -> bool:
    """A JudgeBench `source` (as the judgebench loader stores it in `subset`)."""
    return isinstance(subset, str) and subset.startswith(JUDGEBENCH_PREFIXES)


def judgebench_category(subset) -> str | None:
    """knowledge / reasoning / math / coding by JudgeBench's source prefixes; None outside them."""
    if not isinstance(subset, str):
        return None
    return next((name for name, prefix in JUDGEBENCH_CATEGORIES.items() if subset.startswith(prefix)), None)


def _judgebench_point(judgment: dict) -> int:
    """+1 judged right, -1 the other response preferred, 0 a tie verdict or a parse error."""
    if judgment["parse_error"] is not None or judgment["verdict"] is None:
        return 0
    if judgment["correct"]:
        return 1
    return -1 if judgment["verdict"] in ("A", "B") else 0


def judgebench_total(item: Item) -> int:
    """The pair's JudgeBench total over both orders (first samples): -2 .. 2; the pair is correct when > 0."""
    return _judgebench_point(item.main("original")) + _judgebench_point(item.main("swapped"))


def _judgebench_fill(out: dict, items: list[Item], samples: int, confidence: float, seed: int, reason: str) -> None:
    """judgebench_items, the pair outcome counts and judgebench_score (bootstrap over pairs) of these items."""
    totals = [judgebench_total(item) for item in items]
    out["judgebench_items"] = len(items)
    out["judgebench_pairs_correct"] = sum(t > 0 for t in totals)
    out["judgebench_pairs_incorrect"] = sum(t < 0 for t in totals)
    out["judgebench_pairs_zero"] = sum(t == 0 for t in totals)
    resamples = Resamples(len(items), samples, seed)
    fill(out, "judgebench_score", resamples, mean_stat(np.array([t > 0 for t in totals], dtype=float)), confidence,
          reason)


def _pairwise_block(items: list[Item], samples: int, confidence: float, seed: int) -> dict:
    scored = [item for item in items if not item.tie]
    rows = [_pairwise_row(item) for item in scored]
    out = {"items": len(rows), "ties": len(items) - len(rows), "judgments": 2 * len(rows)}
    resamples = Resamples(len(rows), samples, seed)
    for name in PAIRWISE_METRICS:
        values = np.array([row[name] for row in rows], dtype=float)
        fill(out, name, resamples, mean_stat(values), confidence, "no scored items (empty, or every label a tie)")
    out["rewardbench_score_note"] = REWARDBENCH_SCORE_NOTE
    judgebench = [item for item in scored if is_judgebench_source(item.subset)]
    if judgebench:
        _judgebench_fill(out, judgebench, samples, confidence, seed, "no JudgeBench pairs")
        out["judgebench_score_note"] = JUDGEBENCH_SCORE_NOTE
    token_stats(out, scored, resamples, confidence)
    return out


def _judgebench_categories(items: list[Item], samples: int, confidence: float, seed: int) -> dict:
    """judgebench_score per JudgeBench category (JUDGEBENCH_CATEGORIES), each with its own bootstrap over its
    pairs; {} when no item is JudgeBench-format."""
    scored = [item for item in items if not item.tie and is_judgebench_source(item.subset)]
    if not scored:
        return {}
    out = {}
    for name, prefix in JUDGEBENCH_CATEGORIES.items():
        members = [item for item in scored if judgebench_category(item.subset) == name]
        out[name] = {"items": len(members), "prefix": prefix}
        _judgebench_fill(out[name], members, samples, confidence, seed, f"no pairs from a {prefix}* source")
    return out


def _sections(items: list[Item], samples: int, confidence: float, seed: int) -> tuple[dict, dict, dict]:
    """Subset-weighted scores: RewardBench sections when any subset has an official name, else the
    count-weighted mean over the file's own subsets. Empty subsets keep count 0 and no score."""
    groups = by_subset([item for item in items if not item.tie])
    present = set(by_subset(items))
    official = {name for names in REWARDBENCH_SECTIONS.values() for name in names}
    scheme = "rewardbench" if present & official else "subsets"
    listed = present | official if scheme == "rewardbench" else present
    counts = {name: len(groups.get(name, [])) for name in sorted(listed)}
    weights = dict(counts)
    if scheme == "rewardbench" and counts[REWARDBENCH_UPWEIGHTED]:
        code = sum(counts[name] for name in REWARDBENCH_CODE_SUBSETS)
        weights[REWARDBENCH_UPWEIGHTED] = code or counts[REWARDBENCH_UPWEIGHTED]
    nonempty = [name for name in counts if counts[name]]
    rows, strata = [], []
    for name in nonempty:
        strata.append(list(range(len(rows), len(rows) + counts[name])))
        rows.extend(_pairwise_row(item) for item in groups[name])
    resamples = Resamples(len(rows), samples, seed, strata)
    column = dict(zip(nonempty, resamples.slices))

    def weighted(names, values):
        names = [n for n in names if counts.get(n)]

        def stat(idx):
            total = sum(weights[n] * values[idx[:, column[n]]].mean(axis=1) for n in names)
            return total / sum(weights[n] for n in names)
        return stat, names

    sections = REWARDBENCH_SECTIONS if scheme == "rewardbench" else {}
    out = {"scheme": scheme, "weights": weights, "by_section": {}, "overall": {},
           "unmapped_subsets": sorted(present - official) if scheme == "rewardbench" else []}
    out["note"] = ("section = count-weighted mean of its subsets (math-prm weighted as all code subsets together); "
                   "overall = mean of the sections with items" if scheme == "rewardbench" else
                   "overall = count-weighted mean of the subsets")
    for section, names in sections.items():
        out["by_section"][section] = {"items": sum(counts[n] for n in names),
                                      "subsets_with_items": sum(bool(counts[n]) for n in names)}
    for metric in SECTION_METRICS:
        values = np.array([row[metric] for row in rows], dtype=float)
        section_stats = []
        for section, names in sections.items():
            stat, used = weighted(names, values)
            if used:
                fill(out["by_section"][section], metric, resamples, stat, confidence, "")
                section_stats.append(stat)
            else:
                undefined(out["by_section"][section], metric, "no scored items in this section")
        if scheme == "rewardbench":
            overall = (lambda stats: lambda idx: sum(s(idx) for s in stats) / len(stats))(section_stats)
            used = section_stats
        else:
            overall, used = weighted(nonempty, values)
        if used:
            fill(out["overall"], metric, resamples, overall, confidence, "")
        else:
            undefined(out["overall"], metric, "no scored items")
    out["overall"]["items"] = len(rows)
    return out, counts, weights


def _bias(items: list[Item], samples: int, confidence: float, seed: int) -> dict:
    """Judgment-level accuracy when the chosen response is shown first vs second and is longer vs shorter.
    chosen_first defaults to label == 'A' (the gold letter names the chosen response's position)."""
    scored = [item for item in items if not item.tie]
    groups = {"chosen_first": [], "chosen_second": [], "chosen_longer": [], "chosen_shorter": []}
    for item in scored:
        counts = {name: [0, 0] for name in groups}
        for judgment in item.mains():
            first = judgment.get("chosen_first")
            first = judgment["label"] == "A" if first is None else bool(first)
            keys = ["chosen_first" if first else "chosen_second"]
            if judgment.get("chosen_longer") is not None:
                keys.append("chosen_longer" if judgment["chosen_longer"] else "chosen_shorter")
            for key in keys:
                counts[key][0] += bool(judgment["correct"])
                counts[key][1] += 1
        for name in groups:
            groups[name].append(counts[name])
    resamples = Resamples(len(scored), samples, seed)
    out, stats = {"items": len(scored)}, {}
    for name, pairs in groups.items():
        pairs = np.array(pairs, dtype=float).reshape(-1, 2)
        stats[name] = ratio_stat(pairs[:, 0], pairs[:, 1])
        out[f"judgments_{name}"] = int(pairs[:, 1].sum())
        fill(out, f"accuracy_{name}", resamples, stats[name], confidence,
              "no judgment has a chosen_longer field" if name in ("chosen_longer", "chosen_shorter")
              else "no judgments")
    for gap, (a, b) in {"position_gap": ("chosen_first", "chosen_second"),
                        "length_gap": ("chosen_longer", "chosen_shorter")}.items():
        fill(out, gap, resamples, difference_stat(stats[a], stats[b]), confidence,
              f"needs judgments with {a} and with {b}")
    out["note"] = "gaps: accuracy when chosen first minus second, when chosen longer minus shorter"
    return out


def _human_agreement(items: list[Item], samples: int, confidence: float, seed: int) -> dict:
    """Agreement with the human label (PandaLM / MT-Bench): with ties as a third class over all items, and
    without ties over the items where neither the human nor the judge says tie (FastChat's 'w/o tie')."""
    judge, human = [], []
    for item in items:
        first, second = item.main("original"), item.main("swapped")
        a, b = first["verdict"], second["verdict"]
        if a is None or b is None or first["parse_error"] is not None or second["parse_error"] is not None:
            vote = "error"
        elif a in TIE_VERDICTS or b in TIE_VERDICTS or a == b:
            vote = "tie"
        else:
            vote = a  # the response preferred in both orders, named by its letter in the original order
        if item.tie:
            truth = "tie"
        elif first["label"] in ("A", "B"):
            truth = first["label"]
        else:
            raise ValueError(f"item {item.item_id}: pairwise field 'label' must be 'A' or 'B' unless tie is true, "
                             f"got {first['label']!r}")
        judge.append(vote)
        human.append(truth)
    judge_a, human_a = np.array(judge, dtype=object), np.array(human, dtype=object)
    agree = (judge_a == human_a).astype(float)
    kept = ((judge_a != "tie") & (human_a != "tie")).astype(float)
    resamples = Resamples(len(items), samples, seed)
    out = {"items": len(items), "human_ties": int((human_a == "tie").sum()),
           "judge_ties": int((judge_a == "tie").sum()),
           "judge_errors": int((judge_a == "error").sum()), "items_without_ties": int(kept.sum()),
           "vote_rule": HUMAN_VOTE_RULE}
    fill(out, "agreement_with_ties", resamples, mean_stat(agree), confidence, "no items")
    fill(out, "agreement_without_ties", resamples, ratio_stat(agree * kept, kept), confidence,
          "no item without a tie from the human or the judge")
    return out


def _pick_shorter(judgment: dict) -> str | None:
    """The letter of the shorter response, from the chosen_first / chosen_longer / chosen_shorter flags; a
    tie in length picks A (position, not content). None for a judgment without the flags (one written before
    chosen_shorter existed)."""
    if "chosen_shorter" not in judgment:
        return None
    chosen = "A" if judgment.get("chosen_first", judgment["label"] == "A") else "B"
    other = "B" if chosen == "A" else "A"
    if judgment.get("chosen_shorter"):
        return chosen
    return other if judgment.get("chosen_longer") else "A"


def _render(item: dict, order: str, template, seed: int) -> tuple[dict, str, dict]:
    question = item_field(item, "question", str)
    chosen, rejected = item_field(item, "chosen", str), item_field(item, "rejected", str)
    label = order_label(item["id"], seed)
    if order == "swapped":
        label = "B" if label == "A" else "A"
    first, second = (chosen, rejected) if label == "A" else (rejected, chosen)
    if item.get("tie"):
        if not template.allows_tie:
            raise ValueError(f"item {item.get('id')!r}: field 'tie' is true but template {template.id} has no tie "
                             "verdict")
        label = "C"
    return ({"question": question, "response_a": first, "response_b": second}, label,
            {"allows_tie": template.allows_tie})


def _read_tag(token: str, verdict_args: dict) -> tuple[str | None, str | None]:
    allowed = ("A", "B", "C") if verdict_args.get("allows_tie") else ("A", "B")
    return (token, None) if token in allowed else (None, "unknown_tag")


def _build(record: dict, candidates: list[dict], slips: list[dict], rng) -> dict | str:
    """A correct-vs-incorrect pair of the question's responses (sampled, reference, injected)."""
    correct = [c for c in candidates if c["correct"]]
    incorrect = [c for c in candidates if not c["correct"]]
    if not (correct and incorrect):
        return "no_correct_response" if not correct else "no_incorrect_response"
    chosen, rejected = rng.choice(correct), rng.choice(incorrect)
    return {**item_base(record, "pairwise"), "chosen": chosen["text"], "rejected": rejected["text"],
            "chosen_origin": chosen["generator"], "rejected_origin": rejected["generator"]}


def _extras(block: dict, items: list[Item], records: list[dict], samples: int, confidence: float, seed: int) -> None:
    """RewardBench-style sections over the subsets, JudgeBench categories, bias, human agreement."""
    if "subsets" in block:
        sections, counts, weights = _sections(items, samples, confidence, seed)
        for name in counts:
            sub = block["subsets"].get(name) or {key: value for key, value in
                                                 _pairwise_block([], samples, confidence, seed).items()
                                                 if not key.endswith("_note")}
            section = next((s for s, names in REWARDBENCH_SECTIONS.items() if name in names), None)
            block["subsets"][name] = {**sub, "section": section if sections["scheme"] == "rewardbench" else None,
                                      "weight": weights[name]}
        block["subsets"] = dict(sorted(block["subsets"].items()))
        block["sections"] = sections
    categories = _judgebench_categories(items, samples, confidence, seed)
    if categories:
        block["judgebench_categories"] = categories
    block["bias"] = _bias(items, samples, confidence, seed)
    if any(item.tie for item in items) or any(j["verdict"] in TIE_VERDICTS for j in records):
        block["human_agreement"] = _human_agreement(items, samples, confidence, seed)


def _item_stats(items: list[Item]) -> dict:
    rows = [_pairwise_row(item) for item in items]
    return {name: mean_stat(np.array([row[name] for row in rows], dtype=float)) for name in PAIRED_METRICS}


PAIRED_METRICS = ("accuracy", "consistent_accuracy")
_BIAS_METRICS = ("accuracy_chosen_first", "accuracy_chosen_second", "accuracy_chosen_longer", "accuracy_chosen_shorter")

PAIRWISE = register(TaskType(
    name="pairwise",
    description="which of two responses is better: [[A]] or [[B]] ([[C]] a tie where the template allows it)",
    fields=("question", "response_a", "response_b"),
    orders=ORDERS,
    render=_render,
    read_tag=_read_tag,
    build=_build,
    position=0,
    build_rank=0,
    metric_block=_pairwise_block,
    extras=_extras,
    item_stats=_item_stats,
    primary_metric="accuracy",
    paired_metrics=PAIRED_METRICS,
    # JudgeBench's official score beside the project's accuracy
    table_metrics=("accuracy", "judgebench_score", "consistent_accuracy", "consistency", "parse_error_rate",
                   "rewardbench_score") + _BIAS_METRICS,
    table_title="Pairwise (judgebench_score: JudgeBench's official pair score, JudgeBench-format benchmarks only)",
    constant_verdict=lambda judgments: "A",  # the gold letter is balanced over the orders
    shortcuts={"shorter": _pick_shorter},
    tiny_fields=lambda ctx: {"chosen": ctx["solution"], "rejected": ctx["wrong"]},
    random_verdict=lambda rng, ctx: rng.choice("AB"),
))
