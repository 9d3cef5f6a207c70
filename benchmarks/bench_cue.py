"""Verdict-cue continuation in the hf backend: two-pass (a second generate call that prefills prompt + critique +
cue again) vs fused (the cue fed through the first pass's KV cache in the same decode loop), in one run.

    python benchmarks/bench_cue.py [--model DIR] [--prompts 16] [--new-tokens 64] [--rounds 1] [--threads 1]

Prompts are held-out-like judge prompts built by the pipeline's own code (judging.prompts_for, critique
templates) from synthetic arithmetic items, alternately pairwise (both orders) and reference verification
(16 prompts: 11 pairwise, 5 verification).
Decoding is greedy like evaluation, with judging.sample_judgments and the default verdict cue; a base model
rarely writes a verdict within --new-tokens, so most judgments are continued. Each round times both paths, the
order alternating between rounds so drift from other load hits both alike; the printed times are sums over rounds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from judgeflow.data.questions import synthetic_arithmetic
from judgeflow.generation import GenerationBackend, SamplingParams
from judgeflow.generation.hf import HFBackend
from judgeflow.judge.judging import prompts_for, sample_judgments

from common import DEFAULT_MODEL, ensure_model

CUE = "\nVerdict: [["
POOL = ["pairwise_critique_en", "ref_verification_critique_en"]


class TwoPass(GenerationBackend):
    """The hf backend without fused continuation: sample_judgments takes the two-pass path, as for vLLM/OpenAI."""

    def __init__(self, inner: HFBackend):
        self.inner = inner

    def generate(self, conversations, params):
        return self.inner.generate(conversations, params)


def judge_prompts(n: int) -> list[dict]:
    items = []
    for k, q in enumerate(synthetic_arithmetic("bench", n, 2, 3, 20, seed=0)):
        wrong = q["solution"].replace(f"is {q['answer']}.", f"is {int(q['answer']) + 3}.")
        base = {"id": q["id"], "question": q["question"], "split": "heldout", "source": "bench", "domain": "math"}
        if k % 2 == 0:
            items.append({**base, "task_type": "pairwise", "chosen": q["solution"], "rejected": wrong})
        else:
            good = k % 4 == 1
            items.append({**base, "task_type": "ref_verification", "response": q["solution"] if good else wrong,
                          "reference": q["answer"], "label": "yes" if good else "no"})
    prompts = prompts_for(items, POOL, seed=0, override=True)
    return prompts[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = str(ensure_model(Path(args.model)))
    prompts = judge_prompts(args.prompts)
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=args.new_tokens, seed=0)
    backend = HFBackend(model, batch_size=args.batch_size, dtype="float32", progress=False)
    paths = {"two-pass": TwoPass(backend), "fused": backend}
    backend.generate([prompts[0]["messages"]], params.with_(max_new_tokens=4))  # warm-up
    lengths = [len(backend.encode(p["messages"])) for p in prompts]
    print(f"model {model} (float32), {len(prompts)} judge prompts of {min(lengths)}-{max(lengths)} tokens, "
          f"greedy, {args.new_tokens} new tokens max, batch {args.batch_size}, {args.threads} thread(s), "
          f"{args.rounds} round(s)")
    seconds = {name: 0.0 for name in paths}
    judged = {}
    for round_index in range(args.rounds):
        order = list(paths) if round_index % 2 == 0 else list(paths)[::-1]
        for name in order:
            start = time.perf_counter()
            judged[name] = sample_judgments(paths[name], prompts, params, CUE, "bench")
            seconds[name] += time.perf_counter() - start
            print(f"  round {round_index + 1} {name}: {time.perf_counter() - start:.1f} s")
    two, fused = judged["two-pass"], judged["fused"]
    cued = sum(j["cue_used"] for j in fused)
    stopped = sum(j["parse_error"] != "no_verdict" and not j["cue_used"] for j in fused)
    print(f"judgments: {len(fused)}, continued with the cue: {cued} (two-pass: {sum(j['cue_used'] for j in two)}), "
          f"not continued (a verdict tag of their own): {stopped}")
    print(f"{'path':9} {'seconds':>8} {'tokens':>7}")
    for name in paths:
        print(f"{name:9} {seconds[name]:8.1f} {sum(j['num_tokens'] for j in judged[name]):7d}")
    agree = sum(a["verdict"] == b["verdict"] for a, b in zip(two, fused))
    same_text = sum(a["text"] == b["text"] for a, b in zip(two, fused))
    print(f"fused / two-pass wall time: {seconds['fused'] / seconds['two-pass']:.2f} "
          f"(two-pass is {seconds['two-pass'] / seconds['fused']:.2f}x the fused time)")
    print(f"verdict agreement: {agree}/{len(fused)}, identical judgment text: {same_text}/{len(fused)}, "
          f"parsed verdicts: two-pass {sum(j['verdict'] is not None for j in two)}, "
          f"fused {sum(j['verdict'] is not None for j in fused)}")


if __name__ == "__main__":
    main()
