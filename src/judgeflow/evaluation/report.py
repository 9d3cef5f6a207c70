"""Tables (CSV, Markdown, LaTeX) and figures (PNG + PDF), drawn only from result files.

Tables: a numeric frame with columns `m`, `m_ci_low`, `m_ci_high` per metric becomes a display frame with one
"x [lo, hi]" cell per metric (`ci_frame`); `write_tables` writes the numbers as CSV and the display frame as
Markdown and LaTeX (booktabs, escaped).

Figures: every plot function takes a tidy DataFrame (one row per point: value, ci_low, ci_high and the
columns named by its arguments), a title, axis labels and a `style` dict (STYLE's keys, merged over STYLE),
writes <out>.png and <out>.pdf and returns the closed matplotlib Figure for inspection.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from judgeflow import tasks
from judgeflow.core.records import read_json
from judgeflow.evaluation.metrics import tidy
from judgeflow.tasks.pairwise import JUDGEBENCH_CATEGORIES

# Okabe-Ito: distinguishable with colour-vision deficiencies and in greyscale order.
STYLE = {
    "font_size": 9,
    "palette": ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"],
    "dpi": 200,
    "figure_width": 6.0,
    "aspect": 0.62,
    "colormap": "viridis",
    "ci_alpha": 0.2,
}


# ------------------------------------------------------------------------------ result files

FILE_FIELDS = ("model", "benchmark", "experiment", "settings_hash", "weights_of")


def tidy_frame(metric_files: list[str | Path], extra: list[dict] | None = None) -> pd.DataFrame:
    """metrics.tidy rows of task_metrics / sc_at_k result files; each row also gets its file's FILE_FIELDS,
    `file`, and the entries of extra[i] (e.g. the ablation grid point that made file i)."""
    if extra is not None and len(extra) != len(metric_files):
        raise ValueError(f"extra has {len(extra)} entries for {len(metric_files)} metric files")
    rows = []
    for position, path in enumerate(metric_files):
        result = read_json(path)
        fields = {name: result.get(name) for name in FILE_FIELDS}
        fields.update(file=str(path), **(extra[position] if extra else {}))
        rows += [{**fields, **row} for row in tidy(result)]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------- tables

def ci_cell(value, low=None, high=None, digits: int = 3) -> str:
    """'x [lo, hi]'; 'n/a' when the value is missing, just 'x' when the interval is."""
    if _missing(value):
        return "n/a"
    if _missing(low) or _missing(high):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def ci_frame(table: pd.DataFrame, metrics, keep=(), labels: dict | None = None, digits: int = 3) -> pd.DataFrame:
    """Display frame: the `keep` columns as they are, then one 'x [lo, hi]' column per metric (from `m`,
    `m_ci_low`, `m_ci_high`), headed by labels.get(m, m)."""
    labels = labels or {}
    missing = [c for c in list(keep) + [f"{m}{s}" for m in metrics for s in ("", "_ci_low", "_ci_high")]
               if c not in table.columns]
    if missing:
        raise ValueError(f"table has no column(s) {missing}")
    frame = table[list(keep)].copy()
    for name in metrics:
        frame[labels.get(name, name)] = [ci_cell(v, lo, hi, digits) for v, lo, hi in
                                         zip(table[name], table[f"{name}_ci_low"], table[f"{name}_ci_high"])]
    return frame.reset_index(drop=True)


def wide_ci_table(tidy: pd.DataFrame, index, metric_col: str = "metric") -> pd.DataFrame:
    """Tidy rows (value, ci_low, ci_high per metric) to one row per `index` with m, m_ci_low, m_ci_high."""
    index = [index] if isinstance(index, str) else list(index)
    wide = tidy.pivot_table(index=index, columns=metric_col, values=["value", "ci_low", "ci_high"],
                            aggfunc="first", sort=False, dropna=False)
    out = pd.DataFrame(index=wide.index)
    for name in pd.unique(tidy[metric_col]):
        out[name] = wide[("value", name)]
        out[f"{name}_ci_low"] = wide[("ci_low", name)]
        out[f"{name}_ci_high"] = wide[("ci_high", name)]
    return out.reset_index()


def _cell_text(value) -> str:
    if _missing(value):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def to_markdown(frame: pd.DataFrame, caption: str | None = None) -> str:
    def cell(value):
        return _cell_text(value).replace("|", "\\|").replace("\n", " ")
    lines = [f"{caption}\n"] if caption else []
    lines.append("| " + " | ".join(cell(c) for c in frame.columns) + " |")
    lines.append("|" + "|".join("---" if _is_text(frame[c]) else "--:" for c in frame.columns) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(frame: pd.DataFrame, caption: str, label: str | None = None) -> str:
    """A booktabs table; every header and cell escaped; text columns left-, the others right-aligned."""
    align = "".join("l" if _is_text(frame[c]) and not _is_ci_column(frame[c]) else "r" for c in frame.columns)
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{latex_escape(caption)}}}"]
    if label:
        lines.append(rf"\label{{{latex_escape(label)}}}")
    lines += [rf"\begin{{tabular}}{{{align}}}", r"\toprule",
              " & ".join(latex_escape(c) for c in frame.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(_cell_text(v)) for v in row) + r" \\" for row in frame.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_tables(table: pd.DataFrame, metrics, keep, csv_path: str | Path | None, md_path: str | Path,
                 tex_path: str | Path, caption: str, label: str | None = None, labels: dict | None = None,
                 digits: int = 3) -> pd.DataFrame:
    """CSV: the numbers (value and interval columns; csv_path None: no CSV, the caller writes its own);
    Markdown and LaTeX: 'x [lo, hi]' cells with the caption. Returns the display frame."""
    frame = ci_frame(table, metrics, keep, labels, digits)
    for path in (csv_path, md_path, tex_path):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    columns = list(keep) + [f"{m}{s}" for m in metrics for s in ("", "_ci_low", "_ci_high")]
    if csv_path is not None:
        table[columns].to_csv(csv_path, index=False)
    Path(md_path).write_text(to_markdown(frame, caption), encoding="utf-8")
    Path(tex_path).write_text(to_latex(frame, caption, label), encoding="utf-8")
    return frame


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _is_text(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series)


def _is_ci_column(series: pd.Series) -> bool:
    return series.map(lambda v: isinstance(v, str) and (v == "n/a" or v[:1].isdigit() or v[:1] == "-")).all()


# --------------------------------------------------------------------------------------- figures

def figure_style(style: dict | None = None) -> dict:
    """STYLE with `style`'s keys over it; an unknown key is an error (a typo must not pass silently)."""
    style = dict(style or {})
    unknown = sorted(set(style) - set(STYLE))
    if unknown:
        raise ValueError(f"figure style: unknown key(s) {unknown}; known: {sorted(STYLE)}")
    return {**STYLE, **style}


