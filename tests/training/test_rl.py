"""RL for judges (GRPO with the verdict reward, plain and EIS grouping) and the scalar reward-model baseline,
on hand-made completions and the tiny model (seconds)."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from judgeflow.evaluation import bootstrap, metrics
from judgeflow.tasks.pairwise import order_label
from judgeflow.training import rl, score_conversations, train_rl, train_rm

REWARD = {"correct": 1.0, "wrong": 0.0, "parse_error": -0.5, "format": 0.0}
POOL = ["pairwise_critique_en", "ref_free_verification_critique_en"]
TCFG = {"epochs": 1, "learning_rate": 1e-3, "batch_size": 4, "gradient_accumulation_steps": 1, "max_length": 1024,
        "lr_scheduler": "constant", "warmup_ratio": 0.0, "precision": "float32", "checkpoint_steps": 0,
        "lora": {"enabled": False}}


def _pair(k):
    return {"id": f"p{k}", "task_type": "pairwise", "question": f"What is {k} + {k}?", "chosen": f"It is {2 * k}.",
            "rejected": f"It is {2 * k + 1}.", "domain": "math", "source": "hand", "split": "seed"}


def _verification(k):
    return {"id": f"v{k}", "task_type": "ref_free_verification", "question": f"What is {k} x 2?",
            "response": f"{2 * k}", "label": "yes", "domain": "math", "source": "hand", "split": "seed"}


def _rlcfg(grouping, num_generations=2):
    # 24 tokens, as config/test.yaml: room for a critique-then-verdict ("Checked the ... item.\nVerdict: [[A]]");
    # at 8 the tiny model's completions were all cut before a verdict tag (all parse errors, no signal)
    return {"grouping": grouping, "num_generations": num_generations, "max_completion_length": 24,
            "sampling": {"temperature": 1.0, "top_p": 1.0}, "beta": 0.0, "loss_type": "dapo",
            "scale_rewards": "group", "reward": REWARD, "vllm": {"enabled": False}, "training": TCFG}


def test_verdict_reward_on_hand_made_completions():
    pairwise = ("pairwise", "A", {"allows_tie": False})
    assert rl.judge_reward("A is right. [[A]]", *pairwise, REWARD) == 1.0
    assert rl.judge_reward("[[B]]", *pairwise, REWARD) == 0.0
    for broken in ("Response A is better", "[[A]] no wait [[B]]", "[[C]]", "[[a]]", ""):
        assert rl.judge_reward(broken, *pairwise, REWARD) == -0.5, broken
    assert rl.judge_reward("[[none]]", "step_level", 0, {"num_steps": 3}, REWARD) == 1.0
    assert rl.judge_reward("[[4]]", "step_level", 2, {"num_steps": 3}, REWARD) == -0.5  # out of range
    assert rl.judge_reward("[[4]]", "single_rating", 4, {"scale": [1, 5]}, REWARD) == 1.0
    assert rl.judge_reward("[[yes]]", "ref_verification", "no", {}, REWARD) == 0.0
    # the format reward: a parsed verdict after some critique
    assert rl.format_reward("Checked both. [[B]]", "pairwise", {"allows_tie": False}, 0.2) == 0.2
    assert rl.format_reward("[[B]]", "pairwise", {"allows_tie": False}, 0.2) == 0.0
    assert rl.format_reward("Checked. [[Q]]", "pairwise", {"allows_tie": False}, 0.2) == 0.0
    # the callables GRPOTrainer gets: conversational completions, dataset columns as keyword lists
    funcs = rl.reward_functions({**REWARD, "format": 0.2})
    assert [f.__name__ for f in funcs] == ["verdict_reward", "critique_format_reward"]
    completions = [[{"role": "assistant", "content": text}] for text in ("ok [[A]]", "[[B]]", "none")]
    kwargs = {"task_type": ["pairwise"] * 3, "label": [json.dumps("A")] * 3,
              "verdict_args": [json.dumps({"allows_tie": False})] * 3}
    assert funcs[0](prompts=[None] * 3, completions=completions, **kwargs) == [1.0, 0.0, -0.5]
    assert funcs[1](prompts=[None] * 3, completions=completions, **kwargs) == [0.2, 0.0, 0.0]
    assert len(rl.reward_functions(REWARD)) == 1


def test_rows_hold_both_orders_of_a_pair_adjacent():
    rows = rl.rl_rows([_pair(1), _verification(2)], POOL, seed=0)
    assert [(r["group"], r["order"]) for r in rows] == [("p1", "original"), ("p1", "swapped"),
                                                         ("v2", "original"), ("v2", "original")]
    labels = [json.loads(r["label"]) for r in rows]
    assert sorted(labels[:2]) == ["A", "B"] and labels[2:] == ["yes", "yes"]
    kept, left = rl.cap_items([_pair(k) for k in range(5)], 3, seed=0)
    assert len(kept) == 3 and left == 2 and kept == rl.cap_items([_pair(k) for k in range(5)], 3, seed=0)[0]


def test_eis_advantage_is_computed_across_both_orders():
    # one pairwise item, G = 2: the judge is right twice in the original order and wrong twice when swapped
    rewards = torch.tensor([1.0, 1.0, 0.0, 0.0])
    eis = rl.grouped_advantages(rewards, ["p", "p", "p", "p"])
    std = torch.tensor([1.0, 1.0, 0.0, 0.0]).std()  # Bessel-corrected, as TRL
    assert torch.allclose(eis, torch.tensor([0.5, 0.5, -0.5, -0.5]) / (std + 1e-4))
    # plain grouping (each order its own group): no signal at all, since each group is constant
    plain = rl.grouped_advantages(rewards, ["p:original", "p:original", "p:swapped", "p:swapped"])
    assert torch.equal(plain, torch.zeros(4))
    # with groups of G consecutive completions it is TRL's own formula
    rewards = torch.tensor([1.0, 0.0, -0.5, 1.0, 0.0, 0.0])
    grouped = rewards.view(-1, 2)
    expected = ((grouped - grouped.mean(1, keepdim=True))
                / (grouped.std(1, keepdim=True).nan_to_num(0) + 1e-4)).view(-1)
    assert torch.allclose(rl.grouped_advantages(rewards, [0, 0, 1, 1, 2, 2]), expected)
    assert torch.allclose(rl.grouped_advantages(rewards, [0, 0, 1, 1, 2, 2], "none"),
                          (grouped - grouped.mean(1, keepdim=True)).view(-1))


def test_paired_sampler_keeps_both_rows_of_an_item_in_one_generation_batch():
    sampler = rl.PairedRepeatSampler(list(range(10)), mini_repeat_count=2, batch_size=4, repeat_count=1, seed=3)
    order = list(sampler)
    assert len(order) == len(sampler) == 2 * 4 * 2  # two full batches of 4 rows; the fifth item is left over
    for start in range(0, len(order), 8):
        batch = order[start:start + 8]
        rows = batch[::2]
        assert batch[1::2] == rows  # each row repeated num_generations times in a row
        assert all(rows[i] // 2 == rows[i + 1] // 2 and rows[i] % 2 == 0 for i in (0, 2)), rows
    with pytest.raises(ValueError, match="even"):
        rl.PairedRepeatSampler(list(range(10)), 2, batch_size=3)


def _weights(folder):
    return load_file(f"{folder}/model.safetensors")


@pytest.mark.parametrize("grouping", ["plain", "eis"])
def test_grpo_two_steps_change_the_weights_and_write_a_summary(tiny_model_dir, tmp_path, grouping):
    # 4 rows x 4 generations = 2 batches of 8 completions (one EIS group of 8 or two plain groups of 4 per step).
    # The tiny model (format pre-training only) at temperature 1 writes no valid pairwise verdict (16 of 16
    # samples on these pairs were parse errors, so every pairwise group is constant); on the verification item
    # it writes [[yes]] / [[no]] / broken tags, so that item's group has rewards of 1, 0 and -0.5
    rows = rl.rl_rows([_pair(1), _verification(2)], POOL, seed=0)
    result = train_rl(tiny_model_dir, rows, tmp_path / "rl",
                      {**_rlcfg(grouping, num_generations=4), "training": {**TCFG, "batch_size": 8}}, seed=0)
    assert result["steps"] == 2 and result["grouping"] == grouping and result["items_trained"] == 2
    assert result["first_reward"] is not None and result["first_loss"] is not None
    print("rewards per step", result["step_rewards"], "std", result["step_reward_std"],
          "share of groups with zero std", result["step_frac_groups_zero_std"])
    assert len(result["step_frac_groups_zero_std"]) == 2
    # some group had completions of different rewards (else every advantage is 0 and, with beta 0, so is the
    # gradient): the premise of the weight check below
    assert min(result["step_frac_groups_zero_std"]) < 1 and max(result["step_reward_std"]) > 0
    before, after = _weights(tiny_model_dir), _weights(tmp_path / "rl")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert not (tmp_path / "rl.work").exists()


def test_eis_needs_whole_items_in_a_generation_batch(tiny_model_dir, tmp_path):
    rows = rl.rl_rows([_pair(1), _pair(2)], POOL, seed=0)
    with pytest.raises(ValueError, match="2 x num_generations"):
        train_rl(tiny_model_dir, rows, tmp_path / "rl", {**_rlcfg("eis"), "training": {**TCFG, "batch_size": 2}}, 0)


def test_reward_model_trains_scores_and_its_judgments_feed_the_metrics(tiny_model_dir, tmp_path):
    items = [_pair(k) for k in range(6)]
    pairs, reasons = rl.rm_pairs(items, seed=0)
    assert not reasons
    result = train_rm(tiny_model_dir, pairs, tmp_path / "rm", {**TCFG, "batch_size": 2}, seed=0)
    assert result["steps"] == 3 and result["pairs_trained"] == 6
    config = json.loads((tmp_path / "rm" / "config.json").read_text())
    # transformers derives num_labels from id2label and does not write it to config.json
    assert len(config["id2label"]) == 1 and config["architectures"] == ["LlamaForSequenceClassification"]
    assert config["pad_token_id"] is not None
    conversations = [rl.rm_conversation(i, side) for i in items for side in (i["chosen"], i["rejected"])]
    scores = score_conversations(tmp_path / "rm", conversations, max_length=512, batch_size=3)
    assert len(scores) == 12 and len(set(scores)) > 1
    # batching and padding do not change a score
    alone = score_conversations(tmp_path / "rm", conversations[:1], max_length=512)
    assert alone[0] == pytest.approx(scores[0], abs=1e-4)

    rewards = {i["id"]: (scores[2 * k], scores[2 * k + 1]) for k, i in enumerate(items)}
    rewards["p0"] = (0.3, 0.3)  # equal rewards: a tie verdict
    from judgeflow.judge.judging import prompts_for

    judgments = rl.rm_judgments(prompts_for(items, POOL, seed=0), rewards, seed=0)
    assert len(judgments) == 12 and all(j["model"] == "rm" and j["parse_error"] is None for j in judgments)
    for item in items[1:]:
        chosen_wins = rewards[item["id"]][0] > rewards[item["id"]][1]
        pair = [j for j in judgments if j["item_id"] == item["id"]]
        for judgment in pair:
            assert judgment["correct"] == chosen_wins
            shown_first = order_label(item["id"], 0) if judgment["order"] == "original" else \
                {"A": "B", "B": "A"}[order_label(item["id"], 0)]
            assert (judgment["reward_a"] == rewards[item["id"]][0]) == (shown_first == "A")
    tie = [j for j in judgments if j["item_id"] == "p0"]
    assert {j["verdict"] for j in tie} == {"tie"} and not any(j["correct"] for j in tie)
    result = metrics.task_metrics(judgments, 50, 0.95, 0)
    block = result["tasks"]["pairwise"]
    # both orders identical by construction; metrics counts a pair consistent only when it prefers one response
    # (A/B flipping with the swap), so p0's tie in both orders is not: 5 of 6
    assert block["consistency"] == pytest.approx(5 / 6)
    assert block["accuracy"] == pytest.approx(sum(j["correct"] for j in judgments) / 12)
    assert block["rewardbench_score"] == pytest.approx((sum(j["correct"] for j in judgments) + 0.5 * 2) / 12)
    assert set(result["tasks"]) == {"pairwise"}



def _check(k, task_type, label, question=None):
    """A verification item; items of one `question` share it (a loaded dataset may give several per question)."""
    item = {"id": f"{'f' if task_type == 'ref_free_verification' else 'r'}{k}", "task_type": task_type,
            "question": question or f"What is {k} + 1?", "response": f"It is {k + 1 if label == 'yes' else k + 2}.",
            "label": label, "domain": "math", "source": "hand", "split": "seed"}
    if task_type == "ref_verification":
        item["reference"] = str(k + 1)
    return item


def test_rm_conversation_adds_the_reference_and_keeps_pairwise_as_it_was():
    pair = _pair(3)
    assert rl.rm_conversation(pair, pair["chosen"]) == [{"role": "user", "content": "What is 3 + 3?"},
                                                        {"role": "assistant", "content": "It is 6."}]
    ref = _check(4, "ref_verification", "yes")
    assert rl.rm_conversation(ref) == [{"role": "user", "content": "What is 4 + 1?\n\nReference answer: 5"},
                                       {"role": "assistant", "content": "It is 5."}]
    free = _check(4, "ref_free_verification", "no")
    assert rl.rm_conversation(free) == [{"role": "user", "content": "What is 4 + 1?"},
                                        {"role": "assistant", "content": "It is 6."}]


def test_rm_pairs_match_yes_with_no_same_question_first_seeded():
    ref = "ref_verification"
    items = [_pair(1), {**_pair(2), "tie": True},
             _check(1, ref, "yes", "Q1"), _check(2, ref, "no", "Q1"),  # one question, both classes
             _check(3, ref, "yes", "Q2"), _check(4, ref, "yes", "Q3"), _check(5, ref, "no", "Q4"),
             _check(6, ref, "yes", "Q5"), _check(7, ref, "no", "Q5"),
             _check(8, "ref_free_verification", "yes"), _check(9, "step_level", "yes")]
    pairs, reasons = rl.rm_pairs(items, seed=0)
    # the tie is left out; 4 yes vs 3 no give 3 pairs and one left over; the one reference-free item has no partner
    assert reasons == {"tie": 1, "unpaired": 2}
    assert [p["task_type"] for p in pairs] == ["pairwise"] + [ref] * 3
    assert pairs[0]["chosen"] == rl.rm_conversation(items[0], items[0]["chosen"])
    assert pairs[0]["rejected"] == rl.rm_conversation(items[0], items[0]["rejected"])
    matched = [(p["chosen_item_id"], p["rejected_item_id"]) for p in pairs[1:]]
    assert sorted(matched[:2]) == [("r1", "r2"), ("r6", "r7")]  # the same-question pairs come first
    assert matched[2][1] == "r5" and matched[2][0] in ("r3", "r4")
    by_id = {i["id"]: i for i in items}
    for pair in pairs[1:]:
        assert pair["chosen"] == rl.rm_conversation(by_id[pair["chosen_item_id"]])
        assert pair["rejected"] == rl.rm_conversation(by_id[pair["rejected_item_id"]])
    # seeded: the same pairs whatever the input order; another seed may match the left-over items differently
    assert rl.rm_pairs(list(reversed(items)), seed=0)[0][1:] == pairs[1:]
    partners = {rl.rm_pairs(items, seed=s)[0][3]["chosen_item_id"] for s in range(10)}
    assert partners == {"r3", "r4"}
    # min(#yes, #no) pairs per task type
    many = [_check(k, ref, "yes" if k % 3 else "no") for k in range(12)]
    pairs, reasons = rl.rm_pairs(many, seed=1)
    assert len(pairs) == 4 and reasons == {"unpaired": 4}
    assert {p["rejected_item_id"] for p in pairs} == {i["id"] for i in many if i["label"] == "no"}


def test_rm_threshold_best_balanced_accuracy_by_hand():
    # sorted: 0.1 no, 0.2 no, 0.5 yes, 0.7 no, 0.9 yes; the midpoints and their balanced accuracy:
    # 0.15: (2/2 + 1/3) / 2 = 2/3; 0.35: (1 + 2/3) / 2 = 5/6; 0.6: (1/2 + 2/3) / 2 = 7/12; 0.8: (1/2 + 1) / 2 = 3/4
    threshold, balanced = rl.rm_threshold([0.2, 0.9, 0.5, 0.1, 0.7], ["no", "yes", "yes", "no", "no"])
    assert threshold == pytest.approx(0.35) and balanced == pytest.approx(5 / 6)
    assert rl.rm_threshold([-1.0, -2.0, 3.0, 5.0], ["no", "no", "yes", "yes"]) == (1.0, 1.0)
    # ties: no yes no yes no yes at rewards 1..6; 1.5, 3.5 and 5.5 all give 2/3: the middle one (3 of 6 below)
    threshold, balanced = rl.rm_threshold([1, 2, 3, 4, 5, 6], ["no", "yes"] * 3)
    assert threshold == 3.5 and balanced == pytest.approx(2 / 3)
    # 0.1 no, 0.35 yes, 0.4 no, 0.8 yes: 0.225 and 0.6 both give 3/4, each one item off the middle: the lower
    assert rl.rm_threshold([0.1, 0.4, 0.35, 0.8], ["no", "no", "yes", "yes"]) == (pytest.approx(0.225), 0.75)
    # equal rewards are one value: 0.5 (1 yes, 2 no) | 0.9 (yes) -> 0.7, (1/2 + 1) / 2
    assert rl.rm_threshold([0.5, 0.5, 0.5, 0.9], ["no", "yes", "no", "yes"]) == (pytest.approx(0.7), 0.75)
    with pytest.raises(ValueError, match="needs 'yes' and 'no' items"):
        rl.rm_threshold([0.1, 0.2], ["yes", "yes"])
    with pytest.raises(ValueError, match="two distinct rewards"):
        rl.rm_threshold([0.3, 0.3], ["yes", "no"])
    # per task type, as train_rm's summary records them
    items = [_check(k, "ref_verification", label) for k, label in enumerate(["no", "yes", "yes", "no"])]
    assert rl.rm_thresholds(items, [0.0, 2.0, 1.0, 3.0]) == {
        "thresholds": {"ref_verification": 0.5}, "threshold_balanced_accuracy": {"ref_verification": 0.75},
        "threshold_items": {"ref_verification": 4}}


def test_roc_auc_by_hand_and_against_all_pairs():
    # yes at 0.35 and 0.8, no at 0.1 and 0.4: 3 of the 4 (yes, no) pairs ordered right
    assert bootstrap.roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    # equal rewards count 1/2: yes {1, 2} vs no {1, 0} -> (0.5 + 1 + 1 + 1) / 4
    assert bootstrap.roc_auc([1, 1, 2, 0], [True, False, True, False]) == 0.875
    assert bootstrap.roc_auc([3, 2, 1], [True, True, False]) == 1.0
    assert bootstrap.roc_auc([1, 2], [True, True]) is None and bootstrap.roc_auc([], []) is None
    rng = np.random.default_rng(0)
    scores, positive = rng.integers(0, 5, 40).astype(float), rng.random(40) < 0.4
    pairs = [(s, t) for s, p in zip(scores, positive) if p for t, q in zip(scores, positive) if not q]
    brute = sum(1.0 if s > t else 0.5 if s == t else 0.0 for s, t in pairs) / len(pairs)
    assert bootstrap.roc_auc(scores, positive) == pytest.approx(brute)
    # a bootstrap resample (items drawn with repeats) scores as the list of the drawn items would
    idx = rng.integers(0, 40, (3, 40))
    resampled = bootstrap.auc_stat(scores, positive)(idx)
    assert resampled == pytest.approx([bootstrap.roc_auc(scores[row], positive[row]) for row in idx])


def test_rm_verification_judgments_take_the_verdict_from_reward_and_threshold():
    from judgeflow.judge.judging import prompts_for

    ref, free = "ref_verification", "ref_free_verification"
    items = [_check(k, ref, label) for k, label in enumerate(["yes", "yes", "no", "no", "yes"])]
    items += [_check(k, free, label) for k, label in enumerate(["yes", "no"])]
    rewards = {"r0": 0.9, "r1": -0.2, "r2": 0.1, "r3": -1.0, "r4": 0.0, "f0": 0.7, "f1": 0.2}
    thresholds = {ref: 0.0, free: 0.5}
    prompts = prompts_for(items, POOL + ["ref_verification_critique_en"], seed=0)
    judgments = rl.rm_verification_judgments(prompts, rewards, thresholds)
    verdicts = {j["item_id"]: j["verdict"] for j in judgments if j["task_type"] == ref}
    # "yes" only above the threshold: r4's reward equals it, so "no"
    assert verdicts == {"r0": "yes", "r1": "no", "r2": "yes", "r3": "no", "r4": "no"}
    for judgment in judgments:
        assert judgment["model"] == "rm" and judgment["parse_error"] is None and judgment["order"] == "original"
        assert judgment["correct"] == (judgment["verdict"] == judgment["label"])
        assert judgment["reward"] == rewards[judgment["item_id"]]
        assert judgment["threshold"] == thresholds[judgment["task_type"]]
        assert judgment["text"] == (f"reward = {judgment['reward']:.6f}, "
                                    f"threshold = {judgment['threshold']:.6f}")
    result = metrics.task_metrics(judgments, 50, 0.95, 0)
    block = result["tasks"][ref]
    # right: r0 and r3; wrong: r1, r2 and r4 -> 2 of 5; recall yes 1/3, no 1/2
    assert block["accuracy"] == pytest.approx(2 / 5)
    assert block["balanced_accuracy"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    # the ranking is threshold-free: yes {0.9, -0.2, 0.0} vs no {0.1, -1.0}: 4 of 6 pairs ordered right
    assert block["reward_roc_auc"] == pytest.approx(4 / 6) and len(block["reward_roc_auc_ci"]) == 2
    assert result["tasks"][free]["reward_roc_auc"] == 1.0 and result["tasks"][free]["accuracy"] == 1.0
    rows = [row for row in metrics.tidy(result) if row["metric"] == "reward_roc_auc"]
    assert {row["group"] for row in rows} == {ref, free}
    # a generative judge's judgments carry no reward: no reward_roc_auc
    plain = [{k: v for k, v in j.items() if k != "reward"} for j in judgments]
    assert "reward_roc_auc" not in metrics.task_metrics(plain, 50, 0.95, 0)["tasks"][ref]


def test_rm_stages_record_thresholds_and_judge_verification_items(tiny_model_dir, test_config, tmp_path):
    from judgeflow import models
    from judgeflow.core.config import deep_merge, select
    from judgeflow.core.records import read_json, read_jsonl, write_jsonl
    from judgeflow.core.variants import stage_keys
    from judgeflow.stages import common as common_stages
    from judgeflow.stages import rl as rl_stages

    ref = "ref_verification"
    step = {"task_type": "step_level", "steps": ["1 + 1 = 2"], "label": 0}
    seed = [_pair(k) for k in range(3)] + [{**_pair(3), "tie": True}, {**_check(20, ref, "no"), **step}]
    seed += [_check(k, ref, "yes" if k % 2 else "no") for k in range(7)]  # 3 yes, 4 no: 3 pairs, 1 left over
    bench = [_pair(10), _pair(11), _check(30, ref, "yes"), _check(31, ref, "no"), _check(32, ref, "yes"),
             _check(33, "ref_free_verification", "no"), {**_check(34, ref, "no"), **step}]
    items = tmp_path / "items.jsonl"
    write_jsonl(items, seed + [{**item, "split": "benchmark"} for item in bench])
    model = tmp_path / "models" / "rm"
    config = deep_merge(select(test_config, *stage_keys("train_rm")),
                        {"reward_model": {"training": {**TCFG, "batch_size": 2}}})
    rl_stages.train_rm(config=config, judge_items=items, init=tiny_model_dir, model=model,
                       summary=tmp_path / "rm.summary.json", log=tmp_path / "rm.log", threads=1)
    summary = read_json(tmp_path / "rm.summary.json")
    assert summary["items_in"] == 11 and summary["rejected"] == {"tie": 1, "unpaired": 1}
    assert summary["pairs_by_task"] == {"pairwise": 3, ref: 3} and summary["items_out"] == 6
    assert set(summary["thresholds"]) == {ref} and summary["threshold_items"] == {ref: 6}
    assert 0 < summary["threshold_balanced_accuracy"][ref] <= 1
    # the threshold lives in the summary: the model folder holds only what its checksum manifest lists
    assert models.verify_model_dir(model)
    assert {p.name for p in model.iterdir()} == set(models.read_checksums(model)) | {models.CHECKSUMS}

    config = select(test_config, *stage_keys("evaluate_rm"))
    out = tmp_path / "eval"
    rl_stages.evaluate_rm(config=config, benchmark="heldout", heldout=True, judge_items=items, model_dir=str(model),
                          rm_summary=tmp_path / "rm.summary.json", judgments=out / "judgments.jsonl",
                          metrics=out / "metrics.json", summary=out / "summary.json", log=out / "log", threads=1)
    # no threshold for reference-free verification (no seed item of it); step-level items get no rm verdict
    assert read_json(out / "summary.json")["rejected"] == {"no_threshold": 1, "not_scored": 1}
    judgments = read_jsonl(out / "judgments.jsonl")
    checks = [j for j in judgments if j["task_type"] == ref]
    assert len(judgments) == 2 * 2 + 3 and len(checks) == 3
    threshold = summary["thresholds"][ref]
    assert all(j["verdict"] == ("yes" if j["reward"] > threshold else "no") and j["threshold"] == threshold
               for j in checks)
    result = read_json(out / "metrics.json")
    assert set(result["tasks"]) == {"pairwise", ref} and result["thresholds"] == summary["thresholds"]
    assert result["tasks"][ref]["accuracy"] == pytest.approx(sum(j["correct"] for j in checks) / 3)
    assert result["tasks"][ref]["reward_roc_auc"] == bootstrap.roc_auc([j["reward"] for j in checks],
                                                                     [j["label"] == "yes" for j in checks])
    assert result["note"] == common_stages.RM_NOTE
    old = tmp_path / "old.summary.json"  # a reward model trained before the thresholds were recorded
    old.write_text(json.dumps({k: v for k, v in summary.items() if k != "thresholds"}))
    with pytest.raises(ValueError, match="records no reward thresholds"):
        rl_stages.evaluate_rm(config=config, benchmark="heldout", heldout=True, judge_items=items,
                              model_dir=str(model), rm_summary=old, judgments=out / "j.jsonl", metrics=out / "m.json",
                              summary=out / "s.json", log=out / "log", threads=1)

def test_config_selects_rl_and_rm_and_checks_groups(default_config, test_config):
    from judgeflow.core.config import ConfigError, deep_merge, final_model, stage_models
    from judgeflow.core.config_checks import validate_config
    from judgeflow.core.variants import build_variants, canonical

    assert stage_models(default_config) == ["base", "sft", "dpo", "round_1"]
    assert stage_models(test_config)[-2:] == ["rl", "rm"] and final_model(test_config) == "round_2"
    assert final_model(deep_merge(test_config, {"rl": {"init": "final"}})) == "rl"
    bad = deep_merge(test_config, {"rl": {"grouping": "eis", "training": {"batch_size": 6}}})
    with pytest.raises(ConfigError, match="2 x rl.num_generations"):
        validate_config(bad)
    with pytest.raises(ConfigError, match="reward_model.training.lora.merge"):
        validate_config(deep_merge(test_config, {"reward_model": {"training": {"lora": {"merge": False}}}}))
    with pytest.raises(ConfigError, match="rl is not trained"):
        build_variants(deep_merge(default_config, {"ablations": {"x": {
            "title": "x", "vary": {"rl.grouping": ["eis"]}, "models": ["rl"], "benchmark": "heldout", "plot": "bar",
            "metric": "accuracy"}}}))
    # the enhancement ablation: EIS re-runs GRPO only; the plain point is the main run of the test config
    variants = build_variants(test_config)
    eis = "enhancement.grouping=eis"
    assert variants[eis]["rl"]["grouping"] == "eis"
    assert canonical(variants, "enhancement.grouping=plain", "train_rl", "evaluate") == "main"
    assert canonical(variants, eis, "train_rl") == eis
    assert {canonical(variants, eis, s) for s in ("train_sft", "train_dpo", "rollout", "train_rm")} == {"main"}
    # from the default config, `set` turns rl and rm on for both grid points
    default_variants = build_variants(default_config)
    assert all(default_variants[f"enhancement.grouping={g}"]["reward_model"]["enabled"] for g in ("plain", "eis"))
