"""The hf backend's in-place KV cache and shared prefill: the same tokens as before, less work."""

import pytest
import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from judgeflow.generation import Continuation, SamplingParams
from judgeflow.generation.hf import HFBackend, fill_order, length_batches, sample_next
from judgeflow.generation.kvcache import GrowingCache, GrowingLayer, SharedPrefixCache, decode_attention
from judgeflow.generation.vllm import _parameter_estimate

CONVERSATIONS = [[{"role": "user", "content": "Ava has 3 coins. How many coins does Ava have now?"}],
                 [{"role": "user", "content": "Ben has 5 books. Then Ben gets 2 more books. How many?"}],
                 [{"role": "user", "content": "Hi"}]]


def test_growing_layer_gives_the_tensors_dynamic_layer_gives():
    grown, plain = GrowingLayer(reserve=2), DynamicLayer()
    generator = torch.Generator().manual_seed(0)
    for step, length in enumerate([5, 1, 1, 1, 3, 1]):  # the prefill, then steps that overflow the reserve twice
        keys, values = (torch.randn(4, 2, length, 8, generator=generator) for _ in range(2))
        ours, theirs = grown.update(keys, values), plain.update(keys, values)
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
        if step == 2:  # rows leave the batch (a repeated index is a row copied, as the shared prefill does)
            index = torch.tensor([3, 0, 0, 2])
            grown.batch_select_indices(index)
            plain.batch_select_indices(index)
    assert grown.get_seq_length() == plain.get_seq_length() == 12


def test_dropping_rows_in_fill_order_moves_only_the_rows_that_must_move():
    """fill_order keeps the kept rows before the cut in place and fills the dropped places from the end;
    GrowingLayer applies such an order in place and gives what a gather gives."""
    keep = [True, False, True, True, False, True, True]
    order = fill_order(keep)
    assert order == [0, 5, 2, 3, 6] and sorted(order) == [p for p, k in enumerate(keep) if k]
    grown, plain = GrowingLayer(reserve=3), DynamicLayer()
    keys, values = torch.randn(7, 2, 4, 8), torch.randn(7, 2, 4, 8)
    grown.update(keys, values), plain.update(keys, values)
    storage = grown._keys
    for layer in (grown, plain):
        layer.batch_select_indices(torch.tensor(order))
    step = torch.randn(5, 2, 1, 8)
    assert all(torch.equal(a, b) for a, b in zip(grown.update(step, step), plain.update(step, step)))
    assert grown._keys.data_ptr() == storage.data_ptr()  # in place: no new storage


def test_rows_draw_in_row_order_wherever_fill_order_moved_them(tiny_model_dir):
    backend = HFBackend(tiny_model_dir, batch_size=4, progress=False)
    params = SamplingParams(temperature=1.0, top_p=0.9)
    logits, rows = torch.randn(5, 50), torch.tensor([0, 5, 2, 3, 6])
    ours = backend._sample_in_row_order(logits, rows, params, torch.Generator().manual_seed(3))
    order = torch.argsort(rows)
    theirs = sample_next(logits[order], params, torch.Generator().manual_seed(3))
    assert torch.equal(ours[order], theirs)


@pytest.mark.parametrize("params", [SamplingParams(n=3, max_new_tokens=12),
                                    SamplingParams(n=3, temperature=0.8, top_p=0.9, max_new_tokens=12, seed=5)])
def test_shared_prefill_and_growing_cache_decode_what_the_old_engine_decodes(tiny_model_dir, params):
    """n samples of a prompt prefilled once, written into the growing cache, against one prefill per sample
    into transformers' DynamicCache: the same texts, greedy and sampled (the same random stream), with fewer
    tokens through the model."""
    new = HFBackend(tiny_model_dir, batch_size=4, progress=False)
    old = HFBackend(tiny_model_dir, batch_size=4, progress=False)
    old.share_prefill, old.cache_class = False, (lambda reserve: DynamicCache())
    ours, theirs = new.generate(CONVERSATIONS, params), old.generate(CONVERSATIONS, params)
    assert [[c.text for c in row] for row in ours] == [[c.text for c in row] for row in theirs]
    assert new.forward_tokens < old.forward_tokens


def test_sampling_records_its_work_for_the_stage_summary(tiny_model_dir, tmp_path, test_config):
    from judgeflow.core.records import read_json, stage

    with stage("probe", test_config, tmp_path / "summary.json"):
        backend = HFBackend(tiny_model_dir, batch_size=4, progress=False)
        backend.generate(CONVERSATIONS, SamplingParams(n=2, max_new_tokens=4))
    work = read_json(tmp_path / "summary.json")["compute"]["sampling"]
    assert work["tokens"] == backend.forward_tokens > 0
    assert work["flops"] == pytest.approx(2 * backend.parameters * backend.forward_tokens, rel=1e-3)
    assert work["gflops"] > 0 and work["peak_gflops"] > 0
    # the tiny model reaches a few hundredths of a percent, which the one-decimal record may show as 0.0
    assert work["percent_of_peak"] == pytest.approx(100 * work["gflops"] / work["peak_gflops"], abs=0.1)


