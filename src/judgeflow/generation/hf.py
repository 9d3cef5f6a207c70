"""The `hf` backend: in-process transformers on CPU or GPU, with its own batched KV-cache decode loop (see
judgeflow.generation for the interface)."""

from __future__ import annotations

import time
from typing import Callable

from tqdm.auto import tqdm

from judgeflow.core.hardware import record_work
from judgeflow.generation import Completion, Continuation, GenerationBackend, SamplingParams
from judgeflow.models import load_causal_lm


class HFBackend(GenerationBackend):
    """Batched in-process transformers generation: prompts grouped by length, left padding, per-row stops."""

    supports_fused_continuation = True
    share_prefill = True  # False: every sample prefills its own prompt (the benchmarks' baseline)
    shared_prefix = True  # a prompt's samples read its cached keys and values once per step (SharedPrefixCache, CPU)
    length_slack = 1.3    # a batch's longest prompt is at most this many times its shortest (length_batches)

    def __init__(self, model_dir: str, batch_size: int, dtype: str = "float32", progress: bool = True):
        # lazy for import cost: torch and kvcache (torch, transformers) take seconds to import, and most importers
        # of generation (judging, openai_backend, the stages of jobs that sample nothing) never build an hf backend
        import torch

        from judgeflow.generation.kvcache import DECODE_ATTENTION, GrowingCache, SharedPrefixCache, use_decode_attention

        self.torch = torch
        self.cache_class = GrowingCache  # the benchmark swaps in transformers' DynamicCache for its baseline
        self.shared_prefix_cache, self.decode_attention = SharedPrefixCache, DECODE_ATTENTION
        self.sample = sample_next  # the benchmark swaps in the sampler as it was, for the settings before it
        self.model, self.tokenizer = load_causal_lm(model_dir, dtype)
        self.model.eval()
        use_decode_attention(self.model)  # the benchmark sets "sdpa" back for its baseline
        self.dtype = dtype
        self.parameters = sum(p.numel() for p in self.model.parameters())
        self.forward_tokens = 0  # tokens through the model (prefill + decode), for the stage's compute record
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

    def generate(self, conversations: list[list[dict]], params: SamplingParams,
                 continuation: Continuation | None = None) -> list[list[Completion]]:
        """params.n completions per conversation. With `continuation`, each finished row that its `when` picks is
        continued in the same decode loop (Completion.continuation); without it the output is exactly as before
        continuations existed (same loop, same random stream)."""
        torch = self.torch
        started, forward_before = time.perf_counter(), self.forward_tokens
        encoded = [self.encode(c) for c in conversations]
        units = sorted(((i, k) for i in range(len(encoded)) for k in range(params.n)),
                       key=lambda u: (len(encoded[u[0]]), u))
        results: dict[tuple[int, int], Completion] = {}
        # decode batches of up to batch_size rows; inside each, the prompts are prefilled in groups of similar
        # length (length_batches) and their KV caches joined, left-padded, for one decode loop (_prefill)
        batches = [units[start:start + self.batch_size] for start in range(0, len(units), self.batch_size)]
        bar = tqdm(total=len(units), desc="generate", unit="seq", disable=not self.progress)
        for batch_index, batch in enumerate(batches):
            # the n samples of a prompt sit side by side (units are sorted by prompt); each distinct prompt is
            # prefilled once and its rows decode from its KV cache (_prefill)
            keys = [unit[0] if self.share_prefill else unit for unit in batch]
            distinct = list(dict.fromkeys(keys))
            prompts = [encoded[batch[keys.index(key)][0]] for key in distinct]
            expand = torch.tensor([distinct.index(key) for key in keys])
            generator = torch.Generator().manual_seed(params.seed * 100003 + batch_index)
            if continuation is None:
                with torch.inference_mode():
                    rows = self._decode(prompts, expand, params, generator)
                seconds: list[list[int] | None] = [None] * len(batch)
            else:
                def target(row, tokens, batch=batch):
                    i = batch[row][0]
                    text = self._text(tokens)
                    if continuation.when is not None and not continuation.when(i, text):
                        return None
                    return self.encode(conversations[i] + [{"role": "assistant",
                                                            "content": text.rstrip() + continuation.cue}])

                # the continuation's own random stream, seeded like the two-pass path's second call (seed + 1)
                cont_generator = torch.Generator().manual_seed((params.seed + 1) * 100003 + batch_index)
                with torch.inference_mode():
                    rows, seconds = self._decode_fused(prompts, expand, params, generator,
                                                       [encoded[i] for i, _ in batch], target, continuation,
                                                       cont_generator)
            for unit, tokens, second in zip(batch, rows, seconds):
                results[unit] = self._completion(tokens, None if second is None else self._completion(second))
            bar.update(len(batch))
        bar.close()
        tokens = self.forward_tokens - forward_before
        record_work("sampling", tokens, 2 * self.parameters * tokens, time.perf_counter() - started, self.dtype,
                    str(self.model.device.type))
        return [[results[(i, k)] for k in range(params.n)] for i in range(len(conversations))]

    def _completion(self, tokens: list[int], continuation: Completion | None = None) -> Completion:
        stopped = bool(tokens) and tokens[-1] in self.stop_ids
        return Completion(text=self._text(tokens), num_tokens=len(tokens),
                          finish_reason="stop" if stopped else "length", continuation=continuation)

    def _text(self, tokens: list[int]) -> str:
        """A row's text: its tokens without the end token that stopped it, special tokens skipped."""
        stopped = bool(tokens) and tokens[-1] in self.stop_ids
        return self.tokenizer.decode(tokens[:-1] if stopped else tokens, skip_special_tokens=True)

    def _prefill(self, prompts: list[list[int]], expand, reserve: int):
        """One forward pass per group of prompts of similar length (`prompts` come shortest first; length_batches
        cuts the groups, each left-padded to its longest), then the groups' KV caches are joined, left-padded to
        the longest prompt, into one cache for one decode loop. Each batch row gets its prompt's mask and last
        logits (`expand[row]` = its prompt's index) and its cache: on a CPU a SharedPrefixCache that holds each
        prompt once for all its rows, else a copy per row. So n samples of one prompt cost one prefill, not n, and
        prompts of very different lengths share decode steps without sharing padded prefill work. Returns (last
        logits, cache, mask), one row per batch row."""
        torch = self.torch
        width = max(len(p) for p in prompts)
        parts = []
        for group in length_batches(list(range(len(prompts))), [len(p) for p in prompts], len(prompts),
                                    self.length_slack):
            group_width = max(len(prompts[i]) for i in group)
            ids = torch.full((len(group), group_width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(group), group_width), dtype=torch.long)
            for row, i in enumerate(group):
                ids[row, group_width - len(prompts[i]):] = torch.tensor(prompts[i])
                mask[row, group_width - len(prompts[i]):] = 1
            cache = self.cache_class(reserve)
            self.forward_tokens += int(mask.sum())
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                             use_cache=True, logits_to_keep=1)
            parts.append((out.logits[:, -1, :], cache, mask))
        if len(parts) == 1:
            logits, cache, mask = parts[0]
        else:
            logits = torch.cat([part[0] for part in parts])
            mask = torch.cat([torch.nn.functional.pad(part[2], (width - part[2].shape[1], 0)) for part in parts])
            cache = self.cache_class(reserve)
            for layer in range(len(parts[0][1].layers)):
                joined = []
                for states in ("keys", "values"):
                    pieces = [getattr(part[1].layers[layer], states) for part in parts]
                    joined.append(torch.cat([torch.nn.functional.pad(p, (0, 0, width - p.shape[-2], 0))
                                             for p in pieces]))
                cache.update(*joined, layer)
            del parts
        if expand.numel() != logits.shape[0] or not bool((expand == torch.arange(logits.shape[0])).all()):
            if (self.shared_prefix and expand.numel() > logits.shape[0] and self.model.device.type == "cpu"
                    and self.model.config._attn_implementation == self.decode_attention):
                cache = self.shared_prefix_cache(cache, expand, reserve)
            else:
                cache.batch_select_indices(expand)
            logits, mask = logits[expand], mask[expand]
        return logits, cache, mask

    def _step(self, fed, mask, cache):
        """One decode step: the next-token logits of every row after feeding `fed` ([rows, 1])."""
        extra = {"shared_prefix": cache} if isinstance(cache, self.shared_prefix_cache) else {}
        self.forward_tokens += fed.shape[0]
        return self.model(input_ids=fed, attention_mask=mask, position_ids=mask.sum(-1, keepdim=True) - 1,
                          past_key_values=cache, use_cache=True, **extra).logits[:, -1, :]

    def _decode(self, prompts, expand, params: SamplingParams, generator) -> list[list[int]]:
        """Left-padded batched decoding with a KV cache. A row that emits an end token leaves the batch (its
        cache rows are dropped), so finished sequences cost nothing; greedy output equals model.generate's."""
        torch = self.torch
        stop = torch.tensor(self.stop_ids)
        logits, cache, mask = self._prefill(prompts, expand, params.max_new_tokens)
        active = torch.arange(mask.shape[0])
        tokens: list[list[int]] = [[] for _ in range(mask.shape[0])]
        for step in range(params.max_new_tokens):
            chosen = self._sample_in_row_order(logits, active, params, generator)
            for row, token in zip(active.tolist(), chosen.tolist()):
                tokens[row].append(token)
            if step == params.max_new_tokens - 1:
                break
            finished = torch.isin(chosen, stop)
            if finished.any():
                if bool(finished.all()):
                    break
                keep = torch.tensor(fill_order((~finished).tolist()))
                active, chosen, mask = active[keep], chosen[keep], mask[keep]
                cache.batch_select_indices(keep)
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            logits = self._step(chosen[:, None], mask, cache)
        return tokens

    def _sample_in_row_order(self, logits, rows, params: SamplingParams, generator):
        """self.sample (sample_next) over the batch positions taken in the order of their rows (`rows[p]` = the row
        at position p): dropping finished rows moves others (fill_order), and the random stream follows the rows,
        so each row draws as it did with the batch in row order."""
        order = self.torch.argsort(rows)
        if bool((order == self.torch.arange(order.numel())).all()):
            return self.sample(logits, params, generator)
        chosen = self.torch.empty_like(order)
        chosen[order] = self.sample(logits[order], params, generator)
        return chosen

    def _decode_fused(self, distinct: list[list[int]], expand, params: SamplingParams, generator,
                      prompts: list[list[int]],
                      target: Callable[[int, list[int]], list[int] | None], continuation: Continuation,
                      cont_generator) -> tuple[list[list[int]], list[list[int] | None]]:
        """_decode, plus a continuation of the rows `target` picks, from their KV cache. Returns per row the first
        tokens (as _decode, same random stream: first-phase rows are sampled together exactly as there) and the
        continuation's tokens (None for rows not continued).

        When a row finishes (end token or max_new_tokens), target(row, tokens) gives the token ids that a second
        generate call would prefill: the chat template applied to the conversation + the assistant message
        text.rstrip() + cue. The row's context is prompt + its tokens (end token dropped), of which all but the
        last token are in the cache. The longest common prefix of context and target stays; the cache entries
        after it are masked out (attention mask 0: never attended to again, and positions count only unmasked
        entries), and the rest of target is fed one token per step (teacher forcing) alongside the other rows.
        So the continuation is conditioned on exactly the two-pass path's token ids at the same positions: the
        EOS, trailing whitespace tokens, and any tail that re-tokenises differently (BPE merges across the
        text/cue boundary) are replaced, not kept. Only float rounding differs (cache entries computed in this
        batch vs a fresh prefill) and, when sampling, the random stream (cont_generator, not the second call's).
        """
        torch = self.torch
        stop_ids = set(self.stop_ids)
        logits, cache, mask = self._prefill(distinct, expand, params.max_new_tokens + continuation.max_new_tokens)
        rows = mask.shape[0]
        first: list[list[int]] = [[] for _ in range(rows)]
        second: list[list[int] | None] = [None] * rows
        forced: list[list[int]] = [[] for _ in range(rows)]  # target tokens still to feed
        active = list(range(rows))  # batch position -> row
        while True:
            feed: list[int | None] = [None] * len(active)
            # positions taken in row order: the random stream follows the rows, not where fill_order moved them
            by_row = sorted(range(len(active)), key=active.__getitem__)
            sampling_second = [p for p in by_row if second[active[p]] is not None and not forced[active[p]]]
            in_first = [p for p in by_row if second[active[p]] is None]
            if in_first:
                whole = in_first == list(range(len(active)))
                chosen = self.sample(logits if whole else logits[in_first], params, generator)
                for p, token in zip(in_first, chosen.tolist()):
                    row = active[p]
                    first[row].append(token)
                    if token not in stop_ids and len(first[row]) < params.max_new_tokens:
                        feed[p] = token
                        continue
                    ids_wanted = target(row, first[row])
                    if ids_wanted is None:
                        continue  # finished, leaves the batch
                    context = prompts[row] + (first[row][:-1] if token in stop_ids else first[row])
                    cached = len(prompts[row]) + len(first[row]) - 1
                    keep = min(_common_prefix(context, ids_wanted), cached, len(ids_wanted) - 1)
                    if cached > keep:
                        mask[p, mask.shape[1] - (cached - keep):] = 0
                    second[row], forced[row] = [], list(ids_wanted[keep:])
            if sampling_second:
                chosen = self.sample(logits[sampling_second], params, cont_generator)
                for p, token in zip(sampling_second, chosen.tolist()):
                    row = active[p]
                    second[row].append(token)
                    done = token in stop_ids or len(second[row]) >= continuation.max_new_tokens or bool(
                        continuation.stop and continuation.stop in self._text(second[row]))
                    if not done:
                        feed[p] = token
            for p, row in enumerate(active):
                if forced[row]:
                    feed[p] = forced[row].pop(0)
            if all(token is None for token in feed):
                break
            keep_positions = fill_order([token is not None for token in feed])
            if len(keep_positions) < len(active):
                index = torch.tensor(keep_positions, device=mask.device)
                mask = mask[index]
                cache.batch_select_indices(index)
                active = [active[p] for p in keep_positions]
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            fed = torch.tensor([[feed[p]] for p in keep_positions], device=mask.device)
            logits = self._step(fed, mask, cache)
        return first, second


