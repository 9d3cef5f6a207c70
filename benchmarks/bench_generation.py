"""Sampling throughput of the hf backend per engine setting, against the engine as it was before, in one run.

    python benchmarks/bench_generation.py [--model DIR] [--prompts 16] [--samples 4] [--new-tokens 64]

Settings (each a switch of HFBackend, all other code shared):
  baseline        transformers' DynamicCache (grows by concatenation every step), each sample prefills its prompt
  growing-cache   judgeflow.generation.kvcache.GrowingCache: the cache is written in place into preallocated storage
  + shared-prefill  and the n samples of a prompt share one prefill (its KV cache copied to their rows)
  + packed-decode   and one-token steps run kvcache.decode_attention (query heads packed per key/value head,
                    mask or not) instead of transformers' sdpa, which takes a slow enable_gqa kernel on a CPU
                    whenever no row of the batch is padded
  + shared-prefix attention  and a prompt's samples keep its cached keys and values once (kvcache.SharedPrefixCache):
                    its rows' own tokens are written after it, interleaved, and each step attends with all its
                    rows' queries at once over both, one call per layer
  + nucleus per row and the sampler finds each row's nucleus in its top 256 candidates unless that row needs more
                    (hf.sample_next, the engine as it is now); every setting before it uses the sampler as it was
                    (batch_sorting_sampler below): one row whose nucleus passed the top 256 made the whole batch
                    sort and draw over the vocabulary

A second table (--spread-prompts) times greedy judging of prompts of mixed length, as the evaluations judge the
held-out split: each group of similar length decoded on its own (the engine before) against the groups' caches
joined into one decode batch (now).

Workload: judge prompts built by the pipeline's own template from synthetic arithmetic items (~230 tokens),
sampled as the teacher samples them (n per prompt, T=0.7, top-p 0.95, fixed seed; --temperature 0.9 samples as the
generators and DPO do), plus a greedy pass (n=1) whose texts must equal the first setting's (the check that the
faster engine decodes the same tokens). --settings runs some of the settings. It prints per setting the wall
time, the tokens the model processed (prefill + decode), their GFLOP/s by 2·P per token, the share of the
float32 / bf16 matmul peak measured in the same run, and the wall-time ratio to the first setting.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from judgeflow.data.questions import synthetic_arithmetic
from judgeflow.generation import SamplingParams
from judgeflow.generation.hf import HFBackend, length_batches
from judgeflow.judge.templates import judge_prompt

from common import DEFAULT_MODEL, add_allocator_argument, apply_allocator, ensure_model, matmul_peak, native_dtypes

SETTINGS = {  # name: (DynamicCache or kvcache.GrowingCache, share_prefill, attention, shared_prefix, row nucleus)
    "baseline": ("dynamic", False, "sdpa", False, False),
    "growing-cache": ("growing", False, "sdpa", False, False),
    "+ shared-prefill": ("growing", True, "sdpa", False, False),
    "+ packed-decode": ("growing", True, "judgeflow_decode", False, False),
    "+ shared-prefix attention": ("growing", True, "judgeflow_decode", True, False),
    "+ nucleus per row": ("growing", True, "judgeflow_decode", True, True),
}


def batch_sorting_sampler(logits, params: SamplingParams, generator, prefix: int = 256):
    """hf.sample_next as it was until 2026-12-03: the same nucleus, but when any row's nucleus passed its top
    `prefix` candidates, every row of the batch was sorted over the vocabulary and drawn by torch.multinomial over
    it (~300 ms for 128 rows of 49k on a 2-core Zen 4)."""
    if params.temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p >= 1.0:
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    values, indices = probs.topk(min(prefix, probs.shape[-1]), dim=-1)
    if not bool((values.sum(-1) >= params.top_p).all()):
        values, indices = probs.sort(dim=-1, descending=True)
    cumulative = values.cumsum(-1)
    values = values * ((cumulative - values) < params.top_p)
    return indices.gather(-1, torch.multinomial(values, 1, generator=generator)).squeeze(-1)


def prompts(n: int, spread: bool = False) -> list[list[dict]]:
    """n judge prompts of ~230 tokens; with `spread`, the responses restate their working 0-6 times, so the
    prompts run from ~230 to ~900 tokens, like the held-out split the evaluations judge (208-803)."""
    out = []
    for index, q in enumerate(synthetic_arithmetic("bench", n, 2, 3, 20, seed=0)):
        wrong = q["solution"].replace(f"is {q['answer']}.", f"is {int(q['answer']) + 3}.")
        repeats = index % 7 if spread else 0
        right = q["solution"] + "".join(f"\nChecking again: {q['solution']}" for _ in range(repeats))
        wrong = wrong + "".join(f"\nChecking again: {wrong}" for _ in range(repeats))
        item = {"id": q["id"], "question": q["question"], "chosen": right, "rejected": wrong}
        out.append(judge_prompt(item, "original", "pairwise_critique_en", 0)["messages"])
    return out


def backend_for(model: str, dtype: str, batch_size: int, setting: str) -> HFBackend:
    from transformers import DynamicCache

    backend = HFBackend(model, batch_size=batch_size, dtype=dtype, progress=False)
    cache, shared, attention, prefix, row_nucleus = SETTINGS[setting]
    if cache == "dynamic":
        backend.cache_class = lambda reserve: DynamicCache()
    if not row_nucleus:
        backend.sample = batch_sorting_sampler
    backend.share_prefill, backend.shared_prefix = shared, prefix
    backend.model.set_attn_implementation(attention)
    return backend


def run(backend: HFBackend, convs, params, per_group: bool = False) -> tuple[float, int, list[str]]:
    """Seconds, tokens through the model and texts of one generate call; `per_group`: one call per group of
    similar prompt length (length_batches), each decoded on its own, as the engine did before it joined them."""
    before = backend.forward_tokens
    start = time.perf_counter()
    calls = [list(range(len(convs)))]  # indices into convs, one list per generate call
    if per_group:
        lengths = [len(backend.encode(c)) for c in convs]
        order = sorted(range(len(convs)), key=lengths.__getitem__)
        calls = length_batches(order, [lengths[i] for i in order], backend.batch_size, backend.length_slack)
    texts: dict[int, list[str]] = {}
    for call in calls:
        for i, comps in zip(call, backend.generate([convs[i] for i in call], params)):
            texts[i] = [c.text for c in comps]
    return time.perf_counter() - start, backend.forward_tokens - before, [t for i in sorted(texts) for t in texts[i]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--samples", type=int, default=4, help="n samples per prompt (the teacher's default)")
    parser.add_argument("--batch-size", type=int, default=128, help="decode rows (the default config's)")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtypes", nargs="+", choices=["float32", "bfloat16"], help="default: the native ones")
    parser.add_argument("--temperature", type=float, default=0.7,
                        help="of the sampled pass (0.7: the teacher's; 0.9: the generators' and DPO sampling's)")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS),
                        help="engine settings to run (the first is the one the ratios are to)")
    parser.add_argument("--spread-prompts", type=int, default=49,
                        help="prompts of mixed length for the decode-batch table (0: skip it)")
    add_allocator_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    apply_allocator(args.allocator)
    model = str(ensure_model(Path(args.model)))
    convs = prompts(args.prompts)
    sampled = SamplingParams(n=args.samples, temperature=args.temperature, top_p=0.95, max_new_tokens=args.new_tokens,
                             seed=0)
    greedy = SamplingParams(n=1, temperature=0.0, top_p=1.0, max_new_tokens=args.new_tokens, seed=0)
    print(f"model {model}, {len(convs)} judge prompts x {args.samples} samples at T={args.temperature}, batch "
          f"{args.batch_size}, {args.new_tokens} new tokens max, {args.threads} threads")
    for dtype in args.dtypes or native_dtypes():
        peak = matmul_peak(getattr(torch, dtype))
        print(f"\n{dtype}: matmul peak {peak:.0f} GFLOP/s (2048^2, best of 10, this run)")
        print(f"{'setting':32} {'sampled s':>9} {'tokens':>7} {'GFLOP/s':>8} {'% peak':>6} {'vs base':>7} "
              f"{'greedy s':>8} {'greedy = baseline':>17}")
        reference, base_seconds = None, None
        for setting in args.settings:
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
        if args.spread_prompts:
            mixed = prompts(args.spread_prompts, spread=True)
            backend = backend_for(model, dtype, args.batch_size, list(SETTINGS)[-1])
            print(f"\n{dtype}, {len(mixed)} prompts of mixed length, greedy (an evaluation's shape):")
            print(f"{'decode batches':40} {'s':>6} {'tokens':>7} {'GFLOP/s':>8} {'% peak':>6} {'speed-up':>8} "
                  f"{'texts equal':>11}")
            before = None
            for name, per_group in (("one per length group (before)", True), ("groups joined (now)", False)):
                seconds, tokens, texts = run(backend, mixed, greedy, per_group)
                before = before or (seconds, texts)
                gflops = 2 * backend.parameters * tokens / seconds / 1e9
                same = sum(a == b for a, b in zip(texts, before[1]))
                print(f"{name:40} {seconds:6.1f} {tokens:7d} {gflops:8.1f} {100 * gflops / peak:5.1f}% "
                      f"{before[0] / seconds:7.2f}x {same:>4d} of {len(texts)}")


if __name__ == "__main__":
    main()