def test_parameter_estimate_counts_a_smollm2_135m_config():
    config = {"hidden_size": 576, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
              "intermediate_size": 1536, "vocab_size": 49152, "tie_word_embeddings": True}
    # 30 x (attention 884,736 + MLP 2,654,208) + embeddings 28,311,552; SmolLM2-135M has 134,515,008 with norms
    assert _parameter_estimate(config) == 134_479_872


def test_growing_cache_refuses_what_it_does_not_do():
    cache = GrowingCache(4)
    cache.update(torch.zeros(1, 1, 2, 4), torch.zeros(1, 1, 2, 4), 0)
    with pytest.raises(NotImplementedError):
        cache.crop(-1)


def test_length_batches_cap_rows_and_padding():
    from judgeflow.generation.hf import length_batches

    lengths = [208, 213, 250, 273, 281, 340, 366, 432, 612, 803, 803]
    batches = length_batches(list(range(len(lengths))), lengths, 4, 1.3)
    assert [len(b) for b in batches] == [3, 3, 2, 1, 2] and sum(batches, []) == list(range(len(lengths)))
    assert all(lengths[b[-1]] <= 1.3 * lengths[b[0]] for b in batches)
    assert length_batches(["a", "b", "c"], [5, 5, 5], 2, 1.3) == [["a", "b"], ["c"]]
    assert length_batches([], [], 4, 1.3) == []


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("padded", [False, True])
def test_decode_attention_packs_the_query_heads_with_or_without_a_mask(dtype, padded):
    """One-token steps: decode_attention gives what transformers' sdpa gives (its packed path with a padding
    mask, its enable_gqa path without one); longer queries go to sdpa itself."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    class Module:
        num_key_value_groups, is_causal = 3, True

    generator = torch.Generator().manual_seed(0)
    keys, values = (torch.randn(5, 2, 9, 16, generator=generator).to(dtype) for _ in range(2))
    mask = None
    if padded:
        mask = torch.ones(5, 1, 1, 9, dtype=torch.bool)
        mask[1, ..., :4] = mask[3, ..., :2] = False
    for length in (1, 4):
        query = torch.randn(5, 6, length, 16, generator=generator).to(dtype)
        step_mask = None if mask is None else mask.expand(5, 1, length, 9)
        ours, _ = decode_attention(Module(), query, keys, values, step_mask, scaling=0.25)
        theirs, _ = sdpa_attention_forward(Module(), query, keys, values, step_mask, scaling=0.25)
        assert ours.shape == theirs.shape == (5, length, 6, 16)
        torch.testing.assert_close(ours, theirs)


def test_prompts_prefilled_in_length_groups_decode_as_one_padded_batch(tiny_model_dir):
    """Prompts of very different lengths are prefilled in groups (no prompt padded to the longest) and decoded in
    one batch from the joined cache: the same greedy texts as one prefill of the whole batch padded to its
    longest prompt, with fewer prefill tokens through the model."""
    conversations = CONVERSATIONS + [[{"role": "user", "content": "Count: " + " ".join(["one two"] * 30)}]]
    grouped = HFBackend(tiny_model_dir, batch_size=8, progress=False)
    whole = HFBackend(tiny_model_dir, batch_size=8, progress=False)
    whole.length_slack = 1e9
    lengths = sorted(len(grouped.encode(c)) for c in conversations)
    assert len(length_batches(lengths, lengths, 8, grouped.length_slack)) >= 2
    prefilled = {}  # backend -> positions computed by its prefill passes, padding included

    def count(backend):
        def hook(module, args, kwargs):
            ids = kwargs["input_ids"]
            if ids.shape[1] > 1:
                prefilled[backend] = prefilled.get(backend, 0) + ids.numel()
        backend.model.register_forward_pre_hook(hook, with_kwargs=True)

    count(grouped), count(whole)
    params = SamplingParams(n=2, max_new_tokens=10)
    ours, theirs = grouped.generate(conversations, params), whole.generate(conversations, params)
    assert [[c.text for c in row] for row in ours] == [[c.text for c in row] for row in theirs]
    assert grouped.forward_tokens == whole.forward_tokens
    assert prefilled[grouped] < prefilled[whole]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_shared_prefix_attention_equals_attention_over_each_rows_own_copy(dtype):
    """SharedPrefixCache (a prompt's keys and values kept once for its rows, its rows' own tokens interleaved after
    them, one attention call under a per-row mask) against sdpa over every row's full copy: through rows leaving the
    batch, a row masking part of its prompt and of its own tokens (as a fused continuation does), finished prompts
    dropped, and the storage growing past its reserve (4 steps)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    class Module:
        num_key_value_groups, is_causal = 3, True

        def __init__(self, layer_idx):
            self.layer_idx = layer_idx

    generator = torch.Generator().manual_seed(1)
    prompts, width, kv_heads, dim, layers = 4, 7, 2, 16, 2
    prefix = GrowingCache(8)
    for layer in range(layers):
        prefix.update(*(torch.randn(prompts, kv_heads, width, dim, generator=generator).to(dtype) for _ in range(2)),
                      layer)
    mask = torch.ones(prompts, width, dtype=torch.bool)
    mask[0, :3] = mask[2, :1] = False  # left padding of the shorter prompts
    expand = torch.tensor([0, 0, 0, 1, 2, 2, 3, 3])
    shared = SharedPrefixCache(prefix, expand, reserve=4)
    full = [[prefix.layers[layer].keys[expand], prefix.layers[layer].values[expand]] for layer in range(layers)]
    rows_mask = mask[expand]
    for step in range(5):
        rows = rows_mask.shape[0]
        if step == 2:  # rows 1 and 4 finish; the rest move as fill_order moves them
            keep = torch.tensor(fill_order([p not in (1, 4) for p in range(rows)]))
            shared.batch_select_indices(keep)
            full = [[k[keep], v[keep]] for k, v in full]
            rows_mask, rows = rows_mask[keep], keep.numel()
        if step == 3:  # the row now at 0 drops the last two entries of its prompt and its first own token
            rows_mask[0, width - 2:width + 1] = False
        if step == 4:  # every row of prompts 0 and 3 has left: the shared part stops holding them
            keep = torch.tensor([p for p in range(rows) if int(shared.group[p]) in (1, 2)])
            shared.batch_select_indices(keep)
            full = [[k[keep], v[keep]] for k, v in full]
            rows_mask, rows = rows_mask[keep], keep.numel()
        rows_mask = torch.cat([rows_mask, torch.ones(rows, 1, dtype=torch.bool)], dim=1)
        attention_mask = rows_mask[:, None, None, :]
        for layer in range(layers):
            new_keys, new_values = (torch.randn(rows, kv_heads, 1, dim, generator=generator).to(dtype)
                                    for _ in range(2))
            query = torch.randn(rows, kv_heads * 3, 1, dim, generator=generator).to(dtype)
            keys, values = shared.update(new_keys, new_values, layer)
            assert shared.get_seq_length(layer) == width + step + 1
            ours, _ = decode_attention(Module(layer), query, keys, values, attention_mask,
                                       scaling=0.25, shared_prefix=shared)
            full[layer] = [torch.cat([full[layer][0], new_keys], 2), torch.cat([full[layer][1], new_values], 2)]
            theirs, _ = sdpa_attention_forward(Module(layer), query, *full[layer], attention_mask, scaling=0.25)
            tolerance = {} if dtype == torch.float32 else {"atol": 2e-2, "rtol": 2e-2}
            torch.testing.assert_close(ours, theirs, **tolerance)
    assert shared.layers[0].keys.shape[0] == 2  # prompts 0 and 3 are no longer read


