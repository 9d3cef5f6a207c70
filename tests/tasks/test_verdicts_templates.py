import hashlib
from collections import Counter

import pytest

from judgeflow import tasks
from judgeflow.judge.templates import (
    TEMPLATES,
    Template,
    _check,
    judge_prompt,
    pick_template,
    select_templates,
)
from judgeflow.tasks.pairwise import order_label
from judgeflow.tasks.step_level import render_steps
from judgeflow.tasks.verdicts import (
    format_verdict,
    is_correct,
    parse_verdict,
)

TASK_TYPES = tasks.names()

# ---------------------------------------------------------------- parser tables, one per task type

PAIRWISE = [
    ("A is wrong at step 2.\n[[B]]", "B", None),
    ("[[A]]", "A", None),
    ("Verdict: [[A]] ... so again [[A]]", "A", None),
    ("Verdict:[[B]]", "B", None),
    ("[[ A ]]", "A", None),                                   # spaces around the token are ignored
    ("因此回答A更好[[A]]", "A", None),                           # a CJK character may precede the tag
    ("[[B]] because A forgot the carry.", "B", None),          # trailing text after the tag is allowed
    ("[[B]].", "B", None),
    ("It returns arr[[0, 1]], which is fine.\n[[A]]", "A", None),   # indexing in code is no tag
    ("m = [[1, 2], [3, 4]] is built right. [[A]]", "A", None),     # nor is a nested list literal
    ("Both have merits. [[A]] or maybe [[B]]", None, "conflicting_verdicts"),   # both tags
    ("[[A]][[B]]", None, "conflicting_verdicts"),
    ("Response A is better.", None, "no_verdict"),             # no tag
    ("[A] is better", None, "no_verdict"),
    ("", None, "no_verdict"),
    ("Final verdict[[A]]", None, "no_verdict"),                # glued to a word: read as indexing, no tag
    ("[[A\n]]", None, "no_verdict"),                           # a tag has no line break
    ("Verdict: [[C]]", None, "unknown_tag"),                   # a tie without allows_tie
    ("Verdict: [[a]]", None, "unknown_tag"),
    ("Verdict: [[AB]]", None, "unknown_tag"),
    ("Verdict: [[A or B]]", None, "unknown_tag"),              # junk inside the brackets
    ("Verdict: [[]]", None, "unknown_tag"),
    ("The answer is [[1, 2]].\n[[A]]", None, "unknown_tag"),   # double brackets are reserved for the verdict
    ("[[A]] and then [[C]]", None, "unknown_tag"),             # unknown_tag is reported before a conflict
]


@pytest.mark.parametrize("text,verdict,error", PAIRWISE)
def test_parse_pairwise_table(text, verdict, error):
    parsed = parse_verdict(text, "pairwise")
    assert (parsed.verdict, parsed.error) == (verdict, error)


@pytest.mark.parametrize("text,verdict,error", [
    ("A tie.\n[[C]]", "C", None),
    ("[[B]]", "B", None),
    ("[[A]] or [[C]]", None, "conflicting_verdicts"),
    ("[[D]]", None, "unknown_tag"),
])
def test_parse_pairwise_with_tie(text, verdict, error):
    parsed = parse_verdict(text, "pairwise", allows_tie=True)
    assert (parsed.verdict, parsed.error) == (verdict, error)


@pytest.mark.parametrize("text,num_steps,verdict,error", [
    ("Step 3 adds 7 and 5 to get 13.\n[[3]]", 4, 3, None),
    ("All steps check out. [[none]]", 4, 0, None),
    ("[[ none ]]", 4, 0, None),
    ("[[4]]", 4, 4, None),
    ("[[2]]. Step 2 drops a sign.", 4, 2, None),             # trailing text
    ("[[9]]", None, 9, None),                                  # no upper bound without num_steps
    ("[[5]]", 4, None, "out_of_range"),                        # past the last step
    ("[[0]]", 4, None, "out_of_range"),                        # 'no wrong step' is [[none]], not [[0]]
    ("[[-1]]", 4, None, "out_of_range"),
    ("[[None]]", 4, None, "unknown_tag"),
    ("[[2.5]]", 4, None, "unknown_tag"),
    ("[[step 2]]", 4, None, "unknown_tag"),
    ("[[2 or 3]]", 4, None, "unknown_tag"),
    ("[[2]] ... actually [[3]]", 4, None, "conflicting_verdicts"),
    ("[[2]] [[none]]", 4, None, "conflicting_verdicts"),
    ("[[2]] and again [[2]]", 4, 2, None),
    ("Step 2 is wrong.", 4, None, "no_verdict"),
])
def test_parse_step_level(text, num_steps, verdict, error):
    parsed = parse_verdict(text, "step_level", num_steps=num_steps)
    assert (parsed.verdict, parsed.error) == (verdict, error)