@contextmanager
def _styled(style: dict):
    import matplotlib
    from cycler import cycler

    size = style["font_size"]
    rc = {"font.size": size, "axes.titlesize": size + 1, "axes.labelsize": size, "xtick.labelsize": size - 1,
          "ytick.labelsize": size - 1, "legend.fontsize": size - 1, "axes.prop_cycle": cycler(color=style["palette"]),
          "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
          "pdf.fonttype": 42, "savefig.bbox": "tight"}
    with matplotlib.rc_context(rc):
        yield


def _figure(style: dict, width: float | None = None, aspect: float | None = None):
    from matplotlib.figure import Figure

    width = width or style["figure_width"]
    fig = Figure(figsize=(width, width * (aspect or style["aspect"])), dpi=style["dpi"])
    return fig, fig.add_subplot()


def _out_paths(out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower() in (".png", ".pdf") else out
    return stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".pdf")


def _save(fig, out: str | Path, style: dict) -> None:
    png, pdf = _out_paths(out)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=style["dpi"])
    fig.savefig(pdf, metadata={"CreationDate": None})  # no timestamp: same input, same bytes


def _check(frame: pd.DataFrame, columns, title: str, xlabel: str, ylabel: str) -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise ValueError(f"plot '{title}': frame has no column(s) {missing}")
    if frame.empty:
        raise ValueError(f"plot '{title}': no rows to draw")
    for name, text in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel)):
        if not str(text).strip():
            raise ValueError(f"plot: {name} must not be empty")


