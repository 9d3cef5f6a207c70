"""Run a training job in this process, or through `accelerate launch` on several GPUs.

A training rule's script calls `run_training`. With one process (CPU, or one GPU) training runs in-process;
with more (the rule's `gpu` resource > 1) the same training function runs under `accelerate launch` with
the experiment's accelerate config (DDP, FSDP or DeepSpeed ZeRO-3 files under config/accelerate/), and
rank 0 hands the result back through a JSON file.

    python -m judgeflow.training.launch <payload.json>     # what each launched process runs
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

from judgeflow import training

log = logging.getLogger(__name__)

TRAINERS = ("sft", "dpo", "rl", "rm")


def _dispatch(kind: str, kwargs: dict) -> dict:
    if kind == "sft":
        return training.train_sft(**kwargs)
    if kind == "dpo":
        return training.train_dpo(**kwargs)
    if kind == "rl":
        return training.train_rl(**kwargs)
    if kind == "rm":
        return training.train_rm(**kwargs)
    raise ValueError(f"unknown training kind {kind!r}; known: {TRAINERS}")


def launcher_command(payload_path: str, num_processes: int, accelerate_config: str | None, cpu: bool) -> list[str]:
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(num_processes)]
    if accelerate_config:
        command += ["--config_file", accelerate_config]
    if cpu:
        command += ["--cpu"]
    return command + ["-m", "judgeflow.training.launch", payload_path]


def run_training(kind: str, kwargs: dict, num_processes: int = 1, accelerate_config: str | None = None,
                 use_launcher: bool | None = None) -> dict:
    """Train `kind` ('sft', 'dpo', 'rl' or 'rm') with kwargs of judgeflow.training.train_<kind>; return its result.

    use_launcher defaults to num_processes > 1; forcing it with one process runs the accelerate path on a CPU."""
    if use_launcher is None:
        use_launcher = num_processes > 1
    if not use_launcher:
        return _dispatch(kind, kwargs)
    import torch

    with tempfile.TemporaryDirectory(prefix="judgeflow-launch-") as tmp:
        payload = Path(tmp) / "payload.json"
        result_path = Path(tmp) / "result.json"
        payload.write_text(json.dumps({"kind": kind, "kwargs": {**kwargs, "out_dir": str(kwargs["out_dir"])},
                                       "result_path": str(result_path)}))
        command = launcher_command(str(payload), num_processes, accelerate_config, cpu=not torch.cuda.is_available())
        log.info("launching: %s", " ".join(command))
        subprocess.run(command, check=True)
        return json.loads(result_path.read_text())


def main(payload_path: str) -> None:
    payload = json.loads(Path(payload_path).read_text())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    result = _dispatch(payload["kind"], payload["kwargs"])
    if result.get("is_main_process", True):
        Path(payload["result_path"]).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
