"""Rules of workflow/rules/data.smk: ingest, generate-then-grade responses, benchmark files, judge items."""

from __future__ import annotations

from collections import Counter

from judgeflow import domains
from judgeflow.core.config import fresh_rounds
from judgeflow.core.records import read_jsonl, stage, write_jsonl
from judgeflow.data import loaders
from judgeflow.data import questions as data
from judgeflow.domains import instructions
from judgeflow.generation import SamplingParams
from judgeflow.generation.backends import make_backend
from judgeflow.judge import templates
from judgeflow.tasks import items as items_mod


def ingest(config: dict, records: str, rejects: str, summary: str, log: str) -> None:
    """Load every source, select a balanced subset of open instructions, cut disjoint splits."""
    with stage("ingest", config, summary, log) as s:
        loaded, bad_rows, per_source = [], [], {}
        for spec in config["data"]["sources"]:
            got, bad = loaders.load_source(spec, config["seed"])
            per_source[spec["name"]] = {"in": len(got) + len(bad), "out": len(got), "rejected": len(bad)}
            loaded += got
            bad_rows += bad
        for reject in bad_rows:
            s.reject(reject.get("code", "malformed_row"))  # loaders.py: the reason code of each reject
        open_instructions = [r for r in loaded if r["kind"] == "instruction"]
        if open_instructions:
            kept, dropped = instructions.select_balanced(
                open_instructions, config["data"]["instruction_selection"]["per_category"], config["seed"])
            loaded = [r for r in loaded if r["kind"] != "instruction"] + kept
            bad_rows += dropped
            if dropped:
                s.reject("selection_cell_full", len(dropped))
            for reject in dropped:
                per_source[reject["source"]]["out"] -= 1
                per_source[reject["source"]]["selected_out"] = per_source[reject["source"]].get("selected_out", 0) + 1
        split = data.assign_splits(loaded, config["data"]["splits"], fresh_rounds(config), config["seed"])
        s.items_in, s.items_out = len(loaded) + len(bad_rows), write_jsonl(records, split)
        write_jsonl(rejects, bad_rows)
        s.extra.update(per_source=per_source, per_split=dict(Counter(r["split"] for r in split)),
                       per_kind=dict(Counter(r["kind"] for r in split)))


def generate_responses(config: dict, name: str, records: str, model_dir: str, responses: str, summary: str, log: str,
                       threads: int) -> None:
    """Generate-then-grade: N answers per used question, graded by its domain's verifier; and for each open
    instruction a preference pair made as Self-Taught Evaluators do (generate.bad_response)."""
    gcfg = config["generate"]
    with stage("generate_responses", config, summary, log, threads) as s:
        rows = [r for r in read_jsonl(records) if r["split"] != "unused"]
        questions = [r for r in rows if r["kind"] == "question"]
        backend = make_backend(model_dir, config["generation"])
        params = SamplingParams.from_config(gcfg["sampling"], n=gcfg["samples_per_question"], seed=config["seed"])
        answers = domains.graded_answers(backend, questions, params, name)
        bcfg = gcfg["bad_response"]
        bad_params = SamplingParams.from_config(bcfg["sampling"], n=1, seed=config["seed"])
        pairs = instructions.instruction_pairs([r for r in rows if r["kind"] == "instruction"], backend, bad_params,
                                               bcfg["method"], name)
        s.items_in, s.items_out = len(questions) + len(pairs), write_jsonl(responses, answers + pairs)
        s.extra.update(generator=name, questions=len(questions), instruction_pairs=len(pairs),
                       correct_by_domain=dict(Counter(r["domain"] for r in answers if r["correct"])),
                       responses_by_domain=dict(Counter(r["domain"] for r in answers)),
                       no_answer=sum(r["extracted"] is None for r in answers),
                       tokens=sum(r["num_tokens"] for r in answers))


