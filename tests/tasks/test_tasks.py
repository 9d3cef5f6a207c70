"""The task-type registry (issue 12): a sixth task type, defined here as a toy in one place (a TaskType and one
template), goes through every step of the pipeline that reads task types: config check, item building, prompt
rendering, verdict parsing, the tiny model's corpus, metrics, the paired comparison, the shortcut baselines and
the report's headline tables. Nothing outside this file is edited for it."""

import copy
import random

import numpy as np
import pandas as pd
import pytest

from judgeflow import tasks
from judgeflow.core.config_checks import validate_config
from judgeflow.data.questions import synthetic_arithmetic
from judgeflow.evaluation import metrics, report
from judgeflow.evaluation.bootstrap import Resamples, fill, mean_stat, token_stats
from judgeflow.judge.critiques import NoCritique, critique
from judgeflow.judge.judging import orders_for, prompts_for
from judgeflow.judge.templates import Template, judge_prompt, register_template, unregister_template
from judgeflow.models.tiny import tiny_corpus
from judgeflow.tasks.base import TaskType, item_base, item_field, single_order
from judgeflow.tasks.items import question_items
from judgeflow.tasks.verdicts import format_verdict, is_correct, parse_verdict

TOY = "toy_harm"
LABELS = ("safe", "harmful")


def _render(item, order, template, seed):
    single_order(item, order, TOY)
    label = item_field(item, "label", str)
    if label not in LABELS:
        raise ValueError(f"item {item['id']!r}: field 'label' must be one of {LABELS}")
    return {"question": item_field(item, "question", str), "response": item_field(item, "response", str)}, label, {}


def _read_tag(token, verdict_args):
    return (token, None) if token in LABELS else (None, "unknown_tag")


def _block(items, samples, confidence, seed):
    correct = np.array([bool(item.main()["correct"]) for item in items], dtype=float)
    out = {"items": len(items)}
    resamples = Resamples(len(items), samples, seed)
    fill(out, "accuracy", resamples, mean_stat(correct), confidence, "no items")
    token_stats(out, items, resamples, confidence)
    return out


def _build(record, candidates, slips, rng):
    if not candidates:
        return "no_response"
    picked = rng.choice(candidates)
    return {**item_base(record, TOY), "response": picked["text"], "label": "safe" if picked["correct"] else "harmful"}


TOY_TASK = TaskType(
    name=TOY, description="is the response harmless: [[safe]] or [[harmful]]", fields=("question", "response"),
    render=_render, read_tag=_read_tag, build=_build, metric_block=_block,
    item_stats=lambda items: {"accuracy": mean_stat(np.array([bool(i.main()["correct"]) for i in items], float))},
    primary_metric="accuracy", paired_metrics=("accuracy",), table_metrics=("accuracy",),
    table_title="Toy harm check", tiny_fields=lambda ctx: {"response": ctx["response"], "label": "safe"},
    random_verdict=lambda rng, ctx: rng.choice(LABELS))
TOY_TEMPLATE = Template(
    "toy_harm_en", TOY, "critique", "en", "safety reviewer", ("harm",), "prose", "critique-then-verdict",
    user="Is this response to the question harmless?\n\n[Question]\n{question}\n\n[Response]\n{response}\n\n"
         "Explain briefly, then write [[safe]] or [[harmful]].")


@pytest.fixture
def toy():
    tasks.register(TOY_TASK)
    register_template(TOY_TEMPLATE)
    yield TOY_TASK
    unregister_template(TOY_TEMPLATE.id)
    tasks.unregister(TOY)


def _record():
    return {**synthetic_arithmetic("arith", 1, 2, 2, 9, seed=5)[0], "split": "seed"}


def _responses():
    return [{"id": "m-0", "text": "The answer is 5.", "generator": "m", "correct": True},
            {"id": "m-1", "text": "The answer is 6.", "generator": "m", "correct": False}]


def test_the_shipped_registry():
    assert tasks.names() == ("pairwise", "step_level", "ref_verification", "ref_free_verification", "single_rating")
    assert tasks.get("pairwise").orders == ("original", "swapped")
    assert all(tasks.get(name).orders == ("original",) for name in tasks.names()[1:])
    assert tasks.binary_tasks() == ("ref_verification", "ref_free_verification")
    with pytest.raises(ValueError, match="unknown task type 'nope'; known: pairwise"):
        tasks.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        tasks.register(tasks.get("pairwise"))


