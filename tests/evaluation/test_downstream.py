"""Best-of-N reranking: selection by the judge's ratings vs random and oracle, computed by hand."""

import pytest

from judgeflow.evaluation.downstream import (
    best_of_n_metrics,
    bracket,
    match_winner,
    preference_pair,
    rating_items,
    run_tournament,
    select,
)


def _answers():
    # q1: answers a (wrong), b (right), c (wrong); q2: d (wrong), e (wrong)
    rows = [("q1-a", "q1", False), ("q1-b", "q1", True), ("q1-c", "q1", False), ("q2-d", "q2", False),
            ("q2-e", "q2", False)]
    return [{"id": i, "question_id": q, "question": f"question {q}", "text": f"answer {i}", "correct": c,
             "source": "s", "domain": "math"} for i, q, c in rows]


def test_rating_items_carry_the_graded_label():
    items = rating_items(_answers())
    assert [i["label"] for i in items] == [1, 5, 1, 1, 1]
    assert {i["task_type"] for i in items} == {"single_rating"} and items[0]["scale"] == [1, 5]


def test_judge_picks_the_top_rating_and_scores_against_oracle_and_random():
    ratings = {"q1-a": 2, "q1-b": 5, "q1-c": None, "q2-d": 3, "q2-e": 3}
    rows = select(_answers(), ratings, seed=0)
    by_q = {r["question_id"]: r for r in rows}
    assert by_q["q1"]["picked"] == "q1-b" and by_q["q1"]["judge"] == 1.0
    assert by_q["q1"]["random"] == pytest.approx(1 / 3) and by_q["q1"]["oracle"] == 1.0
    assert by_q["q1"]["unrated"] == 1
    assert by_q["q2"]["picked"] in {"q2-d", "q2-e"} and by_q["q2"]["judge"] == 0.0 and by_q["q2"]["oracle"] == 0.0
    metrics = best_of_n_metrics(rows, bootstrap_samples=200, confidence=0.95, seed=1)
    # judge (1 + 0) / 2, random (1/3 + 0) / 2, oracle (1 + 0) / 2
    assert metrics["judge"] == pytest.approx(0.5) and metrics["random"] == pytest.approx(1 / 6)
    assert metrics["oracle"] == pytest.approx(0.5) and metrics["questions"] == 2 and metrics["n"] == 3
    low, high = metrics["judge_ci"]
    assert 0.0 <= low <= 0.5 <= high <= 1.0


def test_unrated_answers_fall_back_to_a_seeded_draw():
    rows = select(_answers(), {}, seed=3)
    assert rows == select(_answers(), {}, seed=3)
    assert all(r["picked_rating"] is None for r in rows)


def test_bracket_pairs_every_answer_once_and_gives_the_odd_one_a_bye():
    answers = [a for a in _answers() if a["question_id"] == "q1"]
    matches, byes = bracket(answers, "q1", 1, seed=0)
    assert len(matches) == 1 and len(byes) == 1
    assert {a["id"] for pair in matches for a in pair} | {b["id"] for b in byes} == {"q1-a", "q1-b", "q1-c"}
    assert bracket(answers, "q1", 1, seed=0) == (matches, byes)


def _verdicts(*correct, error=None):
    return [{"correct": c, "parse_error": error} for c in correct]


def test_match_winner_needs_the_same_preference_in_both_orders():
    first, second = _answers()[0], _answers()[1]
    assert match_winner(first, second, _verdicts(True, True), 0) == (first, "consistent")
    assert match_winner(first, second, _verdicts(False, False), 0) == (second, "consistent")
    winner, how = match_winner(first, second, _verdicts(True, False), 0)
    assert how == "coin" and winner in (first, second)
    assert match_winner(first, second, _verdicts(True, True, error="no_verdict"), 0)[1] == "coin"


def test_preference_pair_is_the_champion_against_an_eliminated_answer():
    answers = _answers()
    pair = preference_pair("solve q1", answers[1], [answers[0], answers[2]], seed=0)
    assert pair["chosen"] == [{"role": "assistant", "content": "answer q1-b"}]
    assert pair["rejected"][0]["content"] in {"answer q1-a", "answer q1-c"}
    assert pair["prompt"] == [{"role": "user", "content": "solve q1"}]
    assert pair["chosen_correct"] is True and pair["rejected_correct"] is False


def test_tournament_with_an_oracle_judge_crowns_the_correct_answer():
    """run_tournament with a judge that prefers the correct answer in both orders: five answers (a bye in the
    first round), one correct: it wins every match, every other answer is eliminated once, all consistently."""
    answers = [{"id": f"q-{k}", "question_id": "q", "question": "?", "text": f"answer {k}", "source": "s",
                "domain": "math", "correct": k == 3} for k in range(5)]
    by_text = {a["text"]: a for a in answers}

    def oracle(items):
        out = []
        for item in items:
            first_right = by_text[item["chosen"]]["correct"] or not by_text[item["rejected"]]["correct"]
            out += [{"item_id": item["id"], "order": order, "parse_error": None, "correct": first_right}
                    for order in ("original", "swapped")]
        return out

    alive, eliminated, judgments, decisions, rounds = run_tournament(answers, oracle, seed=7)
    assert [a["id"] for a in alive["q"]] == ["q-3"] and rounds == 3
    assert sorted(a["id"] for a in eliminated["q"]) == ["q-0", "q-1", "q-2", "q-4"]
    assert decisions == {"consistent": 4} and len(judgments) == 8
