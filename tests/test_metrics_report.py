import numpy as np
import pytest
from PIL import Image

from judgeflow import report
from judgeflow.metrics import bootstrap_ci, pairwise_metrics, per_item
from judgeflow.records import write_json


def _j(item, order, verdict, label):
    return {"item_id": item, "order": order, "verdict": verdict, "label": label, "correct": verdict == label,
            "parse_error": None if verdict else "no_verdict"}


JUDGMENTS = [
    _j("i1", "original", "A", "A"), _j("i1", "swapped", "B", "B"),   # correct both, consistent
    _j("i2", "original", "A", "A"), _j("i2", "swapped", "A", "B"),   # position bias: always A
    _j("i3", "original", None, "B"), _j("i3", "swapped", "B", "A"),  # parse error + wrong
    _j("i4", "original", "B", "A"), _j("i4", "swapped", "A", "B"),   # wrong in both, consistent
]


def test_metrics_by_hand():
    result = pairwise_metrics(JUDGMENTS, bootstrap_samples=1000, confidence=0.95, seed=0)
    assert result["items"] == 4 and result["judgments"] == 8
    assert result["accuracy"] == pytest.approx(3 / 8)
    assert result["consistent_accuracy"] == pytest.approx(1 / 4)
    assert result["consistency"] == pytest.approx(2 / 4)
    assert result["parse_error_rate"] == pytest.approx(1 / 8)
    low, high = result["accuracy_ci"]
    assert 0 <= low <= 3 / 8 <= high <= 1


def test_per_item_requires_both_orders():
    with pytest.raises(ValueError, match="no judgment in order"):
        per_item(JUDGMENTS[:3])
    with pytest.raises(ValueError, match="two judgments in order"):
        per_item(JUDGMENTS + [JUDGMENTS[0]])


def test_bootstrap_ci_behaves():
    values = np.array([1.0] * 30 + [0.0] * 70)
    low, high = bootstrap_ci(values, 4000, 0.95, seed=1)
    assert low < 0.3 < high
    assert 0.18 < low < 0.23 and 0.37 < high < 0.42  # normal approx: 0.3 +- 1.96*0.046
    assert bootstrap_ci(values, 4000, 0.95, seed=1) == (low, high)
    assert bootstrap_ci(np.ones(10), 500, 0.95, 0) == (1.0, 1.0)


def test_report_table_and_figure(tmp_path):
    files = []
    for index, model in enumerate(["base", "sft"]):
        metrics = pairwise_metrics(JUDGMENTS if model == "base" else JUDGMENTS[:4] + JUDGMENTS[:2] * 0 +
                                   [_j("i3", "original", "B", "B"), _j("i3", "swapped", "A", "A")],
                                   500, 0.95, 0)
        metrics.update(model=model, stage_index=index, settings_hash="h")
        files.append(tmp_path / f"{model}.json")
        write_json(files[-1], metrics)
    table = report.metrics_table(list(reversed(files)))
    assert table["model"].tolist() == ["base", "sft"]
    assert table.loc[0, "accuracy"] == pytest.approx(3 / 8)
    assert table.loc[1, "accuracy"] == pytest.approx(5 / 6)
    markdown = report.markdown_table(table, 0.95)
    assert markdown.count("\n") == 4 and "| sft | 3 | 0.833" in markdown
    figure = tmp_path / "fig.png"
    report.accuracy_figure(table, figure, "t", 0.95, 60)
    with Image.open(figure) as image:
        assert image.format == "PNG" and image.size[0] > 100
