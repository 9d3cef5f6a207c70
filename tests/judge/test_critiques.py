"""The programmatic critique teacher: critiques that decide the gold label, and honest refusals."""

from collections import Counter

import pytest

from judgeflow.data.questions import synthetic_arithmetic
from judgeflow.judge import critiques, judging
from judgeflow.judge.critiques import NoCritique, critique, equations, evaluate
from judgeflow.tasks.items import question_items
from judgeflow.tasks.verdicts import parse_verdict

TEMPLATES = ["pairwise_critique_en", "step_level_critique_en", "ref_verification_extract_en",
             "ref_free_verification_critique_en", "single_rating_critique_en"]


def _items(n=30, seed=3):
    records = synthetic_arithmetic("arith", n, 2, 3, 20, seed)
    items = []
    for record in records:
        got, _ = question_items({**record, "split": "seed", "kind": "question"}, [], True, 1, seed)
        items += got
    return items


def test_arithmetic_is_recomputed_exactly():
    assert evaluate("16 + 12") == 28 and evaluate("3 × 4 - 2") == 10 and evaluate("7 / 2") == 3.5
    assert evaluate("2 ** 8") is None and evaluate("__import__('os')") is None and evaluate("1 / 0") is None
    assert [(e, s) for e, s, _ in equations("Step 1: 16 + 12 = 28\nso 28 - 30 = -2, and 1,000 + 5 = 1,005")] == [
        ("16 + 12", "28"), ("28 - 30", "-2"), ("1,000 + 5", "1,005")]


def test_every_critique_parses_to_the_gold_label_in_every_order():
    items = _items()
    prompts = judging.prompts_for(items, TEMPLATES, seed=3)
    judgments, reasons = critiques.teacher_judgments(items, prompts)
    assert len(judgments) == len(prompts) and not reasons
    assert Counter(j["task_type"] for j in judgments)["pairwise"] == 2 * len(_items()) // 5
    for judgment in judgments:
        parsed = parse_verdict(judgment["text"], judgment["task_type"], **judgment["verdict_args"])
        assert parsed.error is None and parsed.verdict == judgment["label"]
        assert judgment["model"] == "programmatic" and judgment["text"].count("[[") == 1
    # both labels of each binary task occur: the teacher is not a constant
    assert {j["label"] for j in judgments if j["task_type"] == "ref_free_verification"} == {"yes", "no"}
    assert {j["label"] for j in judgments if j["task_type"] == "pairwise"} == {"A", "B"}


def test_step_level_critique_stops_at_the_first_wrong_step():
    item = {"id": "x", "task_type": "step_level", "domain": "math", "question": "q",
            "steps": ["3 + 4 = 7", "7 * 2 = 15", "15 - 1 = 14"], "label": 2}
    prompt = judging.prompts_for([item], ["step_level_critique_en"], seed=0)[0]
    text = critique(prompt, item)
    assert "Step 2: 7 * 2 = 15, wrong (7 * 2 = 14)." in text and "Step 3" not in text
    assert text.endswith("Verdict: [[2]]")


def test_a_critique_that_cannot_show_the_label_is_refused():
    # a wrong answer with right arithmetic (a wrong plan): nothing the check shows explains "no"
    item = {"id": "y", "task_type": "ref_free_verification", "domain": "math", "question": "q",
            "response": "Step 1: 3 + 4 = 7\nThe answer is 7.", "label": "no"}
    prompt = judging.prompts_for([item], ["ref_free_verification_critique_en"], seed=0)[0]
    with pytest.raises(NoCritique, match="critique_disagrees_with_label"):
        critique(prompt, item)
    prose = {**item, "response": "It is seven.", "label": "yes"}
    with pytest.raises(NoCritique, match="no_checkable_arithmetic"):
        critique(prompt, prose)
    code = {**item, "domain": "code"}
    with pytest.raises(NoCritique, match="no_programmatic_critique_for_code"):
        critique(prompt, code)


def test_audit_tells_a_wrong_decision_from_a_wrong_copy():
    items = _items(10)
    prompts = judging.prompts_for(items, TEMPLATES, seed=3)
    judgments, _ = critiques.teacher_judgments(items, prompts)
    by_id = {item["id"]: item for item in items}
    ref = next(j for j in judgments if j["task_type"] == "ref_verification" and "They differ" in j["text"])
    assert critiques.audit(ref, by_id[ref["item_id"]]) == "same_as_teacher"
    decided = {**ref, "text": ref["text"].replace("They differ", "They match"), "correct": False}
    assert critiques.audit(decided, by_id[ref["item_id"]]) == "decision_error"
    copied = {**ref, "text": ref["text"].replace("Reference answer: ", "Reference answer: 9")}
    assert critiques.audit(copied, by_id[ref["item_id"]]) == "copy_error"
    short = {**ref, "text": "[[no]]"}
    assert critiques.audit(short, by_id[ref["item_id"]]) == "missing_or_extra_line"
    step = next(j for j in judgments if j["task_type"] == "step_level" and ", wrong (" in j["text"])
    flipped = {**step, "text": step["text"].replace(", wrong (", ", right (", 1)}
    assert critiques.audit(flipped, by_id[step["item_id"]]) == "decision_error"
    table = critiques.audit_table(items, judgments + [decided, copied])
    row = next(r for r in table if r["task_type"] == "ref_verification")
    assert row["decision_error"] == 1 and row["copy_error"] == 1 and row["decision_error_correct"] == 0
    assert sum(r["same_as_teacher"] for r in table) == len(judgments)
