"""Downstream use of a judge: best-of-N reranking of a policy's answers, against oracle and random selection.

A policy model answers each held-out question N times; every answer is graded against the truth (the same
domain verifiers as generate-then-grade) and rated by the judge on the 1-5 correctness rubric of
single_rating items. The judge picks the highest-rated answer (ties and unparseable ratings resolved by a
seeded draw among the best-rated); the oracle picks a correct answer whenever there is one (pass@N); random
selection scores the share of correct answers (its expectation).
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np

from judgeflow.evaluation.bootstrap import bootstrap_ci
from judgeflow.tasks.single_rating import RATING_SCALE

RUBRIC = "Correctness: 5 = the answer is fully correct; 1 = it is wrong."
SELECTIONS = ("judge", "random", "oracle")


def rating_items(answers: list[dict]) -> list[dict]:
    """One single_rating item per graded answer (label: the rubric's score of its graded correctness)."""
    return [{"id": answer["id"], "task_type": "single_rating", "question_id": answer["question_id"],
             "question": answer["question"], "response": answer["text"], "rubric": RUBRIC,
             "scale": list(RATING_SCALE), "label": RATING_SCALE[1] if answer["correct"] else RATING_SCALE[0],
             "split": "benchmark", "source": answer["source"], "domain": answer["domain"]} for answer in answers]


def select(answers: list[dict], ratings: dict[str, int | None], seed: int) -> list[dict]:
    """Per question: which answer the judge picks, whether it is correct, and the oracle and random scores."""
    by_question: dict[str, list[dict]] = {}
    for answer in sorted(answers, key=lambda a: a["id"]):
        by_question.setdefault(answer["question_id"], []).append(answer)
    rows = []
    for question_id, group in sorted(by_question.items()):
        scores = [ratings.get(a["id"]) for a in group]
        best = max((s for s in scores if s is not None), default=None)
        tied = [a for a, s in zip(group, scores) if s == best] if best is not None else group
        pick = random.Random(f"{seed}:{question_id}").choice(tied)
        rows.append({"question_id": question_id, "n": len(group), "picked": pick["id"],
                     "picked_rating": best, "unrated": sum(s is None for s in scores),
                     "judge": float(pick["correct"]), "random": float(np.mean([a["correct"] for a in group])),
                     "oracle": float(any(a["correct"] for a in group))})
    return rows


def best_of_n_metrics(rows: list[dict], bootstrap_samples: int, confidence: float, seed: int) -> dict:
    """Accuracy of each selection over questions, with item-level bootstrap intervals."""
    if not rows:
        raise ValueError("no questions to rerank")
    out = {"questions": len(rows), "n": max(r["n"] for r in rows), "confidence": confidence,
           "bootstrap_samples": bootstrap_samples,
           "unrated_answers": sum(r["unrated"] for r in rows)}
    for offset, name in enumerate(SELECTIONS):
        values = np.array([r[name] for r in rows], dtype=float)
        out[name] = float(values.mean())
        out[f"{name}_ci"] = list(bootstrap_ci(values, bootstrap_samples, confidence, seed + offset))
    return out


# ------------------------------------------------------------------------------------------------------------
# A policy trained by DPO on pairs its judge picked by tournament

def bracket(alive: list[dict], question_id: str, round_index: int,
            seed: int) -> tuple[list[tuple[dict, dict]], list[dict]]:
    """One single-elimination round: the alive answers paired in a seeded order; an odd one out gets a bye.
    Returns (matches, byes)."""
    order = sorted(alive, key=lambda a: a["id"])
    random.Random(f"{seed}:{question_id}:{round_index}").shuffle(order)
    matches = [(order[i], order[i + 1]) for i in range(0, len(order) - 1, 2)]
    return matches, order[len(matches) * 2:]


def match_item(first: dict, second: dict, round_index: int) -> dict:
    """A pairwise judge item for one match: 'chosen' is the first answer, so a correct verdict prefers it."""
    return {"id": f"{first['id']}-vs-{second['id']}-r{round_index}", "task_type": "pairwise",
            "question_id": first["question_id"], "question": first["question"], "chosen": first["text"],
            "rejected": second["text"], "split": "downstream", "source": first["source"], "domain": first["domain"]}


def match_winner(first: dict, second: dict, judgments: list[dict], seed: int) -> tuple[dict, str]:
    """The answer the judge preferred in both orders; a split or unparseable decision is a seeded coin.
    Returns (winner, how: 'consistent' | 'coin')."""
    prefers_first = [j["correct"] for j in judgments if j["parse_error"] is None]
    if len(prefers_first) == len(judgments) and len(set(prefers_first)) == 1:
        return (first if prefers_first[0] else second), "consistent"
    return random.Random(f"{seed}:{first['id']}:{second['id']}").choice([first, second]), "coin"


def preference_pair(prompt: str, champion: dict, eliminated: list[dict], seed: int) -> dict:
    """DPO pair for the policy: the tournament's champion vs a seeded pick among the answers it eliminated."""
    rejected = random.Random(f"{seed}:{champion['question_id']}:rejected").choice(
        sorted(eliminated, key=lambda a: a["id"]))
    return {"prompt": [{"role": "user", "content": prompt}],
            "chosen": [{"role": "assistant", "content": champion["text"]}],
            "rejected": [{"role": "assistant", "content": rejected["text"]}],
            "question_id": champion["question_id"], "chosen_correct": champion["correct"],
            "rejected_correct": rejected["correct"]}


def run_tournament(answers: list[dict], judge_matches, seed: int):
    """Single-elimination per question over its answers: each round pairs the question's remaining answers
    (bracket: seeded, a bye for an odd one out), `judge_matches(match items)` returns the judgments of every match
    in both orders, and match_winner decides each. Returns (alive: question id -> [champion], eliminated: question
    id -> answers it lost, every judgment, Counter of how matches were decided, number of rounds)."""
    alive: dict[str, list[dict]] = {}
    for answer in answers:
        alive.setdefault(answer["question_id"], []).append(answer)
    eliminated: dict[str, list[dict]] = {q: [] for q in alive}
    all_judgments, decisions, round_index = [], Counter(), 0
    while any(len(group) > 1 for group in alive.values()):
        round_index += 1
        matches = []
        for question_id, group in sorted(alive.items()):
            if len(group) > 1:
                pairs_now, byes = bracket(group, question_id, round_index, seed)
                matches += [(question_id, a, b) for a, b in pairs_now]
                alive[question_id] = list(byes)
        match_items = [match_item(a, b, round_index) for _, a, b in matches]
        judged = judge_matches(match_items)
        by_item: dict[str, list[dict]] = {}
        for judgment in judged:
            by_item.setdefault(judgment["item_id"], []).append(judgment)
        for (question_id, a, b), item in zip(matches, match_items):
            winner, how = match_winner(a, b, by_item[item["id"]], seed)
            decisions[how] += 1
            alive[question_id].append(winner)
            eliminated[question_id].append(b if winner is a else a)
        all_judgments += judged
    return alive, eliminated, all_judgments, decisions, round_index
