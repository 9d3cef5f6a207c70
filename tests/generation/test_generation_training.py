"""The real transformers backend and TRL trainers, on the tiny model (seconds)."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from judgeflow.generation import SamplingParams
from judgeflow.generation.hf import HFBackend
from judgeflow.training import EmptyTrainingSet, train_dpo, train_sft

CONVERSATIONS = [[{"role": "user", "content": "Ava has 3 coins. How many coins does Ava have now?"}],
                 [{"role": "user", "content": "Ben has 5 books. Then Ben gets 2 more books. How many?"}],
                 [{"role": "user", "content": "Hi"}]]


def test_hf_backend_records_and_seeding(tiny_model_dir):
    backend = HFBackend(tiny_model_dir, batch_size=4, progress=False)
    params = SamplingParams(n=3, temperature=1.0, top_p=1.0, max_new_tokens=12, seed=5)
    out = backend.generate(CONVERSATIONS, params)
    assert [len(c) for c in out] == [3, 3, 3]
    for completion in (c for comps in out for c in comps):
        assert isinstance(completion.text, str)
        assert 1 <= completion.num_tokens <= 12
        assert completion.finish_reason in ("stop", "length")
        assert completion.finish_reason == "stop" or completion.num_tokens == 12
    assert backend.generate(CONVERSATIONS, params) == out
    greedy = SamplingParams(n=1, temperature=0.0, max_new_tokens=12)
    alone = backend.generate(CONVERSATIONS[:1], greedy)
    batched = backend.generate(CONVERSATIONS, greedy)
    assert alone[0] == batched[0], "left padding must not change a greedy continuation"


def test_hf_backend_continues_a_prefilled_assistant_turn(tiny_model_dir):
    backend = HFBackend(tiny_model_dir, batch_size=2, progress=False)
    prefix = "Response A ends with the correct total.\nVerdict: [["
    convo = CONVERSATIONS[0] + [{"role": "assistant", "content": prefix}]
    ids = backend.encode(convo)
    assert backend.tokenizer.decode(ids).endswith(prefix)
    assert backend.tokenizer.eos_token_id not in ids[-3:]


def _weights(folder):
    return load_file(str(Path(folder) / "model.safetensors"))


def _sft_rows(n):
    return [{"prompt": [{"role": "user", "content": f"Is {i} even?"}],
             "completion": [{"role": "assistant", "content": f"{'Yes' if i % 2 == 0 else 'No'}.\n[[A]]"}]}
            for i in range(n)]


TCFG = {"epochs": 1, "learning_rate": 1e-3, "batch_size": 2, "gradient_accumulation_steps": 1, "max_length": 64,
        "lr_scheduler": "cosine", "warmup_ratio": 0.0, "precision": "float32", "checkpoint_steps": 0,
        "lora": {"enabled": True, "merge": True, "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear"}}


@pytest.mark.parametrize("lora", [True, False])
def test_sft_trains_and_saves_a_plain_model(tiny_model_dir, tmp_path, lora):
    from judgeflow.core.hardware import clear_work, work_summary

    tcfg = {**TCFG, "lora": {**TCFG["lora"], "enabled": lora}}
    clear_work()
    result = train_sft(tiny_model_dir, _sft_rows(4), tmp_path / "sft", tcfg, seed=0)
    assert result["steps"] == 2 and result["first_loss"] > 0
    # for the stage summary: 6·P per token, 4·P with LoRA (P counts the adapters too: large beside a tiny model)
    work = work_summary(clear=True, peak=False)["training"]
    parameters = sum(t.numel() for t in _weights(tiny_model_dir).values())
    per_token = work["flops"] / work["tokens"] / parameters
    assert work["tokens"] > 0 and (4 <= per_token < 4.5 if lora else per_token == pytest.approx(6, rel=0.01))
    before, after = _weights(tiny_model_dir), _weights(tmp_path / "sft")
    assert before.keys() == after.keys(), "LoRA adapters are merged: same tensors as the base"
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert not (tmp_path / "sft.work").exists()
    # the training curve as TensorBoard events beside the model (tensorboard is a dependency)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = [p.parent for p in (tmp_path / "sft.tensorboard").rglob("events.out.tfevents.*")]
    assert runs, "no TensorBoard event file"
    events = EventAccumulator(str(runs[0]))
    events.Reload()
    assert len(events.Scalars("train/loss")) == 2


def test_dpo_with_nll_term_trains(tiny_model_dir, tmp_path):
    pairs = [{"prompt": [{"role": "user", "content": f"Which is right for {i}?"}],
              "chosen": [{"role": "assistant", "content": "A is right.\n[[A]]"}],
              "rejected": [{"role": "assistant", "content": "B is right.\n[[B]]"}]} for i in range(4)]
    result = train_dpo(tiny_model_dir, pairs, tmp_path / "dpo", TCFG, beta=0.1, nll_weight=0.5, seed=0)
    assert result["steps"] == 2
    logged = [e for e in result["log_history"] if "loss" in e]
    assert logged and all(e["loss"] > 0 for e in logged)
    before, after = _weights(tiny_model_dir), _weights(tmp_path / "dpo")
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_empty_training_sets_fail_clearly(tiny_model_dir, tmp_path):
    with pytest.raises(EmptyTrainingSet, match="no training examples"):
        train_sft(tiny_model_dir, [], tmp_path / "x", TCFG, 0)
    with pytest.raises(EmptyTrainingSet, match="no preference pairs"):
        train_dpo(tiny_model_dir, [], tmp_path / "y", TCFG, 0.1, 0.2, 0)


def test_warmup_never_zeroes_a_short_run(tmp_path):
    from judgeflow.training import _common_args

    tcfg = {**TCFG, "warmup_ratio": 0.1, "batch_size": 4, "epochs": 2}
    assert _common_args(tcfg, tmp_path, 0, rows=4)["warmup_steps"] == 0      # 2 steps: no warm-up step at lr 0
    assert _common_args(tcfg, tmp_path, 0, rows=400)["warmup_steps"] == 20   # 200 steps: 10%


def test_kept_adapter_is_small_and_loads_like_a_merged_model(tiny_model_dir, tmp_path):
    from judgeflow.models import ADAPTER_POINTER, load_causal_lm

    merged_cfg = TCFG
    kept_cfg = {**TCFG, "lora": {**TCFG["lora"], "merge": False}}
    train_sft(tiny_model_dir, _sft_rows(4), tmp_path / "merged", merged_cfg, seed=0)
    result = train_sft(tiny_model_dir, _sft_rows(4), tmp_path / "kept", kept_cfg, seed=0)
    assert result["adapter_only"]
    kept = tmp_path / "kept"
    assert (kept / ADAPTER_POINTER).exists() and not (kept / "model.safetensors").exists()
    assert (kept / "adapter_model.safetensors").stat().st_size < (tmp_path / "merged/model.safetensors").stat().st_size
    # a chain: an adapter trained on top of the kept adapter resolves both
    train_sft(str(kept), _sft_rows(2), tmp_path / "kept2", kept_cfg, seed=1)
    merged_model, _ = load_causal_lm(tmp_path / "merged")
    kept_model, _ = load_causal_lm(kept)
    for (name, a), (_, b) in zip(merged_model.state_dict().items(), kept_model.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-5), name
    out = HFBackend(str(tmp_path / "kept2"), batch_size=2, progress=False).generate(
        CONVERSATIONS[:1], SamplingParams(max_new_tokens=4))
    assert out[0][0].num_tokens >= 1


def test_bf16_mixed_precision_training_runs(tiny_model_dir, tmp_path):
    result = train_sft(tiny_model_dir, _sft_rows(4), tmp_path / "bf16", {**TCFG, "precision": "bfloat16"}, seed=0)
    assert result["steps"] == 2 and result["last_loss"] > 0
    assert _weights(tmp_path / "bf16")["model.embed_tokens.weight"].dtype == torch.float32


RESUME_ROWS = [{"prompt": [{"role": "user", "content": f"Is {i} even?"}],
                "completion": [{"role": "assistant", "content": "Yes." if i % 2 == 0 else "No."}]} for i in range(8)]
RESUME_TCFG = {**TCFG, "epochs": 6, "batch_size": 1, "checkpoint_steps": 4}
TRAIN_SCRIPT = "import json, sys; from judgeflow.training import train_sft; " \
               "train_sft(sys.argv[1], json.loads(sys.argv[3]), sys.argv[2], json.loads(sys.argv[4]), seed=0)"


def test_training_killed_midway_resumes_from_its_last_checkpoint(tiny_model_dir, tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "model"
    work = tmp_path / "model.work"
    proc = subprocess.Popen([sys.executable, "-c", TRAIN_SCRIPT, tiny_model_dir, str(out), json.dumps(RESUME_ROWS),
                             json.dumps(RESUME_TCFG)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(work.glob("checkpoint-*/trainer_state.json")) and time.time() < deadline:
        assert proc.poll() is None, "training finished before it could be killed: make it longer"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "a killed job leaves no model folder behind"
    assert sorted(work.glob("checkpoint-*"))
    result = train_sft(tiny_model_dir, RESUME_ROWS, out, RESUME_TCFG, seed=0)
    assert result["resumed_from"] is not None and "checkpoint-" in result["resumed_from"]
    assert result["steps"] == 48, "finished all 6 epochs x 8 steps"
    assert (out / "model.safetensors").exists() and not work.exists()


def test_training_through_accelerate_launch(tiny_model_dir, tmp_path):
    """The multi-GPU path (accelerate launch -> judgeflow.training.launch -> trainer, rank 0 reports) run for real with
    one CPU process; on a GPU node the rule's `gpu` resource sets the process count."""
    from judgeflow.training.launch import launcher_command, run_training

    command = launcher_command("p.json", 4, "config/accelerate/fsdp.yaml", cpu=False)
    assert command[-3:] == ["-m", "judgeflow.training.launch", "p.json"]
    assert command[command.index("--num_processes") + 1] == "4" and "--cpu" not in command
    result = run_training("sft", dict(init_dir=tiny_model_dir, examples=_sft_rows(4), out_dir=str(tmp_path / "m"),
                                      tcfg=TCFG, seed=0), use_launcher=True)
    assert result["is_main_process"] and result["processes"] == 1 and result["steps"] == 2
    assert (tmp_path / "m" / "model.safetensors").exists()


