import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from judgeflow.core.records import read_json, write_json
from judgeflow.data import loaders
from judgeflow.evaluation import report
from judgeflow.evaluation.bootstrap import bootstrap_ci
from judgeflow.evaluation.metrics import sc_at_k, task_metrics, tidy
from judgeflow.tasks.pairwise import JUDGEBENCH_CATEGORIES, judgebench_category

B = 400  # bootstrap samples in these tests
FIXTURES = Path(__file__).parents[1] / "fixtures" / "datasets"


def _j(item, order, verdict, label, task_type=None, **extra):
    record = {"item_id": item, "order": order, "verdict": verdict, "label": label, "correct": verdict == label,
              "parse_error": None if verdict is not None else "no_verdict", **extra}
    if task_type:
        record["task_type"] = task_type
    return record


def _pair(item, original, swapped, label="A", **extra):
    """Both orders of a pairwise item; `label` is the chosen response's letter in the original order."""
    other = "B" if label == "A" else "A"
    return [_j(item, "original", original, label, "pairwise", **extra),
            _j(item, "swapped", swapped, other, "pairwise", **extra)]


def _single(item, verdict, label, task_type, **extra):
    return _j(item, "original", verdict, label, task_type, **extra)


def _inside(block, name):
    low, high = block[f"{name}_ci"]
    assert low <= block[name] <= high


JUDGMENTS = [
    _j("i1", "original", "A", "A"), _j("i1", "swapped", "B", "B"),   # correct both, consistent
    _j("i2", "original", "A", "A"), _j("i2", "swapped", "A", "B"),   # position bias: always A
    _j("i3", "original", None, "B"), _j("i3", "swapped", "B", "A"),  # parse error + wrong
    _j("i4", "original", "B", "A"), _j("i4", "swapped", "A", "B"),   # wrong in both, consistent
]


# ------------------------------------------------------------------------------- a whole pairwise run

PAIRWISE = [{**j, "task_type": "pairwise"} for j in JUDGMENTS]


def test_pairwise_block_by_hand():
    result = task_metrics(PAIRWISE, bootstrap_samples=1000, confidence=0.95, seed=0)["tasks"]["pairwise"]
    assert result["items"] == 4 and result["judgments"] == 8 and result["ties"] == 0
    assert result["accuracy"] == pytest.approx(3 / 8)
    assert result["consistent_accuracy"] == pytest.approx(1 / 4)
    assert result["consistency"] == pytest.approx(2 / 4)
    assert result["parse_error_rate"] == pytest.approx(1 / 8)
    # RewardBench-compatible: i1 1, i2 (1+0)/2, i3 (0.5 for the parse error + 0)/2, i4 0 -> 1.75/4
    assert result["rewardbench_score"] == pytest.approx(1.75 / 4)
    low, high = result["accuracy_ci"]
    assert 0 <= low <= 3 / 8 <= high <= 1


def test_pairwise_items_need_both_orders():
    with pytest.raises(ValueError, match="no judgment in order"):
        task_metrics(PAIRWISE[:3], 100, 0.95, 0)
    with pytest.raises(ValueError, match="two judgments in order"):
        task_metrics(PAIRWISE + [PAIRWISE[0]], 100, 0.95, 0)


def test_bootstrap_ci_behaves():
    values = np.array([1.0] * 30 + [0.0] * 70)
    low, high = bootstrap_ci(values, 4000, 0.95, seed=1)
    assert low < 0.3 < high
    assert 0.18 < low < 0.23 and 0.37 < high < 0.42  # normal approx: 0.3 +- 1.96*0.046
    assert bootstrap_ci(values, 4000, 0.95, seed=1) == (low, high)
    assert bootstrap_ci(np.ones(10), 500, 0.95, 0) == (1.0, 1.0)


def test_headline_table_orders_models_and_writes_tables(tmp_path):
    files = []
    for model in ("sft", "base"):  # written out of training order
        judgments = PAIRWISE if model == "base" else PAIRWISE[:4] + [
            _j("i3", "original", "B", "B", "pairwise"), _j("i3", "swapped", "A", "A", "pairwise")]
        result = task_metrics(judgments, 500, 0.95, 0)
        result.update(model=model, benchmark="heldout")
        files.append(tmp_path / f"{model}.json")
        write_json(files[-1], result)
    [entry] = report.headline_tables(report.tidy_frame(files))
    table = entry["table"]
    assert entry["kind"] == "pairwise" and table["model"].tolist() == ["base", "sft"]
    assert table.loc[0, "accuracy"] == pytest.approx(3 / 8)
    assert table.loc[1, "accuracy"] == pytest.approx(5 / 6)  # i1, i2 half, i3 both: (2 + 1 + 2) / 6
    # chosen shown first: i1 original (right), i2 original (right), i3 swapped (wrong), i4 original (wrong)
    assert table.loc[0, "accuracy_chosen_first"] == pytest.approx(2 / 4)
    report.write_headline_tables(report.tidy_frame(files), tmp_path / "t.md", tmp_path / "t.tex", "caption",
                                 label="tab:t")
    assert "| heldout | pairwise | sft | 0.833" in (tmp_path / "t.md").read_text()
    assert "\\toprule" in (tmp_path / "t.tex").read_text()


# ----------------------------------------------------------------------------------------- pairwise

def test_pairwise_parse_error_and_tie_by_hand():
    judgments = (_pair("p1", "A", "B")              # correct both, consistent: acc 1, rb 1
                 + _pair("p2", "A", "A")            # correct, then wrong: acc .5, rb .5
                 + _pair("p3", None, "B", "B")      # parse error (label B), then wrong (label A): acc 0, rb .25
                 + _pair("p4", "A", "B", tie=True))  # tied human label: left out, counted
    block = task_metrics(judgments, B, 0.95, 0)["tasks"]["pairwise"]
    assert block["items"] == 3 and block["ties"] == 1 and block["judgments"] == 6
    assert block["accuracy"] == pytest.approx((1 + 0.5 + 0) / 3)       # parse error counts wrong, not 0.5
    assert block["consistent_accuracy"] == pytest.approx(1 / 3)
    assert block["consistency"] == pytest.approx(1 / 3)
    assert block["parse_error_rate"] == pytest.approx(1 / 6)
    assert block["rewardbench_score"] == pytest.approx((1 + 0.5 + 0.25) / 3)  # parse error = 0.5
    assert "0.5" in block["rewardbench_score_note"] and block["primary_metric"] == "accuracy"
    for name in ("accuracy", "consistent_accuracy", "consistency", "parse_error_rate", "rewardbench_score"):
        _inside(block, name)
    assert "subsets" not in block and "human_agreement" in block  # a `tie` field asks for human agreement


