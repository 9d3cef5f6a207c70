import random
from collections import Counter

import pytest

from judgeflow import tasks
from judgeflow.data.questions import synthetic_arithmetic
from judgeflow.domains import injection
from judgeflow.domains.tool_use import synthetic_tool_use
from judgeflow.generation import Completion, GenerationBackend, SamplingParams
from judgeflow.judge.judging import (
    balance_sft_items,
    chat_examples,
    curriculum_order,
    dpo_pairs,
    keep_one_correct,
    orders_for,
    prompts_for,
    sample_judgments,
    shuffled,
    split_teacher_judgments,
    template_for,
    to_direct_judgments,
)
from judgeflow.judge.templates import judge_prompt
from judgeflow.tasks.items import (
    build_items,
    decontaminate,
    draw_rollout_batches,
    instruction_item,
    loaded_item,
    mix_by_ratio,
    question_items,
    task_quotas,
)
from judgeflow.tasks.pairwise import order_label
from judgeflow.tasks.step_level import solution_steps

TASK_TYPES = tasks.names()

DIRECT_POOL = ["pairwise_direct_en", "step_level_direct_en", "ref_verification_direct_en",
               "ref_free_verification_direct_en", "single_rating_direct_en"]
CRITIQUE_POOL = ["pairwise_critique_en", "step_level_critique_en", "ref_verification_critique_en",
                 "ref_free_verification_critique_en", "single_rating_critique_en"]


# ------------------------------------------------------------------------------------------------ items


def _arith_record():
    record = synthetic_arithmetic("arith", 1, 3, 3, 9, seed=0)[0]
    return {**record, "split": "seed"}


def _response(qid, k, correct, text=None):
    return {"id": f"{qid}-g-{k}", "question_id": qid, "generator": "g", "correct": correct,
            "text": text if text is not None else f"{qid} answer {k}"}


def _arith(a, op, b):
    return {"+": a + b, "-": a - b, "*": a * b}[op]


def test_solution_steps():
    assert solution_steps("Step 1: 3 - 1 = 2\n  step 2 :  2 + 9 = 11\nThe answer is 11.") == ["3 - 1 = 2",
                                                                                           "2 + 9 = 11"]
    assert solution_steps("2+2=4\nThe answer is 4.") == []


def test_question_items_on_a_synthetic_arithmetic_record():
    record = _arith_record()
    reference = solution_steps(record["solution"])
    assert len(reference) == 3
    responses = [_response(record["id"], 0, True, f"It is {record['answer']}."),
                 _response(record["id"], 1, False, "It is 1000.")]
    origins = set()
    for seed in range(12):
        items, missing = question_items(record, responses, include_reference=True, injections=1, seed=seed)
        assert missing == []
        assert sorted(i["task_type"] for i in items) == sorted(TASK_TYPES), "every task type, once"
        by_task = {i["task_type"]: i for i in items}
        for item in items:
            assert item["id"] == f"{record['id']}-{item['task_type']}"
            assert (item["question_id"], item["split"], item["source"], item["domain"]) == (
                record["id"], "seed", "arith", "math")
        ref = by_task["ref_verification"]
        assert ref["reference"] == record["answer"], "no 'reference' field: the answer is the reference"
        assert "reference" not in by_task["ref_free_verification"]
        for task in ("ref_verification", "ref_free_verification"):
            item = by_task[task]
            correct_texts = {responses[0]["text"], record["solution"]}
            assert item["label"] == ("yes" if item["response"] in correct_texts else "no")
        pair = by_task["pairwise"]
        assert pair["chosen"] in {responses[0]["text"], record["solution"]}
        assert pair["rejected_origin"] in {"g", "injected"}
        rating = by_task["single_rating"]
        assert rating["scale"] == [1, 5] and rating["label"] == (5 if rating["response"] in correct_texts else 1)
        step = by_task["step_level"]
        origins.add(step["steps_origin"])
        if step["steps_origin"] == "reference":
            assert step["steps"] == reference and step["label"] == 0
            continue
        # the one injected slip (k = 0): its first wrong step is the label, steps before it are the reference's
        injected = injection.inject_error(record, "arithmetic_slip", random.Random(f"{seed}:{record['id']}:0"))
        assert step["steps_origin"] == "arithmetic_slip"
        assert step["label"] == injected["first_error_step"]
        assert step["steps"] == solution_steps(injected["text"])
        wrong = step["label"]
        assert step["steps"][:wrong - 1] == reference[:wrong - 1]
        for number, text in enumerate(step["steps"], start=1):
            a, op, b, _, c = text.split()
            assert (_arith(int(a), op, int(b)) == int(c)) == (number != wrong), text
    assert origins == {"reference", "arithmetic_slip"}, "both step sources are drawn over the seeds"
    # by hand: Lena has 3, gives away 1, gets 9, gets 5 -> 16; seed 5 slips step 3 (11 + 5 = 14)
    assert record["solution"] == "Step 1: 3 - 1 = 2\nStep 2: 2 + 9 = 11\nStep 3: 11 + 5 = 16\nThe answer is 16."
    step = next(i for i in question_items(record, responses, True, 1, 5)[0] if i["task_type"] == "step_level")
    assert (step["steps"], step["label"]) == (["3 - 1 = 2", "2 + 9 = 11", "11 + 5 = 14"], 3)
    with_reference = {**record, "reference": "16 stickers"}
    items, _ = question_items(with_reference, responses, True, 1, 0)
    assert next(i for i in items if i["task_type"] == "ref_verification")["reference"] == "16 stickers"
    reordered = list(reversed(responses))
    assert question_items(record, responses, True, 1, 3) == question_items(record, reordered, True, 1, 3)


