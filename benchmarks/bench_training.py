"""SFT training throughput and model FLOP utilisation, float32 vs bfloat16, full vs LoRA, with and without
gradient checkpointing (TRL's default, the engine before it became a config key), with batches grouped by
length (`group_by_length`) and with one row per forward pass (`micro_batch_size: 1`, what `auto` picks on a CPU;
the other settings pass the whole batch at once), in one run.

    python benchmarks/bench_training.py [--model DIR] [--steps 6] [--batch 4] [--seq 256] [--threads 2]
                                        [--examples results/default/main/annotate/sft.jsonl]
                                        [--lora-dropout 0.0 0.05] [--settings on,off,grouped,rows]
                                        [--allocator jobs|glibc]

--examples trains on a real SFT file (its first steps x batch rows, lengths as they come) instead of
equal-length synthetic rows. --lora-dropout measures LoRA at each dropout given (the default config's 0.05
draws a mask and multiplies by it before every adapted linear); --settings picks the setting rows.
--allocator glibc leaves glibc's malloc at its defaults instead of the jobs' setting: it cannot be undone inside a
process, so its A/B is two runs, alternated. Every row is also given as a ratio to the first one (full
fine-tuning, the first dtype, the first setting).

Runs the pipeline's own judgeflow.training.train_sft. MFU = model FLOPs / (seconds x measured peak), with
model FLOPs per trained token = 6 x parameters for full fine-tuning (forward 2N + backward 4N) and
4 x parameters for LoRA (no weight gradients for the frozen base), counted over non-padding tokens; the
peak is the best 2048^2 bf16 (and fp32) matmul measured in this same run, before and after the training.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from judgeflow.training import train_sft

from common import DEFAULT_MODEL, add_allocator_argument, apply_allocator, ensure_model, matmul_peak, native_dtypes


def examples(count: int, seq: int, tokenizer) -> list[dict]:
    """Prompt/completion rows whose chat-formatted length is about `seq` tokens (half prompt, half answer)."""
    words = "the judge checks each step of both responses and names the first wrong one".split()
    half = " ".join(words[i % len(words)] for i in range(seq // 2 - 8))
    return [{"prompt": [{"role": "user", "content": f"{i} {half}"}],
             "completion": [{"role": "assistant", "content": f"{half} [[A]]"}]} for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--examples", help="an SFT jsonl file (prompt/completion rows) to train on instead")
    parser.add_argument("--lora-dropout", type=float, nargs="+", default=[0.0],
                        help="LoRA dropout values to measure (the default config trains with 0.05)")
    parser.add_argument("--settings", default="on,off,grouped,rows",
                        help="which of recompute on / off / off + grouped by length / off + one row per pass "
                             "to run (comma list)")
    add_allocator_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    apply_allocator(args.allocator)
    model = str(ensure_model(Path(args.model)))
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    cfg = AutoConfig.from_pretrained(model)
    params = sum(p.numel() for p in __import__("transformers").AutoModelForCausalLM.from_config(cfg).parameters())
    dtypes = native_dtypes()
    before = {dtype: matmul_peak(getattr(torch, dtype), repeats=30) for dtype in dtypes}
    print(f"model {model}: {params / 1e6:.1f}M parameters; {args.steps} steps of {args.batch} x ~{args.seq} tokens, "
          f"{args.threads} threads")
    if args.examples:
        from judgeflow.core.records import read_jsonl

        rows = [r for r in read_jsonl(args.examples) if r.get("prompt") and r.get("completion")]
        rows = rows[:args.steps * args.batch]
        print(f"{len(rows)} rows of {args.examples}")
    else:
        rows = examples(args.steps * args.batch, args.seq, tokenizer)
    measured = []
    # (name, label, gradient checkpointing, group by length, rows per forward pass), in table order
    known = [("on", "on", True, False, args.batch), ("off", "off", False, False, args.batch),
             ("grouped", "off + grouped", False, True, args.batch), ("rows", "off + 1 row/pass", False, False, 1)]
    settings = [s[1:] for s in known if s[0] in args.settings.split(",")]
    variants = [(False, 0.0)] + [(True, dropout) for dropout in args.lora_dropout]
    for lora, dropout in variants:
        for precision in dtypes:
            for setting, recompute, grouped, micro in settings:
                tcfg = {"epochs": 1, "learning_rate": 1e-5, "batch_size": args.batch, "gradient_accumulation_steps": 1,
                        "max_length": 2048 if args.examples else args.seq + 64, "lr_scheduler": "constant",
                        "warmup_ratio": 0.0, "precision": precision, "checkpoint_steps": 0,
                        "gradient_checkpointing": recompute, "group_by_length": grouped, "micro_batch_size": micro,
                        "lora": {"enabled": lora, "merge": True, "r": 16, "alpha": 32, "dropout": dropout,
                                 "target_modules": "all-linear"}}
                with tempfile.TemporaryDirectory() as tmp:
                    result = train_sft(model, rows, Path(tmp) / "out", tcfg, seed=0)
                tokens_per_s = result["train_tokens_per_second"]
                measured.append((f"lora {dropout:g}" if lora else "full", precision, setting, tokens_per_s,
                                 (4 if lora else 6) * params * tokens_per_s / 1e9))
    # the peak is taken before and after the training runs (best of 30 each): a busy or cold machine only
    # lowers a measurement, so the higher one is the fairer denominator
    after = {dtype: matmul_peak(getattr(torch, dtype), repeats=30) for dtype in dtypes}
    peaks = {dtype: max(before[dtype], after[dtype]) for dtype in before}
    print("matmul peak (2048^2, best of 30, before / after): " + ", ".join(
        f"{dtype} {before[dtype]:.0f} / {after[dtype]:.0f} GFLOP/s" for dtype in dtypes))
    best = max(peaks.values())
    print(f"{'mode':10} {'precision':9} {'setting':16} {'tok/s':>7} {'GFLOP/s':>8} {'vs best peak':>13} "
          f"{'vs own-dtype peak':>18} {'vs first row':>13}")
    first = measured[0][3]
    for mode, precision, setting, tokens_per_s, gflops in measured:
        print(f"{mode:10} {precision:9} {setting:16} {tokens_per_s:7.1f} {gflops:8.1f} "
              f"{gflops / best:12.1%} {gflops / peaks[precision]:17.1%} {tokens_per_s / first:12.2f}x")


if __name__ == "__main__":
    main()
