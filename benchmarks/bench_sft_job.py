"""Where the SFT job of `make run` spends its time (issue 10): the job's own settings (the config's resolved `sft`
block: shuffled rows, a checkpoint every `checkpoint_steps`, its scheduler) in a cold process, then in the same, now
warm, process again; then with TRL's own choice of LM-head positions on a CPU (every prompt and padding position
projected through the vocabulary: what the job did before judgeflow.training.score_labelled_positions_only), then
with one difference from bench_training.py removed at a time. Every run is the pipeline's
judgeflow.training.train_sft on the same rows.

    python benchmarks/bench_sft_job.py --examples results/default/main/annotate/sft.jsonl [--config FILE ...]
                                       [--threads 2]

Prints trainer seconds, seconds per step and tokens/s per run, and each run's ratio to the cold job.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import tempfile
import time
from pathlib import Path

import torch

from judgeflow import training
from judgeflow.core.config_checks import load_config, with_default_config
from judgeflow.core.records import read_jsonl
from judgeflow.judge.judging import cap_sft_examples
from judgeflow.training import train_sft

from common import DEFAULT_MODEL, ensure_model


@contextlib.contextmanager
def every_position_scored():
    """TRL's own choice on a CPU for the fused LM head: every position projected (the switch undone meanwhile)."""
    import trl.trainer.utils as trl_utils

    switched, switch = trl_utils._use_triton, training.score_labelled_positions_only
    trl_utils._use_triton = getattr(switched, "trl_choice", switched)
    training.score_labelled_positions_only = lambda: False
    try:
        yield
    finally:
        trl_utils._use_triton, training.score_labelled_positions_only = switched, switch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", required=True, help="the SFT jsonl file the job trains on")
    parser.add_argument("--config", nargs="*", default=[], help="config files over config/config.yaml")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(*with_default_config(args.config))
    rows, _ = cap_sft_examples(read_jsonl(args.examples), config["teacher"]["max_sft_examples"], config["seed"])
    model = str(ensure_model(Path(args.model)))
    job = config["sft"]
    training.score_labelled_positions_only()
    runs = [  # (name, the sft block, shuffle, every position scored)
        ("job, cold process", job, True, False),
        ("job, warm process", job, True, False),
        ("job, every position scored", job, True, True),
        ("no checkpoints", {**job, "checkpoint_steps": 0}, True, False),
        ("no checkpoints, file order", {**job, "checkpoint_steps": 0}, False, False),
    ]
    print(f"{len(rows)} rows of {args.examples}; sft block: precision {job['precision']}, batch {job['batch_size']}, "
          f"checkpoint_steps {job['checkpoint_steps']}, lora {job['lora']['enabled']}; {args.threads} threads")
    print(f"{'run':28} {'trainer s':>9} {'steps':>5} {'s/step':>7} {'tok/s':>7} {'wall s':>7} {'vs cold job':>11}")
    first = None
    for name, tcfg, shuffle, every in runs:
        with tempfile.TemporaryDirectory() as tmp, every_position_scored() if every else contextlib.nullcontext():
            started = time.perf_counter()
            result = train_sft(model, rows, Path(tmp) / "out", copy.deepcopy(tcfg), seed=config["seed"],
                               shuffle=shuffle)
            wall = time.perf_counter() - started
        seconds = next(e["train_runtime"] for e in reversed(result["log_history"]) if "train_runtime" in e)
        steps = result["steps"]
        first = first or seconds
        print(f"{name:28} {seconds:9.1f} {steps:5d} {seconds / max(steps, 1):7.2f} "
              f"{result['train_tokens_per_second']:7.1f} {wall:7.1f} {first / seconds:10.2f}x")


if __name__ == "__main__":
    main()