def test_a_sixth_task_type_registered_in_one_place_runs_through_the_pipeline(toy, test_config):
    # config: the task mix may give it a share (the schema leaves task names to the registry)
    config = copy.deepcopy(test_config)
    config["data"]["task_ratio"][TOY] = 0.2
    config["judge"]["templates"] = config["judge"]["templates"] + [TOY_TEMPLATE.id]
    config["rollout"]["direct_judgment_share"] = 0.0
    validate_config(config)
    config["data"]["task_ratio"]["not_a_task"] = 0.1
    with pytest.raises(Exception, match="'data.task_ratio.not_a_task': unknown task type"):
        validate_config(config)

    # items: its builder runs after the shipped ones, whose seeded draws (and so items) do not change
    with_toy, _ = question_items(_record(), _responses(), True, 1, seed=3)
    tasks.unregister(TOY)
    without, _ = question_items(_record(), _responses(), True, 1, seed=3)
    tasks.register(TOY_TASK)
    assert with_toy[:-1] == without and with_toy[-1]["task_type"] == TOY
    item = with_toy[-1]

    # prompts and verdicts
    assert orders_for(item) == ("original",)
    prompt = judge_prompt(item, "original", TOY_TEMPLATE.id, seed=3)
    assert prompt["label"] == item["label"] and "[Response]\n" + item["response"] in prompt["messages"][-1]["content"]
    assert [p["template_id"] for p in prompts_for([item], [TOY_TEMPLATE.id], seed=3)] == [TOY_TEMPLATE.id]
    assert parse_verdict("fine. [[safe]]", TOY).verdict == "safe"
    assert parse_verdict("[[maybe]]", TOY).error == "unknown_tag"
    assert parse_verdict("[[safe]] [[harmful]]", TOY).error == "conflicting_verdicts"
    assert format_verdict(TOY, "harmful") == "[[harmful]]" and is_correct(TOY, "safe", "safe")
    with pytest.raises(NoCritique, match=f"no_programmatic_critique_for_{TOY}"):  # the programmatic teacher skips it
        critique(prompt, item)

    # the tiny model's format corpus judges it too
    corpus = tiny_corpus({**test_config["models"]["tiny-judge"]["tiny"], "corpus_questions": 2}, config)
    assert any("Is this response to the question harmless?" in turn["content"] for conv in corpus for turn in conv)

    # metrics, the paired comparison, baselines, the report's table
    rng = random.Random(0)
    judgments = []
    for k in range(6):
        label = LABELS[k % 2]
        verdict = label if k != 5 else LABELS[(k + 1) % 2]
        judgments.append({"item_id": f"i{k}", "order": "original", "task_type": TOY, "label": label,
                          "verdict": verdict, "parse_error": None, "correct": verdict == label,
                          "num_tokens": rng.randint(5, 9), "model": "sft"})
    result = metrics.task_metrics(judgments, 200, 0.9, seed=1)
    block = result["tasks"][TOY]
    assert block["primary_metric"] == "accuracy" and block["accuracy"] == pytest.approx(5 / 6)
    assert {row["metric"] for row in metrics.tidy(result)} >= {"accuracy", "tokens_per_item"}
    base = [{**j, "verdict": "safe", "correct": j["label"] == "safe", "model": "base"} for j in judgments]
    (row,) = metrics.paired_comparison(judgments, base, 200, 0.9, seed=1)
    assert row["task_type"] == TOY and row["delta"] == pytest.approx(5 / 6 - 1 / 2)
    constant = metrics.baseline_judgments(judgments)["constant"]
    assert {j["verdict"] for j in constant} == {"safe"}  # the commonest label (a tie: the larger string)
    rows = pd.DataFrame([{**r, "benchmark": "heldout", "model": "sft"} for r in metrics.tidy(result)])
    tables = report.headline_tables(rows)
    assert [t["title"] for t in tables] == ["Toy harm check"] and tables[0]["metrics"] == ["accuracy"]
