"""A KV cache for the hf backend's decode loop that appends in place instead of concatenating.

transformers' DynamicLayer grows each layer's keys and values with torch.cat on every decode step, which copies
the whole cache each step: on a CPU profile of 64 rows after ~260-token prompts that copy was 23 % of a decode
step (benchmarks/README.md). GrowingLayer keeps storage with room for `reserve` more tokens and writes each step
into it; the keys and values the attention reads are views of the filled part, so the model sees exactly the
tensors DynamicLayer would give it (same values, same shapes) and attends over no empty tail (unlike StaticCache).
"""

from __future__ import annotations

import torch
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer


class GrowingLayer(DynamicLayer):
    """DynamicLayer with preallocated storage: room for the prompt plus `reserve` tokens, regrown by `reserve`
    when a step would overflow it (a fused continuation may feed a few more tokens than planned)."""

    def __init__(self, reserve: int = 128):
        super().__init__()
        self.reserve = max(1, int(reserve))
        self.length = 0
        self._keys = self._values = None

    def _storage(self, states: torch.Tensor, old: torch.Tensor | None, needed: int) -> torch.Tensor:
        shape = list(states.shape)
        shape[-2] = needed + self.reserve
        grown = states.new_empty(shape)
        if old is not None and self.length:
            grown[..., :self.length, :] = old[..., :self.length, :]
        return grown

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if self._keys is None or end > self._keys.shape[-2]:
            self._keys = self._storage(key_states, self._keys, end)
            self._values = self._storage(value_states, self._values, end)
        self._keys[..., self.length:end, :] = key_states
        self._values[..., self.length:end, :] = value_states
        self.length = end
        self.keys, self.values = self._keys[..., :end, :], self._values[..., :end, :]
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep (or repeat) the batch rows `indices`, as DynamicLayer does.

        An order from generation.fill_order (finished rows dropped, their places taken by rows from the end) is
        applied in place: only the moved rows' filled part is copied, and the storage keeps its room. A fresh
        gather of the whole storage cost 1.6 s for 128 rows of ~460 tokens on the 2-core EPYC (2.5 decode steps),
        and a decode loop drops rows at many of its steps."""
        if self._keys is None:
            return
        kept = indices.numel()
        moved = (indices != torch.arange(kept, device=indices.device)).nonzero().squeeze(1)
        sources = indices[moved]
        if kept <= self._keys.shape[0] and bool((sources >= kept).all()):
            for storage in (self._keys, self._values):
                storage[moved, :, :self.length] = storage[sources, :, :self.length]
            self._keys, self._values = self._keys[:kept], self._values[:kept]
        else:
            self._keys, self._values = self._keys[indices], self._values[indices]
        self.keys, self.values = self._keys[..., :self.length, :], self._values[..., :self.length, :]

    def reset(self) -> None:
        self.length = 0
        self._keys = self._values = None
        super().reset()

    def crop(self, tokens_to_remove: int) -> None:
        raise NotImplementedError("GrowingLayer is a decode-loop cache; it does not crop")

    def batch_repeat_interleave(self, repeats: int) -> None:
        raise NotImplementedError("GrowingLayer is a decode-loop cache; select rows with batch_select_indices")


class GrowingCache(DynamicCache):
    """A DynamicCache whose layers are GrowingLayers with room for `reserve` new tokens after the prompt."""

    def __init__(self, reserve: int = 128):
        Cache.__init__(self, layer_class_to_replicate=lambda: GrowingLayer(reserve))
