"""TRL's fused LM head scoring only the labelled positions on a CPU (training.score_labelled_positions_only), and the
decision-weighted SFT loss computed through it, on the tiny model."""

import pytest
import torch
import trl.kernels.chunked_logprob as kernel
import trl.trainer.utils as trl_utils

from judgeflow.models import load_causal_lm
from judgeflow.training import score_labelled_positions_only

OUTPUTS = ("log_probs", "entropy", "is_top1")


@pytest.fixture
def original_choice(monkeypatch):
    """TRL's own `_use_triton`, put back after the test whatever the test switched."""
    original = getattr(trl_utils._use_triton, "trl_choice", trl_utils._use_triton)  # switched earlier, or not
    monkeypatch.setattr(trl_utils, "_use_triton", original)
    return original


def _batch(tokenizer):
    """Two right-padded rows whose labels cover only their completion, as TRL's SFT collator builds them."""
    texts = ["Is 12 the sum of 5 and 7? Answer: yes, 5 + 7 = 12. [[yes]]", "Is 9 prime? No. [[no]]"]
    rows = [tokenizer(text)["input_ids"] for text in texts]
    width = max(map(len, rows))
    ids = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    labels = ids.masked_fill(mask == 0, -100)
    labels[0, :8] = -100  # the prompt carries no label
    labels[1, :5] = -100
    return ids, mask, labels


def _scored(model, ids, mask, labels):
    model.zero_grad(set_to_none=True)
    out = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True, use_cache=False)
    out.loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return out, grads


def test_labelled_positions_only_gives_the_same_loss_outputs_and_gradients(tiny_model_dir, original_choice):
    model, tokenizer = load_causal_lm(tiny_model_dir)
    trl_utils.add_fused_lm_head(model, outputs=OUTPUTS)
    ids, mask, labels = _batch(tokenizer)
    every, every_grads = _scored(model, ids, mask, labels)  # TRL's CPU choice: every position projected
    assert score_labelled_positions_only()
    only, only_grads = _scored(model, ids, mask, labels)
    assert torch.equal(every.label_mask, only.label_mask) and only.label_mask.sum() < only.label_mask.numel()
    torch.testing.assert_close(only.loss, every.loss)
    for field in ("log_probs", "entropy"):
        torch.testing.assert_close(getattr(only, field), getattr(every, field))
    assert torch.equal(only.is_top1, every.is_top1)
    assert every_grads.keys() == only_grads.keys() and every_grads
    for name in every_grads:
        torch.testing.assert_close(only_grads[name], every_grads[name], msg=name)


def test_the_switch_is_set_once_and_leaves_the_kernel_choice_alone(original_choice):
    cpu = torch.device("cpu")
    assert not original_choice(cpu), "TRL scores every position on a CPU unless switched"
    assert score_labelled_positions_only() and score_labelled_positions_only()
    switched = trl_utils._use_triton
    assert switched(cpu)
    assert switched.trl_choice is original_choice, "a second call must not wrap the switch again"
    assert not kernel._use_triton(cpu), "the tiles are still folded by torch ops on a CPU"


def test_decision_weighted_loss_with_unit_weights_is_trls_sft_loss(tiny_model_dir, tmp_path):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from judgeflow.training import _weighted_sft_trainer, weighted_rows

    score_labelled_positions_only()
    rows = [{"prompt": [{"role": "user", "content": f"Is {i} even?"}],
             "completion": [{"role": "assistant", "content": f"{i} is {'even' if i % 2 == 0 else 'odd'}.\n[[A]]"}]}
            for i in range(2)]
    losses = {}
    for kind in ("trl", "weighted"):
        model, tokenizer = load_causal_lm(tiny_model_dir)
        args = SFTConfig(output_dir=str(tmp_path / kind), per_device_train_batch_size=2, report_to=[],
                         use_cpu=True, completion_only_loss=True, max_length=64)
        if kind == "trl":
            trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                                 processing_class=tokenizer)
        else:
            trainer = _weighted_sft_trainer()(model=model, args=args, processing_class=tokenizer,
                                              train_dataset=Dataset.from_list(weighted_rows(tokenizer, rows, 1.0, 64)))
        trainer.model.train()
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
        losses[kind] = trainer.compute_loss(trainer.model, dict(batch)).item()
        assert trainer._metrics["train"]["mean_token_accuracy"], kind
    assert losses["weighted"] == pytest.approx(losses["trl"], rel=1e-5)