def _question(qid, split="seed"):
    return {"id": qid, "split": split, "source": "s", "kind": "question", "domain": "math", "question": f"{qid}?",
            "answer": "4", "solution": "Step 1: 2 + 2 = 4\nThe answer is 4."}


def test_build_items_rejects_with_reasons():
    tool = {**synthetic_tool_use("tools", 1, seed=0)[0], "split": "seed"}
    records = [_question("q1"), _question("q2"), _question("q3"), _question("q4", "unused"), _question("q5"),
               tool, {"id": "i1", "split": "seed", "source": "ins", "kind": "instruction", "domain": "chat",
                      "question": "Write a poem."}]
    responses = [_response("q1", 0, True), _response("q1", 1, False),
                 _response("q2", 0, True), _response("q2", 1, True),
                 _response("q3", 0, False), _response("q4", 0, False),
                 _response(tool["id"], 0, True, tool["solution"]), _response(tool["id"], 1, False, "{}")]
    items, rejects = build_items(records, responses, include_reference=False, injections=0, seed=0)
    got = Counter(i["question_id"] for i in items)
    # q1 and the tool record give every type they can; q2 (all correct) and q3 (all wrong) no pair;
    # q5 (no response) only the step-level item of its reference steps; q4 is unused
    assert got == Counter(q1=5, q2=4, q3=4, q5=1, **{tool["id"]: 4})
    assert [(r["question_id"], r["task_type"], r["reason"]) for r in rejects] == [
        ("q2", "pairwise", "no_incorrect_response"),
        ("q3", "pairwise", "no_correct_response"),
        ("q5", "pairwise", "no_correct_response"),
        ("q5", "ref_verification", "no_response"),
        ("q5", "ref_free_verification", "no_response"),
        ("q5", "single_rating", "no_response"),
        (tool["id"], "step_level", "no_step_trace"),
        ("i1", "pairwise", "no_instruction_pair"),
    ]
    assert all(r["source"] in {"s", "tools", "ins"} and r["split"] == "seed" for r in rejects)
    tool_ref = next(i for i in items if i["id"] == f"{tool['id']}-ref_verification")
    assert tool_ref["reference"] == tool["reference"] and tool_ref["domain"] == "tool_use"
    # with the reference solution and one injected error per question, q2 and q3 get their pair
    items, rejects = build_items(records, responses, include_reference=True, injections=1, seed=0)
    pairs = {i["question_id"]: i for i in items if i["task_type"] == "pairwise"}
    assert pairs["q2"]["rejected_origin"] == "injected"
    assert pairs["q2"]["rejected"] != "Step 1: 2 + 2 = 4\nThe answer is 4."
    assert pairs["q3"]["chosen_origin"] == "reference" and pairs["q3"]["chosen"].endswith("The answer is 4.")
    assert pairs["q5"]["chosen_origin"] == "reference" and pairs["q5"]["rejected_origin"] == "injected"
    assert [(r["question_id"], r["reason"]) for r in rejects] == [(tool["id"], "no_step_trace"),
                                                                  ("i1", "no_instruction_pair")]


def test_instruction_pairs_become_pairwise_chat_items():
    record = {"id": "ins-000001", "split": "rollout", "source": "ins", "kind": "instruction", "domain": "chat",
              "question": "Explain sleep to a ten-year-old."}
    pairs = [{"id": f"ins-000001-{g}-pair", "question_id": "ins-000001", "generator": g, "method": method,
              "chosen": f"good answer by {g}", "rejected": f"off-target answer by {g}", "modified_instruction": None}
             for g, method in (("m1", "modified_instruction"), ("m2", "worse_answer"))]
    items, rejects = build_items([record], pairs, include_reference=True, injections=1, seed=0)
    assert rejects == []
    fields = ("id", "task_type", "chosen", "rejected", "rejected_origin", "chat_ok")
    assert [tuple(i[f] for f in fields) for i in items] == [
        ("ins-000001-pairwise-m1", "pairwise", "good answer by m1", "off-target answer by m1",
         "m1:modified_instruction", True),
        ("ins-000001-pairwise-m2", "pairwise", "good answer by m2", "off-target answer by m2", "m2:worse_answer", True)]
    assert items[0] == instruction_item(record, pairs[0])
    assert (items[0]["question"], items[0]["split"], items[0]["domain"]) == (record["question"], "rollout", "chat")


