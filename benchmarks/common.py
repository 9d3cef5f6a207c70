"""Shared by the benchmark scripts: the model under test and the matmul peak measured in the same run."""

from __future__ import annotations

from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "resources" / "models" / "smollm2-135m-instruct"


def ensure_model(path: Path) -> Path:
    """The default run's base model folder, prepared through the pipeline's own step if it is missing."""
    if not (path / "config.json").exists():
        from judgeflow.core.config_checks import load_config
        from judgeflow.models.sources import prepare_model

        config = load_config(REPO / "config" / "config.yaml")
        prepare_model(config["models"][config["base_model"]], path, config)
    return path


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    """Best-of-N GFLOP/s of a square matmul: the machine's practical peak for this dtype."""
    from judgeflow.core.hardware import matmul_gflops

    return matmul_gflops(str(dtype).removeprefix("torch."), size, repeats, budget_s=60.0)


def add_allocator_argument(parser) -> None:
    """--allocator: the jobs' malloc setting (the default) or glibc's own, for an A/B in alternating runs."""
    parser.add_argument("--allocator", choices=["jobs", "glibc"], default="jobs",
                        help="jobs: glibc keeps freed memory, as every job sets it (hardware.keep_freed_memory); "
                             "glibc: its defaults (it cannot be undone inside a process: an A/B is two runs)")


def apply_allocator(choice: str) -> None:
    """Set malloc as the jobs do (records.stage calls the same helper) unless `choice` is "glibc"."""
    from judgeflow.core.hardware import keep_freed_memory

    if choice == "jobs" and not keep_freed_memory():
        print("note: the allocator could not be set here (another C library, or MALLOC_*_THRESHOLD_ set)")


def native_dtypes() -> list[str]:
    """float32, plus bfloat16 where this machine runs it natively (judgeflow.core.hardware): emulated bf16 on an
    AVX2-only CPU is ~200-300x slower, so measuring it would take hours and show nothing useful."""
    from judgeflow.core.hardware import native_bf16

    device = "cuda" if torch.cuda.is_available() else "cpu"
    native, evidence = native_bf16(device)
    print(f"dtypes measured: float32{', bfloat16' if native else ''} ({evidence})")
    return ["float32", "bfloat16"] if native else ["float32"]