def _rewardbench_fixture():
    judgments = []
    # math-prm: 2 items, all correct -> 1.0
    judgments += _pair("m1", "A", "B", subset="math-prm") + _pair("m2", "A", "B", subset="math-prm")
    # hep-python: 3 items, 1 correct, 2 wrong in both orders -> 1/3
    judgments += _pair("py1", "A", "B", subset="hep-python")
    judgments += _pair("py2", "B", "A", subset="hep-python") + _pair("py3", "B", "A", subset="hep-python")
    # hep-go: 1 item wrong -> 0
    judgments += _pair("go1", "B", "A", subset="hep-go")
    # alpacaeval-easy: accuracies 1 and 0.5 -> 0.75; mt-bench-easy: 1 item wrong -> 0
    judgments += _pair("ae1", "A", "B", subset="alpacaeval-easy") + _pair("ae2", "A", "A", subset="alpacaeval-easy")
    judgments += _pair("mt1", "B", "A", subset="mt-bench-easy")
    # llmbar-natural: its only item is a tie -> empty subset, Chat Hard has no scored item
    judgments += _pair("ll1", "A", "B", subset="llmbar-natural", tie=True)
    return judgments


def test_rewardbench_sections_and_reasoning_upweighting():
    block = task_metrics(_rewardbench_fixture(), B, 0.95, 0)["tasks"]["pairwise"]
    sections = block["sections"]
    assert sections["scheme"] == "rewardbench"
    # math-prm weighs as much as the code subsets together: 3 (hep-python) + 1 (hep-go) = 4
    assert sections["weights"]["math-prm"] == 4 and sections["weights"]["hep-python"] == 3
    # Reasoning = (4 * 1 + 3 * 1/3 + 1 * 0) / (4 + 3 + 1) = 5/8 (unweighted by math-prm's own count 2: 3/6)
    reasoning = sections["by_section"]["Reasoning"]
    assert reasoning["accuracy"] == pytest.approx(5 / 8)
    assert reasoning["items"] == 6 and reasoning["subsets_with_items"] == 3
    # Chat = (2 * 0.75 + 1 * 0) / 3
    assert sections["by_section"]["Chat"]["accuracy"] == pytest.approx(0.5)
    # Sections without scored items: no score, not 0, not a crash
    for name in ("Chat Hard", "Safety"):
        assert sections["by_section"][name]["items"] == 0
        assert sections["by_section"][name]["accuracy"] is None
        assert sections["by_section"][name]["accuracy_ci"] is None
    # overall = mean of the sections present = (0.5 + 0.625) / 2
    assert sections["overall"]["accuracy"] == pytest.approx(0.5625)
    _inside(sections["overall"], "accuracy")
    # per-subset blocks, empty ones included with count 0 and no score
    subsets = block["subsets"]
    assert subsets["hep-python"]["accuracy"] == pytest.approx(1 / 3) and subsets["hep-python"]["section"] == "Reasoning"
    assert subsets["llmbar-natural"]["items"] == 0 and subsets["llmbar-natural"]["ties"] == 1
    assert subsets["llmbar-natural"]["accuracy"] is None
    assert subsets["xstest-should-refuse"]["items"] == 0 and subsets["xstest-should-refuse"]["accuracy"] is None
    assert len(subsets) == 23
    # stratified resampling: a one-item subset has no spread, hep-go's accuracy interval is [0, 0]
    assert subsets["hep-go"]["accuracy_ci"] == [0.0, 0.0]
    json.dumps(block, allow_nan=False)


def test_user_subsets_use_the_same_path():
    judgments = (_pair("a1", "A", "B", subset="alpha") + _pair("a2", "B", "A", subset="alpha")
                 + _pair("b1", "A", "B", subset="beta"))
    block = task_metrics(judgments, B, 0.95, 0)["tasks"]["pairwise"]
    sections = block["sections"]
    assert sections["scheme"] == "subsets" and sections["by_section"] == {}
    # count-weighted: (2 * 0.5 + 1 * 1) / 3, which is the plain accuracy over all items
    assert sections["overall"]["accuracy"] == pytest.approx(2 / 3) == block["accuracy"]
    assert sections["weights"] == {"alpha": 2, "beta": 1}
    assert block["subsets"]["alpha"]["accuracy"] == 0.5 and block["subsets"]["beta"]["accuracy"] == 1.0


def _judgebench_fixture():
    """One pair per case; the JudgeBench total over both orders (right +1, wrong -1, tie/parse error 0) by hand."""
    return (_pair("k1", "A", "C", subset="mmlu-pro-law")              # right + tie: 1 -> correct
            + _pair("k2", "A", "B", subset="mmlu-pro-computer science")  # both right: 2 -> correct
            + _pair("r1", "A", "A", subset="livebench-reasoning")     # right + wrong: 0 -> not
            + _pair("r2", "B", "C", subset="livebench-reasoning")     # wrong + tie: -1 -> not
            + _pair("m1", "B", "A", subset="livebench-math")          # both wrong: -2 -> not
            + _pair("c1", None, None, subset="livecodebench")         # two parse errors: 0 -> not
            + _pair("c2", None, "B", subset="livecodebench"))         # parse error + right: 1 -> correct


def test_judgebench_official_score_by_hand():
    block = task_metrics(_judgebench_fixture(), B, 0.95, 0)["tasks"]["pairwise"]
    assert block["judgebench_items"] == 7
    assert (block["judgebench_pairs_correct"], block["judgebench_pairs_incorrect"],
            block["judgebench_pairs_zero"]) == (3, 2, 2)               # k1 k2 c2 | r2 m1 | r1 c1
    assert block["judgebench_score"] == pytest.approx(3 / 7)
    _inside(block, "judgebench_score")
    # the project's own numbers on the same pairs: a tie or parse error is wrong, half-right pairs count 0.5
    assert block["accuracy"] == pytest.approx((0.5 + 1 + 0.5 + 0 + 0 + 0 + 0.5) / 7)
    assert block["consistent_accuracy"] == pytest.approx(1 / 7)
    assert "> 0" in block["judgebench_score_note"]
    # per source subset, and per JudgeBench category (source prefix)
    assert block["subsets"]["livecodebench"]["judgebench_score"] == pytest.approx(1 / 2)
    assert "judgebench_score_note" not in block["subsets"]["livecodebench"]
    categories = block["judgebench_categories"]
    assert list(categories) == list(JUDGEBENCH_CATEGORIES)
    expected = {"knowledge": (2, 1.0), "reasoning": (2, 0.0), "math": (1, 0.0), "coding": (2, 0.5)}
    for name, (items, score) in expected.items():
        assert categories[name]["items"] == items and categories[name]["judgebench_score"] == pytest.approx(score)
    assert categories["knowledge"]["judgebench_score_ci"] == [1.0, 1.0]
    assert categories["coding"]["judgebench_pairs_zero"] == 1
    json.dumps(block, allow_nan=False)
    rows = pd.DataFrame(tidy(task_metrics(_judgebench_fixture(), B, 0.95, 0)))
    by_category = rows[(rows.scope == "judgebench_category") & (rows.metric == "judgebench_score")]
    assert by_category["name"].tolist() == ["knowledge", "reasoning", "math", "coding"]
    assert by_category["n"].tolist() == [2, 2, 1, 2]