def test_loaded_items_are_kept():
    pair = {"id": "rb-000000", "source": "rb", "kind": "item", "split": "benchmark", "task_type": "pairwise",
            "question": "q", "chosen": "a", "rejected": "b", "subset": "chat"}
    tie = {**pair, "id": "rb-000001", "tie": True}
    steps = {"id": "pb-000000", "source": "pb", "kind": "item", "split": "seed", "task_type": "step_level",
             "domain": "math", "question": "q", "steps": ["x", "y"], "label": 2}
    items, rejects = build_items([pair, tie, steps], [], include_reference=True, injections=1, seed=0)
    assert rejects == [] and items == [loaded_item(pair), loaded_item(tie), loaded_item(steps)]
    assert items[0] == {**{k: v for k, v in pair.items() if k != "kind"}, "question_id": "rb-000000",
                        "domain": "chat", "chat_ok": True}
    assert "chat_ok" not in items[1] and "chat_ok" not in items[2]
    assert items[2]["domain"] == "math" and items[2]["label"] == 2


def _item(item_id, question, split="seed", task_type="pairwise"):
    return {"id": item_id, "question_id": item_id, "split": split, "source": "s", "task_type": task_type,
            "question": question}


def test_decontaminate_by_ngram_overlap_with_one_benchmark_prompt():
    prompts = ["one two three four five six seven eight nine ten", "three four five six seven eight zulu whiskey"]
    items = [
        # 3 eight-grams, 2 in prompt 0 -> 0.667: removed
        _item("hit", "One two three four five six seven eight nine, MISS."),
        # 4 eight-grams, 2 in prompt 0 -> exactly 0.5: removed (at or above the threshold)
        _item("edge", "one two three four five six seven eight nine x y"),
        # 5 eight-grams, 2 in prompt 0 -> 0.4: kept
        _item("below", "one two three four five six seven eight nine x y z"),
        # 3 eight-grams: 1 in prompt 0, 1 in prompt 1 -> 1/3 against each prompt: kept
        _item("split", "one two three four five six seven eight zulu whiskey"),
        _item("bench", prompts[0], split="benchmark"),  # the benchmark split itself is never removed
        _item("short", "one two three four five six seven"),  # fewer than 8 words: no 8-grams
    ]
    kept, rejects = decontaminate(items, prompts, n=8, threshold=0.5)
    assert [i["id"] for i in kept] == ["below", "split", "bench", "short"]
    assert [(r["item_id"], r["overlap"], r["reason"], r["benchmark_prompt"]) for r in rejects] == [
        ("hit", 0.667, "contaminated", prompts[0]), ("edge", 0.5, "contaminated", prompts[0])]
    kept, rejects = decontaminate(items, prompts, n=8, threshold=0.7)
    assert rejects == [] and len(kept) == len(items)
    kept, rejects = decontaminate(items, prompts, n=8, threshold=0.3)
    assert [r["item_id"] for r in rejects] == ["hit", "edge", "below", "split"]
    assert next(r for r in rejects if r["item_id"] == "split")["overlap"] == pytest.approx(0.3333, abs=1e-3)


def _pool(**counts):
    return [{"id": f"{task}-{n:02d}", "task_type": task} for task, count in counts.items() for n in range(count)]


def test_mix_by_ratio():
    ratio = {"pairwise": 2.0, "step_level": 1.0, "single_rating": 1.0, "ref_verification": 0.0}
    items = _pool(pairwise=6, step_level=3, single_rating=5, ref_verification=2, ref_free_verification=1)
    kept, rest = mix_by_ratio(items, ratio, seed=0)
    # 14 shared items would need 7 pairwise; 12 is the largest size that fits: 6 / 3 / 3, exactly 2:1:1
    assert Counter(i["task_type"] for i in kept) == Counter(pairwise=6, step_level=3, single_rating=3)
    assert Counter(i["task_type"] for i in rest) == Counter(single_rating=2, ref_verification=2,
                                                            ref_free_verification=1)
    assert sorted(i["id"] for i in kept + rest) == sorted(i["id"] for i in items)
    assert mix_by_ratio(list(reversed(items)), ratio, 0) == (kept, rest)
    picks = {tuple(sorted(i["id"] for i in mix_by_ratio(items, ratio, s)[0] if i["task_type"] == "single_rating"))
             for s in range(10)}
    assert len(picks) > 1, "which single_rating items are kept depends on the seed"
    # one step-level item shrinks the whole mix: size 6 -> 3 / 1.5 / 1.5 -> 3 / 1 / 2 (largest remainder, ties
    # by name); 7 would need 2 step-level items
    short = _pool(pairwise=6, step_level=1, single_rating=5)
    kept, rest = mix_by_ratio(short, ratio, seed=0)
    assert Counter(i["task_type"] for i in kept) == Counter(pairwise=3, step_level=1, single_rating=2)
    assert len(rest) == 6


