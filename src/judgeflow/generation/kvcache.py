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
    backend's decode loop over a SharedPrefixCache) goes to that cache's two-part attention."""
    shared = kwargs.pop("shared_prefix", None)
    if shared is not None and query.shape[2] == 1:
        return shared.attention(module.layer_idx, query, key, value, attention_mask, scaling), None
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


class SuffixLayer(GrowingLayer):
    """The tokens a row decodes after its prompt, whose keys and values sit in SharedPrefixCache.prefix: the
    model sees a cache `offset` (the prompt width) longer than what this layer holds."""

    def __init__(self, reserve: int, offset: int):
        super().__init__(reserve)
        self.offset = offset

    def get_seq_length(self) -> int:
        return self.offset + self.length


class SharedPrefixCache(DynamicCache):
    """A decode cache in which the rows that sample from the same prompt share its keys and values.

    After a shared prefill, `prefix[layer]` holds the distinct prompts' keys and values once ([G, KVH, W, d],
    left-padded to W) and `group[row]` names each row's prompt; each row's own tokens go into a SuffixLayer.
    One-token steps then attend in two parts (`attention`): the queries of all rows of a prompt together over its
    prefix, a real matrix product that reads the prompt's keys and values once instead of once per sample, and
    each row over its own tokens; the two softmax parts are merged by their log-sum-exp. The model is called with
    `shared_prefix=cache` so that decode_attention finds it. The flash-attention kernel used for the parts is
    PyTorch's CPU one, so this cache is for CPU decoding."""

    def __init__(self, prefix: Cache, group: torch.Tensor, reserve: int):
        width = prefix.get_seq_length()
        Cache.__init__(self, layers=[SuffixLayer(reserve, width) for _ in prefix.layers])
        self.prefix = [(layer.keys, layer.values) for layer in prefix.layers]
        self.width = width
        self.group = group.clone()
        self._layout = None

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        super().batch_select_indices(indices)
        self.group = self.group[indices]
        self._layout = None

    def isolate(self, row: int) -> None:
        """Give `row` its own copy of its prompt (e.g. before masking part of that prompt for this row only)."""
        source = int(self.group[row])
        self.prefix = [(torch.cat([k, k[source:source + 1]]), torch.cat([v, v[source:source + 1]]))
                       for k, v in self.prefix]
        self.group[row] = self.prefix[0][0].shape[0] - 1
        self._layout = None

    def layout(self):
        """Per row its prompt and its slot among that prompt's rows, the most rows of a prompt, and per prompt a
        row of it (for the prompt's mask); recomputed only when rows leave the batch or are isolated."""
        if self._layout is None:
            prompts = self.prefix[0][0].shape[0]
            live = torch.bincount(self.group, minlength=prompts) > 0
            if int(live.sum()) < 0.75 * prompts:  # prompts whose rows have all finished: stop reading them
                keep = live.nonzero().squeeze(1)
                self.prefix = [(k[keep], v[keep]) for k, v in self.prefix]
                renumber = torch.cumsum(live.long(), 0) - 1
                self.group = renumber[self.group]
                prompts = keep.numel()
            order = torch.argsort(self.group, stable=True)
            counts = torch.bincount(self.group, minlength=prompts)
            starts = torch.cumsum(counts, 0) - counts
            slot = torch.empty_like(self.group)
            slot[order] = torch.arange(order.numel()) - starts[self.group[order]]
            first = torch.zeros(prompts, dtype=torch.long)
            first[self.group.flip(0)] = torch.arange(self.group.numel() - 1, -1, -1)
            self._layout = (slot, int(counts.max()), first)
        return self._layout

    def attention(self, layer: int, query, suffix_keys, suffix_values, mask, scaling):
        """One-token attention of every row over its prompt (shared) and its own tokens; returns [B, 1, H, d]."""
        flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
        slot, most, first = self.layout()  # first: it may drop finished prompts from self.prefix
        prefix_keys, prefix_values = self.prefix[layer]
        rows, heads, _, dim = query.shape
        prompts, kv_heads = prefix_keys.shape[:2]
        per_kv = heads // kv_heads
        q = query.reshape(rows, kv_heads, per_kv, dim)
        additive = None
        if mask is not None:  # bool, True = attend -> the kernel's additive mask in the query's dtype
            additive = torch.zeros(mask.shape, dtype=query.dtype).masked_fill(~mask, float("-inf"))
        # the prompt part: a prompt's rows' queries side by side ([G, KVH, most x per_kv, d]) against its keys
        packed = query.new_zeros(prompts, most, kv_heads, per_kv, dim)
        packed[self.group, slot] = q
        packed = packed.permute(0, 2, 1, 3, 4).reshape(prompts, kv_heads, most * per_kv, dim)
        prompt_mask = None if additive is None else additive[first, ..., :self.width].contiguous()
        out_p, lse_p = flash(packed, prefix_keys, prefix_values, 0.0, False, attn_mask=prompt_mask, scale=scaling)[:2]
        out_p = out_p.reshape(prompts, kv_heads, most, per_kv, dim).permute(0, 2, 1, 3, 4)[self.group, slot]
        lse_p = lse_p.reshape(prompts, kv_heads, most, per_kv).permute(0, 2, 1, 3)[self.group, slot]
        # the row's own part
        own_mask = None if additive is None else additive[..., self.width:].contiguous()
        out_s, lse_s = flash(q, suffix_keys, suffix_values, 0.0, False, attn_mask=own_mask, scale=scaling)[:2]
        top = torch.maximum(lse_p, lse_s)
        w_p, w_s = (lse_p - top).exp().unsqueeze(-1), (lse_s - top).exp().unsqueeze(-1)
        out = (out_p.float() * w_p + out_s.float() * w_s) / (w_p + w_s)
        return out.to(query.dtype).reshape(rows, heads, 1, dim).transpose(1, 2).contiguous()