def test_judgebench_score_only_for_judgebench_sources():
    # a category with no pairs: no score, a reason; non-JudgeBench pairs do not enter the JudgeBench score
    judgments = (_pair("k1", "A", "B", subset="mmlu-pro-law") + _pair("x1", "B", "A", subset="alpha")
                 + _pair("t1", "A", "B", subset="livebench-math", tie=True))
    block = task_metrics(judgments, B, 0.95, 0)["tasks"]["pairwise"]
    assert block["judgebench_items"] == 1 and block["judgebench_score"] == 1.0 and block["items"] == 2
    assert block["judgebench_categories"]["math"]["items"] == 0             # the tied pair is left out
    assert block["judgebench_categories"]["math"]["judgebench_score"] is None
    assert "livebench-math" in block["judgebench_categories"]["math"]["judgebench_score_reason"]
    assert "judgebench_score" not in block["subsets"]["alpha"]
    plain = task_metrics(_rewardbench_fixture(), B, 0.95, 0)["tasks"]["pairwise"]
    assert "judgebench_score" not in plain and "judgebench_categories" not in plain


def test_judgebench_categories_match_the_loader():
    records, _ = loaders.load_source({"name": "jb", "type": "judgebench",
                                      "path": str(FIXTURES / "judgebench.jsonl")}, seed=0)
    assert records
    for record in records:  # the loader keeps the row's source as the subset, and names its category
        assert judgebench_category(record["subset"]) == record.get("category")


def test_bias_report_by_hand():
    judgments = (_pair("b1", "A", "B", chosen_longer=True)     # first: right, second: right
                 + _pair("b2", "A", "A", chosen_longer=False)  # first: right, second: wrong
                 + _pair("b3", "B", "A", chosen_longer=True))  # first: wrong, second: wrong
    bias = task_metrics(judgments, B, 0.95, 0)["tasks"]["pairwise"]["bias"]
    # chosen shown first = the original order here (label A): b1, b2 right, b3 wrong -> 2/3; second: 1/3
    assert bias["accuracy_chosen_first"] == pytest.approx(2 / 3)
    assert bias["accuracy_chosen_second"] == pytest.approx(1 / 3)
    assert bias["position_gap"] == pytest.approx(1 / 3)
    # longer: b1 (2 right) + b3 (0 right) = 2/4; shorter: b2 1/2
    assert bias["accuracy_chosen_longer"] == pytest.approx(0.5) and bias["judgments_chosen_longer"] == 4
    assert bias["accuracy_chosen_shorter"] == pytest.approx(0.5) and bias["judgments_chosen_shorter"] == 2
    assert bias["length_gap"] == pytest.approx(0.0)
    _inside(bias, "position_gap")
    # without chosen_longer the length numbers are absent with a reason, position still works
    plain = task_metrics(_pair("c1", "A", "B"), B, 0.95, 0)["tasks"]["pairwise"]["bias"]
    assert plain["accuracy_chosen_longer"] is None and "chosen_longer" in plain["accuracy_chosen_longer_reason"]
    assert plain["accuracy_chosen_first"] == 1.0


def test_human_agreement_with_and_without_ties():
    judgments = (_pair("h1", "A", "B")                 # judge A in both orders = human A: agree
                 + _pair("h2", "A", "A", tie=True)     # inconsistent -> judge tie = human tie: agree
                 + _pair("h3", "C", "C", tie=True)     # judge tie ([[C]]) = human tie: agree
                 + _pair("h4", "B", "A")               # judge prefers the other response: disagree
                 + _pair("h5", "tie", "A", "B")        # judge tie, human B: disagree; left out w/o ties
                 + _pair("h6", None, "B"))             # parse error -> error vote: disagree, kept w/o ties
    block = task_metrics(judgments, B, 0.95, 0)["tasks"]["pairwise"]
    human = block["human_agreement"]
    assert human["items"] == 6 and human["human_ties"] == 2 and human["judge_ties"] == 3 and human["judge_errors"] == 1
    assert human["agreement_with_ties"] == pytest.approx(3 / 6)
    # without ties: h1 (agree), h4, h6 (disagree)
    assert human["items_without_ties"] == 3 and human["agreement_without_ties"] == pytest.approx(1 / 3)
    # accuracy leaves the two tied items out: h1 1, h4 0, h5 (tie verdict wrong + A right) .5, h6 .5
    assert block["items"] == 4 and block["ties"] == 2 and block["accuracy"] == pytest.approx(0.5)
    # RewardBench-compatible: h5 (0.5 for 'tie' + 1) / 2, h6 (0.5 for the error + 1) / 2
    assert block["rewardbench_score"] == pytest.approx((1 + 0 + 0.75 + 0.75) / 4)
    # no tied label and no tie verdict: no human-agreement block (it would only repeat the accuracy)
    plain = task_metrics(_pair("n1", "A", "B", tie=False), B, 0.95, 0)["tasks"]["pairwise"]
    assert "human_agreement" not in plain


# ------------------------------------------------------------------------------- other task types

