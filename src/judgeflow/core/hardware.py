"""What the hardware runs natively, and the precision every sampler and trainer uses on it.

`precision: auto` (generation.dtype and every training block) picks bfloat16 only where the hardware runs it
natively: a CUDA device with bf16 support, or a CPU with AMX or AVX512-BF16 (read from /proc/cpuinfo flags);
everywhere else float32. On an AVX2-only CPU bf16 matmuls are emulated and run ~300x slower than fp32.
An explicit `bfloat16` on such hardware is honoured, with a warning that states the slowdown measured by a
short matmul probe. Every resolution is remembered for the stage summary (`resolutions()`), so each output
says which precision made it and why.

    python -m judgeflow.core.hardware        # what `make run` prints before the first job
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

NATIVE_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
_RESOLVED: list[dict] = []
_WORK: list[dict] = []
# glibc's mallopt parameters, and the threshold every job sets (keep_freed_memory)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
ALLOCATOR_THRESHOLD = 1 << 30


@dataclass(frozen=True)
class Precision:
    dtype: str      # float32 | bfloat16 | float16
    requested: str  # what the config asked for (auto or a dtype)
    device: str     # cuda | cpu
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def _cpuinfo_field(names: tuple[str, ...], cpuinfo: str | Path) -> str | None:
    """The value of the first line of /proc/cpuinfo whose key is one of `names` (the first processor's)."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in names:
            return value.strip()
    return None


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags of the first processor ('flags' on x86 Linux; empty elsewhere)."""
    return frozenset((_cpuinfo_field(("flags", "Features"), cpuinfo) or "").split())


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    return _cpuinfo_field(("model name",), cpuinfo) or platform.processor() or platform.machine()


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def native_bf16(device: str, flags: frozenset[str] | None = None) -> tuple[bool, str]:
    """Whether `device` runs bf16 natively, and the evidence."""
    if device == "cuda":
        import torch

        ok = torch.cuda.is_bf16_supported()
        return ok, f"CUDA device {torch.cuda.get_device_name(0)} {'supports' if ok else 'lacks'} bf16"
    flags = cpu_flags() if flags is None else flags
    found = [flag for flag in NATIVE_BF16_CPU_FLAGS if flag in flags]
    if found:
        return True, f"CPU has {', '.join(found)}"
    return False, f"CPU lacks {' and '.join(NATIVE_BF16_CPU_FLAGS)} (bf16 would be emulated)"


def resolve_precision(requested: str, device: str | None = None, flags: frozenset[str] | None = None,
                      probe=None) -> Precision:
    """The dtype to run in for a config value `requested` (auto | float32 | bfloat16 | float16).

    `probe` (default `emulation_slowdown`) is called only for an explicit bfloat16 on hardware that emulates
    it, to state the slowdown in the warning; tests pass a stub."""
    device = device or ("cuda" if cuda_available() else "cpu")
    native, evidence = native_bf16(device, flags)
    if requested == "auto":
        dtype = "bfloat16" if native else "float32"
        result = Precision(dtype, requested, device, f"auto: {evidence} -> {dtype}")
    elif requested == "bfloat16" and not native:
        slowdown = (probe or emulation_slowdown)()
        reason = (f"bfloat16 as configured, but {evidence}: a bf16 matmul measured {slowdown:.0f}x slower than "
                  "float32 here; set precision: auto (or float32) unless you want exactly this")
        log.warning(reason)
        result = Precision(requested, requested, device, reason)
    else:
        result = Precision(requested, requested, device, f"{requested} as configured ({evidence})")
    _RESOLVED.append(result.as_dict())
    return result


def keep_freed_memory(threshold: int = ALLOCATOR_THRESHOLD) -> bool:
    """Have glibc's malloc keep freed memory for reuse: blocks under `threshold` come from the heap instead of
    fresh `mmap` pages, and the heap's free top is returned to the system only above `threshold`.

    A training step allocates and frees activations of several MB, and a CPU faults on every first touch of a
    fresh page; by default glibc maps such blocks anew and trims the heap again. Alternating runs of
    bench_training.py on a 2-core Zen 4 (benchmarks/README.md, 2026-12-03) gave full fine-tuning 1.21-1.38x in
    float32 and 1.00-1.25x in bf16 with it; LoRA within noise (0.94-1.33x). Returns whether it was set: not on
    another C library, nor when the user set MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ (their choice
    stands). A process's peak memory can stay higher by up to `threshold`."""
    if platform.system() != "Linux" or {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"} & set(os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold)) and bool(mallopt(M_TRIM_THRESHOLD, threshold))


def resolutions(clear: bool = False) -> list[dict]:
    """Every precision resolved in this process since the last clear (what a stage summary records)."""
    found = list({tuple(sorted(r.items())): r for r in _RESOLVED}.values())
    if clear:
        _RESOLVED.clear()
    return found


def record_work(kind: str, tokens: int, flops: float, seconds: float, dtype: str, device: str = "cpu") -> None:
    """Note model work done in this process (a sampler's generate call, a trainer's run) for the stage summary:
    `tokens` processed, `flops` by the usual estimate (2·P per sampled or prefilled token, 6·P per trained token,
    4·P with LoRA's frozen base), over `seconds` of wall time."""
    _WORK.append({"kind": kind, "tokens": int(tokens), "flops": float(flops), "seconds": float(seconds),
                  "dtype": dtype, "device": device})


def work_summary(clear: bool = False, peak: bool = True) -> dict | None:
    """The model work recorded since the last clear, per kind (sampling, training): tokens, seconds and
    achieved GFLOP/s, and, with `peak`, the matmul peak of the dtype used, measured now in this process, and the
    share of it achieved. None when no model work was recorded."""
    if not _WORK:
        return None
    kinds: dict[str, dict] = {}
    for entry in _WORK:
        total = kinds.setdefault(entry["kind"], {"tokens": 0, "flops": 0.0, "seconds": 0.0, "dtype": entry["dtype"],
                                                 "device": entry["device"]})
        for key in ("tokens", "flops", "seconds"):
            total[key] += entry[key]
    peaks: dict[tuple[str, str], float] = {}
    for total in kinds.values():
        total["gflops"] = round(total["flops"] / total["seconds"] / 1e9, 2) if total["seconds"] else None
        if peak and total["gflops"] is not None:
            key = (total["dtype"], total["device"])
            if key not in peaks:
                peaks[key] = matmul_gflops(total["dtype"], 1024, repeats=5, device=total["device"], budget_s=5.0)
            total["peak_gflops"] = round(peaks[key], 1)
            total["percent_of_peak"] = round(100 * total["gflops"] / peaks[key], 1)
        total["seconds"], total["flops"] = round(total["seconds"], 2), float(f"{total['flops']:.4g}")
    if clear:
        _WORK.clear()
    return kinds


def clear_work() -> None:
    _WORK.clear()


def matmul_gflops(dtype: str, size: int = 1024, repeats: int = 5, device: str = "cpu",
                  budget_s: float = 10.0) -> float:
    """Best-of-`repeats` throughput of a size x size matmul in `dtype`, in GFLOP/s (stops early after budget_s)."""
    import torch

    kind = getattr(torch, dtype)
    a = torch.randn(size, size, device=device).to(kind)
    b = torch.randn(size, size, device=device).to(kind)
    best = float("inf")
    started = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - started > budget_s:
            break
    return 2 * size ** 3 / best / 1e9


@lru_cache(maxsize=1)
def emulation_slowdown(size: int = 256) -> float:
    """How many times slower a bf16 matmul runs than a float32 one here (small, so an emulated bf16 is quick)."""
    fp32 = matmul_gflops("float32", size, repeats=5)
    bf16 = matmul_gflops("bfloat16", size, repeats=3)
    return fp32 / bf16


def describe(measure: bool = True) -> dict:
    """The facts a run records and prints: CPU, capability, CUDA, the precision `auto` picks and matmul peaks."""
    import torch

    device = "cuda" if cuda_available() else "cpu"
    flags = cpu_flags()
    native, evidence = native_bf16(device, flags)
    facts = {
        "cpu_model": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "cpu_flags": sorted(f for f in flags if f.startswith(("avx", "amx", "fma"))),
        "cuda": torch.cuda.get_device_name(0) if device == "cuda" else None, "device": device,
        "native_bf16": native, "auto_precision": "bfloat16" if native else "float32", "evidence": evidence,
        "torch": torch.__version__,
    }
    if measure:
        facts["peak_gflops"] = {"float32": round(matmul_gflops("float32", 1024, device=device), 1)}
        if native:
            facts["peak_gflops"]["bfloat16"] = round(matmul_gflops("bfloat16", 1024, device=device), 1)
        else:
            facts["bf16_emulation_slowdown"] = round(emulation_slowdown(), 1)
    return facts


def fact_lines(facts: dict) -> list[str]:
    """The hardware check as `make run` prints it."""
    peaks = ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in facts["peak_gflops"].items())
    lines = ["judgeflow hardware check",
             f"  cpu:        {facts['cpu_model']} ({facts['threads']} threads), torch capability "
             f"{facts['cpu_capability']}, flags: {' '.join(facts['cpu_flags']) or 'none of avx/amx/fma'}",
             f"  gpu:        {facts['cuda'] or 'none'}",
             f"  precision:  auto -> {facts['auto_precision']} ({facts['evidence']})",
             f"  matmul peak (1024^2, best of 5): {peaks}"]
    if "bf16_emulation_slowdown" in facts:
        lines.append(f"  bf16 here is emulated: {facts['bf16_emulation_slowdown']:.0f}x slower than float32")
    return lines


def main() -> None:
    """`python -m judgeflow.core.hardware [THREADS]`: what this machine is and what `precision: auto` picks on it."""
    import sys

    import torch

    if len(sys.argv) > 1:
        torch.set_num_threads(int(sys.argv[1]))
    print("\n".join(fact_lines(describe())))


if __name__ == "__main__":
    main()
