"""The generation backend for a model folder (judgeflow.generation's engines, judgeflow.generation.openai's API
client), chosen from the folder and the config's `generation` block."""

from __future__ import annotations

from pathlib import Path

from judgeflow.core.hardware import resolve_precision
from judgeflow.generation import GenerationBackend
from judgeflow.generation.hf import HFBackend
from judgeflow.generation.openai import ENDPOINT_FILE, OpenAIBackend
from judgeflow.generation.vllm import VLLMBackend


def make_backend(model_dir: str, generation: dict) -> GenerationBackend:
    """The backend for a model folder: a remote model (a folder holding endpoint.json, made by the
    `openai` model source) is reached over its OpenAI-compatible API; a local folder is loaded in-process
    by the backend named in 'generation.backend' (hf or vllm)."""
    endpoint = Path(model_dir) / ENDPOINT_FILE
    if endpoint.exists():
        return OpenAIBackend.from_endpoint_file(endpoint, generation["openai"])
    dtype = resolve_precision(generation["dtype"]).dtype
    if generation["backend"] == "hf":
        return HFBackend(model_dir, batch_size=generation["batch_size"], dtype=dtype)
    if generation["backend"] == "vllm":
        vllm = generation["vllm"]
        return VLLMBackend(model_dir, dtype=dtype, tensor_parallel_size=vllm["tensor_parallel_size"],
                           gpu_memory_utilization=vllm["gpu_memory_utilization"])
    raise ValueError(f"unknown generation backend {generation['backend']!r}")