def test_step_level_processbench_by_hand():
    judgments = [_single("s1", 2, 2, "step_level"),     # erroneous, right step
                 _single("s2", 1, 3, "step_level"),     # erroneous, wrong step
                 _single("s3", None, 1, "step_level"),  # erroneous, parse error
                 _single("s4", 0, 0, "step_level"),     # error-free, right
                 _single("s5", 2, 0, "step_level")]     # error-free, flagged an error
    block = task_metrics(judgments, B, 0.95, 0)["tasks"]["step_level"]
    assert block["erroneous_items"] == 3 and block["correct_items"] == 2
    assert block["error_accuracy"] == pytest.approx(1 / 3)
    assert block["correct_accuracy"] == pytest.approx(1 / 2)
    assert block["f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))  # = 0.4
    assert block["accuracy"] == pytest.approx(2 / 5) and block["parse_error_rate"] == pytest.approx(1 / 5)
    assert block["primary_metric"] == "f1"
    _inside(block, "f1")


def test_step_level_subsets_mean_f1():
    judgments = [_single("g1", 2, 2, "step_level", subset="gsm8k"), _single("g2", 0, 0, "step_level", subset="gsm8k"),
                 _single("m1", 1, 3, "step_level", subset="math"), _single("m2", 1, 0, "step_level", subset="math"),
                 _single("o1", 1, 1, "step_level", subset="omni")]  # only an erroneous sample: no F1
    block = task_metrics(judgments, B, 0.95, 0)["tasks"]["step_level"]
    assert block["subsets"]["gsm8k"]["f1"] == 1.0
    assert block["subsets"]["math"]["f1"] == 0.0                    # both accuracies 0: harmonic mean 0
    assert block["subsets"]["omni"]["f1"] is None and "both" in block["subsets"]["omni"]["f1_reason"]
    assert block["subset_mean_f1_subsets"] == ["gsm8k", "math"]
    assert block["subset_mean_f1"] == pytest.approx(0.5)            # (1 + 0) / 2, omni left out


def _processbench_fixture():
    """Four ProcessBench subsets; label = 1-based first wrong step (0: no error), verdict the judge's step."""
    s = "step_level"
    return [
        # gsm8k: erroneous 1 of 2 right, correct 2 of 2 -> F1 = 2 * 1/2 * 1 / (3/2) = 2/3
        _single("g1", 2, 2, s, subset="gsm8k"), _single("g2", 1, 3, s, subset="gsm8k"),
        _single("g3", 0, 0, s, subset="gsm8k"), _single("g4", 0, 0, s, subset="gsm8k"),
        # math: erroneous 2 of 3 (a parse error), correct 0 of 1 -> F1 = 0
        _single("m1", 1, 1, s, subset="math"), _single("m2", 4, 4, s, subset="math"),
        _single("m3", None, 1, s, subset="math"), _single("m4", 2, 0, s, subset="math"),
        # olympiadbench: 1 of 1, 1 of 1 -> F1 = 1
        _single("o1", 3, 3, s, subset="olympiadbench"), _single("o2", 0, 0, s, subset="olympiadbench"),
        # omnimath: erroneous 1 of 2 (one judged error-free), correct 1 of 2 -> F1 = 1/2
        _single("x1", 2, 2, s, subset="omnimath"), _single("x2", 0, 5, s, subset="omnimath"),
        _single("x3", 0, 0, s, subset="omnimath"), _single("x4", 1, 0, s, subset="omnimath"),
    ]


def test_processbench_headline_is_the_mean_of_subset_f1s():
    block = task_metrics(_processbench_fixture(), B, 0.95, 0)["tasks"]["step_level"]
    expected = {"gsm8k": 2 / 3, "math": 0.0, "olympiadbench": 1.0, "omnimath": 0.5}
    for name, f1 in expected.items():
        assert block["subsets"][name]["f1"] == pytest.approx(f1)
    assert block["subsets"]["math"]["error_accuracy"] == pytest.approx(2 / 3)
    assert block["subset_mean_f1_subsets"] == ["gsm8k", "math", "olympiadbench", "omnimath"]
    assert block["subset_mean_f1"] == pytest.approx(13 / 24)  # (2/3 + 0 + 1 + 1/2) / 4
    _inside(block, "subset_mean_f1")
    # pooled over subsets (not the headline): errors 5 of 8, correct 4 of 6 -> 2 * 5/8 * 2/3 / (5/8 + 2/3) = 20/31
    assert block["f1"] == pytest.approx(20 / 31)
    # without subsets the one group's F1 is the headline
    single = task_metrics([_single("a", 2, 2, "step_level"), _single("b", 0, 0, "step_level"),
                           _single("c", 0, 3, "step_level")], B, 0.95, 0)["tasks"]["step_level"]
    assert single["subset_mean_f1"] == pytest.approx(single["f1"]) == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert single["subset_mean_f1_subsets"] == ["(none)"]


def test_verification_balanced_accuracy_by_hand():
    judgments = [_single("v1", "yes", "yes", "ref_verification"), _single("v2", "no", "yes", "ref_verification"),
                 _single("v3", None, "yes", "ref_verification"), _single("v4", "no", "no", "ref_verification")]
    block = task_metrics(judgments, B, 0.95, 0)["tasks"]["ref_verification"]
    assert block["accuracy"] == pytest.approx(2 / 4)
    assert block["recall_yes"] == pytest.approx(1 / 3) and block["recall_no"] == 1.0
    assert block["balanced_accuracy"] == pytest.approx((1 / 3 + 1) / 2)
    assert block["parse_error_rate"] == pytest.approx(1 / 4)
    only_yes = task_metrics([_single("w1", "yes", "yes", "ref_free_verification"),
                             _single("w2", "no", "yes", "ref_free_verification")], B, 0.95, 0)
    one_class = only_yes["tasks"]["ref_free_verification"]
    assert one_class["balanced_accuracy"] == 0.5 and "only 'yes'" in one_class["balanced_accuracy_note"]
    assert one_class["recall_no"] is None and one_class["recall_no_ci"] is None


def test_single_rating_correlations_by_hand():
    gold, judge = [1, 1, 2, 3], [1, 2, 2, 3]
    judgments = [_single(f"r{i}", v, g, "single_rating") for i, (v, g) in enumerate(zip(judge, gold))]
    judgments.append(_single("r9", None, 5, "single_rating"))  # parse error: no rating, left out of correlations
    block = task_metrics(judgments, B, 0.95, 0)["tasks"]["single_rating"]
    assert block["rated_items"] == 4 and block["items"] == 5
    # Pearson: gold - 1.75 = [-.75, -.75, .25, 1.25], judge - 2 = [-1, 0, 0, 1]; 2 / sqrt(2.75 * 2)
    assert block["pearson"] == pytest.approx(2 / np.sqrt(5.5))
    # Spearman: ranks [1.5, 1.5, 3, 4] and [1, 2.5, 2.5, 4]; centred products 3.75 / sqrt(4.5 * 4.5)
    assert block["spearman"] == pytest.approx(3.75 / 4.5)
    # Kendall tau-b: 4 concordant, 0 discordant, one tie in each: 4 / sqrt((6 - 1) * (6 - 1))
    assert block["kendall"] == pytest.approx(0.8)
    # exact agreement over all 5 items (the parse error disagrees): 3/5
    assert block["exact_agreement"] == pytest.approx(3 / 5) and block["parse_error_rate"] == pytest.approx(1 / 5)
    for name in ("pearson", "spearman", "kendall"):
        assert block[f"{name}_ci"] is not None


def test_single_rating_constant_vectors():
    constant_gold = [_single(f"c{i}", v, 3, "single_rating") for i, v in enumerate([1, 2, 3])]
    block = task_metrics(constant_gold, B, 0.95, 0)["tasks"]["single_rating"]
    for name in ("pearson", "spearman", "kendall"):
        assert block[name] is None and block[f"{name}_ci"] is None
        assert "gold ratings are constant" in block[f"{name}_reason"]
    assert block["exact_agreement"] == pytest.approx(1 / 3)
    constant_judge = [_single(f"d{i}", 4, g, "single_rating") for i, g in enumerate([1, 2, 3])]
    block = task_metrics(constant_judge, B, 0.95, 0)["tasks"]["single_rating"]
    assert block["pearson"] is None and "judge ratings are constant" in block["pearson_reason"]
    json.dumps(block, allow_nan=False)


# ---------------------------------------------------------------------------- SC@k and protocols

def _samples(item, verdicts, label, task_type, order="original"):
    return [{**_j(item, order, v, label, task_type), "sample": k} for k, v in enumerate(verdicts)]


def test_sc_at_k_majority_vote_by_hand():
    t = "ref_verification"
    judgments = (_samples("x1", ["no", "yes", "yes", "no"], "yes", t)  # k1 no; k2 1-1 tie -> first (no); k4 2-2 -> no
                 + _samples("x2", [None, "yes", "no", "yes"], "yes", t)  # k1 no vote: wrong; k2 yes; k4 yes 2-1
                 + _samples("x3", ["no", None, None, None], "no", t)     # k1, k2, k4: no (errors do not vote)
                 + _samples("x4", [None, None, None, None], "no", t))    # all errors: wrong at every k
    block = task_metrics(judgments, B, 0.95, 0)["tasks"][t]
    sc = block["sc_at_k"]
    assert sc["max_k"] == 4 and [row["k"] for row in sc["by_k"]] == [1, 2, 4]
    # a tie broken towards the gold label would give SC@2 = 3/4; the first-voted rule gives 2/4
    assert [row["accuracy"] for row in sc["by_k"]] == pytest.approx([1 / 4, 2 / 4, 2 / 4])
    assert block["accuracy"] == pytest.approx(1 / 4)  # headline numbers use sample 0 = SC@1
    # pairwise: the item's score is the mean over its two orders
    pairwise = (_samples("p1", ["B", "A", "A", "A"], "A", "pairwise")            # k1 B, k2 tie -> B, k4 A
                + _samples("p1", ["B", "B", "A", "A"], "B", "pairwise", "swapped"))  # k1 B, k2 B, k4 tie -> B
    rows = task_metrics(pairwise, B, 0.95, 0)["tasks"]["pairwise"]["sc_at_k"]["by_k"]
    assert [row["accuracy"] for row in rows] == pytest.approx([0.5, 0.5, 1.0])
    # the largest k is the largest power of 2 that every item/order has samples for
    uneven = _samples("y1", ["yes"] * 3, "yes", t) + _samples("y2", ["yes"] * 5, "yes", t)
    sc = task_metrics(uneven, B, 0.95, 0)["tasks"][t]["sc_at_k"]
    assert sc["max_k"] == 2 and sc["samples_min"] == 3 and sc["samples_max"] == 5


def test_sc_at_k_entry_point():
    t = "ref_free_verification"
    judgments = (_samples("x1", ["no", "yes", "yes", "yes"], "yes", t)    # k1 wrong, k2 tie -> no, k4 yes
                 + _samples("x2", ["yes", "no", "no", "no"], "yes", t))   # k1 right, k2 tie -> yes, k4 no
    capped = sc_at_k(judgments, 2, B, 0.95, 0)
    sc = capped["tasks"][t]["sc_at_k"]
    assert sc["max_k"] == 2 and sc["requested_max_k"] == 2
    assert [(row["k"], row["accuracy"]) for row in sc["by_k"]] == [(1, 0.5), (2, 0.5)]
    short = sc_at_k(judgments, 8, B, 0.95, 0)["tasks"][t]["sc_at_k"]  # only 4 samples: k stops at 4
    assert short["max_k"] == 4 and short["requested_max_k"] == 8
    assert [row["accuracy"] for row in short["by_k"]] == [0.5, 0.5, 0.5]
    rows = pd.DataFrame(tidy(capped))
    assert list(rows["k"]) == [1, 2] and set(rows["scope"]) == {"sc_at_k"} and list(rows["name"]) == ["SC@1", "SC@2"]
    json.dumps(capped, allow_nan=False)


def test_direct_vs_critique_tokens():
    judgments = []
    for protocol, rows in {"critique": [("q1", "A", "B", 100, 120), ("q2", "B", "A", 80, 100)],
                           "direct": [("q1", "A", "B", 5, 5), ("q2", "B", "B", 5, 7)]}.items():
        for item, first, second, tokens_first, tokens_second in rows:
            pair = _pair(item, first, second, protocol=protocol)
            pair[0]["num_tokens"], pair[1]["num_tokens"] = tokens_first, tokens_second
            judgments += pair
    result = task_metrics(judgments, B, 0.95, 0)
    assert set(result["tasks"]) == {"pairwise/critique", "pairwise/direct"}
    rows = {row["protocol"]: row for row in result["protocols"]}
    # critique: q1 right twice, q2 wrong twice -> 2/4; tokens per item (220 + 180) / 2; per judgment 400 / 4
    assert rows["critique"]["accuracy"] == pytest.approx(0.5)
    assert rows["critique"]["tokens_per_item"] == pytest.approx(200)
    assert rows["critique"]["tokens_per_judgment"] == pytest.approx(100)
    # direct: q1 right twice, q2 wrong then right -> 3/4; tokens per item (10 + 12) / 2; per judgment 22 / 4
    assert rows["direct"]["accuracy"] == pytest.approx(0.75)
    assert rows["direct"]["tokens_per_item"] == pytest.approx(11)
    assert rows["direct"]["tokens_per_judgment"] == pytest.approx(5.5)
    assert rows["direct"]["tokens_per_item_ci"][0] <= 11 <= rows["direct"]["tokens_per_item_ci"][1]


# ------------------------------------------------------------------------------ entry point & checks

def _mixed():
    return (_pair("p1", "A", "B", num_tokens=3) + _pair("p2", None, "A", num_tokens=4)
            + [_single("s1", 1, 1, "step_level"), _single("s2", 2, 0, "step_level")]
            + [_single("v1", "yes", "yes", "ref_free_verification"),
               _single("v2", "yes", "no", "ref_free_verification")]
            + [_single("r1", 3, 3, "single_rating"), _single("r2", 4, 5, "single_rating"),
               _single("r3", 1, 1, "single_rating")])


def test_task_metrics_groups_and_serializes(tmp_path):
    result = task_metrics(_mixed(), B, 0.9, 7)
    assert list(result["tasks"]) == ["pairwise", "step_level", "ref_free_verification", "single_rating"]
    assert result["judgments"] == 11 and result["confidence"] == 0.9 and result["seed"] == 7
    assert "protocols" not in result
    json.dumps(result, allow_nan=False)
    assert task_metrics(_mixed(), B, 0.9, 7) == result  # seeded: the same numbers every time
    rows = pd.DataFrame(tidy(result))
    headline = rows[(rows.scope == "overall") & (rows.metric == "accuracy")].set_index("group")["value"]
    assert headline["pairwise"] == pytest.approx(0.5) and headline["ref_free_verification"] == pytest.approx(0.5)
    pearson = rows[(rows.group == "single_rating") & (rows.metric == "pearson")]
    assert len(pearson) == 1 and pearson["ci_low"].iloc[0] <= pearson["value"].iloc[0]
    path = tmp_path / "metrics.json"
    write_json(path, result)
    assert read_json(path) == result


def test_bad_input_names_the_field():
    record = _j("x", "original", "A", "A", "pairwise")
    del record["correct"]
    with pytest.raises(ValueError, match=r"judgment 0 \(item 'x'\): missing field\(s\) \['correct'\]"):
        task_metrics([record], B, 0.95, 0)
    with pytest.raises(ValueError, match="field 'task_type' is 'ranking'"):
        task_metrics([_j("x", "original", "A", "A", "ranking")], B, 0.95, 0)
    with pytest.raises(ValueError, match="several models"):
        task_metrics(_pair("a", "A", "B", model="m1") + _pair("b", "A", "B", model="m2"), B, 0.95, 0)
    with pytest.raises(ValueError, match="field 'order'"):
        task_metrics([_single("s", 1, 1, "step_level"), _j("s", "swapped", 1, 1, "step_level")], B, 0.95, 0)
    with pytest.raises(ValueError, match="'yes' or 'no'"):
        task_metrics([_single("v", "yes", "maybe", "ref_verification")], B, 0.95, 0)
    with pytest.raises(ValueError, match="no judgments"):
        task_metrics([], B, 0.95, 0)


# ------------------------------------------------------------------------------------------ tables

def test_latex_escaping_and_booktabs():
    assert report.latex_escape(r"a_b & 50% $x$ #1 {y} ~z ^w \q") == (
        r"a\_b \& 50\% \$x\$ \#1 \{y\} \textasciitilde{}z \textasciicircum{}w \textbackslash{}q")
    frame = pd.DataFrame({"model": ["sft_dpo & co"], "accuracy (95% CI)": ["0.750 [0.500, 1.000]"]})
    tex = report.to_latex(frame, caption="Accuracy of judge_1 (50% data)", label="tab:acc_1")
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"model & accuracy (95\% CI) \\" in tex
    assert r"sft\_dpo \& co & 0.750 [0.500, 1.000] \\" in tex
    assert r"\caption{Accuracy of judge\_1 (50\% data)}" in tex and r"\label{tab:acc\_1}" in tex
    assert r"\begin{tabular}{lr}" in tex


def test_write_tables_csv_markdown_latex(tmp_path):
    table = pd.DataFrame({"model": ["base", "a|b"], "items": [4, 3], "accuracy": [0.5, None],
                          "accuracy_ci_low": [0.25, None], "accuracy_ci_high": [0.75, None]})
    frame = report.write_tables(table, ["accuracy"], ["model", "items"], tmp_path / "t.csv", tmp_path / "t.md",
                                tmp_path / "t.tex", caption="Judge accuracy", label="tab:x",
                                labels={"accuracy": "accuracy (95% CI)"})
    assert frame["accuracy (95% CI)"].tolist() == ["0.500 [0.250, 0.750]", "n/a"]
    csv = pd.read_csv(tmp_path / "t.csv")
    assert list(csv.columns) == ["model", "items", "accuracy", "accuracy_ci_low", "accuracy_ci_high"]
    assert csv.loc[0, "accuracy_ci_high"] == 0.75
    md = (tmp_path / "t.md").read_text()
    assert "| base | 4 | 0.500 [0.250, 0.750] |" in md and "| a\\|b | 3 | n/a |" in md
    assert md.startswith("Judge accuracy")
    tex = (tmp_path / "t.tex").read_text()
    assert r"\toprule" in tex and r"accuracy (95\% CI)" in tex
    assert report.ci_cell(0.123456, 0.1, 0.2, digits=2) == "0.12 [0.10, 0.20]"
    assert report.ci_cell(0.5) == "0.500" and report.ci_cell(None, 0, 1) == "n/a"


def test_headline_tables_lead_with_each_benchmarks_headline(tmp_path):
    files = []
    for benchmark, judgments in (("judgebench", _judgebench_fixture()), ("processbench", _processbench_fixture())):
        for model in ("sft", "base"):
            result = task_metrics(judgments, B, 0.95, 0)
            result.update(model=model, benchmark=benchmark)
            files.append(tmp_path / f"{benchmark}-{model}.json")
            write_json(files[-1], result)
    frame = report.tidy_frame(files)
    tables = report.write_headline_tables(frame, tmp_path / "t.md", tmp_path / "t.tex", "caption", label="tab:m")
    kinds = {t["kind"]: t for t in tables}
    assert list(kinds) == ["pairwise", "step_level", "judgebench"]
    step = kinds["step_level"]
    assert step["metrics"][0] == "subset_mean_f1" and step["metrics"][1] == "f1"
    assert step["table"]["benchmark"].tolist() == ["processbench"] * 2
    assert step["table"]["model"].tolist() == ["base", "sft"]
    assert step["table"].loc[0, "subset_mean_f1"] == pytest.approx(13 / 24)
    pair = kinds["pairwise"]
    assert pair["metrics"][:2] == ["accuracy", "judgebench_score"]
    assert pair["table"]["benchmark"].tolist() == ["judgebench"] * 2   # no crossed benchmark/group rows
    assert pair["table"].loc[0, "judgebench_score"] == pytest.approx(3 / 7)
    jb = kinds["judgebench"]
    assert jb["metrics"] == ["judgebench_score", "knowledge", "reasoning", "math", "coding", "accuracy"]
    assert jb["table"].loc[0, ["knowledge", "reasoning", "math", "coding"]].tolist() == pytest.approx([1, 0, 0, 0.5])
    md = (tmp_path / "t.md").read_text()
    assert md.startswith("caption") and "| benchmark | group | model | subset_mean_f1 | f1 |" in md
    assert "| benchmark | group | model | accuracy | judgebench_score |" in md and "| base |" in md
    tex = (tmp_path / "t.tex").read_text()
    assert tex.count("\\begin{tabular}") == 3 and "tab:m-step-level" in tex


# ----------------------------------------------------------------------------------------- figures

def _written(out):
    png, pdf = out.with_suffix(".png"), out.with_suffix(".pdf")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:5] == b"%PDF-"