def _yerr(centre, low, high):
    """Error-bar lengths from interval bounds; a missing bound draws no bar."""
    import numpy as np

    centre = np.asarray(centre, dtype=float)
    low, high = pd.to_numeric(pd.Series(low), errors="coerce").to_numpy(float), \
        pd.to_numeric(pd.Series(high), errors="coerce").to_numpy(float)
    below, above = np.nan_to_num(centre - low, nan=0.0), np.nan_to_num(high - centre, nan=0.0)
    return np.clip(np.vstack([below, above]), 0, None)


def _series(frame: pd.DataFrame, hue: str | None):
    if hue is None:
        return [(None, frame)]
    return [(name, frame[frame[hue] == name]) for name in pd.unique(frame[hue])]


def _finish(fig, ax, title, xlabel, ylabel, ylim, reference, legend: bool) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if reference is not None:
        value, text = reference
        ax.axhline(value, color="grey", lw=0.8, ls="--", label=text)
    if legend or reference is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # beside the plot, never over data
    fig.tight_layout()


def bar_chart(frame: pd.DataFrame, out: str | Path, *, category: str, title: str, xlabel: str, ylabel: str,
              value: str = "value", low: str = "ci_low", high: str = "ci_high", hue: str | None = None,
              points: bool = False, ylim: tuple | None = None, reference: tuple[float, str] | None = None,
              style: dict | None = None):
    """Bars (or points, `points=True`) per category, grouped by `hue`, with CI error bars."""
    import numpy as np

    _check(frame, [category, value, low, high, hue], title, xlabel, ylabel)
    style = figure_style(style)
    categories = list(pd.unique(frame[category]))
    groups = _series(frame, hue)
    width = 0.8 / len(groups)
    with _styled(style):
        fig, ax = _figure(style)
        for number, (name, part) in enumerate(groups):
            position = {c: i for i, c in enumerate(categories)}
            x = np.array([position[c] for c in part[category]]) - 0.4 + width * (number + 0.5)
            centre = part[value].to_numpy(dtype=float)
            color = style["palette"][number % len(style["palette"])]
            label = None if name is None else str(name)
            if points:
                ax.errorbar(x, centre, yerr=_yerr(centre, part[low], part[high]), fmt="o", capsize=3,
                            color=color, label=label)
            else:
                ax.bar(x, centre, width=width * 0.9, color=color, label=label)
                ax.errorbar(x, centre, yerr=_yerr(centre, part[low], part[high]), fmt="none", capsize=3,
                            ecolor="black", elinewidth=0.8)
        labels = [str(c) for c in categories]
        crowded = sum(len(text) for text in labels) > 6 * style["figure_width"]
        ax.set_xticks(range(len(categories)), labels, rotation=25 if crowded else 0,
                      ha="right" if crowded else "center")
        _finish(fig, ax, title, xlabel, ylabel, ylim, reference, legend=hue is not None)
        _save(fig, out, style)
    return fig


def line_chart(frame: pd.DataFrame, out: str | Path, *, x: str, title: str, xlabel: str, ylabel: str,
               value: str = "value", low: str = "ci_low", high: str = "ci_high", hue: str | None = None,
               ylim: tuple | None = None, reference: tuple[float, str] | None = None, log2_x: bool = False,
               style: dict | None = None, tick_labels: dict[float, str] | None = None):
    """A line per `hue` over `x` (iterations, rounds) with the CI as a shaded band; `tick_labels` names the x
    ticks (default: the x values)."""
    _check(frame, [x, value, low, high, hue], title, xlabel, ylabel)
    style = figure_style(style)
    with _styled(style):
        fig, ax = _figure(style)
        for number, (name, part) in enumerate(_series(frame, hue)):
            part = part.sort_values(x)
            color = style["palette"][number % len(style["palette"])]
            xs = part[x].to_numpy(dtype=float)
            ax.plot(xs, part[value].to_numpy(dtype=float), marker="o", color=color,
                    label=None if name is None else str(name))
            lows = pd.to_numeric(part[low], errors="coerce").to_numpy(float)
            highs = pd.to_numeric(part[high], errors="coerce").to_numpy(float)
            ax.fill_between(xs, lows, highs, color=color, alpha=style["ci_alpha"], linewidth=0)
        ticks = sorted(pd.unique(frame[x]))
        if log2_x:
            ax.set_xscale("log", base=2)
        names = tick_labels or {}
        ax.set_xticks(ticks, [names.get(float(t), f"{t:g}" if isinstance(t, float) else str(t)) for t in ticks])
        ax.minorticks_off()
        _finish(fig, ax, title, xlabel, ylabel, ylim, reference, legend=hue is not None)
        _save(fig, out, style)
    return fig


