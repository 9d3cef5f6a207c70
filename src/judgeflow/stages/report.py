"""Rules of workflow/rules/report.smk: tables and figures from result files, and the config snapshot."""

from __future__ import annotations

from pathlib import Path

from judgeflow import tasks
from judgeflow.core.config import config_hash
from judgeflow.core.records import read_json, read_jsonl, stage, write_json
from judgeflow.evaluation import downstream, report
from judgeflow.evaluation import metrics as metrics_mod
from judgeflow.stages.common import RM_NOTE


def downstream_table(config: dict, metrics: list[str], snapshot: str, csv: str, md: str, tex: str, summary: str,
                     log: str) -> None:
    """Best-of-N accuracy per judge model: the judge's pick, random selection and the oracle (pass@N)."""
    import pandas as pd

    with stage("downstream_table", config, summary, log) as s:
        rows = []
        for path in metrics:
            result = read_json(path)
            for name in downstream.SELECTIONS:
                rows.append({"model": result["model"], "selection": name, "questions": result["questions"],
                             "n": result["n"], "value": result[name], "ci_low": result[f"{name}_ci"][0],
                             "ci_high": result[f"{name}_ci"][1]})
        frame = pd.DataFrame(rows)
        frame.to_csv(csv, index=False)
        table = report.wide_ci_table(frame, "model", metric_col="selection")
        table = table.sort_values("model", key=lambda c: c.map(report.model_order)).reset_index(drop=True)
        full_hash = read_json(snapshot)["config_hash"]
        caption = (f"Best-of-{config['downstream']['n']} selection accuracy on the held-out questions: the judge's "
                   f"pick vs random selection vs the oracle (pass@N); policy {config['downstream']['policy']}; "
                   f"experiment {config['experiment']}, config {full_hash}.")
        report.write_tables(table, list(downstream.SELECTIONS), ["model"], None, md, tex, caption,
                            label="tab:best_of_n")
        s.items_in, s.items_out = len(metrics), len(frame)


def downstream_figure(config: dict, csv: str, snapshot: str, png: str, summary: str, log: str) -> None:
    import pandas as pd

    with stage("downstream_figure", config, summary, log) as s:
        frame = pd.read_csv(csv)
        frame["_order"] = frame["model"].map(report.model_order)
        frame = frame.sort_values(["_order"], kind="stable").drop(columns="_order")
        full_hash = read_json(snapshot)["config_hash"]
        report.bar_chart(frame, _stem(png), category="model", hue="selection",
                         title=f"Best-of-{config['downstream']['n']} reranking (config {full_hash})",
                         xlabel="judge model", ylabel=f"accuracy of the selected answer "
                         f"({config['evaluation']['confidence']:.0%} CI)", ylim=(0, 1.02),
                         style=config["report"]["style"])
        s.items_in, s.items_out = len(frame), 1
        s.extra.update(style=config["report"]["style"])


def policy_table(config: dict, accuracy: list[str], snapshot: str, csv: str, md: str, tex: str, summary: str,
                 log: str) -> None:
    """Held-out accuracy of the policy before and after DPO on the pairs its judge picked by tournament."""
    import pandas as pd

    with stage("policy_table", config, summary, log) as s:
        rows = []
        for path in accuracy:
            result = read_json(path)
            rows.append({"policy": result["policy"], "questions": result["questions"], "accuracy": result["accuracy"],
                         "accuracy_ci_low": result["accuracy_ci"][0], "accuracy_ci_high": result["accuracy_ci"][1]})
        table = pd.DataFrame(rows)
        full_hash = read_json(snapshot)["config_hash"]
        caption = (f"Policy {config['downstream']['policy']} on the held-out questions (greedy), before and after DPO "
                   f"on pairs its judge picked by tournament; experiment {config['experiment']}, config {full_hash}.")
        report.write_tables(table, ["accuracy"], ["policy", "questions"], csv, md, tex, caption,
                            label="tab:policy_dpo")
        s.items_in, s.items_out = len(accuracy), len(table)


