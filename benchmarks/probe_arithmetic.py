"""Can a model do the arithmetic that a step-level, reference-free or pairwise critique has to redo?

    python benchmarks/probe_arithmetic.py [--model DIR ...] [--equations 200] [--shots 0,4]

The programmatic critiques of the learning runs (judgeflow.judge.critiques) check a response by recomputing each of its
equations ("28 + 14 = 43, wrong (28 + 14 = 42)"). A judge trained on them can only make that check if it can
compute "28 + 14" itself. This probe asks each model for the value of every distinct equation in the reference
solutions of the learning run's questions (synthetic arithmetic, 2-3 steps, operands <= 20), greedy, as a bare
completion "a op b =" with 0 or k solved examples before it, and prints the share right per operation with a 95 %
Wilson interval. It reads nothing from the DAG except the models given (default: the base model).
"""

from __future__ import annotations

import argparse
import math
import random
import re
from pathlib import Path

import torch

from judgeflow.data.questions import synthetic_arithmetic
from judgeflow.judge.critiques import _show, equations
from judgeflow.models import load_causal_lm

from common import DEFAULT_MODEL, ensure_model

SHOTS = ["3 + 4 = 7", "12 - 5 = 7", "6 * 3 = 18", "15 + 9 = 24", "40 - 13 = 27", "7 * 8 = 56"]


def probe_equations(count: int, seed: int) -> list[tuple[str, str]]:
    """Distinct (expression, value) pairs from the reference solutions of the learning run's generator."""
    found = []
    for question in synthetic_arithmetic("probe", 400, 2, 3, 20, seed=seed):
        found += [(expression, _show(value)) for expression, _, value in equations(question["solution"])]
    found = list(dict.fromkeys(found))
    random.Random(seed).shuffle(found)
    return found[:count]


def wilson(right: int, total: int, z: float = 1.96) -> tuple[float, float]:
    if not total:
        return 0.0, 0.0
    p = right / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def answers(model_dir: str, prompts: list[str], batch: int = 50) -> list[str]:
    model, tokenizer = load_causal_lm(model_dir, "float32")
    tokenizer.padding_side = "left"
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out = []
    for start in range(0, len(prompts), batch):
        encoded = tokenizer(prompts[start:start + batch], return_tensors="pt", padding=True)
        with torch.inference_mode():
            generated = model.generate(**encoded, max_new_tokens=6, do_sample=False, pad_token_id=pad)
        out += tokenizer.batch_decode(generated[:, encoded["input_ids"].shape[1]:], skip_special_tokens=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="model folder (repeatable; default: the base model)")
    parser.add_argument("--equations", type=int, default=200)
    parser.add_argument("--shots", default="0,4", help="comma-separated numbers of solved examples before each one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = args.model or [str(ensure_model(Path(DEFAULT_MODEL)))]
    probes = probe_equations(args.equations, args.seed)
    operations = sorted({re.search(r" ([-+*/]) ", e).group(1) for e, _ in probes})
    print(f"{len(probes)} distinct equations from the learning run's generator (seed {args.seed}), greedy, 6 tokens")
    print(f"{'model':40} {'shots':>5} {'all':>22} " + " ".join(f"{op:>16}" for op in operations))
    for model in models:
        for shots in (int(s) for s in args.shots.split(",")):
            context = "".join(line + "\n" for line in SHOTS[:shots])
            replies = answers(model, [f"{context}{expression} =" for expression, _ in probes])
            right = [re.match(r"\s*(-?[\d/]+)", reply) is not None
                     and re.match(r"\s*(-?[\d/]+)", reply).group(1) == value
                     for reply, (_, value) in zip(replies, probes)]
            cells = []
            for op in [None, *operations]:
                picked = [ok for ok, (expression, _) in zip(right, probes) if op is None or f" {op} " in expression]
                low, high = wilson(sum(picked), len(picked))
                cells.append(f"{sum(picked):>3}/{len(picked):<3} [{low:.2f}, {high:.2f}]")
            name = "/".join(Path(model).parts[-4:])[-40:]
            print(f"{name:40} {shots:5d} {cells[0]:>22} " + " ".join(f"{c:>16}" for c in cells[1:]))


if __name__ == "__main__":
    main()
