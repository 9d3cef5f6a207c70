"""Judge items of every task type from graded responses, injected errors, instruction pairs and loaded
labelled data; decontamination against benchmark prompts; the task mix of the seed split and rollout batches."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict

from judgeflow import tasks
from judgeflow.domains import injection
from judgeflow.tasks.base import item_base


def question_items(record: dict, responses: list[dict], include_reference: bool, injections: int,
                   seed: int) -> tuple[list[dict], list[str]]:
    """Every task type one question with a verifiable answer can give (FARE's generate-then-grade), each by its
    TaskType.build on the question's graded responses (sampled, the reference solution, injected slips): in the
    shipped types a correct-vs-incorrect pair, a verification item with and one without the reference answer, a
    1-5 rating and a step-level item (reference steps, or an injected slip whose first wrong step is exact).
    The builders draw from one seeded generator per question, in TaskType.build_rank order.
    Returns (items, reasons for the task types it could not give, as "task_type: reason")."""
    rng = random.Random(f"{seed}:{record['id']}")
    candidates = sorted(responses, key=lambda r: r["id"])
    if include_reference:
        candidates.append({"id": f"{record['id']}-reference", "text": record["solution"], "generator": "reference",
                           "correct": True, "tests_passed": 1,
                           "tests_total": 1 if record.get("domain") == "code" else 0})
    domain = record.get("domain", "math")
    methods = injection.INJECTION_METHODS.get(domain, ())
    slips = []
    for k in range(injections if methods else 0):
        injected = injection.inject_error(record, methods[k % len(methods)],
                                          random.Random(f"{seed}:{record['id']}:{k}"))
        slips.append({"id": f"{record['id']}-injected-{k}", "text": injected["text"], "generator": "injected",
                      "method": injected["method"], "correct": False, "tests_passed": 0, "tests_total": 0,
                      "first_error_step": injected.get("first_error_step")})
    candidates += slips
    items, missing = [], []
    for task in tasks.builders():
        built = task.build(record, candidates, slips, rng)
        if isinstance(built, str):
            missing.append(f"{task.name}: {built}")
        else:
            items.append(built)
    return items, missing


def instruction_item(record: dict, pair: dict) -> dict:
    """A pairwise item from a Self-Taught Evaluators pair: the answer to the instruction vs the answer to a
    modified instruction (or a deliberately worse answer)."""
    return {**item_base(record, "pairwise", f"-{pair['generator']}"), "chosen": pair["chosen"],
            "rejected": pair["rejected"], "chosen_origin": pair["generator"],
            "rejected_origin": f"{pair['generator']}:{pair['method']}", "chat_ok": True}


def loaded_item(record: dict) -> dict:
    """A labelled item from a dataset, kept as it is with the common fields filled in."""
    item = {key: value for key, value in record.items() if key != "kind"}
    item.setdefault("question_id", record["id"])
    item.setdefault("domain", "chat")
    if item["task_type"] == "pairwise" and not item.get("tie"):
        item.setdefault("chat_ok", True)
    return item


def build_items(records: list[dict], responses: list[dict], include_reference: bool, injections: int,
                seed: int) -> tuple[list[dict], list[dict]]:
    """Items of every task type from the used records; rejects say which record could not give which task."""
    by_record = defaultdict(list)
    for response in responses:
        by_record[response["question_id"]].append(response)
    items, rejects = [], []
    for record in records:
        if record["split"] == "unused":
            continue
        kind = record.get("kind", "question")
        if kind == "question":
            got, missing = question_items(record, [r for r in by_record[record["id"]] if "text" in r],
                                          include_reference, injections, seed)
            items += got
            rejects += [{"question_id": record["id"], "split": record["split"], "source": record["source"],
                         "domain": record.get("domain", "math"), "task_type": reason.split(":")[0],
                         "reason": reason.split(": ")[1]} for reason in missing]
        elif kind == "instruction":
            pairs = [r for r in by_record[record["id"]] if "chosen" in r]
            items += [instruction_item(record, pair) for pair in pairs]
            if not pairs:
                rejects.append({"question_id": record["id"], "split": record["split"], "source": record["source"],
                                "domain": record.get("domain", "chat"), "task_type": "pairwise",
                                "reason": "no_instruction_pair"})
        else:
            items.append(loaded_item(record))
    return items, rejects


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def decontaminate(items: list[dict], benchmark_prompts: list[str], n: int,
                  threshold: float) -> tuple[list[dict], list[dict]]:
    """Remove training items (every split but the held-out benchmark) whose question shares at least
    `threshold` of its word n-grams with one benchmark prompt. Returns (kept, rejects with the overlap)."""
    index: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for number, prompt in enumerate(benchmark_prompts):
        for gram in _ngrams(prompt, n):
            index[gram].add(number)
    kept, rejects = [], []
    for item in items:
        grams = _ngrams(item["question"], n)
        if item["split"] == "benchmark" or not grams:
            kept.append(item)
            continue
        hits = Counter(number for gram in grams for number in index.get(gram, ()))
        best, shared = hits.most_common(1)[0] if hits else (None, 0)
        overlap = shared / len(grams)
        if overlap >= threshold and shared:
            rejects.append({"question_id": item["question_id"], "item_id": item["id"], "split": item["split"],
                            "source": item["source"], "domain": item.get("domain"), "task_type": item["task_type"],
                            "reason": "contaminated",
                            "overlap": round(overlap, 3), "benchmark_prompt": benchmark_prompts[best][:300]})
        else:
            kept.append(item)
    return kept, rejects


def _task_pools(items: list[dict], ratio: dict[str, float], seed: int,
                where: str) -> tuple[dict[str, list[dict]], dict[str, float]]:
    """Items by task type in a seeded order, and the task types with a share; a share without items is an error."""
    by_task: dict[str, list[dict]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i["id"]):
        by_task[item["task_type"]].append(item)
    rng = random.Random(seed)
    for task in sorted(by_task):
        rng.shuffle(by_task[task])
    wanted = {task: weight for task, weight in ratio.items() if weight > 0}
    missing = sorted(task for task in wanted if not by_task.get(task))
    if missing:
        raise ValueError(f"data.task_ratio gives a share to {missing} but {where} has no such items: add a source "
                         "that yields them or set their share to 0")
    return by_task, wanted


def _largest_quotas(by_task: dict[str, list[dict]], wanted: dict[str, float], rounds: int) -> dict[str, int]:
    """Per-task quotas of the largest batch size that fits the pools `rounds` times over: the ratio is kept,
    and a task that is short makes the batches smaller instead of skewing them ({} when nothing fits)."""
    size = sum(len(by_task[task]) for task in wanted) // rounds
    while size > 0 and any(quota * rounds > len(by_task[task]) for task, quota in task_quotas(wanted, size).items()):
        size -= 1
    return task_quotas(wanted, size) if size else {}


def mix_by_ratio(items: list[dict], ratio: dict[str, float], seed: int) -> tuple[list[dict], list[dict]]:
    """The largest subset of `items` whose task mix follows `ratio` (task types with no share are left out).
    Returns (kept, left over)."""
    by_task, wanted = _task_pools(items, ratio, seed, "the seed split")
    quotas = _largest_quotas(by_task, wanted, 1)
    kept, rest = [], []
    for task, pool in sorted(by_task.items()):
        kept += pool[:quotas.get(task, 0)]
        rest += pool[quotas.get(task, 0):]
    return kept, rest


def task_quotas(ratio: dict[str, float], size: int) -> dict[str, int]:
    """Split `size` items over task types in proportion to `ratio` (largest remainder, ties by name)."""
    total = sum(ratio.values())
    exact = {task: size * weight / total for task, weight in ratio.items()}
    quotas = {task: int(value) for task, value in exact.items()}
    by_remainder = sorted(exact, key=lambda task: (-(exact[task] - quotas[task]), task))
    for task in by_remainder[:size - sum(quotas.values())]:
        quotas[task] += 1
    return quotas


def draw_rollout_batches(items: list[dict], ratio: dict[str, float], rounds: int,
                         seed: int) -> tuple[list[dict], dict[str, dict[str, int]]]:
    """FARE's rollout batches: the rollout pool is cut into `rounds` disjoint batches of equal size whose
    task mix follows the global ratio (the largest such size the pool allows). Items are relabelled split
    rollout_1..R; what the quotas leave over becomes 'rollout_unused'. Returns (items, per-round counts)."""
    if rounds == 0:
        return [{**item, "split": "rollout_unused"} for item in items], {}
    unknown = sorted({item["task_type"] for item in items} - set(ratio))
    if unknown:
        raise ValueError(f"rollout items of task types {unknown} have no share in data.task_ratio")
    by_task, wanted = _task_pools(items, ratio, seed, "the rollout pool")
    quotas = _largest_quotas(by_task, wanted, rounds)
    if not quotas:
        raise ValueError(f"the rollout pool ({len(items)} items) is too small for {rounds} rounds")
    out, counts = [], {}
    for r in range(1, rounds + 1):
        counts[f"rollout_{r}"] = {}
        for task, quota in sorted(quotas.items()):
            batch = by_task[task][(r - 1) * quota:r * quota]
            out.extend({**item, "split": f"rollout_{r}"} for item in batch)
            counts[f"rollout_{r}"][task] = len(batch)
    for task, pool in sorted(by_task.items()):
        out.extend({**item, "split": "rollout_unused"} for item in pool[quotas.get(task, 0) * rounds:])
    return out, counts