def prepare_benchmark(config: dict, benchmark: str, benchmark_items: str, rejects: str, summary: str,
                      log: str) -> None:
    """A benchmark file (any loader format) as judge items of the 'benchmark' split."""
    spec = next(spec for spec in config["evaluation"]["benchmarks"] if spec["name"] == benchmark)
    with stage("prepare_benchmark", config, summary, log) as s:
        records, bad_rows = loaders.load_source(spec, config["seed"])
        items = [{**items_mod.loaded_item(r), "split": "benchmark"} for r in records if r["kind"] == "item"]
        other = len(records) - len(items)
        if other:
            s.reject("not_a_judge_item", other)
        for reject in bad_rows:
            s.reject(reject.get("code", "malformed_row"))  # loaders.py: the reason code of each reject
        write_jsonl(rejects, bad_rows)
        s.items_in, s.items_out = len(records) + len(bad_rows), write_jsonl(benchmark_items, items)
        s.extra.update(benchmark=benchmark, per_task=dict(Counter(i["task_type"] for i in items)),
                       per_subset=dict(Counter(str(i.get("subset")) for i in items)))


def build_items(config: dict, records: str, responses: list[str], benchmarks: list[str], judge_items: str, rejects: str,
                summary: str, log: str) -> None:
    """Judge items of five task types; decontaminated against every benchmark prompt; the seed split and the
    rollout batches drawn in the global task ratio; each item given its template, drawn with the seed."""
    seed, dcfg = config["seed"], config["data"]
    with stage("build_items", config, summary, log) as s:
        used = [r for r in read_jsonl(records) if r["split"] != "unused"]
        rs = [r for path in responses for r in read_jsonl(path)]
        items, bad_rows = items_mod.build_items(used, rs, config["generate"]["include_reference_solution"],
                                                config["generate"]["error_injection"]["per_question"], seed)
        built = Counter((i["task_type"], i["domain"], i["source"]) for i in items)
        prompts = [i["question"] for i in items if i["split"] == "benchmark"]
        prompts += [i["question"] for path in benchmarks for i in read_jsonl(path)]
        items, contaminated = items_mod.decontaminate(items, prompts, dcfg["decontamination"]["ngram"],
                                                      dcfg["decontamination"]["threshold"])
        bad_rows += contaminated
        seed_items, seed_rest = items_mod.mix_by_ratio([i for i in items if i["split"] == "seed"],
                                                       dcfg["task_ratio"], seed)
        rollout, batch_counts = items_mod.draw_rollout_batches([i for i in items if i["split"] == "rollout"],
                                                               dcfg["task_ratio"], fresh_rounds(config), seed)
        # the held-out split judges the task types the run trains: a share of 0 builds none of them
        items = ([i for i in items if i["split"] == "benchmark" and dcfg["task_ratio"].get(i["task_type"], 0) > 0]
                 + seed_items
                 + [{**i, "split": "seed_unused"} for i in seed_rest] + rollout)
        items = [{**i, "template_id": templates.pick_template(i, config["judge"]["templates"], seed)} for i in items]
        for reject in bad_rows:
            s.reject(reject["reason"])
        s.items_in = len(used)
        s.items_out = write_jsonl(judge_items, sorted(items, key=lambda i: i["id"]))
        write_jsonl(rejects, bad_rows)
        out = Counter((i["task_type"], i["domain"], i["source"]) for i in items if not i["split"].endswith("_unused"))
        bad = Counter((r.get("task_type", "?"), r.get("domain", "?"), r["source"], r["reason"]) for r in bad_rows)
        s.extra.update(
            per_split=dict(Counter(i["split"] for i in items)), rollout_batches=batch_counts,
            per_task_split={f"{t}/{sp}": n
                            for (t, sp), n in sorted(Counter((i["task_type"], i["split"]) for i in items).items())},
            per_task_domain_source=[{"task_type": t, "domain": d, "source": src, "built": n, "out": out[(t, d, src)]}
                                    for (t, d, src), n in sorted(built.items())],
            rejects_by_task_domain_source_reason=[{"task_type": t, "domain": d, "source": src, "reason": why,
                                                   "count": n} for (t, d, src, why), n in sorted(bad.items())],
            templates=dict(Counter(i["template_id"] for i in items)))