@pytest.mark.parametrize("task_type", ["ref_verification", "ref_free_verification"])
@pytest.mark.parametrize("text,verdict,error", [
    ("The final answer 12 matches.\n[[yes]]", "yes", None),
    ("[[no]] The response adds wrongly.", "no", None),        # trailing text
    ("[[ no ]]", "no", None),
    ("[[Yes]]", None, "unknown_tag"),
    ("[[yes/no]]", None, "unknown_tag"),
    ("[[true]]", None, "unknown_tag"),
    ("[[yes]] ... [[no]]", None, "conflicting_verdicts"),
    ("The response is correct.", None, "no_verdict"),
])
def test_parse_verification(task_type, text, verdict, error):
    parsed = parse_verdict(text, task_type)
    assert (parsed.verdict, parsed.error) == (verdict, error)


@pytest.mark.parametrize("text,scale,verdict,error", [
    ("Clear and correct.\nRating: [[4]]", [1, 5], 4, None),
    ("[[1]]", [1, 5], 1, None),
    ("[[5]]", [1, 5], 5, None),
    ("[[ 3 ]]", [1, 5], 3, None),
    ("[[4]]/5", [1, 5], 4, None),                              # trailing text outside the tag
    ("[[0]]", [0, 10], 0, None),
    ("[[0]]", [1, 5], None, "out_of_range"),
    ("[[6]]", [1, 5], None, "out_of_range"),
    ("[[-2]]", [1, 5], None, "out_of_range"),
    ("[[3]] then [[9]]", [1, 5], None, "out_of_range"),         # out_of_range is reported before a conflict
    ("[[4.5]]", [1, 5], None, "unknown_tag"),
    ("[[4/5]]", [1, 5], None, "unknown_tag"),
    ("[[four]]", [1, 5], None, "unknown_tag"),
    ("[[n]]", [1, 5], None, "unknown_tag"),
    ("[[4]] or [[5]]", [1, 5], None, "conflicting_verdicts"),
    ("[[4]] ... [[4]]", [1, 5], 4, None),
    ("Rating: 4/5", [1, 5], None, "no_verdict"),
])
def test_parse_single_rating(text, scale, verdict, error):
    parsed = parse_verdict(text, "single_rating", scale=scale)
    assert (parsed.verdict, parsed.error) == (verdict, error)


def test_parser_argument_errors():
    with pytest.raises(ValueError, match="scale"):
        parse_verdict("[[4]]", "single_rating")
    with pytest.raises(ValueError, match="scale"):
        parse_verdict("[[4]]", "single_rating", scale=[5, 1])
    with pytest.raises(ValueError, match="unknown task type"):
        parse_verdict("[[A]]", "pairwise_tie")


@pytest.mark.parametrize("task_type,verdict,label,correct", [
    ("pairwise", "A", "A", True),
    ("pairwise", "B", "A", False),
    ("pairwise", None, "A", False),
    ("step_level", 0, 0, True),
    ("step_level", 2, 3, False),
    ("step_level", "2", 2, False),
    ("step_level", None, 0, False),
    ("ref_verification", "yes", "yes", True),
    ("ref_free_verification", "yes", "no", False),
    ("single_rating", 4, 4, True),
    ("single_rating", True, 1, False),
])
def test_is_correct(task_type, verdict, label, correct):
    assert is_correct(task_type, verdict, label) is correct


def test_format_verdict():
    assert [format_verdict("step_level", 0), format_verdict("step_level", 3), format_verdict("pairwise", "B"),
            format_verdict("ref_verification", "no"), format_verdict("single_rating", 7)] \
        == ["[[none]]", "[[3]]", "[[B]]", "[[no]]", "[[7]]"]


