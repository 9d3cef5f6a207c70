"""One generation interface for every sampler of the DAG (generators, teacher, DPO, rollouts, evaluation).

A backend takes chat conversations and SamplingParams and returns, per conversation, n Completions. A
conversation whose last message is from the assistant is continued (prefill) rather than answered.
Backends: `hf` (in-process transformers, CPU or GPU), `vllm` (in-process vLLM, GPU) and `openai` (any
OpenAI-compatible server: `vllm serve`, `transformers serve`, an API teacher; openai_backend.py), chosen by
`make_backend`; all take the same SamplingParams and return the same Completion records.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm.auto import tqdm


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    max_new_tokens: int = 128
    seed: int = 0

    @classmethod
    def from_config(cls, sampling: dict, n: int = 1, seed: int = 0) -> "SamplingParams":
        return cls(n=n, temperature=float(sampling["temperature"]), top_p=float(sampling["top_p"]),
                   max_new_tokens=int(sampling["max_new_tokens"]), seed=seed)

    def with_(self, **changes) -> "SamplingParams":
        return replace(self, **changes)


@dataclass(frozen=True)
class Completion:
    text: str
    num_tokens: int
    finish_reason: str  # "stop" (end of turn) or "length" (max_new_tokens reached)


class GenerationBackend(ABC):
    @abstractmethod
    def generate(self, conversations: list[list[dict]], params: SamplingParams) -> list[list[Completion]]:
        """For each conversation, params.n completions, in input order."""


class HFBackend(GenerationBackend):
    """Batched in-process transformers generation: prompts grouped by length, left padding, per-row stops."""

    def __init__(self, model_dir: str, batch_size: int, dtype: str = "float32", progress: bool = True):
        import torch

        from judgeflow.models import load_causal_lm

        self.torch = torch
        self.model, self.tokenizer = load_causal_lm(model_dir, dtype)
        self.model.eval()
        self.batch_size = batch_size
        self.progress = progress
        eos = self.model.generation_config.eos_token_id
        eos = [eos] if isinstance(eos, int) else list(eos or [])
        if self.tokenizer.eos_token_id is not None:
            eos.append(self.tokenizer.eos_token_id)
        self.stop_ids = sorted(set(eos))
        if not self.stop_ids:
            raise ValueError(f"{model_dir}: neither the tokenizer nor generation_config names an end token")
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.stop_ids[0]

    def encode(self, conversation: list[dict]) -> list[int]:
        continuing = conversation[-1]["role"] == "assistant"
        return self.tokenizer.apply_chat_template(
            conversation, tokenize=True, add_generation_prompt=not continuing,
            continue_final_message=continuing, return_dict=False)

    def generate(self, conversations: list[list[dict]], params: SamplingParams) -> list[list[Completion]]:
        torch = self.torch
        encoded = [self.encode(c) for c in conversations]
        units = sorted(((i, k) for i in range(len(encoded)) for k in range(params.n)),
                       key=lambda u: (len(encoded[u[0]]), u))
        results: dict[tuple[int, int], Completion] = {}
        batches = [units[s:s + self.batch_size] for s in range(0, len(units), self.batch_size)]
        bar = tqdm(total=len(units), desc="generate", unit="seq", disable=not self.progress)
        for batch_index, batch in enumerate(batches):
            width = max(len(encoded[i]) for i, _ in batch)
            ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, (i, _) in enumerate(batch):
                ids[row, width - len(encoded[i]):] = torch.tensor(encoded[i])
                mask[row, width - len(encoded[i]):] = 1
            generator = torch.Generator().manual_seed(params.seed * 100003 + batch_index)
            with torch.inference_mode():
                rows = self._decode(ids, mask, params, generator)
            for unit, tokens in zip(batch, rows):
                stopped = bool(tokens) and tokens[-1] in self.stop_ids
                results[unit] = Completion(
                    text=self.tokenizer.decode(tokens[:-1] if stopped else tokens, skip_special_tokens=True),
                    num_tokens=len(tokens), finish_reason="stop" if stopped else "length")
            bar.update(len(batch))
        bar.close()
        return [[results[(i, k)] for k in range(params.n)] for i in range(len(conversations))]

    def _decode(self, ids, mask, params: SamplingParams, generator) -> list[list[int]]:
        """Left-padded batched decoding with a KV cache. A row that emits an end token leaves the batch (its
        cache rows are dropped), so finished sequences cost nothing; greedy output equals model.generate's."""
        from transformers import DynamicCache

        torch = self.torch
        stop = torch.tensor(self.stop_ids)
        cache = DynamicCache()
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                         use_cache=True, logits_to_keep=1)
        active = torch.arange(ids.shape[0])
        tokens: list[list[int]] = [[] for _ in range(ids.shape[0])]
        for step in range(params.max_new_tokens):
            chosen = sample_next(out.logits[:, -1, :], params, generator)
            for row, token in zip(active.tolist(), chosen.tolist()):
                tokens[row].append(token)
            if step == params.max_new_tokens - 1:
                break
            finished = torch.isin(chosen, stop)
            if finished.any():
                keep = (~finished).nonzero().squeeze(1)
                if keep.numel() == 0:
                    break
                active, chosen, mask = active[keep], chosen[keep], mask[keep]
                cache.batch_select_indices(keep)
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            out = self.model(input_ids=chosen[:, None], attention_mask=mask,
                             position_ids=mask.sum(-1, keepdim=True) - 1, past_key_values=cache, use_cache=True)
        return tokens


