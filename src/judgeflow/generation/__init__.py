"""One generation interface for every sampler of the DAG (generators, teacher, DPO, rollouts, evaluation).

A backend takes chat conversations and SamplingParams and returns, per conversation, n Completions. A
conversation whose last message is from the assistant is continued (prefill) rather than answered.
Backends: `hf` (generation.hf: in-process transformers, CPU or GPU), `vllm` (generation.vllm: in-process vLLM,
GPU) and `openai` (generation.openai: any OpenAI-compatible server: `vllm serve`, `transformers serve`, an API
teacher), chosen by generation.backends.make_backend; all take the same SamplingParams and return the same
Completion records.

Fused continuation (hf only, `supports_fused_continuation`): `generate(..., continuation=Continuation(cue, ...))`
continues each finished row whose text the spec selects with the cue, reusing that row's KV cache instead of
a second generate call that prefills prompt + text again. Callers keep a two-pass path for the other backends
(judging.sample_judgments); see generation.hf.HFBackend._decode_fused for how the fused token sequence equals
the two-pass one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Callable


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
    # a fused continuation (HFBackend.generate with `continuation`): what the model wrote after text.rstrip() + cue;
    # None where none was asked for or the spec's `when` declined the row
    continuation: "Completion | None" = None


@dataclass(frozen=True)
class Continuation:
    """Continue a finished completion with a cue, in the same call: the model is given the conversation with the
    assistant message `text.rstrip() + cue` (exactly what a second generate call on that continued conversation
    would be given) and writes up to max_new_tokens more, sampled with the call's temperature/top_p, ending early
    at an end token or once its text contains `stop`. `when(conversation index, text)` picks the rows to continue
    (all when None)."""
    cue: str
    max_new_tokens: int = 4
    stop: str | None = None
    when: Callable[[int, str], bool] | None = None


class GenerationBackend(ABC):
    # whether generate() takes `continuation=Continuation(...)` (continues finished rows from the KV cache)
    supports_fused_continuation: bool = False

    @abstractmethod
    def generate(self, conversations: list[list[dict]], params: SamplingParams) -> list[list[Completion]]:
        """For each conversation, params.n completions, in input order."""