# ---------------------------------------------------------------- items, prompts and the round trip

ITEM = {"id": "q1-pair", "question": "What is 2+2?", "chosen": "2+2=4. The answer is 4.",
        "rejected": "2+2=5. The answer is 5."}
ITEMS = {
    "pairwise": [ITEM, {**ITEM, "id": "q2-pair", "task_type": "pairwise"}],
    "step_level": [
        {"id": "s1", "task_type": "step_level", "question": "Tom has 3 apples and buys 4. He eats 2. How many?",
         "steps": ["3 + 4 = 7", "7 - 2 = 4", "The answer is 4."], "label": 2},
        {"id": "s2", "task_type": "step_level", "question": "What is 6 * 7?", "steps": ["6 * 7 = 42"], "label": 0},
    ],
    "ref_verification": [
        {"id": "r1", "task_type": "ref_verification", "question": "What is 2+2?", "response": "It is 4.",
         "reference": "4", "label": "yes"},
        {"id": "r2", "task_type": "ref_verification", "question": "What is 3*3?", "response": "It is 6.",
         "reference": "9", "label": "no"},
    ],
    "ref_free_verification": [
        {"id": "f1", "task_type": "ref_free_verification", "question": "What is 10/4?", "response": "2.5",
         "label": "yes"},
        {"id": "f2", "task_type": "ref_free_verification", "question": "What is 10/4?", "response": "2",
         "label": "no"},
    ],
    "single_rating": [
        {"id": "g1", "task_type": "single_rating", "question": "Explain rain.", "response": "Water condenses.",
         "rubric": "5: complete and correct; 1: wrong.", "scale": [1, 5], "label": 3},
        {"id": "g2", "task_type": "single_rating", "question": "Say hi.", "response": "Hi!", "rubric": "",
         "scale": [0, 10], "label": 10},
    ],
}
TIE_ITEM = {"id": "t1", "task_type": "pairwise", "question": "Name a colour.", "chosen": "Red.",
            "rejected": "Blue.", "tie": True}
_WRONG = {"pairwise": {"A": "B", "B": "A", "C": "A"}, "ref_verification": {"yes": "no", "no": "yes"}}


def _wrong_verdict(task_type, label, prompt):
    if task_type == "pairwise":
        return _WRONG["pairwise"][label]
    if task_type in ("ref_verification", "ref_free_verification"):
        return _WRONG["ref_verification"][label]
    if task_type == "step_level":
        return 1 if label != 1 else 0
    low, high = prompt["verdict_args"]["scale"]
    return low if label != low else high


def _rendered_parts(item, task_type, prompt):
    """Every piece of the item that must appear in the prompt text."""
    if task_type == "pairwise":
        return [item["question"], item["chosen"], item["rejected"]]
    if task_type == "step_level":
        return [item["question"], *item["steps"]]
    parts = [item["question"], item["response"]]
    if task_type == "ref_verification":
        parts.append(item["reference"])
    if task_type == "single_rating":
        parts += [item["rubric"] or "No rubric given", f"[[{item['scale'][0]}]]", f"[[{item['scale'][1]}]]"]
        if TEMPLATES[prompt["template_id"]].language == "zh":
            parts[-3] = item["rubric"] or "未提供评分细则"
    return parts


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_round_trip_every_template(template_id):
    """item -> prompt -> a judge output naming the prompt's label -> parse -> correct (and a wrong one is not)."""
    template = TEMPLATES[template_id]
    task_type = template.task_type
    orders = ("original", "swapped") if task_type == "pairwise" else ("original",)
    items = ITEMS[task_type] + ([TIE_ITEM] if template.allows_tie else [])
    for item in items:
        for order in orders:
            prompt = judge_prompt(item, order, template_id, seed=3)
            assert (prompt["item_id"], prompt["order"], prompt["template_id"], prompt["task_type"],
                    prompt["protocol"]) == (item["id"], order, template_id, task_type, template.protocol)
            text = "\n\n".join(m["content"] for m in prompt["messages"])
            assert [m["role"] for m in prompt["messages"]] == (["system", "user"] if template.system else ["user"])
            for part in _rendered_parts(item, task_type, prompt):
                assert part in text, f"{template_id}: {part!r} missing from the prompt"
            label = prompt["label"]
            if task_type == "pairwise":
                chosen_first = text.index(item["chosen"]) < text.index(item["rejected"])
                assert label == ("C" if item.get("tie") else "A" if chosen_first else "B")
            else:
                assert label == item["label"]
            tag = format_verdict(task_type, label)
            outputs = [tag] if template.protocol == "direct" else [
                f"Let me check the work carefully.\n{tag}",
                f"Let me check the work carefully.\nVerdict: [[{tag[2:]}",   # completed after the verdict cue
            ]
            for output in outputs:
                parsed = parse_verdict(output, task_type, **prompt["verdict_args"])
                assert parsed.error is None and is_correct(task_type, parsed.verdict, label), (template_id, output)
            wrong = parse_verdict(format_verdict(task_type, _wrong_verdict(task_type, label, prompt)), task_type,
                                  **prompt["verdict_args"])
            assert wrong.error is None and not is_correct(task_type, wrong.verdict, label)


