from collections import Counter

from judgeflow.generation import Completion, GenerationBackend, SamplingParams
from judgeflow.judging import (curriculum_order, dpo_pairs, keep_one_correct, sample_judgments, shuffled,
                               split_teacher_judgments, to_direct_judgments)
from judgeflow.templates import judge_prompt
from judgeflow.pairs import build_items, draw_rollout_batches, task_quotas


def _question(qid, split="seed"):
    return {"id": qid, "split": split, "source": "s", "question": f"{qid}?", "answer": "4",
            "solution": "2+2=4\nThe answer is 4."}


def _response(qid, k, correct):
    return {"id": f"{qid}-g-{k}", "question_id": qid, "generator": "g", "text": f"{qid} answer {k}",
            "correct": correct}


def test_build_items_pairs_and_rejects():
    questions = [_question("q1"), _question("q2"), _question("q3"), _question("q4", "unused")]
    responses = [_response("q1", 0, True), _response("q1", 1, False),
                 _response("q2", 0, True), _response("q2", 1, True),
                 _response("q3", 0, False), _response("q4", 0, False)]
    items, verification, rejects = build_items(questions, responses, include_reference=False, seed=0)
    assert [i["question_id"] for i in items] == ["q1"]
    assert items[0]["chosen"] == "q1 answer 0" and items[0]["rejected"] == "q1 answer 1"
    assert [(r["question_id"], r["reason"]) for r in rejects] == [("q2", "no_incorrect_response"),
                                                                  ("q3", "no_correct_response")]
    assert Counter(v["label"] for v in verification) == Counter({"yes": 3, "no": 2})
    with_ref, _, rejects = build_items(questions, responses, include_reference=True, seed=0)
    assert sorted(i["question_id"] for i in with_ref) == ["q1", "q3"]
    q3 = next(i for i in with_ref if i["question_id"] == "q3")
    assert q3["chosen_origin"] == "reference" and q3["chosen"].endswith("The answer is 4.")
    assert [r["reason"] for r in rejects] == ["no_incorrect_response"]


def _judgment(item, order, verdict, label, sample=0):
    return {"item_id": item, "order": order, "verdict": verdict, "label": label, "correct": verdict == label,
            "parse_error": None if verdict else "no_verdict", "messages": [{"role": "user", "content": item}],
            "text": f"{item} {order} {sample} [[{verdict}]]", "sample": sample}


def test_split_teacher_judgments():
    items = [{"id": i} for i in ("both", "one", "none", "unparsed")]
    judgments = [_judgment("both", "original", "A", "A"), _judgment("both", "swapped", "B", "B"),
                 _judgment("one", "original", "A", "A"), _judgment("one", "swapped", "A", "B"),
                 _judgment("none", "original", "B", "A"), _judgment("none", "swapped", "A", "B"),
                 _judgment("unparsed", "original", None, "A"), _judgment("unparsed", "swapped", "B", "B")]
    sft, pool, reasons = split_teacher_judgments(items, judgments, seed=0)
    assert [(e["item_id"], e["order"]) for e in sft] == [("both", "original"), ("both", "swapped")]
    assert sft[0]["completion"] == [{"role": "assistant", "content": "both original 0 [[A]]"}]
    assert [i["id"] for i in pool] == ["one", "none", "unparsed"]
    assert reasons == Counter(position_inconsistent=1, wrong_in_both_orders=1, parse_error=1)
    # several teacher samples per order: one correct sample in each order is enough, and it is the one kept
    more = judgments + [_judgment("one", "swapped", "B", "B", sample=1), _judgment("none", "swapped", "B", "B", 1)]
    sft, pool, reasons = split_teacher_judgments(items, more, seed=0)
    assert sorted({e["item_id"] for e in sft}) == ["both", "one"]
    assert next(e for e in sft if e["item_id"] == "one" and e["order"] == "swapped")["completion"][0][
        "content"] == "one swapped 1 [[B]]"
    assert reasons == Counter(position_inconsistent=1, parse_error=1)


def test_dpo_pairs_and_keep_one_correct():
    samples = [_judgment("mixed", "original", v, "A", k) for k, v in enumerate(["A", "B", None, "A"])]
    samples += [_judgment("allgood", "original", "B", "B", k) for k in range(4)]
    samples += [_judgment("allbad", "original", "A", "B", k) for k in range(4)]
    pairs, reasons = dpo_pairs(samples, seed=0)
    assert [p["item_id"] for p in pairs] == ["mixed"]
    assert pairs[0]["chosen"][0]["content"].endswith("[[A]]")
    assert not pairs[0]["rejected"][0]["content"].endswith("[[A]]")
    assert reasons == Counter(all_samples_correct=1, no_correct_sample=1)
    assert dpo_pairs(samples, seed=0) == (pairs, reasons)

    kept, reasons, histogram = keep_one_correct(samples, seed=0)
    assert sorted(k["item_id"] for k in kept) == ["allgood", "mixed"]
    assert {k["item_id"]: k["pass_rate"] for k in kept} == {"allgood": 1.0, "mixed": 0.5}
    assert all(k["completion"][0]["content"].endswith(("[[A]]", "[[B]]")) for k in kept)
    assert next(k for k in kept if k["item_id"] == "mixed")["completion"][0]["content"].endswith("[[A]]")
    assert reasons == Counter(no_correct_sample=1)
    assert histogram == {"0/4": 1, "2/4": 1, "4/4": 1}


