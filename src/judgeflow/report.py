"""The run's table and figure, drawn only from the per-model metric files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from judgeflow.metrics import METRICS
from judgeflow.records import read_json


def metrics_table(metric_files: list[str | Path]) -> pd.DataFrame:
    rows = []
    for path in metric_files:
        metrics = read_json(path)
        row = {"model": metrics["model"], "stage_index": metrics["stage_index"], "items": metrics["items"]}
        for name in METRICS:
            row[name] = metrics[name]
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = metrics[f"{name}_ci"]
        row["settings_hash"] = metrics["settings_hash"]
        rows.append(row)
    return pd.DataFrame(rows).sort_values("stage_index").reset_index(drop=True)


def markdown_table(table: pd.DataFrame, confidence: float) -> str:
    header = ["model", "items"] + [f"{name} ({confidence:.0%} CI)" for name in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [row["model"], str(row["items"])]
        cells += [f"{row[n]:.3f} [{row[f'{n}_ci_low']:.3f}, {row[f'{n}_ci_high']:.3f}]" for n in METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def accuracy_figure(table: pd.DataFrame, path: str | Path, title: str, confidence: float, dpi: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 * len(table) + 3, 4))
    x = range(len(table))
    for shift, name, label in [(-0.15, "accuracy", "accuracy"),
                               (0.15, "consistent_accuracy", "position-consistent accuracy")]:
        centre = table[name].to_numpy()
        err = [centre - table[f"{name}_ci_low"].to_numpy(), table[f"{name}_ci_high"].to_numpy() - centre]
        ax.errorbar([i + shift for i in x], centre, yerr=err, fmt="o", capsize=4, label=label)
    ax.set_xticks(list(x), table["model"].tolist())
    ax.set_xlabel("training stage")
    ax.set_ylabel(f"score on held-out pairs ({confidence:.0%} bootstrap CI)")
    ax.set_ylim(-0.02, 1.02)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--", label="chance accuracy (0.5)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