def test_sample_next_is_an_exact_nucleus():
    from judgeflow.generation.hf import sample_next

    gen = torch.Generator().manual_seed(0)
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05], [0.05, 0.15, 0.3, 0.5]])
    params = SamplingParams(temperature=1.0, top_p=0.8)
    seen = {tuple(sample_next(probs.log(), params, gen).tolist()) for _ in range(300)}
    assert {a for a, _ in seen} == {0, 1} and {b for _, b in seen} == {2, 3}
    assert sample_next(probs.log(), SamplingParams(temperature=0.0), gen).tolist() == [0, 3]
    # a flat distribution: the nucleus (900 of 1000 tokens) is larger than the top-k prefix, so the
    # full-sort path must be taken and still keep exactly 900 candidates
    flat = torch.zeros(1, 1000)
    picks = {int(sample_next(flat, SamplingParams(temperature=1.0, top_p=0.9), gen, prefix=8)) for _ in range(4000)}
    assert len(picks) > 800 and max(picks) < 1000


def test_sample_next_draws_the_nucleus_distribution_one_uniform_per_row():
    """Frequencies within the nucleus follow the renormalised probabilities on both paths (top-k prefix and
    full sort), and a row's token does not depend on the other rows of the batch (one uniform per row, whether
    or not another row had to be sorted over the whole vocabulary)."""
    from judgeflow.generation.hf import sample_next

    params = SamplingParams(temperature=1.0, top_p=0.8)
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05] + [0.0] * 12])
    gen = torch.Generator().manual_seed(1)
    for prefix in (16, 3):  # the nucleus inside the top-k prefix; a prefix of 1 (below) must sort
        picks = torch.cat([sample_next(probs.log(), params, gen, prefix=prefix) for _ in range(4000)])
        assert set(picks.tolist()) == {0, 1}
        assert abs(float((picks == 0).float().mean()) - 0.625) < 0.03
    sorted_picks = {int(sample_next(probs.log(), params, gen, prefix=1)) for _ in range(200)}
    assert sorted_picks == {0, 1}
    peaked, flat = torch.randn(1, 300) * 4, torch.zeros(1, 300)
    for seed in range(20):
        alone = sample_next(torch.cat([peaked, peaked]), params, torch.Generator().manual_seed(seed), prefix=8)
        mixed = sample_next(torch.cat([peaked, flat]), params, torch.Generator().manual_seed(seed), prefix=8)
        assert alone[0] == mixed[0]
    full = SamplingParams(temperature=1.0, top_p=1.0)
    picks = {int(sample_next(probs.log(), full, gen)) for _ in range(400)}
    assert picks == {0, 1, 2, 3}