def _labels(fig):
    ax = fig.axes[0]
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel()


def test_bar_and_point_charts(tmp_path):
    frame = pd.DataFrame({"stage": ["Instruct", "SFT", "DPO", "Instruct", "SFT", "DPO"],
                          "metric": ["accuracy"] * 3 + ["consistent"] * 3,
                          "value": [0.6, 0.7, 0.8, 0.5, 0.6, 0.7], "ci_low": [0.5, 0.6, 0.7, 0.4, 0.5, None],
                          "ci_high": [0.7, 0.8, 0.9, 0.6, 0.7, None]})
    style = {"font_size": 11, "figure_width": 5.0}
    fig = report.bar_chart(frame, tmp_path / "bars", category="stage", hue="metric", title="RISE Fig. 3",
                           xlabel="training stage", ylabel="RewardBench accuracy (95% CI)", style=style,
                           reference=(0.5, "chance"))
    _written(tmp_path / "bars")
    assert _labels(fig) == ("RISE Fig. 3", "training stage", "RewardBench accuracy (95% CI)")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Instruct", "SFT", "DPO"]
    assert len(ax.patches) == 6                                            # 3 bars x 2 hues
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["accuracy", "chance", "consistent"]
    assert fig.get_size_inches()[0] == pytest.approx(5.0)                  # the style's width
    assert ax.title.get_fontsize() == pytest.approx(12)                    # font_size + 1
    assert ax.patches[0].get_facecolor()[:3] == pytest.approx((0, 0x72 / 255, 0xB2 / 255))  # palette[0]
    fig = report.bar_chart(frame, tmp_path / "points.pdf", category="stage", hue="metric", points=True,
                           title="t", xlabel="x", ylabel="y")
    _written(tmp_path / "points")
    assert len(fig.axes[0].patches) == 0 and len(fig.axes[0].lines) >= 6


