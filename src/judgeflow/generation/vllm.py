"""The `vllm` backend: in-process vLLM on GPUs (the GPU environment, requirements-gpu.txt; see judgeflow.generation
for the interface)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from judgeflow.core.hardware import record_work
from judgeflow.generation import Completion, GenerationBackend, SamplingParams
from judgeflow.models import ADAPTER_POINTER, verify_model_dir


class VLLMBackend(GenerationBackend):
    """In-process vLLM (GPU): tensor parallelism and GPU memory share from config. vLLM honours n, seed,
    and continues a final assistant message like the hf backend. Needs the GPU environment (see README)."""

    def __init__(self, model_dir: str, dtype: str, tensor_parallel_size: int, gpu_memory_utilization: float,
                 seed: int = 0):
        if (Path(model_dir) / ADAPTER_POINTER).exists():
            raise ValueError(f"{model_dir} holds only a LoRA adapter; vLLM needs full weights: set lora.merge: true")
        verify_model_dir(model_dir)  # vLLM loads the files itself: check them as load_causal_lm does
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ImportError("generation.backend 'vllm' needs the vllm package, which lives in the GPU "
                              "environment (requirements-gpu.txt), not beside the CPU stack") from exc

        self.llm = LLM(model=model_dir, dtype=dtype, tensor_parallel_size=tensor_parallel_size,
                       gpu_memory_utilization=gpu_memory_utilization, seed=seed)
        self.dtype = dtype
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        self.parameters = _parameter_estimate(config)

    def generate(self, conversations: list[list[dict]], params: SamplingParams) -> list[list[Completion]]:
        from vllm import SamplingParams as VLLMSampling

        sampling = VLLMSampling(n=params.n, temperature=params.temperature,
                                top_p=params.top_p if params.temperature > 0 else 1.0,
                                max_tokens=params.max_new_tokens, seed=params.seed)
        results: list[list[Completion] | None] = [None] * len(conversations)
        started, tokens = time.perf_counter(), 0
        # vLLM applies one chat-template mode per call: answering and continuing go in separate calls
        for continuing in (False, True):
            indices = [i for i, c in enumerate(conversations) if (c[-1]["role"] == "assistant") == continuing]
            if not indices:
                continue
            outputs = self.llm.chat([conversations[i] for i in indices], sampling, use_tqdm=True,
                                    add_generation_prompt=not continuing, continue_final_message=continuing)
            for i, output in zip(indices, outputs):
                results[i] = [Completion(text=o.text, num_tokens=len(o.token_ids),
                                         finish_reason="length" if o.finish_reason == "length" else "stop")
                              for o in output.outputs]
                # a prompt counts once for its n samples (vLLM shares the prefill, as the hf backend does)
                tokens += len(output.prompt_token_ids or []) + sum(len(o.token_ids) for o in output.outputs)
        record_work("sampling", tokens, 2 * self.parameters * tokens, time.perf_counter() - started, self.dtype, "cuda")
        return results  # type: ignore[return-value]


def _parameter_estimate(config: dict) -> int:
    """Parameters of a decoder-only transformer from its config.json (for the FLOP estimate, when the weights
    are loaded by another engine): embeddings, attention with grouped KV heads, a gated MLP, untied head."""
    hidden, layers = config["hidden_size"], config["num_hidden_layers"]
    heads = config["num_attention_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    kv = config.get("num_key_value_heads", heads) * head_dim
    attention = hidden * heads * head_dim * 2 + hidden * kv * 2
    mlp = 3 * hidden * config.get("intermediate_size", 4 * hidden)
    embeddings = config["vocab_size"] * hidden * (1 if config.get("tie_word_embeddings") else 2)
    return layers * (attention + mlp) + embeddings
