"""One function per DAG stage: read input files, call the logic, write outputs and the stage summary.

workflow/scripts/*.py are thin wrappers that pass snakemake's input/output/params to these functions, so
every stage can also be run (and tested) without Snakemake.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from judgeflow import domains, models
from judgeflow.core.config import config_hash, fresh_rounds
from judgeflow.core.records import read_json, read_jsonl, stage, write_json, write_jsonl
from judgeflow.data import loaders
from judgeflow.data import questions as data
from judgeflow.domains import instructions
from judgeflow.evaluation import downstream, metrics, report
from judgeflow.generation import SamplingParams
from judgeflow.generation.backends import make_backend
from judgeflow.judge import critiques, judging, templates
from judgeflow.models import sources as model_sources
from judgeflow.tasks import items as items_mod
from judgeflow.training import launch, rl, score_conversations


def prepare_model(config: dict, name: str, out_dir: str, summary: str, log_path: str, threads: int) -> None:
    with stage("prepare_model", config, summary, log_path, threads) as s:
        s.extra.update(model=name, **model_sources.prepare_model(config["models"][name], out_dir, config))
        s.items_out = 1


def ingest(config: dict, records_out: str, rejects_out: str, summary: str, log_path: str) -> None:
    """Load every source, select a balanced subset of open instructions, cut disjoint splits."""
    with stage("ingest", config, summary, log_path) as s:
        records, rejects, per_source = [], [], {}
        for spec in config["data"]["sources"]:
            got, bad = loaders.load_source(spec, config["seed"])
            per_source[spec["name"]] = {"in": len(got) + len(bad), "out": len(got), "rejected": len(bad)}
            records += got
            rejects += bad
        for reject in rejects:
            s.reject(reject.get("code", "malformed_row"))  # loaders.py: the reason code of each reject
        open_instructions = [r for r in records if r["kind"] == "instruction"]
        if open_instructions:
            kept, dropped = instructions.select_balanced(
                open_instructions, config["data"]["instruction_selection"]["per_category"], config["seed"])
            records = [r for r in records if r["kind"] != "instruction"] + kept
            rejects += dropped
            if dropped:
                s.reject("selection_cell_full", len(dropped))
            for reject in dropped:
                per_source[reject["source"]]["out"] -= 1
                per_source[reject["source"]]["selected_out"] = per_source[reject["source"]].get("selected_out", 0) + 1
        split = data.assign_splits(records, config["data"]["splits"], fresh_rounds(config), config["seed"])
        s.items_in, s.items_out = len(records) + len(rejects), write_jsonl(records_out, split)
        write_jsonl(rejects_out, rejects)
        s.extra.update(per_source=per_source, per_split=dict(Counter(r["split"] for r in split)),
                       per_kind=dict(Counter(r["kind"] for r in split)))


def generate_responses(config: dict, generator: str, records_path: str, model_dir: str, out: str, summary: str,
                       log_path: str, threads: int) -> None:
    """Generate-then-grade: N answers per used question, graded by its domain's verifier; and for each open
    instruction a preference pair made as Self-Taught Evaluators do (generate.bad_response)."""
    gcfg = config["generate"]
    with stage("generate_responses", config, summary, log_path, threads) as s:
        rows = [r for r in read_jsonl(records_path) if r["split"] != "unused"]
        questions = [r for r in rows if r["kind"] == "question"]
        backend = make_backend(model_dir, config["generation"])
        params = SamplingParams.from_config(gcfg["sampling"], n=gcfg["samples_per_question"], seed=config["seed"])
        responses = graded_answers(backend, questions, params, generator)
        pairs = instruction_pairs(config, generator, [r for r in rows if r["kind"] == "instruction"], backend)
        s.items_in, s.items_out = len(questions) + len(pairs), write_jsonl(out, responses + pairs)
        s.extra.update(generator=generator, questions=len(questions), instruction_pairs=len(pairs),
                       correct_by_domain=dict(Counter(r["domain"] for r in responses if r["correct"])),
                       responses_by_domain=dict(Counter(r["domain"] for r in responses)),
                       no_answer=sum(r["extracted"] is None for r in responses),
                       tokens=sum(r["num_tokens"] for r in responses))


def graded_answers(backend, questions: list[dict], params: SamplingParams, generator: str) -> list[dict]:
    """params.n answers of `generator` to each question (its domain's prompt), graded by the domain's verifier."""
    outputs = backend.generate([[{"role": "user", "content": domains.solve_prompt(q)}] for q in questions],
                               params) if questions else []
    return [{"id": f"{q['id']}-{generator}-{k}", "question_id": q["id"], "question": q["question"],
             "source": q["source"], "domain": q["domain"], "generator": generator, "sample": k, "text": c.text,
             "num_tokens": c.num_tokens, "finish_reason": c.finish_reason, **domains.grade_response(q, c.text)}
            for q, completions in zip(questions, outputs) for k, c in enumerate(completions)]


def instruction_pairs(config: dict, generator: str, rows: list[dict], backend) -> list[dict]:
    """Self-Taught Evaluators' synthetic pairs. modified_instruction: the model writes a similar but different
    instruction and answers both; its answer to the modified one is the rejected response. worse_answer: the
    model answers, then is asked for a worse answer."""
    if not rows:
        return []
    bcfg = config["generate"]["bad_response"]
    params = SamplingParams.from_config(bcfg["sampling"], n=1, seed=config["seed"])

    def ask(prompts):
        return [c[0].text.strip()
                for c in backend.generate([[{"role": "user", "content": p}] for p in prompts], params)]

    answers = ask([r["question"] for r in rows])
    if bcfg["method"] == "modified_instruction":
        modified = [instructions.clean_instruction(t) for t in
                    ask([instructions.MODIFY_PROMPT.format(question=r["question"]) for r in rows])]
        rejected = ask([m or r["question"] for m, r in zip(modified, rows)])
    else:
        modified = [None] * len(rows)
        rejected = ask([instructions.WORSE_PROMPT.format(question=r["question"], response=a)
                        for r, a in zip(rows, answers)])
    return [{"id": f"{r['id']}-{generator}-pair", "question_id": r["id"], "generator": generator,
             "method": bcfg["method"], "chosen": a, "rejected": b, "modified_instruction": m}
            for r, a, b, m in zip(rows, answers, rejected, modified)]


def prepare_benchmark(config: dict, name: str, items_out: str, rejects_out: str, summary: str, log_path: str) -> None:
    """A benchmark file (any loader format) as judge items of the 'benchmark' split."""
    spec = next(spec for spec in config["evaluation"]["benchmarks"] if spec["name"] == name)
    with stage("prepare_benchmark", config, summary, log_path) as s:
        records, rejects = loaders.load_source(spec, config["seed"])
        items = [{**items_mod.loaded_item(r), "split": "benchmark"} for r in records if r["kind"] == "item"]
        other = len(records) - len(items)
        if other:
            s.reject("not_a_judge_item", other)
        for reject in rejects:
            s.reject(reject.get("code", "malformed_row"))  # loaders.py: the reason code of each reject
        write_jsonl(rejects_out, rejects)
        s.items_in, s.items_out = len(records) + len(rejects), write_jsonl(items_out, items)
        s.extra.update(benchmark=name, per_task=dict(Counter(i["task_type"] for i in items)),
                       per_subset=dict(Counter(str(i.get("subset")) for i in items)))


def build_items(config: dict, records_path: str, responses: list[str], benchmark_files: list[str], items_out: str,
                rejects_out: str, summary: str, log_path: str) -> None:
    """Judge items of five task types; decontaminated against every benchmark prompt; the seed split and the
    rollout batches drawn in the global task ratio; each item given its template, drawn with the seed."""
    seed, dcfg = config["seed"], config["data"]
    with stage("build_items", config, summary, log_path) as s:
        records = [r for r in read_jsonl(records_path) if r["split"] != "unused"]
        rs = [r for path in responses for r in read_jsonl(path)]
        items, rejects = items_mod.build_items(records, rs, config["generate"]["include_reference_solution"],
                                               config["generate"]["error_injection"]["per_question"], seed)
        built = Counter((i["task_type"], i["domain"], i["source"]) for i in items)
        prompts = [i["question"] for i in items if i["split"] == "benchmark"]
        prompts += [i["question"] for path in benchmark_files for i in read_jsonl(path)]
        items, contaminated = items_mod.decontaminate(items, prompts, dcfg["decontamination"]["ngram"],
                                                      dcfg["decontamination"]["threshold"])
        rejects += contaminated
        seed_items, seed_rest = items_mod.mix_by_ratio([i for i in items if i["split"] == "seed"],
                                                       dcfg["task_ratio"], seed)
        rollout, batch_counts = items_mod.draw_rollout_batches([i for i in items if i["split"] == "rollout"],
                                                               dcfg["task_ratio"], fresh_rounds(config), seed)
        # the held-out split judges the task types the run trains: a share of 0 builds none of them
        items = ([i for i in items if i["split"] == "benchmark" and dcfg["task_ratio"].get(i["task_type"], 0) > 0]
                 + seed_items
                 + [{**i, "split": "seed_unused"} for i in seed_rest] + rollout)
        items = [{**i, "template_id": templates.pick_template(i, config["judge"]["templates"], seed)} for i in items]
        for reject in rejects:
            s.reject(reject["reason"])
        s.items_in = len(records)
        s.items_out = write_jsonl(items_out, sorted(items, key=lambda i: i["id"]))
        write_jsonl(rejects_out, rejects)
        out = Counter((i["task_type"], i["domain"], i["source"]) for i in items if not i["split"].endswith("_unused"))
        bad = Counter((r.get("task_type", "?"), r.get("domain", "?"), r["source"], r["reason"]) for r in rejects)
        s.extra.update(
            per_split=dict(Counter(i["split"] for i in items)), rollout_batches=batch_counts,
            per_task_split={f"{t}/{sp}": n
                            for (t, sp), n in sorted(Counter((i["task_type"], i["split"]) for i in items).items())},
            per_task_domain_source=[{"task_type": t, "domain": d, "source": src, "built": n, "out": out[(t, d, src)]}
                                    for (t, d, src), n in sorted(built.items())],
            rejects_by_task_domain_source_reason=[{"task_type": t, "domain": d, "source": src, "reason": why,
                                                   "count": n} for (t, d, src, why), n in sorted(bad.items())],
            templates=dict(Counter(i["template_id"] for i in items)))


def _split(items_path: str, split: str) -> list[dict]:
    return [item for item in read_jsonl(items_path) if item["split"] == split]


def annotate(config: dict, items_path: str, teacher_dir: str | None, judgments_out: str, sft_out: str, pool_out: str,
             summary: str, log_path: str, threads: int) -> None:
    """Teacher judgments of the seed items in every order (samples_per_order each); items correct in every
    order -> SFT set (balanced by label and length, capped, mixed with chat data), the rest -> DPO pool."""
    tcfg = config["teacher"]
    with stage("annotate", config, summary, log_path, threads) as s:
        all_items = read_jsonl(items_path)
        items = [i for i in all_items if i["split"] == "seed"]
        prompts = judging.prompts_for(items, config["judge"]["templates"], config["seed"])
        no_critique = {}
        if tcfg["critiques"] == "programmatic":
            judgments, no_critique = critiques.teacher_judgments(items, prompts)
        else:
            params = SamplingParams.from_config(tcfg["sampling"], n=tcfg["samples_per_order"], seed=config["seed"])
            judgments = judging.sample_judgments(make_backend(teacher_dir, config["generation"]), prompts, params,
                                                 config["judge"]["verdict_cue"], tcfg["model"])
        sft, pool, reasons = judging.split_teacher_judgments(items, judgments, config["seed"])
        if tcfg["critiques"] == "programmatic":  # why the programmatic teacher wrote nothing for a pool item
            reasons = Counter(no_critique.get(i["id"], "no_judgment") for i in pool)
        by_id = {i["id"]: i for i in items}
        sft, dropped = judging.balance_sft_items(by_id, sft, tcfg["balance_labels"], tcfg["balance_length"],
                                                 config["seed"])
        examples = [example for item_id in sorted(sft) for example in sft[item_id]]
        chat = judging.chat_examples(all_items, len(examples), tcfg["chat_share"], config["seed"]) if examples else []
        for reason, count in dropped.items():
            s.reject(reason, count)
        write_jsonl(judgments_out, judgments)
        s.items_in = len(items)
        s.items_out = write_jsonl(sft_out, examples + chat)
        write_jsonl(pool_out, pool)
        s.extra.update(judge_sft_examples=len(examples), chat_examples=len(chat), dpo_pool_items=len(pool),
                       dpo_pool_reasons=dict(reasons), sft_items_by_task=dict(Counter(
                           by_id[e["item_id"]]["task_type"] for e in examples)),
                       judgment_stats=_judgment_stats(judgments))


def _judgment_stats(judgments: list[dict]) -> dict:
    return {"judgments": len(judgments), "correct": sum(j["correct"] for j in judgments),
            "parse_errors": dict(Counter(j["parse_error"] for j in judgments if j["parse_error"])),
            "cue_used": sum(j["cue_used"] for j in judgments), "tokens": sum(j["num_tokens"] for j in judgments)}


def cap_sft_examples(examples: list[dict], cap: int | None, seed: int) -> tuple[list[dict], int]:
    """At most `cap` judge examples (a seeded draw), the chat examples cut in the same proportion so the
    mix keeps its share (RISE Fig. 4's SFT size axis). Returns (examples, how many were left out)."""
    judge = [e for e in examples if e.get("protocol") != "chat"]
    if cap is None or len(judge) <= cap:
        return examples, 0
    chat = [e for e in examples if e.get("protocol") == "chat"]
    kept = judging.shuffled(judge, seed)[:cap]
    kept_chat = chat[:round(len(chat) * cap / len(judge))]
    return kept + kept_chat, len(examples) - len(kept) - len(kept_chat)


def train_sft(config: dict, examples_paths: list[str], init_dir: str, out_dir: str, tcfg: dict, summary: str,
              log_path: str, threads: int, stage_name: str, shuffle: bool = True, gpus: int = 0,
              accelerate_config: str | None = None, max_examples: int | None = None) -> None:
    """SFT from prompt/completion files; shuffle=False keeps their order (the rollout curriculum).
    With more than one GPU the training runs under `accelerate launch` (judgeflow.training.launch)."""
    with stage(stage_name, config, summary, log_path, threads) as s:
        examples = [row for path in examples_paths for row in read_jsonl(path)]
        examples, capped = cap_sft_examples(examples, max_examples, config["seed"])
        if capped:
            s.reject("max_sft_examples", capped)
        if not examples:
            _carry_forward(s, init_dir, out_dir, "no training examples: the stage before kept none")
            return
        result = launch.run_training("sft", dict(init_dir=init_dir, examples=examples, out_dir=out_dir, tcfg=tcfg,
                                                 seed=config["seed"], shuffle=shuffle),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        s.items_in = s.items_out = len(examples)
        s.extra.update(init_model=init_dir, **result)


def _carry_forward(s, init_dir: str, out_dir: str, reason: str) -> None:
    """A trained stage with nothing to train on keeps its starting weights (recorded in the summary, the
    model folder, and from there in the evaluation and the report) instead of failing the run."""
    record = models.carry_forward(init_dir, out_dir, reason)
    s.items_in = s.items_out = 0
    s.extra.update(init_model=init_dir, carried_forward=True, steps=0, **record)


def sample_for_training(config: dict, items: list[dict], model_dir: str, samples_per_item: int, sampling: dict,
                        model_name: str) -> list[dict]:
    """K judgments per item in its 'original' order (whose A/B position is itself a seeded coin)."""
    prompts = judging.prompts_for(items, config["judge"]["templates"], config["seed"], orders=("original",))
    params = SamplingParams.from_config(sampling, n=samples_per_item, seed=config["seed"])
    return judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                    config["judge"]["verdict_cue"], model_name)


def dpo_sample(config: dict, items_path: str, model_dir: str, samples_out: str, pairs_out: str, summary: str,
               log_path: str, threads: int) -> None:
    """K judgments per item from the DPO init model, paired correct vs incorrect. The items: the teacher's
    DPO pool (dpo.items: pool, RISE; `items_path` is annotate's dpo_pool.jsonl) or every seed item (seed: the
    items GRPO and seed-item rounds get; `items_path` is build_items' items.jsonl)."""
    dcfg = config["dpo"]
    with stage("dpo_sample", config, summary, log_path, threads) as s:
        items = _split(items_path, "seed")  # the pool holds seed items only; items.jsonl every split
        samples = sample_for_training(config, items, model_dir, dcfg["samples_per_item"], dcfg["sampling"],
                                      dcfg["init"])
        dpo_pairs, reasons = judging.dpo_pairs(samples, config["seed"])
        if dcfg["max_pairs"] is not None and len(dpo_pairs) > dcfg["max_pairs"]:
            reasons["max_pairs"] += len(dpo_pairs) - dcfg["max_pairs"]
            dpo_pairs = judging.shuffled(dpo_pairs, config["seed"])[:dcfg["max_pairs"]]
        for reason, count in reasons.items():
            s.reject(reason, count)
        write_jsonl(samples_out, samples)
        s.items_in, s.items_out = len(items), write_jsonl(pairs_out, dpo_pairs)
        s.extra.update(judgment_stats=_judgment_stats(samples))


def train_dpo(config: dict, pairs_path: str, init_dir: str, out_dir: str, summary: str, log_path: str,
              threads: int, gpus: int = 0, accelerate_config: str | None = None, block: str = "dpo",
              stage_name: str = "train_dpo") -> None:
    """DPO from preference pairs with the hyperparameters of config block `block` (dpo: the judge;
    downstream.policy_dpo: the downstream policy)."""
    dcfg = config
    for part in block.split("."):
        dcfg = dcfg[part]
    with stage(stage_name, config, summary, log_path, threads) as s:
        rows = read_jsonl(pairs_path)
        if not rows:
            _carry_forward(s, init_dir, out_dir, "no preference pairs: no item had both a correct and an "
                           "incorrect sampled judgment")
            return
        result = launch.run_training("dpo", dict(init_dir=init_dir, pairs=rows, out_dir=out_dir,
                                                 tcfg=dcfg["training"], beta=dcfg["beta"],
                                                 nll_weight=dcfg["nll_weight"], seed=config["seed"]),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        s.items_in = s.items_out = len(rows)
        s.extra.update(init_model=init_dir, **result)


def rollout_sample(config: dict, round_index: int, items_path: str, model_dir: str, samples_out: str,
                   kept_out: str, summary: str, log_path: str, threads: int) -> None:
    """Round r: K judgments per item of the round's fresh batch (rollout.items: fresh, FARE) or of the seed
    items (seed, STE's iterations over one pool) from the previous model; keep one correct per item (rejection
    sampling), order by the curriculum, rewrite a share as direct judgments."""
    rcfg = config["rollout"]
    seed = config["seed"] + round_index
    with stage("rollout_sample", config, summary, log_path, threads) as s:
        items = _split(items_path, "seed" if rcfg["items"] == "seed" else f"rollout_{round_index}")
        samples = sample_for_training(config, items, model_dir, rcfg["samples_per_item"], rcfg["sampling"],
                                      f"round_{round_index - 1}" if round_index > 1 else "dpo")
        kept, reasons, histogram = judging.keep_one_correct(samples, seed)
        for reason, count in reasons.items():
            s.reject(reason, count)
        kept = judging.curriculum_order(kept, seed) if rcfg["curriculum"] else judging.shuffled(kept, seed)
        kept = judging.to_direct_judgments(kept, {item["id"]: item for item in items},
                                           rcfg["direct_judgment_share"], config["judge"]["direct_templates"],
                                           prompt_seed=config["seed"], seed=seed)
        write_jsonl(samples_out, samples)
        s.items_in, s.items_out = len(items), write_jsonl(kept_out, kept)
        s.extra.update(round=round_index, pass_rate_histogram=histogram, judgment_stats=_judgment_stats(samples),
                       curriculum=rcfg["curriculum"], protocols=dict(Counter(k["protocol"] for k in kept)))


def _benchmark_items(items_path: str, heldout: bool) -> list[dict]:
    """The held-out split of the run's own items, or every item of a prepared benchmark file."""
    return _split(items_path, "benchmark") if heldout else read_jsonl(items_path)


def _eval_prompts(config: dict, items: list[dict]) -> list[dict]:
    """Benchmark prompts: each item's own template, or one drawn from evaluation.templates when it is set
    (the prompt is then varied at evaluation time only, as RISE's prompt comparison does)."""
    override = config["evaluation"]["templates"]
    return judging.prompts_for(items, override or config["judge"]["templates"], config["seed"],
                               override=bool(override))


def evaluate(config: dict, model: str, benchmark: str, heldout: bool, items_path: str, model_dir: str,
             judgments_out: str, metrics_out: str, summary: str, log_path: str, threads: int) -> None:
    """Judge every benchmark item (pairwise in both orders) once with the evaluation sampling; write the
    per-item judgments and every metric that applies, each with a bootstrap CI."""
    ecfg = config["evaluation"]
    with stage("evaluate", config, summary, log_path, threads) as s:
        items = _benchmark_items(items_path, heldout)
        prompts = _eval_prompts(config, items)
        params = SamplingParams.from_config(ecfg["sampling"], n=1, seed=config["seed"])
        judgments = judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                             config["judge"]["verdict_cue"], model)
        s.items_in = len(items)
        s.items_out = write_jsonl(judgments_out, judgments)
        result = metrics.task_metrics(judgments, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"])
        result.update(model=model, benchmark=benchmark, model_dir=model_dir, weights_of=models.carried_from(model_dir),
                      experiment=config["experiment"],
                      settings_hash=config_hash(config), judgment_stats=_judgment_stats(judgments))
        write_json(metrics_out, result)
        s.extra.update(model=model, benchmark=benchmark)


def evaluate_sc(config: dict, model: str, benchmark: str, heldout: bool, items_path: str, model_dir: str,
                judgments_out: str, metrics_out: str, summary: str, log_path: str, threads: int) -> None:
    """Test-time scaling (FARE): sc_max_k sampled judgments per item and order; SC@k majority-vote accuracy
    for k = 1, 2, 4, ... up to sc_max_k."""
    ecfg = config["evaluation"]
    with stage("evaluate_sc", config, summary, log_path, threads) as s:
        items = _benchmark_items(items_path, heldout)
        prompts = _eval_prompts(config, items)
        params = SamplingParams.from_config(ecfg["sc_sampling"], n=ecfg["sc_max_k"], seed=config["seed"])
        judgments = judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                             config["judge"]["verdict_cue"], model)
        s.items_in = len(items)
        s.items_out = write_jsonl(judgments_out, judgments)
        result = metrics.sc_at_k(judgments, ecfg["sc_max_k"], ecfg["bootstrap_samples"], ecfg["confidence"],
                                 config["seed"])
        result.update(model=model, benchmark=benchmark, experiment=config["experiment"],
                      settings_hash=config_hash(config), judgment_stats=_judgment_stats(judgments))
        write_json(metrics_out, result)
        s.extra.update(model=model, benchmark=benchmark)


def policy_answers(config: dict, records_path: str, policy_dir: str, out: str, summary: str, log_path: str,
                   threads: int, split: str = "benchmark", n: int | None = None) -> None:
    """Answers of the downstream policy to every question of `split` (N sampled, or one greedy with n=0),
    each graded against the truth."""
    dcfg = config["downstream"]
    with stage("policy_answers", config, summary, log_path, threads) as s:
        questions = [r for r in read_jsonl(records_path) if r["split"] == split and r["kind"] == "question"]
        sampling = dcfg["sampling"] if n != 0 else {**dcfg["sampling"], "temperature": 0.0, "top_p": 1.0}
        params = SamplingParams.from_config(sampling, n=dcfg["n"] if n is None else max(n, 1), seed=config["seed"])
        answers = graded_answers(make_backend(policy_dir, config["generation"]), questions, params, "policy")
        s.items_in, s.items_out = len(questions), write_jsonl(out, answers)
        s.extra.update(policy=dcfg["policy"], split=split, correct=sum(a["correct"] for a in answers))


def tournament(config: dict, model: str, answers_path: str, records_path: str, model_dir: str, pairs_out: str,
               judgments_out: str, summary: str, log_path: str, threads: int) -> None:
    """The judge runs a single-elimination tournament over each training question's N policy answers (every
    match judged in both orders); the champion vs an answer it eliminated becomes a DPO pair for the policy."""
    ecfg = config["evaluation"]
    with stage("tournament", config, summary, log_path, threads) as s:
        answers = read_jsonl(answers_path)
        records = {r["id"]: r for r in read_jsonl(records_path)}
        alive: dict[str, list[dict]] = {}
        for answer in answers:
            alive.setdefault(answer["question_id"], []).append(answer)
        eliminated: dict[str, list[dict]] = {q: [] for q in alive}
        backend = make_backend(model_dir, config["generation"])
        params = SamplingParams.from_config(ecfg["sampling"], n=1, seed=config["seed"])
        all_judgments, decisions, round_index = [], Counter(), 0
        while any(len(group) > 1 for group in alive.values()):
            round_index += 1
            matches = []
            for question_id, group in sorted(alive.items()):
                if len(group) > 1:
                    pairs_now, byes = downstream.bracket(group, question_id, round_index, config["seed"])
                    matches += [(question_id, a, b) for a, b in pairs_now]
                    alive[question_id] = list(byes)
            match_items = [downstream.match_item(a, b, round_index) for _, a, b in matches]
            judged = judging.sample_judgments(backend, _eval_prompts(config, match_items), params,
                                              config["judge"]["verdict_cue"], model)
            by_item: dict[str, list[dict]] = {}
            for judgment in judged:
                by_item.setdefault(judgment["item_id"], []).append(judgment)
            for (question_id, a, b), item in zip(matches, match_items):
                winner, how = downstream.match_winner(a, b, by_item[item["id"]], config["seed"])
                decisions[how] += 1
                alive[question_id].append(winner)
                eliminated[question_id].append(b if winner is a else a)
            all_judgments += judged
        pairs = [downstream.preference_pair(domains.solve_prompt(records[q]), group[0], eliminated[q], config["seed"])
                 for q, group in sorted(alive.items()) if eliminated[q]]
        write_jsonl(judgments_out, all_judgments)
        s.items_in, s.items_out = len(alive), write_jsonl(pairs_out, pairs)
        s.extra.update(judge=model, rounds=round_index, decisions=dict(decisions),
                       champion_correct=sum(p["chosen_correct"] for p in pairs),
                       rejected_correct=sum(p["rejected_correct"] for p in pairs),
                       questions_with_a_correct_answer=sum(any(a["correct"] for a in alive[q] + eliminated[q])
                                                           for q in alive))


def policy_accuracy(config: dict, policy: str, answers_path: str, out: str, summary: str, log_path: str) -> None:
    """Accuracy of one policy's greedy answers to the held-out questions, with a bootstrap interval."""
    import numpy as np

    ecfg = config["evaluation"]
    with stage("policy_accuracy", config, summary, log_path) as s:
        answers = read_jsonl(answers_path)
        values = np.array([a["correct"] for a in answers], dtype=float)
        low, high = metrics.bootstrap_ci(values, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"])
        write_json(out, {"policy": policy, "questions": len(answers), "accuracy": float(values.mean()),
                         "accuracy_ci": [low, high], "experiment": config["experiment"],
                         "settings_hash": config_hash(config)})
        s.items_in = s.items_out = len(answers)


def best_of_n(config: dict, model: str, answers_path: str, model_dir: str, judgments_out: str, metrics_out: str,
              summary: str, log_path: str, threads: int) -> None:
    """The judge rates every policy answer (single_rating, 1-5 correctness) and picks the best per question."""
    ecfg = config["evaluation"]
    with stage("best_of_n", config, summary, log_path, threads) as s:
        answers = read_jsonl(answers_path)
        prompts = _eval_prompts(config, downstream.rating_items(answers))
        params = SamplingParams.from_config(ecfg["sampling"], n=1, seed=config["seed"])
        judgments = judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                             config["judge"]["verdict_cue"], model)
        rows = downstream.select(answers, {j["item_id"]: j["verdict"] for j in judgments}, config["seed"])
        result = downstream.best_of_n_metrics(rows, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"])
        result.update(model=model, experiment=config["experiment"], settings_hash=config_hash(config),
                      judgment_stats=_judgment_stats(judgments))
        write_jsonl(judgments_out, judgments)
        write_json(metrics_out, result)
        s.items_in, s.items_out = len(answers), len(rows)


def downstream_table(config: dict, metric_files: list[str], config_snapshot: str, csv_out: str, md_out: str,
                     tex_out: str, summary: str, log_path: str) -> None:
    """Best-of-N accuracy per judge model: the judge's pick, random selection and the oracle (pass@N)."""
    import pandas as pd

    with stage("downstream_table", config, summary, log_path) as s:
        rows = []
        for path in metric_files:
            result = read_json(path)
            for name in downstream.SELECTIONS:
                rows.append({"model": result["model"], "selection": name, "questions": result["questions"],
                             "n": result["n"], "value": result[name], "ci_low": result[f"{name}_ci"][0],
                             "ci_high": result[f"{name}_ci"][1]})
        frame = pd.DataFrame(rows)
        frame.to_csv(csv_out, index=False)
        table = report.wide_ci_table(frame, "model", metric_col="selection")
        table = table.sort_values("model", key=lambda c: c.map(report.model_order)).reset_index(drop=True)
        full_hash = read_json(config_snapshot)["config_hash"]
        caption = (f"Best-of-{config['downstream']['n']} selection accuracy on the held-out questions: the judge's "
                   f"pick vs random selection vs the oracle (pass@N); policy {config['downstream']['policy']}; "
                   f"experiment {config['experiment']}, config {full_hash}.")
        report.write_tables(table, list(downstream.SELECTIONS), ["model"], None, md_out, tex_out, caption,
                            label="tab:best_of_n")
        s.items_in, s.items_out = len(metric_files), len(frame)


def downstream_figure(config: dict, csv_path: str, config_snapshot: str, png_out: str, summary: str,
                      log_path: str) -> None:
    import pandas as pd

    with stage("downstream_figure", config, summary, log_path) as s:
        frame = pd.read_csv(csv_path)
        frame["_order"] = frame["model"].map(report.model_order)
        frame = frame.sort_values(["_order"], kind="stable").drop(columns="_order")
        full_hash = read_json(config_snapshot)["config_hash"]
        report.bar_chart(frame, _stem(png_out), category="model", hue="selection",
                         title=f"Best-of-{config['downstream']['n']} reranking (config {full_hash})",
                         xlabel="judge model", ylabel=f"accuracy of the selected answer "
                         f"({config['evaluation']['confidence']:.0%} CI)", ylim=(0, 1.02),
                         style=config["report"]["style"])
        s.items_in, s.items_out = len(frame), 1
        s.extra.update(style=config["report"]["style"])


def policy_table(config: dict, accuracy_files: list[str], config_snapshot: str, csv_out: str, md_out: str,
                 tex_out: str, summary: str, log_path: str) -> None:
    """Held-out accuracy of the policy before and after DPO on the pairs its judge picked by tournament."""
    import pandas as pd

    with stage("policy_table", config, summary, log_path) as s:
        rows = []
        for path in accuracy_files:
            result = read_json(path)
            rows.append({"policy": result["policy"], "questions": result["questions"], "accuracy": result["accuracy"],
                         "accuracy_ci_low": result["accuracy_ci"][0], "accuracy_ci_high": result["accuracy_ci"][1]})
        table = pd.DataFrame(rows)
        full_hash = read_json(config_snapshot)["config_hash"]
        caption = (f"Policy {config['downstream']['policy']} on the held-out questions (greedy), before and after DPO "
                   f"on pairs its judge picked by tournament; experiment {config['experiment']}, config {full_hash}.")
        report.write_tables(table, ["accuracy"], ["policy", "questions"], csv_out, md_out, tex_out, caption,
                            label="tab:policy_dpo")
        s.items_in, s.items_out = len(accuracy_files), len(table)


def policy_figure(config: dict, csv_path: str, config_snapshot: str, png_out: str, summary: str,
                  log_path: str) -> None:
    import pandas as pd

    with stage("policy_figure", config, summary, log_path) as s:
        frame = pd.read_csv(csv_path).rename(columns={"accuracy": "value", "accuracy_ci_low": "ci_low",
                                                      "accuracy_ci_high": "ci_high"})
        full_hash = read_json(config_snapshot)["config_hash"]
        report.bar_chart(frame, _stem(png_out), category="policy", title=f"Policy DPO on judge-picked pairs "
                         f"(config {full_hash})", xlabel="policy", ylabel=f"held-out accuracy "
                         f"({config['evaluation']['confidence']:.0%} CI)", ylim=(0, 1.02),
                         style=config["report"]["style"])
        s.items_in, s.items_out = len(frame), 1
        s.extra.update(style=config["report"]["style"])


def _stem(path: str) -> str:
    return str(Path(path).with_suffix(""))


def report_table(config: dict, metric_files: list[str], config_snapshot: str, csv_out: str, md_out: str,
                 tex_out: str, summary: str, log_path: str) -> None:
    """Every number of the main run (tidy CSV) and the headline table (Markdown, LaTeX) with its provenance."""
    with stage("report_table", config, summary, log_path) as s:
        frame = report.tidy_frame(metric_files)
        confidence = config["evaluation"]["confidence"]
        full_hash = read_json(config_snapshot)["config_hash"]
        caption = (f"Judge metrics per benchmark, task and training stage; experiment {config['experiment']}, "
                   f"config {full_hash}. Pairwise items are judged in both orders; parse errors count as wrong "
                   f"(rewardbench_score counts them 0.5; judgebench_score, JudgeBench's official pair score, 0). "
                   f"Brackets: {confidence:.0%} item-level bootstrap intervals." + report.carried_forward_note(frame)
                   + (f" {RM_NOTE[0].upper()}{RM_NOTE[1:]}." if (frame["model"] == "rm").any() else ""))
        tables = report.write_headline_tables(frame, md_out, tex_out, caption, label="tab:metrics")
        frame.to_csv(csv_out, index=False)
        s.items_in, s.items_out = len(metric_files), len(frame)
        s.extra.update(config_hash=full_hash, rows=sum(len(t["table"]) for t in tables if t["kind"] != "judgebench"))


def comparison_rows(judgments: list[dict], base: list[dict], ecfg: dict, seed: int) -> list[dict]:
    """metrics.paired_comparison of one judge against the base model, over all items and within each origin
    of the judged responses (judging.origin_of: reference vs injected vs model-sampled)."""
    rows = [{**row, "origin": "all"} for row in
            metrics.paired_comparison(judgments, base, ecfg["bootstrap_samples"], ecfg["confidence"], seed)]
    origins = sorted({str(j.get("origin")) for j in base if j.get("origin")})
    for origin in origins if len(origins) > 1 else []:
        mine = [j for j in judgments if str(j.get("origin")) == origin]
        theirs = [j for j in base if str(j.get("origin")) == origin]
        rows += [{**row, "origin": origin} for row in
                 metrics.paired_comparison(mine, theirs, ecfg["bootstrap_samples"], ecfg["confidence"], seed)]
    return rows


def report_delta(config: dict, judgment_files: list[str], config_snapshot: str, csv_out: str, md_out: str,
                 tex_out: str, summary: str, log_path: str) -> None:
    """Every model against the base model on the same items (paired bootstrap), beside the baselines that
    read no content (best constant answer, pick the shorter response): a gain a shortcut also gets is no gain."""
    import pandas as pd

    ecfg = config["evaluation"]
    with stage("report_delta", config, summary, log_path) as s:
        by_benchmark: dict[str, dict[str, list[dict]]] = {}
        for path in judgment_files:
            rows = read_jsonl(path)
            benchmark, model = Path(path).parent.name, Path(path).parent.parent.name
            by_benchmark.setdefault(benchmark, {})[model] = rows
        out = []
        for benchmark, judged in by_benchmark.items():
            if "base" not in judged:
                raise ValueError(f"report_delta: no base-model judgments for benchmark {benchmark}")
            base = judged["base"]
            judges = {**{f"baseline:{k}": v for k, v in metrics.baseline_judgments(base).items()},
                      **{m: v for m, v in judged.items() if m != "base"}}
            for model, rows in judges.items():
                tasks = {j["task_type"] for j in rows}  # the reward model (rm) judges some task types only
                out += [{"benchmark": benchmark, "model": model, **row}
                        for row in comparison_rows(rows, [j for j in base if j["task_type"] in tasks], ecfg,
                                                   config["seed"])
                        if model != "baseline:shorter" or row["task_type"] == "pairwise"]
        frame = pd.DataFrame(out)
        frame["_order"] = frame["model"].map(lambda m: (-1, 0) if m.startswith("baseline:") else report.model_order(m))
        frame = frame.sort_values(["benchmark", "task_type", "metric", "origin", "_order"], kind="stable")
        frame = frame.drop(columns="_order").reset_index(drop=True)
        full_hash = read_json(config_snapshot)["config_hash"]
        caption = (f"Each model against the base model on the same items: value, the base model's value and the "
                   f"difference, with {ecfg['confidence']:.0%} {metrics.PAIRED_NOTE}. baseline:constant answers each "
                   f"task's most frequent gold verdict (pairwise: always A); baseline:shorter picks the shorter "
                   f"response. origin: where the judged responses came from (all, or one origin). "
                   f"Experiment {config['experiment']}, config {full_hash}.")
        report.write_tables(frame, ["value", "reference_value", "delta"],
                            ["benchmark", "task_type", "metric", "origin", "model", "items"], csv_out, md_out, tex_out,
                            caption, label="tab:delta_vs_base", labels={"reference_value": "base"})
        s.items_in, s.items_out = len(judgment_files), len(frame)


def report_training(config: dict, summaries: list[str], config_snapshot: str, csv_out: str, md_out: str,
                    png_out: str, summary: str, log_path: str, sampling: list[str] = ()) -> None:
    """Training curves of every trained model (loss per step; DPO reward accuracy and margin), a cost table per
    trained stage (steps, seconds, tokens, tokens/s, precision, whether the weights were carried forward) and a
    compute table of every model job, sampling and training (seconds, tokens, GFLOP/s, % of the matmul peak)."""
    import pandas as pd

    with stage("report_training", config, summary, log_path) as s:
        read = {path: read_json(path) for path in [*sampling, *summaries]}
        compute = report.compute_table(read)
        loaded = {Path(path).name.removesuffix(".summary.json"): read[path] for path in summaries}
        frame = report.training_frame(loaded)
        frame.to_csv(csv_out, index=False)
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
        full_hash = read_json(config_snapshot)["config_hash"]
        Path(md_out).write_text(
            report.to_markdown(table, f"Trained stages of experiment {config['experiment']} (config {full_hash}): "
                                      "cost and loss.") + "\n"
            + report.to_markdown(compute, "Model work per job: seconds of the job, tokens through the model, "
                                          "achieved GFLOP/s (2·P per sampled or prefilled token, 6·P per trained "
                                          "token, 4·P with LoRA) and its share of the matmul peak of the dtype, "
                                          "measured in the same job."), encoding="utf-8")
        report.training_curves(frame, _stem(png_out), f"{config['experiment']} (config {full_hash}): training",
                               style=config["report"]["style"])
        s.items_in, s.items_out = len(summaries), len(frame)


def report_figure(config: dict, csv_path: str, config_snapshot: str, png_out: str, summary: str,
                  log_path: str) -> None:
    """Each task's primary metric per model on each benchmark, drawn from the report CSV only."""
    import pandas as pd

    with stage("report_figure", config, summary, log_path) as s:
        frame = report.primary_rows(pd.read_csv(csv_path))
        frame["series"] = frame["benchmark"] + ": " + frame["group"] + " (" + frame["metric"] + ")"
        frame["_order"] = frame["model"].map(report.model_order)
        frame = frame.sort_values(["_order", "series"]).drop(columns="_order")
        full_hash = read_json(config_snapshot)["config_hash"]
        report.bar_chart(frame, _stem(png_out), category="model", hue="series",
                         title=f"{config['experiment']} (config {full_hash}): judge per training stage",
                         xlabel="training stage",
                         ylabel=f"primary metric ({config['evaluation']['confidence']:.0%} CI)",
                         style=config["report"]["style"])
        s.items_in, s.items_out = len(frame), 1
        s.extra.update(style=config["report"]["style"])


def ablation_table(config: dict, name: str, cells: list[dict], config_snapshot: str, csv_out: str, md_out: str,
                   tex_out: str, summary: str, log_path: str) -> None:
    """The numbers of one ablation, gathered from its variants' metric files."""
    spec = config["ablations"][name]
    with stage("ablation_table", config, summary, log_path) as s:
        frame = report.ablation_frame(cells, spec)
        frame.to_csv(csv_out, index=False)
        keys = [key.rsplit(".", 1)[-1] for key in spec["vary"]]
        keep = ["model"] + keys + ["group"] + (["name"] if spec["plot"] == "sc_curve" else [])
        table = frame[keep + ["value", "ci_low", "ci_high"]].rename(
            columns={"value": spec["metric"], "ci_low": f"{spec['metric']}_ci_low",
                     "ci_high": f"{spec['metric']}_ci_high"})
        full_hash = read_json(config_snapshot)["config_hash"]
        caption = (f"{spec['title']}: {spec['metric']} on {spec['benchmark']}; experiment {config['experiment']}, "
                   f"config {full_hash}; {config['evaluation']['confidence']:.0%} bootstrap intervals.")
        report.write_tables(table, [spec["metric"]], keep, None, md_out, tex_out, caption, label=f"tab:{name}")
        s.items_in, s.items_out = len(cells), len(frame)
        s.extra.update(config_hash=full_hash, variants=sorted({c["variant"] for c in cells}))


def ablation_figure(config: dict, name: str, csv_path: str, config_snapshot: str, png_out: str, summary: str,
                    log_path: str) -> None:
    import pandas as pd

    spec = config["ablations"][name]
    with stage("ablation_figure", config, summary, log_path) as s:
        frame = pd.read_csv(csv_path, dtype={key.rsplit(".", 1)[-1]: str for key in spec["vary"]})
        full_hash = read_json(config_snapshot)["config_hash"]
        report.ablation_figure(frame, spec, _stem(png_out), f"{spec['title']} (config {full_hash})",
                               config["evaluation"]["confidence"], config["report"]["style"])
        s.items_in, s.items_out = len(frame), 1
        s.extra.update(style=config["report"]["style"])


def write_config_snapshot(config: dict, out: str) -> None:
    """The whole resolved config and its hash: which config made this run's results."""
    write_json(out, {"config_hash": config_hash(config), "config": config})


# ---------------------------------------------------------------------------------------------------------
# RL for judges (GRPO) and the scalar reward-model baseline (judgeflow.training.rl)


def train_rl(config: dict, items_path: str, init_dir: str, out_dir: str, summary: str, log_path: str, threads: int,
             gpus: int = 0, accelerate_config: str | None = None) -> None:
    """GRPO on the seed items (the items the teacher annotated for SFT and DPO) with the verifiable verdict
    reward, plain or EIS grouping (rl.grouping), from the model rl.init names."""
    rcfg = config["rl"]
    with stage("train_rl", config, summary, log_path, threads) as s:
        items = _split(items_path, "seed")
        items, capped = rl.cap_items(items, rcfg["max_items"], config["seed"])
        if capped:
            s.reject("max_items", capped)
        rows = rl.rl_rows(items, config["judge"]["templates"], config["seed"])
        s.items_in = len(items)
        per_batch = rcfg["training"]["batch_size"] * rcfg["training"]["gradient_accumulation_steps"] * max(1, gpus)
        if len(rows) * rcfg["num_generations"] < per_batch:
            _carry_forward(s, init_dir, out_dir, f"{len(rows)} RL rows x {rcfg['num_generations']} generations fill "
                           f"no generation batch of {per_batch} completions")
            return
        result = launch.run_training("rl", dict(init_dir=init_dir, rows=rows, out_dir=out_dir, rcfg=rcfg,
                                                seed=config["seed"]),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        if result.get("items_prompt_too_long"):
            s.reject("prompt_too_long", result["items_prompt_too_long"])
        s.items_out = result.get("items_trained", len(items))
        s.extra.update(init_model=init_dir, init=rcfg["init"], per_task=dict(Counter(i["task_type"] for i in items)),
                       **result)


def train_rm(config: dict, items_path: str, init_dir: str, out_dir: str, summary: str, log_path: str, threads: int,
             gpus: int = 0, accelerate_config: str | None = None) -> None:
    """A Bradley-Terry reward model (TRL RewardTrainer) from the base model on the seed items (the items the
    teacher annotated): chosen vs rejected of the pairwise ones, a "yes" vs a "no" response of the verification
    ones (rl.rm_pairs). Then each verification task type's reward threshold for yes/no verdicts, chosen on the
    items of its training pairs (rl.rm_thresholds), goes into the summary (`thresholds`; the model folder
    holds the weights only)."""
    tcfg = config["reward_model"]["training"]
    with stage("train_rm", config, summary, log_path, threads) as s:
        items = [i for i in _split(items_path, "seed") if i["task_type"] in rl.RM_TASK_TYPES]
        pairs, reasons = rl.rm_pairs(items, config["seed"])
        s.items_in = len(items)
        for reason, count in reasons.items():
            s.reject(reason, count)
        if not pairs:
            raise ValueError("train_rm: the seed split gives no pair: no pairwise item with a chosen and a rejected "
                             "response, and no verification task type with both 'yes' and 'no' items; give "
                             "data.task_ratio.pairwise or a verification task type a share, or turn "
                             "reward_model.enabled off")
        result = launch.run_training("rm", dict(init_dir=init_dir, pairs=pairs, out_dir=out_dir, tcfg=tcfg,
                                                seed=config["seed"]),
                                     num_processes=max(1, gpus), accelerate_config=accelerate_config)
        if result.get("pairs_too_long"):
            s.reject("too_long", result["pairs_too_long"])
        s.items_out = result.get("pairs_trained", len(pairs))
        by_id = {item["id"]: item for item in items}
        calibration = [by_id[pair[side]] for pair in pairs if pair["task_type"] != "pairwise"
                       for side in ("chosen_item_id", "rejected_item_id")]
        rewards = score_conversations(out_dir, [rl.rm_conversation(i) for i in calibration], tcfg["max_length"]) \
            if calibration else []
        s.extra.update(init_model=init_dir, pairs_by_task=dict(Counter(p["task_type"] for p in pairs)),
                       **rl.rm_thresholds(calibration, rewards), **result)


RM_NOTE = ("rm is a scalar Bradley-Terry reward model (TRL RewardTrainer) from the base model: a pair is judged "
           "by its two rewards (the higher wins; equal rewards are a tie verdict), so both orders are identical by "
           "construction; a verification item is judged 'yes' when the reward of its response is above a threshold "
           "chosen on the training items (the best balanced accuracy there), and reward_roc_auc is the "
           "threshold-free ROC AUC of its held-out rewards; it gives no verdict for step-level and rating items, "
           "which it is left out of")


def evaluate_rm(config: dict, benchmark: str, heldout: bool, items_path: str, model_dir: str, rm_summary: str,
                judgments_out: str, metrics_out: str, summary: str, log_path: str, threads: int) -> None:
    """The reward model as a judge: each pairwise item's two responses scored (both orders written), each
    verification item's response scored and judged against its task type's threshold (train_rm's summary,
    `rm_summary`); judgments in the `evaluate` record format so the same metrics and report tables read them as
    model rm. Verification task types without a threshold (no training pair) and the other task types are
    left out (rejected: no_threshold, not_scored)."""
    ecfg = config["evaluation"]
    with stage("evaluate_rm", config, summary, log_path, threads) as s:
        thresholds = read_json(rm_summary).get("thresholds")
        if thresholds is None:
            raise ValueError(f"evaluate_rm: {rm_summary} records no reward thresholds (a reward model trained "
                             "before verification items were scored): re-run train_rm")
        items = _benchmark_items(items_path, heldout)
        pairwise = [i for i in items if i["task_type"] == "pairwise"]
        verification = [i for i in items if i["task_type"] in thresholds]
        s.items_in = len(items)
        left = Counter("no_threshold" if i["task_type"] in metrics.VERIFICATION_TASKS else "not_scored"
                       for i in items if i["task_type"] != "pairwise" and i["task_type"] not in thresholds)
        for reason, count in left.items():
            s.reject(reason, count)
        conversations = [rl.rm_conversation(i, side) for i in pairwise for side in (i["chosen"], i["rejected"])]
        conversations += [rl.rm_conversation(i) for i in verification]
        scores = score_conversations(model_dir, conversations, config["reward_model"]["training"]["max_length"])
        rewards = {item["id"]: (scores[2 * k], scores[2 * k + 1]) for k, item in enumerate(pairwise)}
        judgments = rl.rm_judgments(_eval_prompts(config, pairwise), rewards, config["seed"])
        judgments += rl.rm_verification_judgments(_eval_prompts(config, verification),
                                                  dict(zip((i["id"] for i in verification),
                                                           scores[2 * len(pairwise):])), thresholds)
        s.items_out = write_jsonl(judgments_out, judgments)
        result = metrics.task_metrics(judgments, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"]) \
            if judgments else {"tasks": {}, "reason": "no pairwise items and no verification items with a threshold"}
        result.update(model="rm", benchmark=benchmark, model_dir=model_dir, weights_of=None,
                      experiment=config["experiment"], settings_hash=config_hash(config), note=RM_NOTE,
                      thresholds=thresholds, judgment_stats=_judgment_stats(judgments))
        write_json(metrics_out, result)
        s.extra.update(model="rm", benchmark=benchmark, ties=sum(j["verdict"] == "tie" for j in judgments),
                       thresholds=thresholds)
