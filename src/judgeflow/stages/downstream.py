"""Rules of workflow/rules/downstream.smk: policy answers, best-of-N, tournaments (their DPO is
stages.train.train_dpo)."""

from __future__ import annotations

from judgeflow import domains
from judgeflow.core.config import config_hash
from judgeflow.core.records import read_jsonl, stage, write_json, write_jsonl
from judgeflow.evaluation import bootstrap, downstream
from judgeflow.generation import SamplingParams
from judgeflow.generation.backends import make_backend
from judgeflow.judge import judging
from judgeflow.stages.common import eval_prompts, judgment_stats


def policy_answers(config: dict, records: str, policy_dir: str, answers: str, summary: str, log: str, threads: int,
                   split: str = "benchmark", n: int | None = None) -> None:
    """Answers of the downstream policy to every question of `split` (N sampled, or one greedy with n=0),
    each graded against the truth."""
    dcfg = config["downstream"]
    with stage("policy_answers", config, summary, log, threads) as s:
        questions = [r for r in read_jsonl(records) if r["split"] == split and r["kind"] == "question"]
        sampling = dcfg["sampling"] if n != 0 else {**dcfg["sampling"], "temperature": 0.0, "top_p": 1.0}
        params = SamplingParams.from_config(sampling, n=dcfg["n"] if n is None else max(n, 1), seed=config["seed"])
        graded = domains.graded_answers(make_backend(policy_dir, config["generation"]), questions, params, "policy")
        s.items_in, s.items_out = len(questions), write_jsonl(answers, graded)
        s.extra.update(policy=dcfg["policy"], split=split, correct=sum(a["correct"] for a in graded))


def tournament(config: dict, judge: str, answers: str, records: str, model_dir: str, pairs: str, judgments: str,
               summary: str, log: str, threads: int) -> None:
    """The judge runs a single-elimination tournament over each training question's N policy answers (every
    match judged in both orders); the champion vs an answer it eliminated becomes a DPO pair for the policy."""
    ecfg = config["evaluation"]
    with stage("tournament", config, summary, log, threads) as s:
        candidates = read_jsonl(answers)
        record_by_id = {r["id"]: r for r in read_jsonl(records)}
        backend = make_backend(model_dir, config["generation"])
        params = SamplingParams.from_config(ecfg["sampling"], n=1, seed=config["seed"])

        def judge_matches(match_items: list[dict]) -> list[dict]:
            return judging.sample_judgments(backend, eval_prompts(config, match_items), params,
                                            config["judge"]["verdict_cue"], judge)

        alive, eliminated, all_judgments, decisions, round_index = downstream.run_tournament(
            candidates, judge_matches, config["seed"])
        dpo_pairs = [downstream.preference_pair(domains.solve_prompt(record_by_id[q]), group[0], eliminated[q],
                                                config["seed"])
                     for q, group in sorted(alive.items()) if eliminated[q]]
        write_jsonl(judgments, all_judgments)
        s.items_in, s.items_out = len(alive), write_jsonl(pairs, dpo_pairs)
        s.extra.update(judge=judge, rounds=round_index, decisions=dict(decisions),
                       champion_correct=sum(p["chosen_correct"] for p in dpo_pairs),
                       rejected_correct=sum(p["rejected_correct"] for p in dpo_pairs),
                       questions_with_a_correct_answer=sum(any(a["correct"] for a in alive[q] + eliminated[q])
                                                           for q in alive))


def policy_accuracy(config: dict, policy: str, answers: str, accuracy: str, summary: str, log: str) -> None:
    """Accuracy of one policy's greedy answers to the held-out questions, with a bootstrap interval."""
    import numpy as np

    ecfg = config["evaluation"]
    with stage("policy_accuracy", config, summary, log) as s:
        rows = read_jsonl(answers)
        values = np.array([a["correct"] for a in rows], dtype=float)
        low, high = bootstrap.bootstrap_ci(values, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"])
        write_json(accuracy, {"policy": policy, "questions": len(rows), "accuracy": float(values.mean()),
                              "accuracy_ci": [low, high], "experiment": config["experiment"],
                              "settings_hash": config_hash(config)})
        s.items_in = s.items_out = len(rows)


def best_of_n(config: dict, model: str, answers: str, model_dir: str, judgments: str, metrics: str, summary: str,
              log: str, threads: int) -> None:
    """The judge rates every policy answer (single_rating, 1-5 correctness) and picks the best per question."""
    ecfg = config["evaluation"]
    with stage("best_of_n", config, summary, log, threads) as s:
        candidates = read_jsonl(answers)
        prompts = eval_prompts(config, downstream.rating_items(candidates))
        params = SamplingParams.from_config(ecfg["sampling"], n=1, seed=config["seed"])
        judged = judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                          config["judge"]["verdict_cue"], model)
        rows = downstream.select(candidates, {j["item_id"]: j["verdict"] for j in judged}, config["seed"])
        result = downstream.best_of_n_metrics(rows, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"])
        result.update(model=model, experiment=config["experiment"], settings_hash=config_hash(config),
                      judgment_stats=judgment_stats(judged))
        write_jsonl(judgments, judged)
        write_json(metrics, result)
        s.items_in, s.items_out = len(candidates), len(rows)