def sc_at_k_curve(frame: pd.DataFrame, out: str | Path, *, title: str, k: str = "k",
                  xlabel: str = "votes per judgment k (SC@k, log2 scale)", ylabel: str = "accuracy",
                  value: str = "value", low: str = "ci_low", high: str = "ci_high", hue: str | None = None,
                  ylim: tuple | None = None, style: dict | None = None):
    """Accuracy under SC@k majority voting against k (1, 2, 4, ...) on a log2 axis, CI band per `hue`."""
    return line_chart(frame, out, x=k, title=title, xlabel=xlabel, ylabel=ylabel, value=value, low=low,
                      high=high, hue=hue, ylim=ylim, log2_x=True, style=style)


def heatmap(frame: pd.DataFrame, out: str | Path, *, row: str, col: str, title: str, xlabel: str, ylabel: str,
            colorbar_label: str, value: str = "value", low: str | None = "ci_low", high: str | None = "ci_high",
            digits: int = 3, style: dict | None = None):
    """Grid of `value` over `row` x `col` (e.g. SFT size x DPO size); each cell annotated 'x' and '[lo, hi]'."""
    import numpy as np

    _check(frame, [row, col, value, low, high], title, xlabel, ylabel)
    style = figure_style(style)
    rows, cols = _levels(frame[row]), _levels(frame[col])
    grid = np.full((len(rows), len(cols)), np.nan)
    notes = [["n/a"] * len(cols) for _ in rows]
    for record in frame.to_dict("records"):
        i, j = rows.index(record[row]), cols.index(record[col])
        grid[i, j] = record[value]
        interval = ci_cell(record[value], record.get(low), record.get(high), digits) if low else ci_cell(
            record[value], digits=digits)
        notes[i][j] = interval.replace(" [", "\n[")
    with _styled(style):
        fig, ax = _figure(style, aspect=max(style["aspect"], 0.18 * len(rows) + 0.25))
        ax.grid(False)
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=style["colormap"], aspect="auto", origin="lower")
        colorbar = fig.colorbar(image, ax=ax)
        colorbar.set_label(colorbar_label)
        finite = grid[np.isfinite(grid)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0
        for i in range(len(rows)):
            for j in range(len(cols)):
                dark = np.isfinite(grid[i, j]) and grid[i, j] < middle
                ax.text(j, i, notes[i][j], ha="center", va="center", fontsize=style["font_size"] - 1,
                        color="white" if dark else "black")
        ax.set_xticks(range(len(cols)), [str(c) for c in cols])
        ax.set_yticks(range(len(rows)), [str(r) for r in rows])
        _finish(fig, ax, title, xlabel, ylabel, None, None, legend=False)
        _save(fig, out, style)
    return fig


def _levels(series: pd.Series) -> list:
    levels = list(pd.unique(series))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in levels):
        return sorted(levels)
    return levels


# ------------------------------------------------------------------------------ the run's tables and figures

JUDGEBENCH_TABLE_TITLE = ("JudgeBench: official score overall and per category (knowledge: mmlu-pro, reasoning: "
                          "livebench-reasoning, math: livebench-math, coding: livecodebench), beside accuracy")
TABLE_KEYS = ["benchmark", "group", "model"]
STAGE_ORDER = ("base", "sft", "dpo")


AFTER_ROUNDS = ("rl", "rm")  # GRPO and the scalar reward-model baseline, after the rollout rounds


def model_order(model: str) -> tuple[int, int]:
    """base, sft, dpo, round_1, round_2, ..., rl, rm: the order models are trained in."""
    if model in STAGE_ORDER:
        return STAGE_ORDER.index(model), 0
    if model in AFTER_ROUNDS:
        return len(STAGE_ORDER) + 1 + AFTER_ROUNDS.index(model), 0
    return len(STAGE_ORDER), int(model.split("_")[1])