def _tokens(task_type, template):
    return {"pairwise": ["[[A]]", "[[B]]"] + (["[[C]]"] if template.allows_tie else []),
            "step_level": ["[[none]]", "[[2]]"], "ref_verification": ["[[yes]]", "[[no]]"],
            "ref_free_verification": ["[[yes]]", "[[no]]"], "single_rating": ["[[0]]", "[[10]]"]}[task_type]


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_every_template_names_its_verdict_tags(template_id):
    template = TEMPLATES[template_id]
    item = ITEMS[template.task_type][-1]
    text = judge_prompt(item, "original", template_id, 0)["messages"][-1]["content"]
    if template_id in ("rewardbench_official", "pairwise_mtbench_tie_en"):
        text = template.system   # the official prompts state the format in the system message
    for token in _tokens(template.task_type, template):
        assert token in text, f"{template_id} does not tell the judge to write {token}"
    if template.protocol == "direct":
        assert "verdict only" in text
    if template.task_type != "pairwise" or not template.allows_tie:
        assert "[[C]]" not in text


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
        assert prompt["task_type"] == "pairwise" and prompt["protocol"] == "critique"
        assert prompt["verdict_args"] == {"allows_tie": False}
    with pytest.raises(ValueError):
        judge_prompt(ITEM, "reversed", "pairwise_critique_en", 0)


def test_original_order_is_balanced_coin():
    labels = [order_label(f"item-{i}", seed=5) for i in range(2000)]
    assert 900 < labels.count("A") < 1100
    assert labels == [order_label(f"item-{i}", seed=5) for i in range(2000)]


def test_tie_item_is_labelled_c_in_both_orders_and_only_with_a_tie_template():
    labels = {judge_prompt(TIE_ITEM, order, "pairwise_mtbench_tie_en", 0)["label"] for order in ("original", "swapped")}
    assert labels == {"C"}
    with pytest.raises(ValueError, match="tie"):
        judge_prompt(TIE_ITEM, "original", "pairwise_critique_en", 0)


def test_steps_are_numbered():
    item = ITEMS["step_level"][0]
    user = judge_prompt(item, "original", "step_level_critique_en", 0)["messages"][-1]["content"]
    assert "Step 1: 3 + 4 = 7\nStep 2: 7 - 2 = 4\nStep 3: The answer is 4." in user
    zh = judge_prompt(item, "original", "step_level_instructional_zh", 0)["messages"][-1]["content"]
    assert "步骤 1：3 + 4 = 7\n步骤 2：7 - 2 = 4\n步骤 3：The answer is 4." in zh
    assert render_steps(["a", "b"]) == "Step 1: a\nStep 2: b"
    assert judge_prompt(item, "original", "step_level_direct_en", 0)["verdict_args"] == {"num_steps": 3}