def policy_figure(config: dict, csv: str, snapshot: str, png: str, summary: str, log: str) -> None:
    import pandas as pd

    with stage("policy_figure", config, summary, log) as s:
        frame = pd.read_csv(csv).rename(columns={"accuracy": "value", "accuracy_ci_low": "ci_low",
                                                 "accuracy_ci_high": "ci_high"})
        full_hash = read_json(snapshot)["config_hash"]
        report.bar_chart(frame, _stem(png), category="policy", title=f"Policy DPO on judge-picked pairs "
                         f"(config {full_hash})", xlabel="policy", ylabel=f"held-out accuracy "
                         f"({config['evaluation']['confidence']:.0%} CI)", ylim=(0, 1.02),
                         style=config["report"]["style"])
        s.items_in, s.items_out = len(frame), 1
        s.extra.update(style=config["report"]["style"])


def _stem(path: str) -> str:
    return str(Path(path).with_suffix(""))


def report_table(config: dict, metrics: list[str], snapshot: str, csv: str, md: str, tex: str, summary: str,
                 log: str) -> None:
    """Every number of the main run (tidy CSV) and the headline table (Markdown, LaTeX) with its provenance."""
    with stage("report_table", config, summary, log) as s:
        frame = report.tidy_frame(metrics)
        confidence = config["evaluation"]["confidence"]
        full_hash = read_json(snapshot)["config_hash"]
        caption = (f"Judge metrics per benchmark, task and training stage; experiment {config['experiment']}, "
                   f"config {full_hash}. Pairwise items are judged in both orders; parse errors count as wrong "
                   f"(rewardbench_score counts them 0.5; judgebench_score, JudgeBench's official pair score, 0). "
                   f"Brackets: {confidence:.0%} item-level bootstrap intervals." + report.carried_forward_note(frame)
                   + (f" {RM_NOTE[0].upper()}{RM_NOTE[1:]}." if (frame["model"] == "rm").any() else ""))
        tables = report.write_headline_tables(frame, md, tex, caption, label="tab:metrics")
        frame.to_csv(csv, index=False)
        s.items_in, s.items_out = len(metrics), len(frame)
        s.extra.update(config_hash=full_hash, rows=sum(len(t["table"]) for t in tables if t["kind"] != "judgebench"))


def comparison_rows(judgments: list[dict], base: list[dict], ecfg: dict, seed: int) -> list[dict]:
    """metrics.paired_comparison of one judge against the base model, over all items and within each origin
    of the judged responses (judging.origin_of: reference vs injected vs model-sampled)."""
    rows = [{**row, "origin": "all"} for row in
            metrics_mod.paired_comparison(judgments, base, ecfg["bootstrap_samples"], ecfg["confidence"], seed)]
    origins = sorted({str(j.get("origin")) for j in base if j.get("origin")})
    for origin in origins if len(origins) > 1 else []:
        mine = [j for j in judgments if str(j.get("origin")) == origin]
        theirs = [j for j in base if str(j.get("origin")) == origin]
        rows += [{**row, "origin": origin} for row in
                 metrics_mod.paired_comparison(mine, theirs, ecfg["bootstrap_samples"], ecfg["confidence"], seed)]
    return rows