def test_line_and_sc_at_k_curves(tmp_path):
    frame = pd.DataFrame({"iteration": [0, 1, 2, 0, 1, 2], "data": ["synthetic"] * 3 + ["human"] * 3,
                          "value": [0.7, 0.75, 0.8, 0.72, 0.74, 0.76], "ci_low": [0.65, 0.7, 0.75, 0.7, 0.7, 0.7],
                          "ci_high": [0.75, 0.8, 0.85, 0.75, 0.78, 0.8]})
    fig = report.line_chart(frame, tmp_path / "iters", x="iteration", hue="data", title="Self-Taught iterations",
                            xlabel="iteration", ylabel="accuracy (95% CI)")
    _written(tmp_path / "iters")
    assert _labels(fig) == ("Self-Taught iterations", "iteration", "accuracy (95% CI)")
    assert len(fig.axes[0].collections) == 2                               # one CI band per line
    sc = pd.DataFrame({"k": [1, 2, 4, 8], "value": [0.6, 0.62, 0.66, 0.68], "ci_low": [0.5, 0.55, 0.6, 0.6],
                       "ci_high": [0.7, 0.7, 0.72, 0.75]})
    fig = report.sc_at_k_curve(sc, tmp_path / "sc", title="FARE SC@k")
    _written(tmp_path / "sc")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel().startswith("votes per judgment k")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4", "8"]


