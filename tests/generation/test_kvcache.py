"""The hf backend's in-place KV cache and shared prefill: the same tokens as before, less work."""

import pytest
import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from judgeflow.generation import SamplingParams
from judgeflow.generation.hf import HFBackend, fill_order, sample_next
from judgeflow.generation.kvcache import GrowingCache, GrowingLayer
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
    assert work["gflops"] > 0 and work["peak_gflops"] > 0 and work["percent_of_peak"] > 0


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
