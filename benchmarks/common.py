"""Shared by the benchmark scripts: the model under test and the matmul peak measured in the same run."""

from __future__ import annotations

import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "resources" / "models" / "smollm2-135m-instruct"


def ensure_model(path: Path) -> Path:
    """The default run's base model folder, prepared through the pipeline's own step if it is missing."""
    if not (path / "config.json").exists():
        from judgeflow.config import load_config
        from judgeflow.models import prepare_model

        config = load_config(REPO / "config" / "config.yaml")
        prepare_model(config["models"][config["base_model"]], path, config)
    return path


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    """Best-of-N GFLOP/s of a square matmul: the machine's practical peak for this dtype."""
    a = torch.randn(size, size, dtype=dtype)
    b = torch.randn(size, size, dtype=dtype)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9
