"""One function per DAG stage: read input files, call the logic, write outputs and the stage summary.

workflow/scripts/*.py are thin wrappers that pass snakemake's input/output/params to these functions, so
every stage can also be run (and tested) without Snakemake.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from judgeflow import data, judging, launch, metrics, models, pairs, report
from judgeflow.config import config_hash
from judgeflow.generation import SamplingParams, make_backend
from judgeflow.records import read_json, read_jsonl, stage, write_json, write_jsonl
from judgeflow.templates import SOLVE_PROMPT


def prepare_model(config: dict, name: str, out_dir: str, summary: str, log_path: str, threads: int) -> None:
    with stage("prepare_model", config, summary, log_path, threads) as s:
        s.extra.update(model=name, **models.prepare_model(config["models"][name], out_dir, config))
        s.items_out = 1


def ingest(config: dict, questions_out: str, rejects_out: str, summary: str, log_path: str) -> None:
    """Load every source, cut disjoint question splits, write questions.jsonl and rejects.jsonl."""
    with stage("ingest", config, summary, log_path) as s:
        records, rejects, per_source = [], [], {}
        for spec in config["data"]["sources"]:
            got, bad = data.load_source(spec, config["seed"])
            per_source[spec["name"]] = {"in": len(got) + len(bad), "out": len(got), "rejected": len(bad)}
            records += got
            rejects += bad
        if rejects:
            s.reject("malformed_row", len(rejects))
        split = data.assign_splits(records, config["data"]["splits"], config["rollout"]["rounds"], config["seed"])
        s.items_in, s.items_out = len(records) + len(rejects), write_jsonl(questions_out, split)
        write_jsonl(rejects_out, rejects)
        s.extra.update(per_source=per_source, per_split=dict(Counter(r["split"] for r in split)))


def generate_responses(config: dict, generator: str, questions: str, model_dir: str, out: str, summary: str,
                       log_path: str, threads: int) -> None:
    """Sample N answers per used question from one generator model and grade each against the truth."""
    gcfg = config["generate"]
    with stage("generate_responses", config, summary, log_path, threads) as s:
        rows = [q for q in read_jsonl(questions) if q["split"] != "unused"]
        backend = make_backend(model_dir, config["generation"])
        params = SamplingParams.from_config(gcfg["sampling"], n=gcfg["samples_per_question"], seed=config["seed"])
        outputs = backend.generate([[{"role": "user", "content": SOLVE_PROMPT.format(question=q["question"])}]
                                    for q in rows], params)
        responses = []
        for question, completions in zip(rows, outputs):
            for k, completion in enumerate(completions):
                responses.append({"id": f"{question['id']}-{generator}-{k}", "question_id": question["id"],
                                  "generator": generator, "sample": k, "text": completion.text,
                                  "num_tokens": completion.num_tokens, "finish_reason": completion.finish_reason,
                                  **data.grade(completion.text, question["answer"])})
        s.items_in, s.items_out = len(rows), write_jsonl(out, responses)
        s.extra.update(generator=generator, correct=sum(r["correct"] for r in responses),
                       no_answer=sum(r["extracted"] is None for r in responses),
                       tokens=sum(r["num_tokens"] for r in responses))


def build_items(config: dict, questions: str, responses: list[str], pairs_out: str, verification_out: str,
                rejects_out: str, summary: str, log_path: str) -> None:
    with stage("build_items", config, summary, log_path) as s:
        qs = [q for q in read_jsonl(questions) if q["split"] != "unused"]
        rs = [r for path in responses for r in read_jsonl(path)]
        items, verification, rejects = pairs.build_items(
            qs, rs, config["generate"]["include_reference_solution"], config["seed"])
        rollout, batch_counts = pairs.draw_rollout_batches([i for i in items if i["split"] == "rollout"],
                                                           config["data"]["task_ratio"],
                                                           config["rollout"]["rounds"], config["seed"])
        items = [i for i in items if i["split"] != "rollout"] + rollout
        for reject in rejects:
            s.reject(reject["reason"])
        s.items_in = len(qs)
        s.items_out = write_jsonl(pairs_out, items)
        write_jsonl(verification_out, verification)
        write_jsonl(rejects_out, rejects)
        s.extra.update(pairs_per_split=dict(Counter(i["split"] for i in items)), rollout_batches=batch_counts,
                       verification_items=len(verification),
                       verification_labels=dict(Counter(v["label"] for v in verification)))


def _split(items_path: str, split: str) -> list[dict]:
    return [item for item in read_jsonl(items_path) if item["split"] == split]


def annotate(config: dict, items_path: str, teacher_dir: str, judgments_out: str, sft_out: str, pool_out: str,
             summary: str, log_path: str, threads: int) -> None:
    """Teacher critiques + verdicts in both orders (samples_per_order each); correct in both orders -> SFT
    set, anything else -> DPO pool."""
    with stage("annotate", config, summary, log_path, threads) as s:
        items = _split(items_path, "seed")
        prompts = judging.prompts_for(items, judging.ORDERS, config["judge"]["template"], config["seed"])
        params = SamplingParams.from_config(config["teacher"]["sampling"], n=config["teacher"]["samples_per_order"],
                                            seed=config["seed"])
        judgments = judging.sample_judgments(make_backend(teacher_dir, config["generation"]), prompts, params,
                                             config["judge"]["verdict_cue"], config["teacher"]["model"])
        sft, pool, reasons = judging.split_teacher_judgments(items, judgments, config["seed"])
        write_jsonl(judgments_out, judgments)
        s.items_in = len(items)
        s.items_out = write_jsonl(sft_out, sft) // 2
        write_jsonl(pool_out, pool)
        s.extra.update(sft_examples=len(sft), dpo_pool_items=len(pool), dpo_pool_reasons=dict(reasons),
                       judgment_stats=_judgment_stats(judgments))


def _judgment_stats(judgments: list[dict]) -> dict:
    return {"judgments": len(judgments), "correct": sum(j["correct"] for j in judgments),
            "parse_errors": dict(Counter(j["parse_error"] for j in judgments if j["parse_error"])),
            "cue_used": sum(j["cue_used"] for j in judgments), "tokens": sum(j["num_tokens"] for j in judgments)}


def train_sft(config: dict, examples_paths: list[str], init_dir: str, out_dir: str, tcfg: dict, summary: str,
              log_path: str, threads: int, stage_name: str, shuffle: bool = True, gpus: int = 0,
              accelerate_config: str | None = None) -> None:
    """SFT from prompt/completion files; shuffle=False keeps their order (the rollout curriculum).
    With more than one GPU the training runs under `accelerate launch` (judgeflow.launch)."""
    with stage(stage_name, config, summary, log_path, threads) as s:
        examples = [row for path in examples_paths for row in read_jsonl(path)]
        result = launch.run_training("sft", dict(init_dir=init_dir, examples=examples, out_dir=out_dir, tcfg=tcfg,
                                                 seed=config["seed"], shuffle=shuffle),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        s.items_in = s.items_out = len(examples)
        s.extra.update(init_model=init_dir, **result)


def sample_for_training(config: dict, items: list[dict], model_dir: str, samples_per_item: int, sampling: dict,
                        model_name: str) -> list[dict]:
    """K judgments per item in its 'original' order (whose A/B position is itself a seeded coin)."""
    prompts = judging.prompts_for(items, ("original",), config["judge"]["template"], config["seed"])
    params = SamplingParams.from_config(sampling, n=samples_per_item, seed=config["seed"])
    return judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                    config["judge"]["verdict_cue"], model_name)


def dpo_sample(config: dict, pool_path: str, model_dir: str, samples_out: str, pairs_out: str, summary: str,
               log_path: str, threads: int) -> None:
    dcfg = config["dpo"]
    with stage("dpo_sample", config, summary, log_path, threads) as s:
        items = read_jsonl(pool_path)
        samples = sample_for_training(config, items, model_dir, dcfg["samples_per_item"], dcfg["sampling"], "sft")
        dpo_pairs, reasons = judging.dpo_pairs(samples, config["seed"])
        for reason, count in reasons.items():
            s.reject(reason, count)
        write_jsonl(samples_out, samples)
        s.items_in, s.items_out = len(items), write_jsonl(pairs_out, dpo_pairs)
        s.extra.update(judgment_stats=_judgment_stats(samples))


def train_dpo(config: dict, pairs_path: str, init_dir: str, out_dir: str, summary: str, log_path: str,
              threads: int, gpus: int = 0, accelerate_config: str | None = None) -> None:
    dcfg = config["dpo"]
    with stage("train_dpo", config, summary, log_path, threads) as s:
        rows = read_jsonl(pairs_path)
        result = launch.run_training("dpo", dict(init_dir=init_dir, pairs=rows, out_dir=out_dir,
                                                 tcfg=dcfg["training"], beta=dcfg["beta"],
                                                 nll_weight=dcfg["nll_weight"], seed=config["seed"]),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        s.items_in = s.items_out = len(rows)
        s.extra.update(init_model=init_dir, **result)


def rollout_sample(config: dict, round_index: int, items_path: str, model_dir: str, samples_out: str,
                   kept_out: str, summary: str, log_path: str, threads: int) -> None:
    """Round r: K judgments per item of the round's fresh batch from the previous model; keep one correct
    per item (rejection sampling), order by the curriculum, rewrite a share as direct judgments."""
    rcfg = config["rollout"]
    seed = config["seed"] + round_index
    with stage("rollout_sample", config, summary, log_path, threads) as s:
        items = _split(items_path, f"rollout_{round_index}")
        samples = sample_for_training(config, items, model_dir, rcfg["samples_per_item"], rcfg["sampling"],
                                      f"round_{round_index - 1}" if round_index > 1 else "dpo")
        kept, reasons, histogram = judging.keep_one_correct(samples, seed)
        for reason, count in reasons.items():
            s.reject(reason, count)
        kept = judging.curriculum_order(kept, seed) if rcfg["curriculum"] else judging.shuffled(kept, seed)
        kept = judging.to_direct_judgments(kept, {item["id"]: item for item in items},
                                           rcfg["direct_judgment_share"], config["judge"]["direct_template"],
                                           prompt_seed=config["seed"], seed=seed)
        write_jsonl(samples_out, samples)
        s.items_in, s.items_out = len(items), write_jsonl(kept_out, kept)
        s.extra.update(round=round_index, pass_rate_histogram=histogram, judgment_stats=_judgment_stats(samples),
                       curriculum=rcfg["curriculum"], protocols=dict(Counter(k["protocol"] for k in kept)))


def evaluate(config: dict, model: str, stage_index: int, items_path: str, model_dir: str, judgments_out: str,
             metrics_out: str, summary: str, log_path: str, threads: int) -> None:
    """Judge every held-out benchmark pair in both orders; write per-item judgments and metrics with CIs."""
    ecfg = config["evaluation"]
    with stage("evaluate", config, summary, log_path, threads) as s:
        items = _split(items_path, "benchmark")
        prompts = judging.prompts_for(items, judging.ORDERS, config["judge"]["template"], config["seed"])
        params = SamplingParams.from_config(ecfg["sampling"], n=1, seed=config["seed"])
        judgments = judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                             config["judge"]["verdict_cue"], model)
        s.items_in = len(items)
        s.items_out = write_jsonl(judgments_out, judgments)
        result = metrics.pairwise_metrics(judgments, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"])
        result.update(model=model, stage_index=stage_index, model_dir=model_dir,
                      experiment=config["experiment"], settings_hash=config_hash(config),
                      judgment_stats=_judgment_stats(judgments))
        write_json(metrics_out, result)
        s.extra.update(model=model, accuracy=result["accuracy"])


def make_report(config: dict, metric_files: list[str], config_snapshot: str, csv_out: str, md_out: str,
                figure_out: str, summary: str, log_path: str) -> None:
    with stage("report", config, summary, log_path) as s:
        table = report.metrics_table(metric_files)
        table.to_csv(csv_out, index=False)
        confidence = config["evaluation"]["confidence"]
        full_hash = read_json(config_snapshot)["config_hash"]
        header = (f"# Judge accuracy per training stage: experiment `{config['experiment']}`\n\n"
                  f"Made by the config with hash `{full_hash}` ({config_snapshot}). Each benchmark pair is judged "
                  f"in both orders; parse errors count as wrong. Intervals: {confidence:.0%} item-level bootstrap.\n\n")
        Path(md_out).write_text(header + report.markdown_table(table, confidence), encoding="utf-8")
        report.accuracy_figure(table, figure_out, f"{config['experiment']} (config {full_hash}): judge accuracy",
                               confidence, config["report"]["dpi"])
        s.items_in = len(metric_files)
        s.items_out = len(table)
        s.extra.update(config_hash=full_hash)


def write_config_snapshot(config: dict, out: str) -> None:
    """The whole resolved config and its hash: which config made this run's results."""
    write_json(out, {"config_hash": config_hash(config), "config": config})