def test_greedy_decoding_matches_model_generate(tiny_model_dir):
    backend = HFBackend(tiny_model_dir, batch_size=3, progress=False)
    ours = backend.generate(CONVERSATIONS, SamplingParams(max_new_tokens=16))
    for conversation, completions in zip(CONVERSATIONS, ours):
        ids = torch.tensor([backend.encode(conversation)])
        with torch.inference_mode():
            ref = backend.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                         max_new_tokens=16, eos_token_id=backend.stop_ids, pad_token_id=backend.pad_id)
        new = ref[0, ids.shape[1]:].tolist()
        if new and new[-1] in backend.stop_ids:
            new = new[:-1]
        assert completions[0].text == backend.tokenizer.decode(new, skip_special_tokens=True)


def test_vllm_backend_fails_clearly_where_it_cannot_run(tiny_model_dir, tmp_path, test_config):
    import importlib.util

    from judgeflow.generation.backends import make_backend
    from judgeflow.models import ADAPTER_POINTER

    settings = {**test_config["generation"], "backend": "vllm"}
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / ADAPTER_POINTER).write_text('{"init": "../base"}')
    with pytest.raises(ValueError, match="lora.merge: true"):
        make_backend(str(adapter), settings)
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(ImportError, match="GPU environment"):
            make_backend(tiny_model_dir, settings)