def test_task_quotas_follow_the_ratio():
    fare = {"pairwise": 33, "step_level": 24, "ref_verification": 18.4, "ref_free_verification": 13.1,
            "single_rating": 11.4}
    quotas = task_quotas(fare, 100)
    assert sum(quotas.values()) == 100 and quotas["pairwise"] == 33 and quotas["single_rating"] == 11
    assert task_quotas(fare, 7) == {"pairwise": 2, "step_level": 2, "ref_verification": 1,
                                    "ref_free_verification": 1, "single_rating": 1}
    assert task_quotas({"pairwise": 1.0}, 5) == {"pairwise": 5}


def test_rollout_batches_are_disjoint_and_keep_the_ratio():
    items = [{"id": f"{task}-{n}", "task_type": task} for task, count in
             [("pairwise", 40), ("step_level", 30), ("single_rating", 30)] for n in range(count)]
    ratio = {"pairwise": 0.5, "step_level": 0.25, "single_rating": 0.25}
    out, counts = draw_rollout_batches(items, ratio, rounds=3, seed=1)
    assert len(out) == len(items) and {i["id"] for i in out} == {i["id"] for i in items}
    # 100 // 3 = 33 per round would need 17 x 3 = 51 pairwise items (40 exist): batches shrink to 27,
    # split 13.5 / 6.75 / 6.75 -> 13 / 7 / 7 by largest remainder
    assert counts == {f"rollout_{r}": {"pairwise": 13, "single_rating": 7, "step_level": 7} for r in (1, 2, 3)}
    batches = [{i["id"] for i in out if i["split"] == f"rollout_{r}"} for r in (1, 2, 3)]
    assert all(len(b) == 27 for b in batches) and not (batches[0] & batches[1] or batches[1] & batches[2]
                                                        or batches[0] & batches[2])
    assert sum(i["split"] == "rollout_unused" for i in out) == 100 - 81
    assert draw_rollout_batches(list(reversed(items)), ratio, 3, 1) == (out, counts)
    assert draw_rollout_batches(items, ratio, 3, 2)[0] != out
    _, even_counts = draw_rollout_batches(items, {"pairwise": 4, "step_level": 3, "single_rating": 3}, 2, 1)
    assert even_counts == {f"rollout_{r}": {"pairwise": 20, "single_rating": 15, "step_level": 15} for r in (1, 2)}
    with pytest.raises(ValueError, match=r"share to \['ref_verification'\] but the rollout pool has no such"):
        draw_rollout_batches(items, {**ratio, "ref_verification": 0.1}, 3, 1)
    with pytest.raises(ValueError, match=r"no share in data\.task_ratio"):
        draw_rollout_batches(items, {"pairwise": 1.0}, 3, 1)
    with pytest.raises(ValueError, match="too small for 200 rounds"):
        draw_rollout_batches(items, ratio, 200, 1)
    assert {i["split"] for i in draw_rollout_batches(items, ratio, 0, 1)[0]} == {"rollout_unused"}


# ------------------------------------------------------------------------------------------------ prompts


def _mixed_items():
    base = {"split": "seed", "source": "s", "domain": "math", "question": "What is 2 + 2?"}
    return [
        {**base, "id": "p1", "task_type": "pairwise", "chosen": "It is 4, since 2 + 2 = 4.", "rejected": "5"},
        {**base, "id": "p2", "task_type": "pairwise", "chosen": "4", "rejected": "It is 5, I think."},
        {**base, "id": "s1", "task_type": "step_level", "steps": ["2 + 2 = 5", "5 = 5"], "label": 1},
        {**base, "id": "r1", "task_type": "ref_verification", "response": "4", "reference": "4", "label": "yes"},
        {**base, "id": "f1", "task_type": "ref_free_verification", "response": "5", "label": "no"},
        {**base, "id": "g1", "task_type": "single_rating", "response": "4", "rubric": "", "scale": [1, 5],
         "label": 5, "template_id": "single_rating_direct_en"},
    ]