def _wide_rows(rows: pd.DataFrame, order) -> tuple[pd.DataFrame, list[str]]:
    """Tidy rows -> one row per TABLE_KEYS in training order, with the `order` metrics that are present; only
    key combinations the rows have (wide_ci_table crosses every benchmark, group and model)."""
    wide = wide_ci_table(rows, TABLE_KEYS)
    present = rows[TABLE_KEYS].drop_duplicates()
    wide = wide.merge(present, on=TABLE_KEYS, how="inner")
    wide["_order"] = wide["model"].map(model_order)
    wide = wide.sort_values(["benchmark", "group", "_order"]).drop(columns="_order").reset_index(drop=True)
    metrics = [m for m in order if m in wide.columns]
    return wide[TABLE_KEYS + [f"{m}{s}" for m in metrics for s in ("", "_ci_low", "_ci_high")]], metrics


def headline_tables(frame: pd.DataFrame) -> list[dict]:
    """The headline tables of a run: one per task type present (TaskType.table_metrics, in that order; a
    metric no row of the table has is left out), then, when a benchmark is JudgeBench-format, the JudgeBench
    table (official score overall and per category, then accuracy). Each: {kind (task type | "judgebench"),
    title, table (numbers: m, m_ci_low, m_ci_high), metrics (shown, in order)}."""
    out = []
    scoped = frame[frame["scope"].isin(["overall", "bias"])]
    for task_type in tasks.names():
        task = tasks.get(task_type)
        rows = scoped[(scoped["task_type"] == task_type) & scoped["metric"].isin(task.table_metrics)]
        if rows.empty:
            continue
        table, metrics = _wide_rows(rows, task.table_metrics)
        metrics = [m for m in metrics if table[m].notna().any()]
        out.append({"kind": task_type, "title": task.table_title, "table": table, "metrics": metrics})
    categories = frame[frame["scope"] == "judgebench_category"]
    if not categories.empty:
        keys = categories[TABLE_KEYS].drop_duplicates()
        overall = scoped[(scoped["scope"] == "overall") & scoped["metric"].isin(["judgebench_score", "accuracy"])]
        overall = overall.merge(keys, on=TABLE_KEYS)
        by_category = categories[categories["metric"] == "judgebench_score"].assign(metric=categories["name"])
        order = ("judgebench_score",) + tuple(JUDGEBENCH_CATEGORIES) + ("accuracy",)
        table, metrics = _wide_rows(pd.concat([overall, by_category], ignore_index=True), order)
        out.append({"kind": "judgebench", "title": JUDGEBENCH_TABLE_TITLE, "table": table, "metrics": metrics})
    return out


def write_headline_tables(frame: pd.DataFrame, md_path: str | Path, tex_path: str | Path, caption: str,
                          label: str = "tab:metrics", digits: int = 3) -> list[dict]:
    """headline_tables as one Markdown file (the caption, then each table under its title) and one LaTeX file
    (one booktabs table per headline table, captioned with its title and the caption, labelled
    <label>-<kind>). Returns headline_tables with each entry's display frame added as `display`."""
    tables = headline_tables(frame)
    md, tex = [f"{caption}\n"], []
    for entry in tables:
        entry["display"] = ci_frame(entry["table"], entry["metrics"], TABLE_KEYS, digits=digits)
        md.append(f"**{entry['title']}**\n\n" + to_markdown(entry["display"]))
        tex.append(to_latex(entry["display"], f"{entry['title']}. {caption}",
                            f"{label}-{entry['kind'].replace('_', '-')}"))
    for path in (md_path, tex_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(md_path).write_text("\n".join(md), encoding="utf-8")
    Path(tex_path).write_text("\n".join(tex), encoding="utf-8")
    return tables


def carried_forward_note(frame: pd.DataFrame) -> str:
    """A sentence naming every model that kept its starting weights because its stage got no data."""
    if "weights_of" not in frame.columns:
        return ""
    carried = frame.dropna(subset=["weights_of"]).drop_duplicates("model")
    if carried.empty:
        return ""
    parts = [f"{row.model} = {Path(row.weights_of).name}" for row in carried.itertuples()]
    return (" Trained on nothing (its stage kept no data), so holding the weights it started from: "
            + "; ".join(parts) + ".")


def _primary_metrics() -> dict[str, str]:
    return {name: tasks.get(name).primary_metric for name in tasks.names()}


def primary_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Each task group's primary metric (TaskType.primary_metric), overall scope."""
    primary = frame["task_type"].map(_primary_metrics())
    return frame[(frame["scope"] == "overall") & (frame["metric"] == primary)].copy()


def ablation_frame(cells: list[dict], spec: dict) -> pd.DataFrame:
    """The numbers an ablation plots: for every (grid point, model) cell, the spec's metric per task group
    (SC@k rows for an sc_curve), with one column per varied key (named by its last segment)."""
    parts = []
    for cell in cells:
        extra = {"variant": cell["variant"], "setting": _setting(cell), **{
            key.rsplit(".", 1)[-1]: _value_label(value) for key, value in cell["point"].items()}}
        part = tidy_frame([cell["metrics"]], [extra])
        part["model"] = cell["model"]
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    scope = "sc_at_k" if spec["plot"] == "sc_curve" else "overall"
    metric = frame["task_type"].map(_primary_metrics()) if spec["metric"] == "primary" else spec["metric"]
    frame = frame[(frame["scope"] == scope) & (frame["metric"] == metric)].reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"no '{spec['metric']}' numbers ({scope}) in the ablation's metric files: is the metric "
                         f"defined for the benchmark's task types?")
    return frame


