"""Graded responses -> pairwise items (a correct vs an incorrect answer) and verification items."""

from __future__ import annotations

import random
from collections import defaultdict


def build_items(questions: list[dict], responses: list[dict], include_reference: bool,
                seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    """Return (pairwise items, verification items, rejects).

    For each question: correct candidates are the generator responses graded correct, plus the reference
    solution when include_reference is set; incorrect ones are those graded wrong (including no answer).
    One pair per question, chosen with a per-question seeded draw. A question with no correct or no
    incorrect candidate is rejected with that reason.
    """
    by_question = defaultdict(list)
    for response in responses:
        by_question[response["question_id"]].append(response)
    pairs, verification, rejects = [], [], []
    for question in questions:
        if question["split"] == "unused":
            continue
        candidates = sorted(by_question.get(question["id"], []), key=lambda r: r["id"])
        if include_reference:
            candidates.append({"id": f"{question['id']}-reference", "text": question["solution"],
                               "generator": "reference", "correct": True})
        correct = [c for c in candidates if c["correct"]]
        incorrect = [c for c in candidates if not c["correct"]]
        for candidate in candidates:
            if candidate["generator"] == "reference":
                continue
            verification.append({
                "id": f"{candidate['id']}-verify", "question_id": question["id"], "split": question["split"],
                "source": question["source"], "question": question["question"], "response": candidate["text"],
                "reference": question["answer"], "label": "yes" if candidate["correct"] else "no",
                "generator": candidate["generator"],
            })
        if not correct or not incorrect:
            reason = "no_correct_response" if not correct else "no_incorrect_response"
            rejects.append({"question_id": question["id"], "split": question["split"], "reason": reason})
            continue
        rng = random.Random(f"{seed}:{question['id']}")
        chosen, rejected = rng.choice(correct), rng.choice(incorrect)
        pairs.append({
            "id": f"{question['id']}-pair", "task_type": "pairwise", "question_id": question["id"],
            "split": question["split"],
            "source": question["source"], "question": question["question"],
            "chosen": chosen["text"], "rejected": rejected["text"],
            "chosen_origin": chosen["generator"], "rejected_origin": rejected["generator"],
        })
    return pairs, verification, rejects


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
    by_task: dict[str, list[dict]] = defaultdict(list)
    for item in sorted(items, key=lambda i: i["id"]):
        by_task[item["task_type"]].append(item)
    rng = random.Random(seed)
    for task in sorted(by_task):
        rng.shuffle(by_task[task])
    unknown = sorted(set(by_task) - set(ratio))
    if unknown:
        raise ValueError(f"rollout items of task types {unknown} have no share in data.task_ratio")
    wanted = {task: weight for task, weight in ratio.items() if weight > 0}
    missing = sorted(task for task in wanted if not by_task.get(task))
    if missing:
        raise ValueError(f"data.task_ratio gives a share to {missing} but the rollout pool has no such items")
    # the largest equal batch size whose per-task quotas fit the pool in every round: the ratio is kept,
    # and a task that is short makes the batches smaller instead of skewing them
    size = len(items) // rounds
    while size > 0 and any(quota * rounds > len(by_task[task])
                           for task, quota in task_quotas(wanted, size).items()):
        size -= 1
    if size == 0:
        raise ValueError(f"the rollout pool ({len(items)} items) is too small for {rounds} rounds")
    quotas = task_quotas(wanted, size)
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