def report_delta(config: dict, judgments: list[str], snapshot: str, csv: str, md: str, tex: str, summary: str,
                 log: str) -> None:
    """Every model against the base model on the same items (paired bootstrap), beside the baselines that
    read no content (best constant answer, pick the shorter response): a gain a shortcut also gets is no gain."""
    import pandas as pd

    ecfg = config["evaluation"]
    with stage("report_delta", config, summary, log) as s:
        by_benchmark: dict[str, dict[str, list[dict]]] = {}
        for path in judgments:
            rows = read_jsonl(path)
            benchmark, model = Path(path).parent.name, Path(path).parent.parent.name
            by_benchmark.setdefault(benchmark, {})[model] = rows
        out = []
        for benchmark, judged in by_benchmark.items():
            if "base" not in judged:
                raise ValueError(f"report_delta: no base-model judgments for benchmark {benchmark}")
            base = judged["base"]
            judges = {**{f"baseline:{k}": v for k, v in metrics_mod.baseline_judgments(base).items()},
                      **{m: v for m, v in judged.items() if m != "base"}}
            for model, rows in judges.items():
                judged_tasks = {j["task_type"] for j in rows}  # the reward model (rm) judges some task types only
                out += [{"benchmark": benchmark, "model": model, **row}
                        for row in comparison_rows(rows, [j for j in base if j["task_type"] in judged_tasks], ecfg,
                                                   config["seed"])
                        # a shortcut baseline where the task type has that shortcut (else it is the constant)
                        if not model.startswith("baseline:") or model == "baseline:constant"
                        or model.removeprefix("baseline:") in tasks.get(row["task_type"]).shortcuts]
        frame = pd.DataFrame(out)
        frame["_order"] = frame["model"].map(lambda m: (-1, 0) if m.startswith("baseline:") else report.model_order(m))
        frame = frame.sort_values(["benchmark", "task_type", "metric", "origin", "_order"], kind="stable")
        frame = frame.drop(columns="_order").reset_index(drop=True)
        full_hash = read_json(snapshot)["config_hash"]
        caption = (f"Each model against the base model on the same items: value, the base model's value and the "
                   f"difference, with {ecfg['confidence']:.0%} {metrics_mod.PAIRED_NOTE}. baseline:constant answers "
                   f"each task's most frequent gold verdict (pairwise: always A); baseline:shorter picks the shorter "
                   f"response. origin: where the judged responses came from (all, or one origin). "
                   f"Experiment {config['experiment']}, config {full_hash}.")
        report.write_tables(frame, ["value", "reference_value", "delta"],
                            ["benchmark", "task_type", "metric", "origin", "model", "items"], csv, md, tex,
                            caption, label="tab:delta_vs_base", labels={"reference_value": "base"})
        s.items_in, s.items_out = len(judgments), len(frame)


def report_training(config: dict, summaries: list[str], sampling: list[str], snapshot: str, csv: str, md: str,
                    png: str, summary: str, log: str) -> None:
    """Training curves of every trained model (loss per step; DPO reward accuracy and margin), a cost table per
    trained stage (steps, seconds, tokens, tokens/s, precision, whether the weights were carried forward) and a
    compute table of every model job, sampling and training (seconds, tokens, GFLOP/s, % of the matmul peak)."""
    import pandas as pd

    with stage("report_training", config, summary, log) as s:
        read = {path: read_json(path) for path in [*sampling, *summaries]}
        compute = report.compute_table(read)
        loaded = {Path(path).name.removesuffix(".summary.json"): read[path] for path in summaries}
        frame = report.training_frame(loaded)
        frame.to_csv(csv, index=False)
        costs = []
        for model, data in loaded.items():
            seen = [e["num_input_tokens_seen"] for e in data.get("log_history") or [] if "num_input_tokens_seen" in e]
            precision = (data.get("precision") or [{}])[-1]
            costs.append({"model": model, "stage": data["stage"], "examples": data["items_in"],
                          "steps": data.get("steps", 0), "seconds": data["seconds"],
                          "tokens": max(seen) if seen else 0, "tokens_per_second": data.get("train_tokens_per_second"),
                          "precision": precision.get("dtype"), "carried_forward": bool(data.get("carried_forward")),
                          "first_loss": data.get("first_loss"), "last_loss": data.get("last_loss")})
        table = pd.DataFrame(costs)
        full_hash = read_json(snapshot)["config_hash"]
        Path(md).write_text(
            report.to_markdown(table, f"Trained stages of experiment {config['experiment']} (config {full_hash}): "
                                      "cost and loss.") + "\n"
            + report.to_markdown(compute, "Model work per job: seconds of the job, tokens through the model, "
                                          "achieved GFLOP/s (2·P per sampled or prefilled token, 6·P per trained "
                                          "token, 4·P with LoRA) and its share of the matmul peak of the dtype, "
                                          "measured in the same job."), encoding="utf-8")
        report.training_curves(frame, _stem(png), f"{config['experiment']} (config {full_hash}): training",
                               style=config["report"]["style"])
        s.items_in, s.items_out = len(summaries), len(frame)