def test_chinese_templates_render():
    zh = select_templates("pairwise", "critique", language="zh")
    assert zh == ["pairwise_basic_zh", "pairwise_instructional_zh"]
    basic = judge_prompt(ITEM, "original", "pairwise_basic_zh", seed=0)
    assert [m["role"] for m in basic["messages"]] == ["user"], "the basic Chinese prompt has no persona"
    user = basic["messages"][0]["content"]
    assert user.startswith("请判断下面两个回答中哪一个更好。") and "[回答A]" in user and "[回答B]" in user
    first = ITEM["chosen"] if basic["label"] == "A" else ITEM["rejected"]
    assert user.index(first) < user.index("[回答B]")
    instructional = judge_prompt(ITEM, "original", "pairwise_instructional_zh", seed=0)["messages"]
    assert instructional[0]["content"].startswith("你是") and "评价标准" in instructional[1]["content"]
    for task_type in TASK_TYPES:
        ids = select_templates(task_type, "critique", language="zh")
        assert len(ids) >= 2
        for template_id in ids:
            text = judge_prompt(ITEMS[task_type][0], "original", template_id, 0)["messages"][-1]["content"]
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text)
    rating = judge_prompt(ITEMS["single_rating"][1], "original", "single_rating_basic_zh", 0)["messages"][-1]
    assert "未提供评分细则" in rating["content"] and "[[0]]" in rating["content"] and "[[10]]" in rating["content"]


def test_rewardbench_official_wording():
    template = TEMPLATES["rewardbench_official"]
    prompt = judge_prompt(ITEM, "original", "rewardbench_official", seed=0)
    system, user = (m["content"] for m in prompt["messages"])
    assert system == template.system
    assert system.startswith("Please act as an impartial judge and evaluate the quality of the responses provided "
                             "by two AI assistants to the user question displayed below. ")
    assert "Avoid any position biases and ensure" in system
    assert system.endswith('output your final verdict by strictly following this format: "[[A]]" if assistant A '
                           'is better, "[[B]]" if assistant B is better.')
    a, b = (ITEM["chosen"], ITEM["rejected"]) if prompt["label"] == "A" else (ITEM["rejected"], ITEM["chosen"])
    assert user == ("[User Question]\nWhat is 2+2?\n\n[The Start of Assistant A's Answer]\n" + a
                    + "\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n" + b
                    + "\n[The End of Assistant B's Answer]")
    tie = TEMPLATES["pairwise_mtbench_tie_en"]
    assert tie.allows_tie and tie.system.endswith('"[[B]]" if assistant B is better, and "[[C]]" for a tie.')
    assert tie.system.replace("positional", "position").replace(', and "[[C]]" for a tie', "") == template.system


@pytest.mark.parametrize("item,order,template_id,match", [
    (ITEMS["step_level"][0], "original", "pairwise_critique_en", "template pairwise_critique_en is for pairwise"),
    (ITEM, "original", "step_level_critique_en", "the item is pairwise"),
    (ITEMS["step_level"][0], "swapped", "step_level_critique_en", "only the 'original' order"),
    (ITEMS["ref_verification"][0], "swapped", "ref_verification_critique_en", "only the 'original' order"),
    (ITEM, "original", "no_such_template", "unknown template"),
    ({**ITEMS["step_level"][0], "label": 4}, "original", "step_level_critique_en", "field 'label'"),
    ({**ITEMS["step_level"][0], "steps": []}, "original", "step_level_critique_en", "field 'steps'"),
    ({**ITEMS["single_rating"][0], "label": 6}, "original", "single_rating_critique_en", "outside the scale"),
    ({**ITEMS["single_rating"][0], "scale": [5, 1]}, "original", "single_rating_critique_en", "field 'scale'"),
    ({**ITEMS["ref_verification"][0], "label": "maybe"}, "original", "ref_verification_critique_en", "field 'label'"),
    ({k: v for k, v in ITEMS["ref_verification"][0].items() if k != "reference"}, "original",
     "ref_verification_critique_en", "missing field 'reference'"),
    ({**ITEM, "task_type": "ranking"}, "original", "pairwise_critique_en", "field 'task_type'"),
])
def test_judge_prompt_rejects_bad_input(item, order, template_id, match):
    with pytest.raises(ValueError, match=match):
        judge_prompt(item, order, template_id, 0)


# ---------------------------------------------------------------- the template set and its selection