def test_learning_curve_puts_the_uncapped_point_after_the_caps(tmp_path):
    """A grid with null (no cap, labelled 'all') beside numbers: 'all' sits one mean gap past the largest cap."""
    labels = pd.Series(["25", "50", "100", "all"])
    positions, ticks = report._line_positions(labels)
    assert positions.tolist() == [25.0, 50.0, 100.0, 137.5] and ticks[137.5] == "all" and ticks[25.0] == "25"
    frame = pd.DataFrame({"max_sft_examples": labels, "value": [0.47, 0.47, 0.59, 0.98], "ci_low": [0.4] * 4,
                          "ci_high": [1.0] * 4, "group": ["ref_verification"] * 4})
    spec = {"vary": {"teacher.max_sft_examples": [25, 50, 100, None]}, "plot": "line", "metric": "primary"}
    fig = report.ablation_figure(frame, spec, tmp_path / "curve", "curve", 0.95, {})
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["25", "50", "100", "all"]
    with pytest.raises(ValueError, match="numeric grid values"):
        report._line_positions(pd.Series(["25", "many"]))


def test_heatmap_annotates_every_cell(tmp_path):
    rows = [{"sft": s, "dpo": d, "value": 0.6 + 0.01 * s + 0.001 * d, "ci_low": 0.5, "ci_high": 0.9}
            for s in (0, 10, 20) for d in (0, 10, 20, 40)][:-1]                # one cell missing
    fig = report.heatmap(pd.DataFrame(rows), tmp_path / "grid", row="sft", col="dpo", title="RISE Fig. 4",
                         xlabel="DPO pairs (k)", ylabel="SFT examples (k)", colorbar_label="accuracy")
    _written(tmp_path / "grid")
    ax = fig.axes[0]
    assert _labels(fig) == ("RISE Fig. 4", "DPO pairs (k)", "SFT examples (k)")
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 12 and "0.600\n[0.500, 0.900]" in texts and texts.count("n/a") == 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "10", "20"]
    assert fig.axes[1].get_ylabel() == "accuracy"                          # the colorbar


def test_plot_input_errors(tmp_path):
    frame = pd.DataFrame({"k": [1], "value": [0.5], "ci_low": [0.4], "ci_high": [0.6]})
    with pytest.raises(ValueError, match="unknown key"):
        report.sc_at_k_curve(frame, tmp_path / "x", title="t", style={"fontsize": 3})
    with pytest.raises(ValueError, match=r"no column\(s\) \['stage'\]"):
        report.bar_chart(frame, tmp_path / "x", category="stage", title="t", xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="xlabel must not be empty"):
        report.bar_chart(frame, tmp_path / "x", category="k", title="t", xlabel="", ylabel="y")