def test_prompts_for_a_mixed_pool():
    items = _mixed_items()
    assert [orders_for(i) for i in items] == [("original", "swapped")] * 2 + [("original",)] * 4
    assert template_for(items[5], CRITIQUE_POOL, 0) == "single_rating_direct_en", "the item's own template wins"
    prompts = prompts_for(items, CRITIQUE_POOL, seed=0)
    assert [(p["item_id"], p["order"]) for p in prompts] == [
        ("p1", "original"), ("p1", "swapped"), ("p2", "original"), ("p2", "swapped"),
        ("s1", "original"), ("r1", "original"), ("f1", "original"), ("g1", "original")]
    assert [p["template_id"] for p in prompts] == ["pairwise_critique_en"] * 4 + CRITIQUE_POOL[1:4] + [
        "single_rating_direct_en"]
    for prompt in prompts:
        item = next(i for i in items if i["id"] == prompt["item_id"])
        assert (prompt["source"], prompt["domain"], prompt["tie"], prompt["subset"]) == ("s", "math", False, None)
        if item["task_type"] != "pairwise":
            assert "chosen_first" not in prompt and "chosen_longer" not in prompt
            assert prompt["label"] == item["label"]
            continue
        first = order_label(item["id"], 0) if prompt["order"] == "original" else {"A": "B", "B": "A"}[
            order_label(item["id"], 0)]
        assert prompt["label"] == first and prompt["chosen_first"] == (first == "A")
        shown_first = prompt["messages"][-1]["content"].split("[Response A]\n")[1].split("\n\n[Response B]")[0]
        assert (shown_first == item["chosen"]) == prompt["chosen_first"]
    assert [p["chosen_longer"] for p in prompts[:4]] == [True, True, False, False]
    assert [p["chosen_first"] for p in prompts[:2]] == [not prompts[1]["chosen_first"], prompts[1]["chosen_first"]]
    assert prompts[4]["verdict_args"] == {"num_steps": 2}
    swapped = prompts_for(items, CRITIQUE_POOL, 0, orders=("swapped",))
    assert [(p["item_id"], p["order"]) for p in swapped] == [("p1", "swapped"), ("p2", "swapped")]
    assert swapped == [prompts[1], prompts[3]]
    only_original = prompts_for(items, CRITIQUE_POOL, 0, orders=("original",))
    assert len(only_original) == 6
    even = {**items[0], "id": "p3", "chosen": "four", "rejected": "five"}
    assert [p["chosen_longer"] for p in prompts_for([even], CRITIQUE_POOL, 0)] == [False, False]


class ScriptedBackend(GenerationBackend):
    """Answers from a script, and records what it was asked (to check the verdict-cue continuation)."""

    def __init__(self, *replies):
        self.replies, self.calls = list(replies), []

    def generate(self, conversations, params):
        self.calls.append((conversations, params))
        texts = self.replies[len(self.calls) - 1]
        return [[Completion(texts[i], 3, "stop")] for i in range(len(conversations))]


def test_sample_judgments_continues_after_the_verdict_cue():
    items = _mixed_items()
    prompts = prompts_for(items, CRITIQUE_POOL, seed=0)
    pair_label = prompts[0]["label"]
    other = {"A": "B", "B": "A"}[pair_label]
    first = [f"{pair_label} is right.\n[[{pair_label}]]",  # p1 original: correct
             "B is right. ",                               # p1 swapped: no verdict -> continued (wrongly)
             "both [[A]] [[B]]",                           # p2 original: conflicting, not continued
             f"[[{prompts[3]['label']}]]",                 # p2 swapped: correct
             "Step 1 is wrong.",                           # s1: continued with '1]]'
             "It matches.",                                # r1: continued with 'yes]] ...'
             "[[maybe]]",                                  # f1: unknown tag, not continued
             "Good. [[7]]"]                                # g1: out of the 1-5 scale
    backend = ScriptedBackend(first, [f"{pair_label}]] if [[A]]", "1]] and more", "yes]] sure"])
    out = sample_judgments(backend, prompts, SamplingParams(max_new_tokens=50, seed=3), "\nVerdict: [[", "m")
    assert [j["verdict"] for j in out] == [pair_label, pair_label, None, other, 1, "yes", None, None]
    assert [j["correct"] for j in out] == [True, False, False, True, True, True, False, False]
    assert [j["parse_error"] for j in out] == [None, None, "conflicting_verdicts", None, None, None,
                                               "unknown_tag", "out_of_range"]
    assert [j["cue_used"] for j in out] == [False, True, False, False, True, True, False, False]
    assert out[1]["text"] == f"B is right.\nVerdict: [[{pair_label}]]", "cut after the closing ]]"
    assert out[4]["text"] == "Step 1 is wrong.\nVerdict: [[1]]" and out[4]["num_tokens"] == 6
    assert [j["task_type"] for j in out] == [p["task_type"] for p in prompts]
    assert out[0]["chosen_first"] == prompts[0]["chosen_first"] and "chosen_first" not in out[4]
    assert out[0]["model"] == "m" and out[0]["source"] == "s"
    continued, params = backend.calls[1]
    assert continued == [prompts[1]["messages"] + [{"role": "assistant", "content": "B is right.\nVerdict: [["}],
                         prompts[4]["messages"] + [{"role": "assistant", "content": "Step 1 is wrong.\nVerdict: [["}],
                         prompts[5]["messages"] + [{"role": "assistant", "content": "It matches.\nVerdict: [["}]]
    assert params.n == 1 and params.max_new_tokens == 4 and params.seed == 4
    strict = sample_judgments(ScriptedBackend(["B is right. "]), prompts[:1], SamplingParams(), None, "m")
    assert strict[0]["parse_error"] == "no_verdict" and not strict[0]["cue_used"]


