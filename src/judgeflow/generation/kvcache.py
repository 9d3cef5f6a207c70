"""A KV cache for the hf backend's decode loop that appends in place instead of concatenating.

transformers' DynamicLayer grows each layer's keys and values with torch.cat on every decode step, which copies
the whole cache each step: on a CPU profile of 64 rows after ~260-token prompts that copy was 23 % of a decode
step (benchmarks/README.md). GrowingLayer keeps storage with room for `reserve` more tokens and writes each step
into it; the keys and values the attention reads are views of the filled part, so the model sees exactly the
tensors DynamicLayer would give it (same values, same shapes) and attends over no empty tail (unlike StaticCache).

`use_decode_attention(model)` also gives the model an attention function for the loop's one-token steps (below),
and SharedPrefixCache keeps a prompt's keys and values once for the n samples that decode from it.
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

DECODE_ATTENTION = "judgeflow_decode"


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


def decode_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """SDPA with grouped-query heads packed for one-token steps, whatever the mask; `sdpa` for everything else.

    transformers' `sdpa` packs the query heads that share a key/value head into the query-length dimension
    ([B, H, 1, d] -> [B, KVH, H/KVH, d]) only when a padding mask is present. With no mask (no row of the batch
    padded, which transformers then drops) it passes `enable_gqa=True` instead, and on a CPU that kernel is slow:
    bf16, 128 rows x 300 cached tokens, 2 threads on a Zen 4: 27-38 ms per layer against 5-6 ms packed, so 82 % of
    the decode step went to attention (benchmarks/README.md). Packed, the arithmetic is the same as `sdpa`'s own
    packed path, so outputs are those of a padded batch. A step called with `shared_prefix=cache` (the hf
    backend's decode loop over a SharedPrefixCache) goes to that cache's attention."""
    shared = kwargs.pop("shared_prefix", None)
    if shared is not None and query.shape[2] == 1:
        return shared.attention(query, key, value, attention_mask, scaling), None
    groups = getattr(module, "num_key_value_groups", 1)
    if query.shape[2] != 1 or groups == 1 or dropout:
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout,
                                      **kwargs)
    rows, heads, _, dim = query.shape
    packed = query.reshape(rows, heads // groups, groups, dim)
    if attention_mask is not None and attention_mask.shape[1] != 1:  # a per-head mask: pack it like the query
        attention_mask = attention_mask.reshape(rows, heads // groups, groups, -1)
    out = torch.nn.functional.scaled_dot_product_attention(packed, key, value, attn_mask=attention_mask,
                                                           scale=scaling)
    return out.reshape(rows, heads, 1, dim).transpose(1, 2).contiguous(), None


AttentionInterface.register(DECODE_ATTENTION, decode_attention)
AttentionMaskInterface.register(DECODE_ATTENTION, sdpa_mask)


def use_decode_attention(model) -> None:
    """Switch a model that runs `sdpa` to decode_attention (other implementations, e.g. flash attention on a GPU,
    are left as they are)."""
    if model.config._attn_implementation == "sdpa":
        model.set_attn_implementation(DECODE_ATTENTION)


class SlotLayer(GrowingLayer):
    """One layer of a SharedPrefixCache: the distinct prompts' keys and values once ([G, KVH, W, d]), followed in
    the same storage by their rows' own tokens, interleaved by step: the row in slot s of prompt g writes its j-th
    token at position W + j x slots + s of prompt g. So a prompt's keys and values, with those of all its rows, are one
    growing range that one attention call per prompt reads (SharedPrefixCache.attention). The model sees a cache of
    W + j tokens per row (get_seq_length)."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, rows: SharedPrefixCache, reserve: int):
        super().__init__(reserve)
        self.rows, self.width = rows, keys.shape[-2]
        self.dtype, self.device, self.is_initialized = keys.dtype, keys.device, True
        # head-major like the prefill's cache: PyTorch's CPU flash kernel read a position-major layout 1.3x slower in
        # bf16 (benchmarks/README.md), more than a step's scattered write costs
        self._keys, self._values = (self._room(states, min(self.reserve, 32)) for states in (keys, values))
        self.keys, self.values = self._keys[..., :self.width, :], self._values[..., :self.width, :]

    def _room(self, states: torch.Tensor, steps: int) -> torch.Tensor:
        """Room for the prompt and `steps` tokens per slot, holding the filled part of `states`. Zeroed: a key that
        no row wrote (a slot whose row has left) is still read under the mask, and must not be NaN."""
        shape = list(states.shape)
        filled = self.width + self.length * self.rows.slots
        shape[-2] = filled + steps * self.rows.slots
        grown = states.new_zeros(shape)
        grown[..., :filled, :] = states[..., :filled, :]
        return grown

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if key_states.shape[-2] != 1:
            raise ValueError("SharedPrefixCache takes one token per row and step")
        at = self.width + self.length * self.rows.slots
        if at + self.rows.slots > self._keys.shape[-2]:  # doubling: a fused continuation may run past the reserve
            self._keys, self._values = (self._room(s, max(32, self.length)) for s in (self._keys, self._values))
        positions = at + self.rows.slot
        self._keys[self.rows.group, :, positions] = key_states[:, :, 0]
        self._values[self.rows.group, :, positions] = value_states[:, :, 0]
        self.length += 1
        end = at + self.rows.slots
        self.keys, self.values = self._keys[..., :end, :], self._values[..., :end, :]
        return self.keys, self.values

    def keep_prompts(self, keep: torch.Tensor) -> None:
        self._keys, self._values = self._keys[keep], self._values[keep]
        end = self.keys.shape[-2]
        self.keys, self.values = self._keys[..., :end, :], self._values[..., :end, :]

    def get_seq_length(self) -> int:
        return self.width + self.length

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        pass  # rows own no storage here: SharedPrefixCache keeps which prompt and slot each row has


class SharedPrefixCache(DynamicCache):
    """A decode cache in which the rows that sample from the same prompt share its keys and values.

    After a shared prefill, each layer (a SlotLayer) holds the distinct prompts' keys and values once, left-padded to
    the width W; `group[row]` names each row's prompt and `slot[row]` its place among that prompt's rows, and each
    row's own tokens are written into its prompt's storage, interleaved by step. A one-token step then attends with
    one flash-attention call per layer: the queries of all rows of a prompt stacked ([G, KVH, slots x per_kv, d])
    against the prompt's whole range, under a mask that lets each row see the prompt (as its own attention mask says)
    and its own tokens only. So a prompt is read once per step for all its samples, and a row's own tokens need no
    second attention call merged by log-sum-exp (before 2026-12-03: attention 1.5x slower in bf16, 1.3x in float32,
    in a real decode on a Zen 4; benchmarks/README.md). A row that masks part of its prompt (a fused continuation)
    is just a different mask row. Rows leaving the batch move no keys; prompts whose rows have all left stop being
    read. The model is called with `shared_prefix=cache` so that decode_attention finds it. The kernel is PyTorch's
    CPU one, so this cache is for CPU decoding."""

    def __init__(self, prefix: Cache, group: torch.Tensor, reserve: int):
        self.group = group.clone()
        order = torch.argsort(self.group, stable=True)
        counts = torch.bincount(self.group)
        self.slot = torch.empty_like(self.group)
        self.slot[order] = torch.arange(order.numel()) - (torch.cumsum(counts, 0) - counts)[self.group[order]]
        self.slots = int(counts.max())
        self.width = prefix.get_seq_length()
        Cache.__init__(self, layers=[SlotLayer(layer.keys, layer.values, self, reserve) for layer in prefix.layers])
        self._mask = None  # (the step's attention mask, keys, the flash kernel's additive mask): one per step

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self.group, self.slot = self.group[indices], self.slot[indices]
        prompts = self.layers[0].keys.shape[0]
        live = torch.bincount(self.group, minlength=prompts) > 0
        if int(live.sum()) < 0.75 * prompts:  # prompts whose rows have all finished: stop reading them
            keep = live.nonzero().squeeze(1)
            for layer in self.layers:
                layer.keep_prompts(keep)
            self.group = (torch.cumsum(live.long(), 0) - 1)[self.group]
        self._mask = None

    def _additive(self, mask: torch.Tensor | None, per_kv: int, keys: int, dtype: torch.dtype) -> torch.Tensor:
        """The kernel's additive mask [G, 1, slots x per_kv, keys] for this step: each row sees its prompt where its
        attention mask (bool [rows, 1, 1, W + own], or None: everything) allows it, and its own tokens; a slot whose
        row has left sees the prompt (its output is never read; no query row is left with nothing to attend to).
        Built once per step: every layer is called with the same mask."""
        if self._mask is not None and self._mask[0] is mask and self._mask[1] == keys:
            return self._mask[2]
        prompts, rows = self.layers[0].keys.shape[0], self.group.numel()
        own = (keys - self.width) // self.slots
        if mask is None:
            mask = torch.ones(rows, 1, 1, self.width + own, dtype=torch.bool)
        if mask.dtype != torch.bool or mask.shape[1:3] != (1, 1) or mask.shape[-1] != self.width + own:
            raise ValueError(f"SharedPrefixCache expects a bool mask [rows, 1, 1, {self.width + own}], got "
                             f"{mask.dtype} {list(mask.shape)}")
        row_mask = mask[:, 0, 0, :]
        allowed = torch.zeros(prompts, self.slots, keys, dtype=torch.bool)
        allowed[:, :, :self.width] = True
        allowed[self.group, self.slot, :self.width] = row_mask[:, :self.width]
        positions = self.width + torch.arange(own) * self.slots + self.slot[:, None]
        allowed[self.group[:, None], self.slot[:, None], positions] = row_mask[:, self.width:]
        additive = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(~allowed, float("-inf"))
        additive = additive[:, :, None, :].expand(prompts, self.slots, per_kv, keys)
        self._mask = (mask, keys, additive.reshape(prompts, 1, self.slots * per_kv, keys))
        return self._mask[2]

    def attention(self, query, keys, values, mask, scaling):
        """One-token attention of every row over its prompt and its own tokens; returns [B, 1, H, d]. `keys` and
        `values` are what this layer's update returned: [G, KVH, W + own x slots, d]."""
        rows, heads, _, dim = query.shape
        prompts, kv_heads, length = keys.shape[:3]
        per_kv = heads // kv_heads
        packed = query.new_zeros(prompts, self.slots, kv_heads, per_kv, dim)
        packed[self.group, self.slot] = query.reshape(rows, kv_heads, per_kv, dim)
        packed = packed.permute(0, 2, 1, 3, 4).reshape(prompts, kv_heads, self.slots * per_kv, dim)
        out = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(
            packed, keys, values, 0.0, False, attn_mask=self._additive(mask, per_kv, length, query.dtype),
            scale=scaling)[0]
        out = out.reshape(prompts, kv_heads, self.slots, per_kv, dim).permute(0, 2, 1, 3, 4)[self.group, self.slot]
        return out.reshape(rows, heads, 1, dim).transpose(1, 2).contiguous()