def test_template_set_diversity_and_metadata():
    for template in TEMPLATES.values():
        assert template.protocol in ("critique", "direct") and template.language in ("en", "zh")
        assert template.criteria_form in ("list", "prose", "questions", "none")
        assert (template.output_format == "verdict-only") == (template.protocol == "direct")
        assert not template.allows_tie or template.task_type == "pairwise"
        assert set(template.metadata()) == {"id", "task_type", "protocol", "language", "role", "criteria",
                                            "criteria_form", "output_format", "allows_tie", "source"}
    for task_type in TASK_TYPES:
        critique = [TEMPLATES[t] for t in select_templates(task_type, "critique")]
        english = select_templates(task_type, "critique", language="en")
        assert len(english) >= 4 and len(select_templates(task_type, "direct")) >= 1
        assert {t.language for t in critique} == {"en", "zh"}
        for axis in ("role", "criteria", "criteria_form", "output_format"):
            assert len({getattr(t, axis) for t in critique}) >= 3, (task_type, axis)
    assert select_templates("pairwise", "direct") == ["pairwise_direct_en"]
    assert {"pairwise_critique_en", "rewardbench_official"} <= set(select_templates("pairwise", "critique", "en"))
    assert select_templates("step_level", "direct", "zh") == []
    for bad in (("pairwise", "verbose"), ("ranking", "critique"), ("pairwise", "critique", "fr")):
        with pytest.raises(ValueError):
            select_templates(*bad)


def test_template_check_rejects_malformed_templates():
    good = TEMPLATES["ref_free_verification_critique_en"]
    assert _check(good) is good
    bad = [
        Template("x", "ref_free_verification", "critique", "en", "r", (), "none", "o", user="{question}"),
        Template("x", "ref_free_verification", "critique", "en", "r", (), "none", "o",
                 user="{question} {response} {reference}"),
        Template("x", "step_level", "critique", "en", "r", (), "none", "o", user="{question} {steps}",
                 allows_tie=True),
        Template("x", "step_level", "verbose", "en", "r", (), "none", "o", user="{question} {steps}"),
    ]
    for template in bad:
        with pytest.raises(ValueError, match="template x"):
            _check(template)


def test_pick_template_is_seeded_stable_and_covers_the_pool():
    pool = select_templates("pairwise", "critique", "en") + select_templates("step_level", "critique")
    pairwise_ids = select_templates("pairwise", "critique", "en")
    items = [{"id": f"p{n}", "task_type": "pairwise"} for n in range(600)]
    picks = [pick_template(item, pool, seed=7) for item in items]
    assert picks == [pick_template(item, pool, seed=7) for item in items], "same seed and item, same template"
    counts = Counter(picks)
    assert set(counts) == set(pairwise_ids), "only the item's task type, and every one of them"
    assert all(60 < counts[t] < 140 for t in pairwise_ids), counts   # 600 / 6 = 100 each on average
    other_seed = [pick_template(item, pool, seed=8) for item in items]
    assert 400 < sum(a != b for a, b in zip(picks, other_seed)) < 600   # independent draws differ 5/6 of the time
    # The documented draw: sha256("seed:template:id"), first 8 bytes big-endian, modulo the candidates.
    digest = hashlib.sha256(b"7:template:p0").digest()
    assert picks[0] == pairwise_ids[int.from_bytes(digest[:8], "big") % len(pairwise_ids)]
    step = pick_template(ITEMS["step_level"][0], pool, seed=7)
    assert TEMPLATES[step].task_type == "step_level"
    assert pick_template(ITEM, ["pairwise_direct_en", "step_level_direct_en"], 0) == "pairwise_direct_en"
    assert pick_template(TIE_ITEM, pool + ["pairwise_mtbench_tie_en"], 0) == "pairwise_mtbench_tie_en"


def test_pick_template_without_a_template_for_the_task_type():
    with pytest.raises(ValueError, match="no single_rating template"):
        pick_template(ITEMS["single_rating"][0], select_templates("pairwise", "critique"), 0)
    with pytest.raises(ValueError, match="no tie-allowing pairwise template"):
        pick_template(TIE_ITEM, ["pairwise_critique_en"], 0)
    with pytest.raises(ValueError, match="unknown template"):
        pick_template(ITEM, ["pairwise_critique_en", "nope"], 0)