# ------------------------------------------------------------------------------------------------ teacher filter


def _judgment(item, order, verdict, label, sample=0, task_type="pairwise"):
    return {"item_id": item, "order": order, "verdict": verdict, "label": label, "correct": verdict == label,
            "parse_error": None if verdict is not None else "no_verdict", "task_type": task_type,
            "messages": [{"role": "user", "content": item}], "text": f"{item} {order} {sample} [[{verdict}]]",
            "sample": sample}


def test_split_teacher_judgments():
    items = [{"id": i} for i in ("both", "one", "none", "unparsed")]
    judgments = [_judgment("both", "original", "A", "A"), _judgment("both", "swapped", "B", "B"),
                 _judgment("one", "original", "A", "A"), _judgment("one", "swapped", "A", "B"),
                 _judgment("none", "original", "B", "A"), _judgment("none", "swapped", "A", "B"),
                 _judgment("unparsed", "original", None, "A"), _judgment("unparsed", "swapped", "B", "B")]
    sft, pool, reasons = split_teacher_judgments(items, judgments, seed=0)
    assert list(sft) == ["both"]
    assert [e["order"] for e in sft["both"]] == ["original", "swapped"]
    assert sft["both"][0]["completion"] == [{"role": "assistant", "content": "both original 0 [[A]]"}]
    assert sft["both"][0]["prompt"] == [{"role": "user", "content": "both"}]
    assert [i["id"] for i in pool] == ["one", "none", "unparsed"]
    assert reasons == Counter(position_inconsistent=1, wrong_in_every_order=1, parse_error=1)
    # several teacher samples per order: one correct sample in each order is enough, and it is the one kept
    more = judgments + [_judgment("one", "swapped", "B", "B", sample=1), _judgment("none", "swapped", "B", "B", 1)]
    sft, pool, reasons = split_teacher_judgments(items, more, seed=0)
    assert sorted(sft) == ["both", "one"]
    assert sft["one"][1]["completion"][0]["content"] == "one swapped 1 [[B]]"
    assert reasons == Counter(position_inconsistent=1, parse_error=1)


def test_split_teacher_judgments_with_non_pairwise_items():
    items = [{"id": "s1", "task_type": "step_level"}, {"id": "g1", "task_type": "single_rating"},
             {"id": "r1", "task_type": "ref_verification"}, {"id": "f1", "task_type": "ref_free_verification"}]
    judgments = [_judgment("s1", "original", 2, 2, 0, "step_level"), _judgment("s1", "original", 1, 2, 1, "step_level"),
                 _judgment("g1", "original", 3, 4, 0, "single_rating"),
                 _judgment("g1", "original", 5, 4, 1, "single_rating"),
                 _judgment("r1", "original", None, "yes", 0, "ref_verification"),
                 _judgment("f1", "original", "no", "no", 0, "ref_free_verification")]
    sft, pool, reasons = split_teacher_judgments(items, judgments, seed=0)
    # one order only: a single correct sample is enough, and exactly one example per item
    assert {k: [(e["order"], e["completion"][0]["content"]) for e in v] for k, v in sft.items()} == {
        "s1": [("original", "s1 original 0 [[2]]")], "f1": [("original", "f1 original 0 [[no]]")]}
    assert [i["id"] for i in pool] == ["g1", "r1"]
    assert reasons == Counter(wrong_in_every_order=1, parse_error=1)