def length_batches(units: list, lengths: list[int], size: int, slack: float) -> list[list]:
    """Consecutive batches of `units` (sorted by prompt length, ascending) of at most `size` units, cut early where
    the next prompt is longer than `slack` x the batch's shortest: a left-padded batch computes every row at its
    longest prompt's length, so one 800-token prompt among 250-token ones would triple the batch's prefill."""
    batches: list[list] = []
    start = 0
    for index in range(1, len(units) + 1):
        if index == len(units) or index - start == size or lengths[index] > slack * lengths[start]:
            batches.append(units[start:index])
            start = index
    return batches


def fill_order(keep: list[bool]) -> list[int]:
    """The batch positions to keep, in the order GrowingLayer applies in place: a kept row before the cut (the
    number kept) stays where it is, and each dropped place before the cut takes a kept row from after it."""
    kept = sum(keep)
    tail = [p for p in range(kept, len(keep)) if keep[p]]
    return [p if keep[p] else tail.pop(0) for p in range(kept)]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def sample_next(logits, params: SamplingParams, generator, prefix: int = 256):
    """One token per row: greedy at temperature 0, else temperature + exact nucleus (top-p) sampling.

    Each row draws one uniform number (in row order, before anything else) and takes the token where it falls in
    the cumulative probabilities of its nucleus (inverse CDF). The nucleus is found in the row's top-`prefix`
    candidates when they already hold top_p of the mass (the usual case); only the rows where they do not are
    sorted over the whole vocabulary. So the result is the same as sorting every row every time, and the random
    stream does not depend on which path a row took. (Before, one flat row made the whole batch sort and draw over
    the vocabulary: ~300 ms for 128 rows of 49k, more than the decode step itself; benchmarks/README.md.)"""
    import torch

    if params.temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    draws = torch.rand(probs.shape[0], generator=generator, dtype=torch.float64)
    if params.top_p >= 1.0:
        return _inverse_cdf(probs, torch.arange(probs.shape[-1]).expand_as(probs), draws, float("inf"))
    values, indices = probs.topk(min(prefix, probs.shape[-1]), dim=-1)
    chosen = torch.empty(probs.shape[0], dtype=torch.long)
    short = values.sum(-1) < params.top_p  # rows whose nucleus reaches past the prefix
    long_rows = short.nonzero().squeeze(1)
    rest = (~short).nonzero().squeeze(1)
    if rest.numel():
        chosen[rest] = _inverse_cdf(values[rest], indices[rest], draws[rest], params.top_p)
    if long_rows.numel():
        values, indices = probs[long_rows].sort(dim=-1, descending=True)
        chosen[long_rows] = _inverse_cdf(values, indices, draws[long_rows], params.top_p)
    return chosen


def _inverse_cdf(values, indices, draws, top_p: float):
    """Per row, the token whose cumulative probability interval holds `draw` x the nucleus's mass; `values` sorted
    descending per row (`indices`: their token ids). The nucleus is the smallest prefix whose mass reaches top_p."""
    import torch

    cumulative = values.double().cumsum(-1)
    size = ((cumulative - values) < top_p).sum(-1, keepdim=True)  # candidates whose preceding mass is under top_p
    mass = cumulative.gather(-1, size - 1)
    position = torch.searchsorted(cumulative, draws[:, None] * mass, right=True).clamp(max=size - 1)
    return indices.gather(-1, position).squeeze(-1)
