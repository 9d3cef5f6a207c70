"""Generation throughput of the hf backend: batched vs one-by-one, float32 vs bfloat16, in one run.

    python benchmarks/bench_generation.py [--model DIR] [--prompts 64] [--serial-prompts 16] [--new-tokens 64]

Prompts are judge prompts built by the pipeline's own template from synthetic items; decoding is sampled
(T=0.9, top-p 0.95) with a fixed seed so every setting generates comparable lengths. Useful tokens exclude
padding and everything after a sequence's end token. One-by-one throughput does not depend on how many
prompts there are, so it is measured on the first --serial-prompts prompts only.
"""

from __future__ import annotations

import argparse
import time

import torch

from common import DEFAULT_MODEL, ensure_model, native_dtypes
from judgeflow.data import synthetic_arithmetic
from judgeflow.generation import HFBackend, SamplingParams
from judgeflow.templates import judge_prompt


def prompts(n: int) -> list[list[dict]]:
    out = []
    for q in synthetic_arithmetic("bench", n, 2, 3, 20, seed=0):
        wrong = q["solution"].replace(f"is {q['answer']}.", f"is {int(q['answer']) + 3}.")
        item = {"id": q["id"], "question": q["question"], "chosen": q["solution"], "rejected": wrong}
        out.append(judge_prompt(item, "original", "pairwise_critique_en", 0)["messages"])
    return out


def run(model: str, dtype: str, batch_size: int, convs, params) -> tuple[float, int]:
    backend = HFBackend(model, batch_size=batch_size, dtype=dtype, progress=False)
    backend.generate(convs[:1], params.with_(max_new_tokens=4))  # warm-up
    start = time.perf_counter()
    out = backend.generate(convs, params)
    seconds = time.perf_counter() - start
    return seconds, sum(c.num_tokens for comps in out for c in comps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--serial-prompts", type=int, default=16)
    parser.add_argument("--batch-sizes", default="16,64", help="comma-separated batch sizes to compare with 1")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = str(ensure_model(__import__("pathlib").Path(args.model)))
    convs = prompts(args.prompts)
    params = SamplingParams(n=1, temperature=0.9, top_p=0.95, max_new_tokens=args.new_tokens, seed=0)
    results = {}
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    print(f"model {model}, {len(convs)} judge prompts ({args.serial_prompts} one by one), "
          f"{args.new_tokens} new tokens max, {args.threads} threads")
    print(f"{'dtype':9} {'batch':>5} {'prompts':>7} {'seconds':>8} {'tokens':>7} {'tok/s':>7} {'vs batch 1':>10}")
    for dtype in native_dtypes():
        for batch in [1] + sizes:
            subset = convs[:args.serial_prompts] if batch == 1 else convs
            seconds, tokens = run(model, dtype, batch, subset, params)
            results[(dtype, batch)] = tokens / seconds
            print(f"{dtype:9} {batch:5d} {len(subset):7d} {seconds:8.1f} {tokens:7d} {tokens / seconds:7.1f} "
                  f"{results[(dtype, batch)] / results[(dtype, 1)]:9.2f}x")
    best = max(results, key=results.get)
    print(f"best: {best[0]} batch {best[1]} at {results[best]:.1f} tok/s = "
          f"{results[best] / results[('float32', 1)]:.2f}x float32 one-by-one, "
          f"{results[best] / results[(best[0], 1)]:.2f}x one-by-one in the same dtype")


if __name__ == "__main__":
    main()