def test_a_training_stage_with_no_data_carries_its_weights_forward(tiny_model_dir, tmp_path, test_config):
    """A rollout round that keeps nothing (or a DPO stage with no pair) must not kill the run: the stage's
    model is its starting model, marked as such, and the summary says so."""
    from judgeflow.core.records import read_json
    from judgeflow.models import CARRIED_MARKER, carried_from, load_causal_lm
    from judgeflow.stages import train as train_stages

    empty = tmp_path / "kept.jsonl"
    empty.write_text("")
    train_stages.train_sft(config=test_config, examples=str(empty), init=tiny_model_dir,
                           model=str(tmp_path / "round_2"), summary=str(tmp_path / "round_2.summary.json"),
                           log=str(tmp_path / "r2.log"), threads=1, training="rollout.training", shuffle=False,
                           stage_name="train_rollout")
    summary = read_json(tmp_path / "round_2.summary.json")
    assert summary["carried_forward"] is True and summary["steps"] == 0 and summary["items_out"] == 0
    assert (tmp_path / "round_2" / CARRIED_MARKER).exists() and carried_from(tmp_path / "round_2") == tiny_model_dir
    assert _weights(tmp_path / "round_2").keys() == _weights(tiny_model_dir).keys()
    assert all(torch.equal(a, b) for a, b in zip(_weights(tmp_path / "round_2").values(),
                                                  _weights(tiny_model_dir).values()))
    load_causal_lm(tmp_path / "round_2")
    train_stages.train_dpo(config=test_config, pairs=str(empty), init=str(tmp_path / "round_2"),
                           model=str(tmp_path / "dpo"), summary=str(tmp_path / "dpo.summary.json"),
                           log=str(tmp_path / "dpo.log"), threads=1)
    assert read_json(tmp_path / "dpo.summary.json")["carried_forward"] is True
    assert carried_from(tmp_path / "dpo") == tiny_model_dir, "a chain of carries names the real weights"


