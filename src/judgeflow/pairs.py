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
            "id": f"{question['id']}-pair", "question_id": question["id"], "split": question["split"],
            "source": question["source"], "question": question["question"],
            "chosen": chosen["text"], "rejected": rejected["text"],
            "chosen_origin": chosen["generator"], "rejected_origin": rejected["generator"],
        })
    return pairs, verification, rejects