def sample_next(logits, params: SamplingParams, generator, prefix: int = 256):
    """One token per row: greedy at temperature 0, else temperature + exact nucleus (top-p) sampling.

    The nucleus is found in the top-`prefix` candidates when they already hold top_p of the mass (the usual
    case), and by a full sort of the vocabulary otherwise, so the result is the same as sorting every time."""
    import torch

    if params.temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p >= 1.0:
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    values, indices = probs.topk(min(prefix, probs.shape[-1]), dim=-1)
    if not bool((values.sum(-1) >= params.top_p).all()):
        values, indices = probs.sort(dim=-1, descending=True)
    cumulative = values.cumsum(-1)
    values = values * ((cumulative - values) < params.top_p)  # smallest prefix whose mass reaches top_p
    return indices.gather(-1, torch.multinomial(values, 1, generator=generator)).squeeze(-1)


class VLLMBackend(GenerationBackend):
    """In-process vLLM (GPU): tensor parallelism and GPU memory share from config. vLLM honours n, seed,
    and continues a final assistant message like the hf backend. Needs the GPU environment (see README)."""

    def __init__(self, model_dir: str, dtype: str, tensor_parallel_size: int, gpu_memory_utilization: float,
                 seed: int = 0):
        from judgeflow.models import ADAPTER_POINTER

        if (Path(model_dir) / ADAPTER_POINTER).exists():
            raise ValueError(f"{model_dir} holds only a LoRA adapter; vLLM needs full weights: set lora.merge: true")
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ImportError("generation.backend 'vllm' needs the vllm package, which lives in the GPU "
                              "environment (requirements-gpu.txt), not beside the CPU stack") from exc

        self.llm = LLM(model=model_dir, dtype=dtype, tensor_parallel_size=tensor_parallel_size,
                       gpu_memory_utilization=gpu_memory_utilization, seed=seed)

    def generate(self, conversations: list[list[dict]], params: SamplingParams) -> list[list[Completion]]:
        from vllm import SamplingParams as VLLMSampling

        sampling = VLLMSampling(n=params.n, temperature=params.temperature,
                                top_p=params.top_p if params.temperature > 0 else 1.0,
                                max_tokens=params.max_new_tokens, seed=params.seed)
        results: list[list[Completion] | None] = [None] * len(conversations)
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
        return results  # type: ignore[return-value]


def make_backend(model_dir: str, generation: dict) -> GenerationBackend:
    """The backend for a model folder: a remote model (a folder holding endpoint.json, made by the
    `openai` model source) is reached over its OpenAI-compatible API; a local folder is loaded in-process
    by the backend named in 'generation.backend' (hf or vllm)."""
    from judgeflow.openai_backend import ENDPOINT_FILE, OpenAIBackend

    endpoint = Path(model_dir) / ENDPOINT_FILE
    if endpoint.exists():
        return OpenAIBackend.from_endpoint_file(endpoint, generation["openai"])
    from judgeflow.hardware import resolve_precision

    dtype = resolve_precision(generation["dtype"]).dtype
    if generation["backend"] == "hf":
        return HFBackend(model_dir, batch_size=generation["batch_size"], dtype=dtype)
    if generation["backend"] == "vllm":
        vllm = generation["vllm"]
        return VLLMBackend(model_dir, dtype=dtype, tensor_parallel_size=vllm["tensor_parallel_size"],
                           gpu_memory_utilization=vllm["gpu_memory_utilization"])
    raise ValueError(f"unknown generation backend {generation['backend']!r}")