@pytest.mark.parametrize("params", [SamplingParams(n=3, max_new_tokens=8),
                                    SamplingParams(n=3, temperature=0.9, top_p=0.95, max_new_tokens=8, seed=2)])
def test_shared_prefix_decoding_gives_what_copied_prompts_give(tiny_model_dir, params):
    """The n samples of a prompt decoding against its keys and values kept once (SharedPrefixCache) against each
    sample holding its own copy: the same texts and the same cue continuations, greedy and sampled."""
    shared = HFBackend(tiny_model_dir, batch_size=8, progress=False)
    copied = HFBackend(tiny_model_dir, batch_size=8, progress=False)
    copied.shared_prefix = False
    caches = []
    step = shared._step
    shared._step = lambda fed, mask, cache: caches.append(type(cache)) or step(fed, mask, cache)
    continuation = Continuation(cue="\nVerdict: [[", max_new_tokens=3, stop="]]")
    for kwargs in ({}, {"continuation": continuation}):
        ours = shared.generate(CONVERSATIONS, params, **kwargs)
        theirs = copied.generate(CONVERSATIONS, params, **kwargs)
        flat = [(c.text, c.continuation and c.continuation.text) for row in ours for c in row]
        assert flat == [(c.text, c.continuation and c.continuation.text) for row in theirs for c in row]
    assert SharedPrefixCache in caches  # (a batch holding one sample of one prompt has nothing to share)