def test_figure_from_a_result_file(tmp_path):
    """The path a figure rule takes: task_metrics -> JSON result file -> tidy frame -> figure."""
    write_json(tmp_path / "m.json", task_metrics(_mixed(), B, 0.95, 0))
    rows = pd.DataFrame(tidy(read_json(tmp_path / "m.json")))
    primary = rows[(rows.scope == "overall") & (rows.metric == rows.group.map(
        {"pairwise": "accuracy", "step_level": "f1", "ref_free_verification": "accuracy",
         "single_rating": "pearson"}))]
    assert list(primary.group) == ["pairwise", "step_level", "ref_free_verification", "single_rating"]
    fig = report.bar_chart(primary, tmp_path / "tasks", category="group", title="Accuracy per task type",
                           xlabel="task type", ylabel="primary metric (95% CI)")
    _written(tmp_path / "tasks")
    assert len(fig.axes[0].patches) == 4
    frame = report.tidy_frame([tmp_path / "m.json"], extra=[{"sft_size": 10}])
    assert len(frame) == len(rows) and set(frame["sft_size"]) == {10}
    assert set(frame["file"]) == {str(tmp_path / "m.json")}
    # tidy -> one row per group with m, m_ci_low, m_ci_high -> 'x [lo, hi]' cells
    wide = report.wide_ci_table(frame[frame.scope == "overall"], index="group")
    assert list(wide["group"]) == ["pairwise", "step_level", "ref_free_verification", "single_rating"]
    assert wide.loc[0, "accuracy"] == pytest.approx(0.5) and np.isnan(wide.loc[0, "f1"])
    cells = report.ci_frame(wide, ["accuracy"], keep=["group"])
    low, high = wide.loc[0, "accuracy_ci_low"], wide.loc[0, "accuracy_ci_high"]
    assert cells.loc[0, "accuracy"] == report.ci_cell(0.5, low, high) == f"0.500 [{low:.3f}, {high:.3f}]"
    assert cells.loc[3, "accuracy"] == "n/a"  # single_rating reports exact_agreement, not accuracy


def _pair_judgments(verdicts, flags):
    """Pairwise judgments of items i (both orders) with verdicts[i] = (original, swapped)."""
    out = []
    for i, ((first, second), (shorter, longer)) in enumerate(zip(verdicts, flags)):
        for order, label, verdict in (("original", "A", first), ("swapped", "B", second)):
            out.append({"item_id": i, "order": order, "label": label, "verdict": verdict, "parse_error": None,
                        "correct": verdict == label, "task_type": "pairwise", "chosen_first": label == "A",
                        "chosen_shorter": shorter, "chosen_longer": longer})
    return out


def test_shortcut_baselines_read_no_content():
    from judgeflow.evaluation.metrics import baseline_judgments

    flags = [(True, False), (False, False), (False, True)]  # chosen shorter, equally long, chosen longer
    base = _pair_judgments([("B", "A")] * 3, flags)
    got = baseline_judgments(base)
    assert [j["verdict"] for j in got["constant"]] == ["A"] * 6
    # shorter: the chosen side where it is shorter, A on a tie (position, not content), the rejected where longer
    assert [j["verdict"] for j in got["shorter"]] == ["A", "B", "A", "A", "B", "A"]
    assert [j["correct"] for j in got["shorter"]] == [True, True, True, False, False, False]
    legacy = [{k: v for k, v in j.items() if k != "chosen_shorter"} for j in base]
    assert set(baseline_judgments(legacy)) == {"constant"}, "no length baseline without both length flags"


def test_paired_comparison_resamples_the_same_items():
    from judgeflow.evaluation.metrics import paired_comparison

    flags = [(False, False)] * 4
    judge = _pair_judgments([("A", "B"), ("A", "B"), ("A", "B"), ("A", "A")], flags)  # 3.5 of 4 right
    base = _pair_judgments([("A", "A")] * 4, flags)                                      # always A: 0.5
    rows = {row["metric"]: row for row in paired_comparison(judge, base, 500, 0.95, 0)}
    assert rows["accuracy"]["value"] == pytest.approx(0.875) and rows["accuracy"]["reference_value"] == 0.5
    assert rows["accuracy"]["delta"] == pytest.approx(0.375)
    assert rows["consistent_accuracy"]["delta"] == pytest.approx(0.75)
    # the base is 0.5 on every item, so the paired interval of the difference is the judge's own interval - 0.5
    assert rows["accuracy"]["delta_ci_low"] == pytest.approx(rows["accuracy"]["value_ci_low"] - 0.5)
    with pytest.raises(ValueError, match="same items"):
        paired_comparison(judge, base[:4], 100, 0.95, 0)


def test_paired_comparison_command_prints_the_table(tmp_path, capsys):
    from judgeflow.core.records import write_jsonl
    from judgeflow.evaluation.metrics import main

    flags = [(False, False)] * 4
    write_jsonl(tmp_path / "judge.jsonl", _pair_judgments([("A", "B"), ("A", "B"), ("A", "B"), ("A", "A")], flags))
    write_jsonl(tmp_path / "base.jsonl", _pair_judgments([("A", "A")] * 4, flags))
    assert main([str(tmp_path / "judge.jsonl"), str(tmp_path / "base.jsonl"), "--bootstrap", "200"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| task type | metric | items | judge | reference |") and "paired 95%" in lines[0]
    accuracy = next(line for line in lines if "| accuracy |" in line)
    assert "| 4 | 0.875 [" in accuracy and "| 0.500" in accuracy and "| +0.375 [" in accuracy


def test_training_curves_draw_logged_steps_only(tmp_path):
    from judgeflow.evaluation.report import training_curves, training_frame

    frame = training_frame({"sft": {"log_history": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0},
                                                    {"train_runtime": 3.0}]},
                            "round_2": {"carried_forward": True}})
    assert frame.to_dict("records") == [{"model": "sft", "step": 1, "metric": "loss", "value": 2.0},
                                        {"model": "sft", "step": 2, "metric": "loss", "value": 1.0}]
    training_curves(frame, tmp_path / "curves", "t")
    empty = training_frame({"round_2": {"carried_forward": True}})
    fig = training_curves(empty, tmp_path / "none", "t")  # nothing trained: a figure that says so, no data drawn
    assert not fig.axes[0].lines and "no stage was trained" in fig.axes[0].texts[0].get_text()
    assert (tmp_path / "curves.png").stat().st_size > 0 and (tmp_path / "none.pdf").stat().st_size > 0


def test_compute_table_lists_each_model_job_and_kind_of_work():
    from judgeflow.evaluation.report import compute_table

    work = {"tokens": 100, "seconds": 2.0, "flops": 5e10, "gflops": 25.0, "dtype": "float32", "device": "cpu",
            "peak_gflops": 100.0, "percent_of_peak": 25.0}
    table = compute_table({
        "results/x/main/eval/sft/heldout/summary.json": {"stage": "evaluate", "seconds": 3.0,
                                                         "compute": {"sampling": work}},
        "results/x/main/models/sft.summary.json": {"stage": "train_sft", "seconds": 9.0,
                                                   "compute": {"training": {**work, "percent_of_peak": 40.0}}},
        "results/x/main/data/build_items_summary.json": {"stage": "build_items", "seconds": 0.1},
    })
    assert table["job"].tolist() == ["eval/sft/heldout", "main/models/sft"]
    assert table["work"].tolist() == ["sampling", "training"] and table["percent_of_peak"].tolist() == [25.0, 40.0]
    assert table["job_seconds"].tolist() == [3.0, 9.0]