UNCAPPED = "all"  # the label of a null grid value (no cap)


def _value_label(value) -> str:
    """A grid value as a table/axis label: null is UNCAPPED, a template list its first template."""
    if value is None:
        return UNCAPPED
    if isinstance(value, list):
        return f"{value[0]} (+{len(value) - 1})" if len(value) > 1 else str(value[0])
    return str(value)


def _setting(cell: dict) -> str:
    point = ", ".join(f"{key.rsplit('.', 1)[-1]}={_value_label(value)}" for key, value in cell["point"].items())
    return f"{cell['model']} ({point})" if point else cell["model"]


def _line_positions(labels: pd.Series) -> tuple[pd.Series, dict[float, str] | None]:
    """A line plot's x positions for grid labels: numbers stand for themselves; 'all' (a null grid value, no cap)
    goes one mean gap past the largest number, labelled 'all'. Other text is an error naming it."""
    numbers = pd.to_numeric(labels, errors="coerce")
    other = sorted(set(labels[numbers.isna()]) - {UNCAPPED})
    if other or numbers.isna().all():
        raise ValueError(f"a line plot needs numeric grid values (or null: 'all'); got {other or sorted(set(labels))}")
    if not numbers.isna().any():
        return numbers, None
    known = sorted(numbers.dropna().unique())
    gap = (known[-1] - known[0]) / (len(known) - 1) if len(known) > 1 else max(abs(known[0]), 1.0)
    where = float(known[-1] + gap)
    return numbers.fillna(where), {**{float(v): f"{v:g}" for v in known}, where: UNCAPPED}


def ablation_figure(frame: pd.DataFrame, spec: dict, out: str | Path, title: str, confidence: float,
                    style: dict):
    """Draw an ablation's frame as its spec says: bar, line, heatmap or sc_curve."""
    keys = [key.rsplit(".", 1)[-1] for key in spec["vary"]]
    ylabel = f"{spec['metric']} ({confidence:.0%} bootstrap CI)"
    hue = "group" if frame["group"].nunique() > 1 else None
    if spec["plot"] == "bar":
        return bar_chart(frame, out, category="setting", hue=hue, title=title, xlabel="setting", ylabel=ylabel,
                         ylim=(0, 1.02) if spec["metric"] != "pearson" else None, style=style)
    if spec["plot"] == "line":
        x = keys[0] if keys else "model"
        data = frame.copy()
        if x == "model":
            data["step"] = data["model"].map(lambda m: model_order(m)[0] + model_order(m)[1])
            x = "step"
            tick_labels = None
        else:
            data[x], tick_labels = _line_positions(data[x])
        xlabel = "training stage (0 base, 1 SFT, 2 DPO, 3+ rollout rounds)" if x == "step" else keys[0]
        return line_chart(data, out, x=x, hue=hue, title=title, xlabel=xlabel, ylabel=ylabel, style=style,
                          tick_labels=tick_labels)
    if spec["plot"] == "sc_curve":
        return sc_at_k_curve(frame, out, hue=hue, title=title, ylabel=ylabel, style=style)
    group = sorted(frame["group"].unique(), key=lambda g: tasks.names().index(g.split("/")[0]))[0]
    data = frame[frame["group"] == group]
    return heatmap(data, out, row=keys[0], col=keys[1], title=f"{title} ({group})", xlabel=keys[1],
                   ylabel=keys[0], colorbar_label=spec["metric"], style=style)