def report_figure(config: dict, csv: str, snapshot: str, png: str, summary: str, log: str) -> None:
    """Each task's primary metric per model on each benchmark, drawn from the report CSV only."""
    import pandas as pd

    with stage("report_figure", config, summary, log) as s:
        frame = report.primary_rows(pd.read_csv(csv))
        frame["series"] = frame["benchmark"] + ": " + frame["group"] + " (" + frame["metric"] + ")"
        frame["_order"] = frame["model"].map(report.model_order)
        frame = frame.sort_values(["_order", "series"]).drop(columns="_order")
        full_hash = read_json(snapshot)["config_hash"]
        report.bar_chart(frame, _stem(png), category="model", hue="series",
                         title=f"{config['experiment']} (config {full_hash}): judge per training stage",
                         xlabel="training stage",
                         ylabel=f"primary metric ({config['evaluation']['confidence']:.0%} CI)",
                         style=config["report"]["style"])
        s.items_in, s.items_out = len(frame), 1
        s.extra.update(style=config["report"]["style"])


def ablation_table(config: dict, ablation: str, cells: list[dict], snapshot: str, csv: str, md: str, tex: str,
                   summary: str, log: str) -> None:
    """The numbers of one ablation, gathered from its variants' metric files."""
    spec = config["ablations"][ablation]
    with stage("ablation_table", config, summary, log) as s:
        frame = report.ablation_frame(cells, spec)
        frame.to_csv(csv, index=False)
        keys = [key.rsplit(".", 1)[-1] for key in spec["vary"]]
        keep = ["model"] + keys + ["group"] + (["name"] if spec["plot"] == "sc_curve" else [])
        table = frame[keep + ["value", "ci_low", "ci_high"]].rename(
            columns={"value": spec["metric"], "ci_low": f"{spec['metric']}_ci_low",
                     "ci_high": f"{spec['metric']}_ci_high"})
        full_hash = read_json(snapshot)["config_hash"]
        caption = (f"{spec['title']}: {spec['metric']} on {spec['benchmark']}; experiment {config['experiment']}, "
                   f"config {full_hash}; {config['evaluation']['confidence']:.0%} bootstrap intervals.")
        report.write_tables(table, [spec["metric"]], keep, None, md, tex, caption, label=f"tab:{ablation}")
        s.items_in, s.items_out = len(cells), len(frame)
        s.extra.update(config_hash=full_hash, variants=sorted({c["variant"] for c in cells}))


def ablation_figure(config: dict, ablation: str, csv: str, snapshot: str, png: str, summary: str, log: str) -> None:
    import pandas as pd

    spec = config["ablations"][ablation]
    with stage("ablation_figure", config, summary, log) as s:
        frame = pd.read_csv(csv, dtype={key.rsplit(".", 1)[-1]: str for key in spec["vary"]})
        full_hash = read_json(snapshot)["config_hash"]
        report.ablation_figure(frame, spec, _stem(png), f"{spec['title']} (config {full_hash})",
                               config["evaluation"]["confidence"], config["report"]["style"])
        s.items_in, s.items_out = len(frame), 1
        s.extra.update(style=config["report"]["style"])


def config_snapshot(config: dict, snapshot: str) -> None:
    """The whole resolved config and its hash: which config made this run's results."""
    write_json(snapshot, {"config_hash": config_hash(config), "config": config})