def test_training_can_learn_a_verdict_that_the_prompt_decides(tiny_model_dir, tmp_path):
    """The trainers and the sampler together can teach a verdict: on the tiny model, a task whose verdict is a
    deterministic function of the prompt goes from chance (or worse) to >= 0.9 on held-out prompts."""
    import random

    from judgeflow.tasks.verdicts import parse_verdict

    def example(rng):
        thing, number = rng.choice(["apple", "pear"]), rng.randint(1, 9)
        prompt = [{"role": "user", "content": f"Item {number}: the box holds a {thing}. Does it hold an apple? "
                                              "Answer [[yes]] or [[no]]."}]
        return prompt, "yes" if thing == "apple" else "no"

    train = [example(rng) for rng in [random.Random(0)] for _ in range(160)]
    heldout = [example(rng) for rng in [random.Random(1)] for _ in range(60)]
    rows = [{"prompt": p, "completion": [{"role": "assistant", "content": f"Verdict: [[{label}]]"}]}
            for p, label in train]
    tcfg = {**TCFG, "epochs": 3, "learning_rate": 3e-3, "batch_size": 8, "max_length": 256, "lr_scheduler": "linear",
            "warmup_ratio": 0.1, "lora": {"enabled": False}}
    train_sft(tiny_model_dir, rows, tmp_path / "learnt", tcfg, seed=0)

    def accuracy(folder):
        outputs = HFBackend(str(folder), 32, progress=False).generate([p for p, _ in heldout],
                                                                       SamplingParams(max_new_tokens=12))
        verdicts = [parse_verdict(o[0].text, "ref_verification").verdict for o in outputs]
        return sum(v == label for v, (_, label) in zip(verdicts, heldout)) / len(heldout), set(verdicts)

    base, _ = accuracy(tiny_model_dir)
    learnt, said = accuracy(tmp_path / "learnt")
    assert {label for _, label in heldout} == {"yes", "no"}
    assert learnt >= 0.9 and said >= {"yes", "no"}, (base, learnt, said)
    assert learnt > base


def test_decision_weights_fall_on_the_decision_tokens_only(tiny_model_dir):
    from judgeflow.models import load_causal_lm
    from judgeflow.training import weighted_rows

    _, tokenizer = load_causal_lm(tiny_model_dir)
    content = "Response answer: 12. Reference: 13. They differ.\nVerdict: [[no]]"
    row = {"prompt": [{"role": "user", "content": "Is 12 right?"}],
           "completion": [{"role": "assistant", "content": content}]}
    [out] = weighted_rows(tokenizer, [row], 5.0, 512)
    assert len(out["input_ids"]) == len(out["labels"]) == len(out["loss_weights"])
    heavy = [i for i, w in zip(out["input_ids"], out["loss_weights"]) if w == 5.0]
    assert "differ" in tokenizer.decode(heavy) and "[[no]]" in tokenizer.decode(heavy).replace(" ", "")
    assert "Reference" not in tokenizer.decode(heavy)
    prompt = [w for w, label in zip(out["loss_weights"], out["labels"]) if label == -100]
    assert prompt and set(prompt) == {0.0}, "the prompt carries no loss"
    # the same completion tokens as TRL's own preparation
    plain = weighted_rows(tokenizer, [row], 1.0, 512)[0]
    assert plain["labels"] == out["labels"] and set(plain["loss_weights"]) <= {0.0, 1.0}
    assert weighted_rows(tokenizer, [row], 5.0, 4) == [], "a completion truncated away is dropped"