class ScriptedBackend(GenerationBackend):
    """Answers from a script, and records what it was asked (to check the verdict-cue continuation)."""

    def __init__(self, first, second):
        self.replies, self.calls = [first, second], []

    def generate(self, conversations, params):
        self.calls.append((conversations, params))
        texts = self.replies[len(self.calls) - 1]
        return [[Completion(texts[i], 3, "stop")] for i in range(len(conversations))]


def test_sample_judgments_continues_after_the_verdict_cue():
    prompts = [{"item_id": f"i{n}", "order": "original", "label": "A", "template_id": "t",
                "messages": [{"role": "user", "content": f"judge {n}"}]} for n in range(3)]
    backend = ScriptedBackend(["A is right.\n[[A]]", "B is right. ", "both [[A]] [[B]]"], ["B]] if [[A]]"])
    out = sample_judgments(backend, prompts, SamplingParams(max_new_tokens=50, seed=3), "\nVerdict: [[", "m")
    assert [j["verdict"] for j in out] == ["A", "B", None]
    assert [j["correct"] for j in out] == [True, False, False]
    assert out[1]["text"] == "B is right.\nVerdict: [[B]]" and out[1]["cue_used"], "cut after the closing ]]"
    assert out[2]["parse_error"] == "conflicting_verdicts" and not out[2]["cue_used"]
    continued, params = backend.calls[1]
    assert continued == [[{"role": "user", "content": "judge 1"},
                          {"role": "assistant", "content": "B is right.\nVerdict: [["}]]
    assert params.n == 1 and params.max_new_tokens == 4
    strict = sample_judgments(ScriptedBackend(["B is right. "], []), prompts[:1], SamplingParams(), None, "m")
    assert strict[0]["parse_error"] == "no_verdict"


def test_curriculum_orders_by_pass_rate_easiest_first():
    examples = [{"item_id": f"i{n}", "pass_rate": rate} for n, rate in enumerate([0.25, 1.0, 0.5, 1.0, 0.75, 0.25])]
    ordered = curriculum_order(examples, seed=0)
    assert [e["pass_rate"] for e in ordered] == [1.0, 1.0, 0.75, 0.5, 0.25, 0.25]
    assert ordered == curriculum_order(examples, seed=0)
    assert sorted(e["item_id"] for e in ordered) == sorted(e["item_id"] for e in examples)
    ties = {tuple(e["item_id"] for e in curriculum_order(examples, seed=s)[:2]) for s in range(20)}
    assert ties == {("i1", "i3"), ("i3", "i1")}, "ties are broken by the seed, not by input order"
    assert sorted(map(str, shuffled(examples, 1))) == sorted(map(str, examples))


def test_direct_judgment_conversion():
    items = {f"q{n}": {"id": f"q{n}", "question": f"{n}+{n}?", "chosen": f"{2 * n}", "rejected": f"{2 * n + 1}"}
             for n in range(10)}
    examples = []
    for item_id, item in items.items():
        prompt = judge_prompt(item, "swapped", "pairwise_critique_en", seed=4)
        examples.append({"item_id": item_id, "order": "swapped", "prompt": prompt["messages"], "pass_rate": 1.0,
                         "completion": [{"role": "assistant", "content": f"Long critique.\n[[{prompt['label']}]]"}]})
    out = to_direct_judgments(examples, items, share=0.3, template_id="pairwise_direct_en", prompt_seed=4, seed=9)
    direct = [e for e in out if e["protocol"] == "direct"]
    assert len(direct) == 3 and len(out) == 10
    assert [e["item_id"] for e in out] == [e["item_id"] for e in examples], "order is kept"
    for example in direct:
        label = judge_prompt(items[example["item_id"]], "swapped", "pairwise_direct_en", 4)["label"]
        assert example["completion"][0]["content"] == f"[[{label}]]"
        assert "verdict only" in example["prompt"][-1]["content"]
    assert all(e["completion"][0]["content"].startswith("Long critique") for e in out if e["protocol"] == "critique")
    assert to_direct_judgments(examples, items, 0.0, "pairwise_direct_en", 4, 9) == [
        {**e, "protocol": "critique"} for e in examples]
    wrong = [{**examples[0], "completion": [{"role": "assistant", "content": "[[A]] [[B]]"}]}]
    import pytest
    with pytest.raises(ValueError, match="only correct judgments"):
        to_direct_judgments(wrong, items, 1.0, "pairwise_direct_en", 4, 9)
    with pytest.raises(ValueError, match="only correct judgments"):
        to_direct_judgments(examples, items, 1.0, "pairwise_direct_en", prompt_seed=5, seed=9)


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
    even, even_counts = draw_rollout_batches(items, {"pairwise": 4, "step_level": 3, "single_rating": 3}, 2, 1)
    assert even_counts == {f"rollout_{r}": {"pairwise": 20, "single_rating": 15, "step_level": 15} for r in (1, 2)}
    import pytest
    with pytest.raises(ValueError, match=r"share to \['ref_verification'\] but the rollout pool has no such"):
        draw_rollout_batches(items, {**ratio, "ref_verification": 0.1}, 3, 1)
    with pytest.raises(ValueError, match="no share in data.task_ratio"):
        draw_rollout_batches(items, {"pairwise": 1.0}, 3, 1)
    with pytest.raises(ValueError, match="too small for 200 rounds"):
        draw_rollout_batches(items, ratio, 200, 1)
    assert {i["split"] for i in draw_rollout_batches(items, ratio, 0, 1)[0]} == {"rollout_unused"}