def test_balance_sft_items_by_length_and_label():
    def pair(item_id, chosen, rejected, **extra):
        return {"id": item_id, "task_type": "pairwise", "chosen": chosen, "rejected": rejected, **extra}

    items = {i["id"]: i for i in [
        pair("long1", "a long one", "s"), pair("long2", "a long one", "s"), pair("long3", "a long one", "s"),
        pair("short1", "s", "a long one"), pair("same", "ab", "cd"), pair("tie", "a long one", "s", tie=True),
        {"id": "yes1", "task_type": "ref_verification", "label": "yes"},
        {"id": "yes2", "task_type": "ref_free_verification", "label": "yes"},
        {"id": "yes3", "task_type": "ref_verification", "label": "yes"},
        {"id": "no1", "task_type": "ref_free_verification", "label": "no"},
        {"id": "step", "task_type": "step_level", "label": 0},
        {"id": "rate", "task_type": "single_rating", "label": 5}]}
    sft = {item_id: [{"item_id": item_id}] for item_id in items}
    kept, dropped = balance_sft_items(items, sft, balance_labels=True, balance_length=True, seed=0)
    assert dropped == Counter(length_balance=2, label_balance=2)
    assert len(kept) == len(items) - 4
    assert {"short1", "same", "tie", "no1", "step", "rate"} <= set(kept)
    assert sum(k.startswith("long") for k in kept) == 1 and sum(k.startswith("yes") for k in kept) == 1
    assert balance_sft_items(items, sft, True, True, 0) == (kept, dropped)
    survivors = {tuple(sorted(balance_sft_items(items, sft, True, True, s)[0])) for s in range(10)}
    assert len(survivors) > 1, "which items are dropped depends on the seed"
    kept, dropped = balance_sft_items(items, sft, balance_labels=False, balance_length=True, seed=0)
    assert dropped == Counter(length_balance=2) and {"yes1", "yes2", "yes3"} <= set(kept)
    assert balance_sft_items(items, sft, False, False, 0) == (sft, Counter())


def test_chat_examples_share_and_never_the_benchmark():
    items = [{"id": f"c{n}", "split": "seed", "task_type": "pairwise", "question": f"ask {n}", "chosen": f"reply {n}",
              "rejected": "x", "chat_ok": True} for n in range(5)]
    items += [{**i, "id": f"b{n}", "split": "benchmark"} for n, i in enumerate(items)]
    items += [{"id": "m1", "split": "seed", "task_type": "pairwise", "question": "2+2?", "chosen": "4",
               "rejected": "5"}]  # not chat_ok
    chat = chat_examples(items, judge_examples=8, share=0.2, seed=0)
    assert len(chat) == 2, "0.2 / 0.8 * 8 judge examples"
    for example in chat:
        n = example["item_id"][1:]
        assert example["item_id"].startswith("c")
        assert example["prompt"] == [{"role": "user", "content": f"ask {n}"}]
        assert example["completion"] == [{"role": "assistant", "content": f"reply {n}"}]
        assert example["order"] == "chat" and example["protocol"] == "chat"
    assert chat == chat_examples(list(reversed(items)), 8, 0.2, 0)
    assert len(chat_examples(items, judge_examples=12, share=0.2, seed=0)) == 3, "0.25 * 12, not 0.2 * 12"
    everything = chat_examples(items, judge_examples=100, share=0.2, seed=0)
    assert sorted(e["item_id"] for e in everything) == ["c0", "c1", "c2", "c3", "c4"], "capped by the pool"
    assert chat_examples(items, 8, 0.0, 0) == []


# ------------------------------------------------------------------------------------------------ samples


def test_dpo_pairs_and_keep_one_correct():
    samples = [_judgment("mixed", "original", v, "A", k) for k, v in enumerate(["A", "B", None, "A"])]
    samples += [_judgment("allgood", "original", "B", "B", k) for k in range(4)]
    samples += [_judgment("allbad", "original", "A", "B", k) for k in range(4)]
    pairs, reasons = dpo_pairs(samples, seed=0)
    assert [p["item_id"] for p in pairs] == ["mixed"]
    assert pairs[0]["chosen"][0]["content"].endswith("[[A]]")
    assert not pairs[0]["rejected"][0]["content"].endswith("[[A]]")
    assert pairs[0]["prompt"] == [{"role": "user", "content": "mixed"}]
    assert reasons == Counter(all_samples_correct=1, no_correct_sample=1)
    assert dpo_pairs(samples, seed=0) == (pairs, reasons)
    rejected = {p["rejected"][0]["content"] for s in range(20) for p in dpo_pairs(samples, s)[0]}
    assert rejected == {"mixed original 1 [[B]]", "mixed original 2 [[None]]"}, "unparseable samples count as wrong"

    kept, reasons, histogram = keep_one_correct(samples, seed=0)
    assert sorted(k["item_id"] for k in kept) == ["allgood", "mixed"]
    assert {k["item_id"]: k["pass_rate"] for k in kept} == {"allgood": 1.0, "mixed": 0.5}
    assert next(k for k in kept if k["item_id"] == "mixed")["completion"][0]["content"].endswith("[[A]]")
    assert reasons == Counter(no_correct_sample=1)
    assert histogram == {"0/4": 1, "2/4": 1, "4/4": 1}
    assert list(keep_one_correct(samples * 3, 0)[2]) == ["0/12", "6/12", "12/12"], "sorted numerically"