def test_decision_weighted_sft_trains_and_logs_decision_accuracy(tiny_model_dir, tmp_path):
    rows = [{"prompt": [{"role": "user", "content": f"Is {i} even?"}],
             "completion": [{"role": "assistant", "content": f"{i} is {'even' if i % 2 == 0 else 'odd'}, "
                                                            f"{'right' if i % 2 == 0 else 'wrong'}.\n[[A]]"}]}
            for i in range(4)]
    result = train_sft(tiny_model_dir, rows, tmp_path / "w", {**TCFG, "decision_weight": 10.0}, seed=0)
    assert result["steps"] == 2 and result["first_loss"] > 0
    assert any("decision_token_accuracy" in entry for entry in result["log_history"])
    before, after = _weights(tiny_model_dir), _weights(tmp_path / "w")
    assert any(not torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("weight", [1.0, 10.0])
def test_length_grouped_sft_batches_rows_of_similar_length(tiny_model_dir, tmp_path, weight):
    from judgeflow.training import _common_args

    common = _common_args({**TCFG, "gradient_checkpointing": True}, tmp_path, 0, 4, group_by_length=True)
    assert common["train_sampling_strategy"] == "group_by_length" and common["gradient_checkpointing"] is True
    assert _common_args(TCFG, tmp_path, 0, 4, shuffle=False, group_by_length=True)["train_sampling_strategy"] \
        == "sequential", "the rollout curriculum keeps its order"
    assert _common_args(TCFG, tmp_path, 0, 4)["gradient_checkpointing"] is False, "off unless asked for"
    rows = [{"prompt": [{"role": "user", "content": "Is " + "very " * (3 * i) + f"{i} even?"}],
             "completion": [{"role": "assistant", "content": f"{i} is right.\n[[A]]"}]} for i in range(4)]
    result = train_sft(tiny_model_dir, rows, tmp_path / "g", {**TCFG, "max_length": 128, "group_by_length": True,
                                                              "decision_weight": weight}, seed=0)
    assert result["steps"] == 2 and result["first_loss"] > 0


def _uneven_sft_rows(n):
    """Rows of different lengths, so that a batch of them is padded to its longest."""
    return [{"prompt": [{"role": "user", "content": f"Is {i} even?" + " Think it through." * (2 * i)}],
             "completion": [{"role": "assistant", "content": f"{'Yes' if i % 2 == 0 else 'No'}, it is.\n[[A]]"}]}
            for i in range(n)]


@pytest.mark.parametrize("stage", ["sft", "sft weighted", "dpo"])
def test_a_batch_run_in_single_row_passes_makes_the_same_update(tiny_model_dir, tmp_path, stage):
    """micro_batch_size 1 (auto on a CPU) against one pass of the whole batch: the same logged losses and the same
    weights after two optimizer steps (full fine-tuning, float32). SFT's loss is a token mean over the whole
    batch, also when weighted (the weighted trainer divides by the batch's weight); DPO's sigmoid loss is a mean
    over pairs (checked here without the NLL term, whose token mean becomes per pass)."""
    tcfg = {**TCFG, "batch_size": 4, "learning_rate": 1e-2, "lr_scheduler": "constant", "max_length": 256,
            "lora": {**TCFG["lora"], "enabled": False}}
    if stage == "sft weighted":
        tcfg["decision_weight"] = 4
    results, weights = {}, {}
    for micro in (4, 1):
        out = tmp_path / f"{micro}"
        cfg = {**tcfg, "micro_batch_size": micro}
        if stage == "dpo":
            pairs = [{"prompt": row["prompt"], "chosen": row["completion"],
                      "rejected": [{"role": "assistant", "content": "It is not.\n[[B]]" * (1 + i % 3)}]}
                     for i, row in enumerate(_uneven_sft_rows(8))]
            results[micro] = train_dpo(tiny_model_dir, pairs, out, cfg, beta=0.1, nll_weight=0.0, seed=0)
        else:
            results[micro] = train_sft(tiny_model_dir, _uneven_sft_rows(8), out, cfg, seed=0)
        weights[micro] = _weights(out)
    losses = {micro: [e["loss"] for e in result["log_history"] if "loss" in e] for micro, result in results.items()}
    assert results[1]["steps"] == results[4]["steps"] == 2 and len(losses[1]) == 2
    assert losses[1] == pytest.approx(losses[4], rel=1e-4)
    moved = [k for k in weights[4] if not torch.equal(weights[4][k], _weights(tiny_model_dir)[k])]
    assert moved
    # Adam's first steps move each weight by about the learning rate whatever its gradient's size, so float
    # rounding between one pass and four can show only where a gradient is ~0: a few hundredths of a step at most
    for name in weights[4]:
        assert (weights[1][name] - weights[4][name]).abs().max() <= 0.05 * tcfg["learning_rate"], name


def test_micro_batch_size_auto_is_one_row_on_a_cpu_and_the_batch_on_a_gpu(monkeypatch):
    import judgeflow.training as training

    tcfg = {**TCFG, "batch_size": 8}
    assert training.micro_batch_size(tcfg) == 1
    assert training.micro_batch_size({**tcfg, "micro_batch_size": 4}) == 4
    monkeypatch.setattr(training, "_cuda", lambda: True)
    assert training.micro_batch_size(tcfg) == 8
    with pytest.raises(ValueError, match="does not divide"):
        training.micro_batch_size({**tcfg, "micro_batch_size": 3})
