import pytest

from judgeflow.templates import judge_prompt, order_label
from judgeflow.verdicts import parse_pairwise


@pytest.mark.parametrize("text,verdict,error", [
    ("A is wrong at step 2.\n[[B]]", "B", None),
    ("[[A]]", "A", None),
    ("Verdict: [[A]] ... so again [[A]]", "A", None),
    ("Both have merits. [[A]] or maybe [[B]]", None, "conflicting_verdicts"),
    ("Response A is better.", None, "no_verdict"),
    ("[A] is better", None, "no_verdict"),
    ("Verdict: [[C]]", None, "unknown_tag"),
    ("Verdict: [[a]]", None, "unknown_tag"),
    ("Verdict: [[AB]]", None, "unknown_tag"),
    ("", None, "no_verdict"),
])
def test_parse_pairwise(text, verdict, error):
    parsed = parse_pairwise(text)
    assert (parsed.verdict, parsed.error) == (verdict, error)


ITEM = {"id": "q1-pair", "question": "What is 2+2?", "chosen": "2+2=4. The answer is 4.",
        "rejected": "2+2=5. The answer is 5."}


def test_orders_swap_positions_and_labels():
    original = judge_prompt(ITEM, "original", "pairwise_critique_en", seed=0)
    swapped = judge_prompt(ITEM, "swapped", "pairwise_critique_en", seed=0)
    assert {original["label"], swapped["label"]} == {"A", "B"}
    for prompt in (original, swapped):
        user = prompt["messages"][-1]["content"]
        a = user.index("[Response A]")
        b = user.index("[Response B]")
        chosen_at = user.index(ITEM["chosen"])
        assert (a < chosen_at < b) == (prompt["label"] == "A")
        assert ITEM["question"] in user and prompt["template_id"] == "pairwise_critique_en"
    with pytest.raises(ValueError):
        judge_prompt(ITEM, "reversed", "pairwise_critique_en", 0)


def test_original_order_is_balanced_coin():
    labels = [order_label(f"item-{i}", seed=5) for i in range(2000)]
    assert 900 < labels.count("A") < 1100
    assert labels == [order_label(f"item-{i}", seed=5) for i in range(2000)]


def test_round_trip_item_prompt_verdict():
    """A judge that names the chosen response is parsed as correct in both orders."""
    for order in ("original", "swapped"):
        prompt = judge_prompt(ITEM, order, "pairwise_critique_en", seed=1)
        user = prompt["messages"][-1]["content"]
        letter = "A" if user.index(ITEM["chosen"]) < user.index("[Response B]") else "B"
        assert parse_pairwise(f"Response {letter} adds correctly.\n[[{letter}]]").verdict == prompt["label"]