def test_curriculum_orders_by_pass_rate_easiest_first():
    examples = [{"item_id": f"i{n}", "pass_rate": rate} for n, rate in enumerate([0.25, 1.0, 0.5, 1.0, 0.75, 0.25])]
    ordered = curriculum_order(examples, seed=0)
    assert [e["pass_rate"] for e in ordered] == [1.0, 1.0, 0.75, 0.5, 0.25, 0.25]
    assert ordered == curriculum_order(examples, seed=0)
    assert sorted(e["item_id"] for e in ordered) == sorted(e["item_id"] for e in examples)
    ties = {tuple(e["item_id"] for e in curriculum_order(examples, seed=s)[:2]) for s in range(20)}
    assert ties == {("i1", "i3"), ("i3", "i1")}, "ties are broken by the seed, not by input order"
    assert sorted(map(str, shuffled(examples, 1))) == sorted(map(str, examples))
    assert shuffled(examples, 1) == shuffled(examples, 1) and shuffled(examples, 1) != examples


def test_direct_judgment_conversion():
    items = {f"q{n}": {"id": f"q{n}", "task_type": "pairwise", "question": f"{n}+{n}?", "chosen": f"{2 * n}",
                       "rejected": f"{2 * n + 1}"} for n in range(10)}
    examples = []
    for item_id, item in items.items():
        prompt = judge_prompt(item, "swapped", "pairwise_critique_en", seed=4)
        examples.append({"item_id": item_id, "order": "swapped", "prompt": prompt["messages"], "pass_rate": 1.0,
                         "completion": [{"role": "assistant", "content": f"Long critique.\n[[{prompt['label']}]]"}]})
    out = to_direct_judgments(examples, items, share=0.3, pool=DIRECT_POOL, prompt_seed=4, seed=9)
    direct = [e for e in out if e["protocol"] == "direct"]
    assert len(direct) == 3 and len(out) == 10
    assert [e["item_id"] for e in out] == [e["item_id"] for e in examples], "order is kept"
    for example in direct:
        label = judge_prompt(items[example["item_id"]], "swapped", "pairwise_direct_en", 4)["label"]
        assert example["completion"][0]["content"] == f"[[{label}]]"
        assert "verdict only" in example["prompt"][-1]["content"]
    assert all(e["completion"][0]["content"].startswith("Long critique") for e in out if e["protocol"] == "critique")
    assert to_direct_judgments(examples, items, 0.0, DIRECT_POOL, 4, 9) == [
        {**e, "protocol": "critique"} for e in examples]
    wrong = [{**examples[0], "completion": [{"role": "assistant", "content": "[[A]] [[B]]"}]}]
    with pytest.raises(ValueError, match="only correct judgments"):
        to_direct_judgments(wrong, items, 1.0, DIRECT_POOL, 4, 9)
    assert any(order_label(i, 4) != order_label(i, 5) for i in items), "some items change sides with seed 5"
    with pytest.raises(ValueError, match="only correct judgments"):
        to_direct_judgments(examples, items, 1.0, DIRECT_POOL, prompt_seed=5, seed=9)


def test_direct_judgments_of_other_task_types():
    items = {i["id"]: i for i in _mixed_items()[2:]}
    completions = {"s1": "Step 1 is wrong.\n[[1]]", "r1": "Same.\n[[yes]]", "f1": "5 is wrong.\n[[no]]",
                   "g1": "Fine.\n[[5]]"}
    examples = [{"item_id": k, "order": "original", "prompt": [], "completion": [{"role": "assistant", "content": v}]}
                for k, v in completions.items()]
    out = to_direct_judgments(examples, items, 1.0, DIRECT_POOL, prompt_seed=0, seed=0)
    assert [e["completion"][0]["content"] for e in out] == ["[[1]]", "[[yes]]", "[[no]]", "[[5]]"]
    assert all(e["protocol"] == "direct" and "verdict only" in e["prompt"][-1]["content"] for e in out)
    assert [e["prompt"] for e in out] == [judge_prompt(items[e["item_id"]], "original", template, 0)["messages"]
                                          for e, template in zip(out, DIRECT_POOL[1:], strict=True)]
    none = {**items["s1"], "id": "s0", "label": 0}
    got = to_direct_judgments([{**examples[0], "item_id": "s0", "completion": [
        {"role": "assistant", "content": "All fine.\n[[none]]"}]}], {"s0": none}, 1.0, DIRECT_POOL, 0, 0)
    assert got[0]["completion"][0]["content"] == "[[none]]"
    with pytest.raises(ValueError, match="item g1: only correct judgments"):
        to_direct_judgments([{**examples[3], "completion": [{"role": "assistant", "content": "[[4]]"}]}], items,
                            1.0, DIRECT_POOL, 0, 0)


def test_mix_by_ratio_refuses_a_share_without_items():
    items = [{"id": f"p{i}", "task_type": "pairwise"} for i in range(4)]
    with pytest.raises(ValueError, match="step_level"):
        mix_by_ratio(items, {"pairwise": 2, "step_level": 1}, seed=0)