# ------------------------------------------------------------------------------------ training curves

TRAINING_CURVES = {"loss": "training loss", "mean_token_accuracy": "SFT token accuracy",
                   "decision_token_accuracy": "SFT decision-token accuracy",
                   "rewards/accuracies": "DPO reward accuracy", "rewards/margins": "DPO reward margin",
                   "reward": "GRPO mean reward (rl)", "accuracy": "reward-model pair accuracy (rm)"}


def compute_table(summaries: dict[str, dict]) -> pd.DataFrame:
    """One row per model job and kind of work from stage summaries (path -> summary.json) that carry a `compute`
    record (judgeflow.core.hardware.work_summary): which job, seconds of the whole job, tokens, achieved GFLOP/s,
    the matmul peak measured in that job and the share of it. Jobs without model work are left out."""
    rows = []
    for path, data in summaries.items():
        for kind, work in sorted((data.get("compute") or {}).items()):
            job = str(Path(path).parent / Path(path).name.removesuffix("summary.json").rstrip("."))
            job = "/".join(Path(job).parts[-3:])  # e.g. eval/sft/heldout, main/annotate, main/models/sft
            rows.append({"stage": data["stage"], "job": job, "work": kind, "dtype": work["dtype"],
                         "job_seconds": data["seconds"], "model_seconds": work["seconds"], "tokens": work["tokens"],
                         "gflops": work.get("gflops"), "peak_gflops": work.get("peak_gflops"),
                         "percent_of_peak": work.get("percent_of_peak")})
    columns = ["stage", "job", "work", "dtype", "job_seconds", "model_seconds", "tokens", "gflops", "peak_gflops",
               "percent_of_peak"]
    return pd.DataFrame(rows, columns=columns)


def training_frame(summaries: dict[str, dict]) -> pd.DataFrame:
    """One row per (trained model, logged step, TRAINING_CURVES metric) from the trainers' log histories kept in
    the models' summary.json; a carried-forward stage (no training) has none."""
    rows = []
    for model, summary in summaries.items():
        for entry in summary.get("log_history") or []:
            if "step" not in entry:
                continue
            rows += [{"model": model, "step": entry["step"], "metric": metric, "value": entry[metric]}
                     for metric in TRAINING_CURVES if metric in entry]
    return pd.DataFrame(rows, columns=["model", "step", "metric", "value"])


def training_curves(frame: pd.DataFrame, out: str | Path, title: str, style: dict | None = None):
    """A panel per TRAINING_CURVES metric that was logged, a line per trained model, over optimizer steps.
    With no logged step (every stage skipped or carried forward) the figure says so and draws no data."""
    style = figure_style(style)
    metrics = [m for m in TRAINING_CURVES if m in set(frame["metric"])]
    if not metrics:
        with _styled(style):
            fig, ax = _figure(style)
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no stage was trained: every training stage was skipped or carried its weights "
                    "forward", ha="center", va="center", wrap=True)
            ax.set_title(title)
            _save(fig, out, style)
        return fig
    with _styled(style):
        from matplotlib.figure import Figure

        width = style["figure_width"]
        fig = Figure(figsize=(width, width * style["aspect"] * 0.55 * len(metrics)), dpi=style["dpi"])
        axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
        models = sorted(frame["model"].unique(), key=model_order)  # one colour per model in every panel
        for ax, metric in zip(axes, metrics):
            part = frame[frame["metric"] == metric]
            for number, model in enumerate(models):
                series = part[part["model"] == model].sort_values("step")
                if series.empty:
                    continue
                ax.plot(series["step"], series["value"], marker=".", label=model,
                        color=style["palette"][number % len(style["palette"])])
            ax.set_ylabel(TRAINING_CURVES[metric])
            ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
        axes[-1].set_xlabel("optimizer step")
        axes[0].set_title(title)
        _save(fig, out, style)
    return fig
