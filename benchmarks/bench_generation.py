"""Sampling throughput of the hf backend per engine setting, against the engine as it was before, in one run.

    python benchmarks/bench_generation.py [--model DIR] [--prompts 16] [--samples 4] [--new-tokens 64]

Settings (each a switch of HFBackend, all other code shared):
  baseline        transformers' DynamicCache (grows by concatenation every step), each sample prefills its prompt
  growing-cache   judgeflow.generation.kvcache.GrowingCache: the cache is written in place into preallocated storage
  + shared-prefill  and the n samples of a prompt share one prefill (its KV cache copied to their rows)

Workload: judge prompts built by the pipeline's own template from synthetic arithmetic items (~230 tokens),
sampled as the teacher samples them (n per prompt, T=0.7, top-p 0.95, fixed seed), plus a greedy pass (n=1) whose
texts must equal the baseline's (the check that the faster engine decodes the same tokens). It prints per setting
the wall time, the tokens the model processed (prefill + decode), their GFLOP/s by 2·P per token, the share of the
float32 / bf16 matmul peak measured in the same run, and the wall-time ratio to the baseline.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from judgeflow.data.questions import synthetic_arithmetic
from judgeflow.generation import SamplingParams
from judgeflow.generation.hf import HFBackend
from judgeflow.judge.templates import judge_prompt

from common import DEFAULT_MODEL, ensure_model, matmul_peak, native_dtypes

SETTINGS = {  # name: (cache class or None for transformers' DynamicCache, share_prefill)
    "baseline": ("dynamic", False),
    "growing-cache": ("growing", False),
    "growing-cache + shared-prefill": ("growing", True),
}


def prompts(n: int) -> list[list[dict]]:
    out = []
    for q in synthetic_arithmetic("bench", n, 2, 3, 20, seed=0):
        wrong = q["solution"].replace(f"is {q['answer']}.", f"is {int(q['answer']) + 3}.")
        item = {"id": q["id"], "question": q["question"], "chosen": q["solution"], "rejected": wrong}
        out.append(judge_prompt(item, "original", "pairwise_critique_en", 0)["messages"])
    return out


def backend_for(model: str, dtype: str, batch_size: int, setting: str) -> HFBackend:
    from transformers import DynamicCache

    backend = HFBackend(model, batch_size=batch_size, dtype=dtype, progress=False)
    cache, shared = SETTINGS[setting]
    if cache == "dynamic":
        backend.cache_class = lambda reserve: DynamicCache()
    backend.share_prefill = shared
    return backend


def run(backend: HFBackend, convs, params) -> tuple[float, int, list[str]]:
    before = backend.forward_tokens
    start = time.perf_counter()
    out = backend.generate(convs, params)
    return time.perf_counter() - start, backend.forward_tokens - before, [c.text for comps in out for c in comps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--samples", type=int, default=4, help="n samples per prompt (the teacher's default)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = str(ensure_model(Path(args.model)))
    convs = prompts(args.prompts)
    sampled = SamplingParams(n=args.samples, temperature=0.7, top_p=0.95, max_new_tokens=args.new_tokens, seed=0)
    greedy = SamplingParams(n=1, temperature=0.0, top_p=1.0, max_new_tokens=args.new_tokens, seed=0)
    print(f"model {model}, {len(convs)} judge prompts x {args.samples} samples, batch {args.batch_size}, "
          f"{args.new_tokens} new tokens max, {args.threads} threads")
    for dtype in native_dtypes():
        peak = matmul_peak(getattr(torch, dtype))
        print(f"\n{dtype}: matmul peak {peak:.0f} GFLOP/s (2048^2, best of 10, this run)")
        print(f"{'setting':32} {'sampled s':>9} {'tokens':>7} {'GFLOP/s':>8} {'% peak':>6} {'vs base':>7} "
              f"{'greedy s':>8} {'greedy = baseline':>17}")
        reference, base_seconds = None, None
        for setting in SETTINGS:
            backend = backend_for(model, dtype, args.batch_size, setting)
            backend.generate(convs[:1], greedy.with_(max_new_tokens=2))  # warm-up
            seconds, tokens, _ = run(backend, convs, sampled)
            greedy_seconds, _, texts = run(backend, convs, greedy)
            reference = reference or texts
            base_seconds = base_seconds or seconds
            gflops = 2 * backend.parameters * tokens / seconds / 1e9
            same = sum(a == b for a, b in zip(texts, reference))
            print(f"{setting:32} {seconds:9.1f} {tokens:7d} {gflops:8.1f} {100 * gflops / peak:5.1f}% "
                  f"{base_seconds / seconds:6.2f}x {greedy_seconds:8.1f} {same:>8d} of {len(reference)}")


if __name__ == "__main__":
    main()
