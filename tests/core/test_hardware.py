"""Precision by hardware (judgeflow.core.hardware) with the capability mocked, and how stages record it."""

import logging

import pytest

from judgeflow.core import hardware
from judgeflow.core.hardware import cpu_flags, resolve_precision

AVX2 = frozenset({"fma", "avx", "avx2"})
AMX = AVX2 | {"avx512f", "amx_tile", "amx_bf16", "avx512_bf16"}
AVX512_BF16_ONLY = AVX2 | {"avx512f", "avx512_bf16"}


def _never_probe():
    raise AssertionError("the slowdown probe runs only for an explicit bfloat16 on emulating hardware")


@pytest.mark.parametrize("flags,expected", [(AVX2, "float32"), (AMX, "bfloat16"), (AVX512_BF16_ONLY, "bfloat16"),
                                            (frozenset(), "float32")])
def test_auto_picks_bf16_only_where_the_cpu_runs_it_natively(flags, expected):
    chosen = resolve_precision("auto", device="cpu", flags=flags, probe=_never_probe)
    assert chosen.dtype == expected and chosen.requested == "auto"
    assert ("lacks" in chosen.reason) == (expected == "float32")


def test_auto_on_cuda_follows_the_device(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "Fake GPU")
    for supported, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda s=supported: s)
        assert resolve_precision("auto", device="cuda", probe=_never_probe).dtype == expected


def test_explicit_bf16_on_emulating_hardware_runs_but_warns_with_the_slowdown(caplog):
    with caplog.at_level(logging.WARNING, logger="judgeflow.core.hardware"):
        chosen = resolve_precision("bfloat16", device="cpu", flags=AVX2, probe=lambda: 312.0)
    assert chosen.dtype == "bfloat16"
    assert "312x slower" in chosen.reason and "312x slower" in caplog.text


def test_explicit_dtypes_are_kept_without_a_probe():
    assert resolve_precision("float32", device="cpu", flags=AMX, probe=_never_probe).dtype == "float32"
    assert resolve_precision("bfloat16", device="cpu", flags=AMX, probe=_never_probe).dtype == "bfloat16"


def test_resolutions_are_collected_for_the_stage_summary():
    hardware.resolutions(clear=True)
    resolve_precision("auto", device="cpu", flags=AVX2)
    resolve_precision("auto", device="cpu", flags=AVX2)
    used = hardware.resolutions(clear=True)
    assert used == [{"dtype": "float32", "requested": "auto", "device": "cpu", "reason": used[0]["reason"]}]
    assert hardware.resolutions() == []


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx2 amx_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(info) == {"fpu", "avx2", "amx_bf16"}
    assert hardware.cpu_model(info) == "Some CPU"
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_the_default_config_asks_for_auto_everywhere(default_config):
    blocks = [default_config["sft"], default_config["dpo"]["training"], default_config["rollout"]["training"],
              default_config["downstream"]["policy_dpo"]["training"]]
    assert default_config["generation"]["dtype"] == "auto"
    assert all(block["precision"] == "auto" for block in blocks)


def test_a_sampling_stage_records_its_precision(tmp_path, tiny_model_dir, test_config):
    from judgeflow.core.records import read_json, stage
    from judgeflow.generation.backends import make_backend

    with stage("probe", test_config, tmp_path / "summary.json"):
        make_backend(tiny_model_dir, {**test_config["generation"], "dtype": "auto"})
    recorded = read_json(tmp_path / "summary.json")["precision"]
    assert len(recorded) == 1 and recorded[0]["requested"] == "auto"
    assert recorded[0]["dtype"] in ("float32", "bfloat16") and recorded[0]["reason"].startswith("auto:")


def test_work_is_summed_per_kind_with_the_share_of_a_measured_peak(monkeypatch):
    monkeypatch.setattr(hardware, "matmul_gflops", lambda dtype, *a, **k: {"float32": 100.0, "bfloat16": 400.0}[dtype])
    hardware.clear_work()
    hardware.record_work("sampling", 100, 50e9, 1.0, "float32")
    hardware.record_work("sampling", 100, 30e9, 1.0, "float32")
    hardware.record_work("training", 10, 60e9, 2.0, "bfloat16")
    work = hardware.work_summary(clear=True)
    assert work["sampling"] == {"tokens": 200, "flops": 80e9, "seconds": 2.0, "gflops": 40.0, "dtype": "float32",
                                "device": "cpu", "peak_gflops": 100.0, "percent_of_peak": 40.0}
    assert work["training"]["gflops"] == 30.0 and work["training"]["percent_of_peak"] == 7.5
    assert hardware.work_summary() is None


def test_keep_freed_memory_sets_glibc_and_leaves_a_users_choice(monkeypatch):
    calls = []

    class Mallopt:  # glibc's mallopt as ctypes gives it: a callable that takes argtypes / restype
        def __call__(self, param, value):
            calls.append((param, value))
            return 1

    class Libc:
        mallopt = Mallopt()

    monkeypatch.setattr(hardware.platform, "system", lambda: "Linux")
    monkeypatch.setattr(hardware.ctypes, "CDLL", lambda name: Libc())
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    assert hardware.keep_freed_memory(1 << 20)
    assert calls == [(hardware.M_MMAP_THRESHOLD, 1 << 20), (hardware.M_TRIM_THRESHOLD, 1 << 20)]
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert not hardware.keep_freed_memory() and len(calls) == 2  # the user's setting stands
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setattr(hardware.ctypes, "CDLL", lambda name: object())  # a C library without mallopt
    assert not hardware.keep_freed_memory()
    monkeypatch.setattr(hardware.platform, "system", lambda: "Darwin")
    assert not hardware.keep_freed_memory()
