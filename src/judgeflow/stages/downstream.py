"""Rules of workflow/rules/downstream.smk: policy answers, best-of-N, tournaments (their DPO is
stages.train.train_dpo)."""

from __future__ import annotations

from collections import Counter

from judgeflow import domains
from judgeflow.core.config import config_hash
from judgeflow.core.records import read_jsonl, stage, write_json, write_jsonl
from judgeflow.evaluation import bootstrap, downstream
from judgeflow.generation import SamplingParams
from judgeflow.generation.backends import make_backend
from judgeflow.judge import judging
from judgeflow.stages.common import eval_prompts, graded_answers, judgment_stats


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
            judged = judging.sample_judgments(backend, eval_prompts(config, match_items), params,
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
        low, high = bootstrap.bootstrap_ci(values, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"])
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
        prompts = eval_prompts(config, downstream.rating_items(answers))
        params = SamplingParams.from_config(ecfg["sampling"], n=1, seed=config["seed"])
        judgments = judging.sample_judgments(make_backend(model_dir, config["generation"]), prompts, params,
                                             config["judge"]["verdict_cue"], model)
        rows = downstream.select(answers, {j["item_id"]: j["verdict"] for j in judgments}, config["seed"])
        result = downstream.best_of_n_metrics(rows, ecfg["bootstrap_samples"], ecfg["confidence"], config["seed"])
        result.update(model=model, experiment=config["experiment"], settings_hash=config_hash(config),
                      judgment_stats=judgment_stats(judgments))
        write_jsonl(judgments_out, judgments)
        write_json(metrics_out, result)
        s.items_in, s.items_out = len(answers), len(rows)
