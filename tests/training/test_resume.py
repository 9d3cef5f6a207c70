"""Resuming a killed training job only from what is safe to resume from, and model folders that prove their
files are whole (issue 13, part 3). The tiny model and three examples, so each test takes seconds."""

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from judgeflow import training
from judgeflow.training import last_checkpoint, train_dpo, train_sft

ROWS = [{"prompt": [{"role": "user", "content": f"Is {i} even?"}],
         "completion": [{"role": "assistant", "content": "Yes." if i % 2 == 0 else "No."}]} for i in range(3)]
# 3 steps, a checkpoint after each; the Trainer keeps the last two (checkpoint-2, checkpoint-3)
TCFG = {"epochs": 1, "learning_rate": 1e-3, "batch_size": 1, "gradient_accumulation_steps": 1, "max_length": 64,
        "lr_scheduler": "cosine", "warmup_ratio": 0.0, "precision": "float32", "checkpoint_steps": 1,
        "lora": {"enabled": True, "merge": True, "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear"}}
PAIRS = [{"prompt": [{"role": "user", "content": f"Which is right for {i}?"}],
          "chosen": [{"role": "assistant", "content": "A is right.\n[[A]]"}],
          "rejected": [{"role": "assistant", "content": "B is right.\n[[B]]"}]} for i in range(3)]


class Killed(Exception):
    pass


def _killed_after_training(monkeypatch_context, run):
    """Run `run` but die where the model would be written: the work dir is left as a killed job leaves it."""
    def die(*args, **kwargs):
        raise Killed

    with monkeypatch_context() as mp:
        mp.setattr(training, "_finish", die)
        with pytest.raises(Killed):
            run()


@pytest.fixture(scope="module")
def killed_sft(tiny_model_dir, tmp_path_factory) -> Path:
    """The work dir of an SFT job killed after its last checkpoint (checkpoint-2 and checkpoint-3 complete)."""
    out = tmp_path_factory.mktemp("killed") / "sft"
    _killed_after_training(pytest.MonkeyPatch.context, lambda: train_sft(tiny_model_dir, ROWS, out, TCFG, seed=0))
    work = Path(str(out) + ".work")
    assert sorted(p.name for p in work.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-3"]
    return work


def _copy(work: Path, tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "sft"
    shutil.copytree(work, Path(str(out) + ".work"))
    return out, Path(str(out) + ".work")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


BREAKS = {
    # the kill came right after the Trainer made the folder
    "empty": lambda ck: (shutil.rmtree(ck), ck.mkdir()),
    # ... while it wrote the weights (no trainer state yet)
    "weights_half_written": lambda ck: ((ck / "trainer_state.json").unlink(),
                                        _truncate(ck / "adapter_model.safetensors")),
    # ... after the weights, before the optimizer and the trainer state
    "no_optimizer_no_state": lambda ck: ((ck / "optimizer.pt").unlink(), (ck / "trainer_state.json").unlink()),
    # ... while it wrote the trainer state, the last file
    "state_half_written": lambda ck: _truncate(ck / "trainer_state.json"),
    # a node crash: the files named, but the weights cut short
    "truncated_weights": lambda ck: _truncate(ck / "adapter_model.safetensors"),
    "truncated_optimizer": lambda ck: _truncate(ck / "optimizer.pt"),
}


@pytest.mark.parametrize("how", sorted(BREAKS))
def test_last_checkpoint_skips_an_incomplete_one(killed_sft, tmp_path, how, caplog):
    _, work = _copy(killed_sft, tmp_path)
    BREAKS[how](work / "checkpoint-3")
    with caplog.at_level(logging.WARNING, logger="judgeflow.training"):
        found = last_checkpoint(work, discard_incomplete=True)
    assert found is not None and Path(found).name == "checkpoint-2"
    assert "checkpoint-3" in caplog.text, "the skipped checkpoint is named in the log"
    assert not (work / "checkpoint-3").exists(), "removed, so the Trainer's rotation never meets it"
    assert last_checkpoint(work) == found


@pytest.mark.parametrize("how", ["empty", "state_half_written"])
def test_rerun_after_a_kill_mid_checkpoint_resumes_from_the_previous_one(tiny_model_dir, killed_sft, tmp_path, how):
    out, work = _copy(killed_sft, tmp_path)
    BREAKS[how](work / "checkpoint-3")
    result = train_sft(tiny_model_dir, ROWS, out, TCFG, seed=0)
    assert result["resumed_from"] is not None and Path(result["resumed_from"]).name == "checkpoint-2"
    assert result["steps"] == 3
    assert (out / "model.safetensors").exists() and not work.exists()


def test_rerun_with_no_complete_checkpoint_starts_fresh(tiny_model_dir, killed_sft, tmp_path):
    out, work = _copy(killed_sft, tmp_path)
    BREAKS["empty"](work / "checkpoint-3")
    BREAKS["truncated_weights"](work / "checkpoint-2")
    result = train_sft(tiny_model_dir, ROWS, out, TCFG, seed=0)
    assert result["resumed_from"] is None and result["steps"] == 3
    assert (out / "model.safetensors").exists() and not work.exists()


def test_rerun_with_changed_examples_discards_the_stale_work_dir(tiny_model_dir, killed_sft, tmp_path, caplog):
    out, work = _copy(killed_sft, tmp_path)
    changed = ROWS[:2] + [{"prompt": [{"role": "user", "content": "Is 9 even?"}],
                           "completion": [{"role": "assistant", "content": "No."}]}]
    with caplog.at_level(logging.WARNING, logger="judgeflow.training"):
        result = train_sft(tiny_model_dir, changed, out, TCFG, seed=0)
    assert result["resumed_from"] is None, "a checkpoint of other data is never resumed"
    assert result["steps"] == 3, "trained from step 0 over the new examples"
    assert str(work) in caplog.text and "fingerprint" in caplog.text


def test_rerun_of_a_work_dir_without_fingerprint_starts_fresh(tiny_model_dir, killed_sft, tmp_path):
    out, work = _copy(killed_sft, tmp_path)
    (work / training.FINGERPRINT).unlink()  # left by an older judgeflow: nothing says what it was trained on
    result = train_sft(tiny_model_dir, ROWS, out, TCFG, seed=0)
    assert result["resumed_from"] is None and result["steps"] == 3


def test_rerun_with_the_same_inputs_resumes(tiny_model_dir, killed_sft, tmp_path):
    out, work = _copy(killed_sft, tmp_path)  # a moved work dir (and results tree) still matches
    fingerprint = json.loads((work / training.FINGERPRINT).read_text())
    assert fingerprint["sha256"] and "examples" in fingerprint and "settings" in fingerprint and "init" in fingerprint
    result = train_sft(tiny_model_dir, ROWS, out, TCFG, seed=0)
    assert Path(result["resumed_from"]).name == "checkpoint-3" and result["steps"] == 3


def test_fingerprint_covers_data_settings_and_init_weights(tiny_model_dir, tmp_path):
    from judgeflow.models import carry_forward

    base = training.fingerprint("sft", ROWS, {"tcfg": TCFG, "seed": 0}, tiny_model_dir)
    assert base == training.fingerprint("sft", [dict(r) for r in ROWS], {"seed": 0, "tcfg": dict(TCFG)}, tiny_model_dir)
    assert base != training.fingerprint("sft", ROWS[::-1], {"tcfg": TCFG, "seed": 0}, tiny_model_dir)
    assert base != training.fingerprint("sft", ROWS, {"tcfg": TCFG, "seed": 1}, tiny_model_dir)
    assert base != training.fingerprint("sft", ROWS, {"tcfg": {**TCFG, "learning_rate": 2e-3}, "seed": 0},
                                        tiny_model_dir)
    assert base != training.fingerprint("dpo", ROWS, {"tcfg": TCFG, "seed": 0}, tiny_model_dir)
    # the init model by its weights, not its path: a copy of the same weights is the same init ...
    carry_forward(tiny_model_dir, tmp_path / "same", "test")
    assert training.fingerprint("sft", ROWS, {"tcfg": TCFG, "seed": 0}, tmp_path / "same")["sha256"] == base["sha256"]
    # ... other weights are not
    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    _rewrite_weights(other)
    assert training.fingerprint("sft", ROWS, {"tcfg": TCFG, "seed": 0}, other)["sha256"] != base["sha256"]


def _rewrite_weights(folder: Path) -> None:
    """Other weights, saved (with a manifest) through save_model."""
    import torch

    from judgeflow.models import load_causal_lm, save_model

    model, tokenizer = load_causal_lm(folder)
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    save_model(model, tokenizer, folder)


def test_dpo_rerun_with_changed_pairs_or_beta_starts_fresh(tiny_model_dir, tmp_path):
    out = tmp_path / "dpo"
    run = lambda pairs, beta: train_dpo(tiny_model_dir, pairs, out, TCFG, beta=beta, nll_weight=0.5, seed=0)  # noqa: E731
    _killed_after_training(pytest.MonkeyPatch.context, lambda: run(PAIRS, 0.1))
    assert (Path(str(out) + ".work") / training.FINGERPRINT).exists()
    result = run(PAIRS, 0.2)
    assert result["resumed_from"] is None and result["steps"] == 3


# --- model folders: checksums written on save, verified on load ---

def _manifest(folder) -> dict:
    from judgeflow.models import CHECKSUMS

    return json.loads((Path(folder) / CHECKSUMS).read_text())["files"]


def _check_manifest(folder) -> dict:
    import hashlib

    files = _manifest(folder)
    for name, entry in files.items():
        data = (Path(folder) / name).read_bytes()
        assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest(), name
    return files


def test_prepared_and_trained_models_carry_a_checksum_manifest(tiny_model_dir, tmp_path):
    files = _check_manifest(tiny_model_dir)
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= set(files)
    train_sft(tiny_model_dir, ROWS, tmp_path / "sft", {**TCFG, "checkpoint_steps": 0}, seed=0)
    assert "model.safetensors" in _check_manifest(tmp_path / "sft")


def _copy_model(src, dst: Path) -> Path:
    shutil.copytree(src, dst)  # real copies, never links: the tests below damage them
    return dst


def test_truncated_weights_fail_naming_the_file(tiny_model_dir, tmp_path):
    from judgeflow.models import CorruptModelError, load_causal_lm

    folder = _copy_model(tiny_model_dir, tmp_path / "m")
    weights = folder / "model.safetensors"
    _truncate(weights)
    with pytest.raises(CorruptModelError, match="size") as error:
        load_causal_lm(folder)
    assert str(weights) in str(error.value)


def test_altered_weights_of_the_same_size_fail_naming_the_file(tiny_model_dir, tmp_path):
    from judgeflow.models import CorruptModelError, load_causal_lm

    folder = _copy_model(tiny_model_dir, tmp_path / "m")
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CorruptModelError, match="sha256") as error:
        load_causal_lm(folder)
    assert str(weights) in str(error.value)


def test_missing_file_fails_naming_it(tiny_model_dir, tmp_path):
    from judgeflow.models import CorruptModelError, load_causal_lm

    folder = _copy_model(tiny_model_dir, tmp_path / "m")
    (folder / "config.json").unlink()
    with pytest.raises(CorruptModelError, match="missing") as error:
        load_causal_lm(folder)
    assert str(folder / "config.json") in str(error.value)


def test_a_folder_without_manifest_loads_with_a_warning(tiny_model_dir, tmp_path, caplog):
    from judgeflow.models import CHECKSUMS, load_causal_lm

    folder = _copy_model(tiny_model_dir, tmp_path / "m")
    (folder / CHECKSUMS).unlink()
    with caplog.at_level(logging.WARNING, logger="judgeflow.models"):
        model, _ = load_causal_lm(folder)
    assert model is not None and CHECKSUMS in caplog.text and str(folder) in caplog.text


def test_truncated_weights_without_manifest_still_fail_naming_the_file(tiny_model_dir, tmp_path):
    from judgeflow.models import CHECKSUMS, CorruptModelError, load_causal_lm

    folder = _copy_model(tiny_model_dir, tmp_path / "m")
    (folder / CHECKSUMS).unlink()
    weights = folder / "model.safetensors"
    for cut in (len(weights.read_bytes()) // 2, 4):  # short data, then a short header
        data = (Path(tiny_model_dir) / "model.safetensors").read_bytes()
        weights.write_bytes(data[:cut])
        with pytest.raises(CorruptModelError) as error:
            load_causal_lm(folder)
        assert str(weights) in str(error.value)


def test_carry_forward_keeps_a_valid_manifest_and_leaves_the_original_alone(tiny_model_dir, tmp_path):
    from judgeflow.models import CARRIED_MARKER, CHECKSUMS, SNAKEMAKE_TIMESTAMP, carry_forward, load_causal_lm

    before = (Path(tiny_model_dir) / CHECKSUMS).read_bytes()
    carry_forward(tiny_model_dir, tmp_path / "carried", "no data")
    files = _check_manifest(tmp_path / "carried")
    assert CARRIED_MARKER in files and "model.safetensors" in files
    assert (Path(tiny_model_dir) / CHECKSUMS).read_bytes() == before, "a hard-linked manifest is not rewritten"
    load_causal_lm(tmp_path / "carried")
    stamp = tmp_path / "carried" / SNAKEMAKE_TIMESTAMP  # as Snakemake marks a finished directory output
    stamp.touch()
    os.utime(stamp, (1_000_000, 1_000_000))
    carry_forward(tmp_path / "carried", tmp_path / "carried2", "no data again")  # a chain of carries
    _check_manifest(tmp_path / "carried2")
    load_causal_lm(tmp_path / "carried2")
    # Snakemake then marks the new output; a hard-linked marker would make the source look updated (its readers
    # would rerun: the e2e test's rollout round that kept nothing did)
    assert not (tmp_path / "carried2" / SNAKEMAKE_TIMESTAMP).exists()
    (tmp_path / "carried2" / SNAKEMAKE_TIMESTAMP).touch()
    assert stamp.stat().st_mtime == 1_000_000


def test_carry_forward_of_an_adapter_keeps_a_valid_manifest(tiny_model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model

    from judgeflow.models import ADAPTER_POINTER, CorruptModelError, carry_forward, load_causal_lm, save_model

    model, tokenizer = load_causal_lm(tiny_model_dir)
    peft = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules="all-linear", task_type="CAUSAL_LM"))
    save_model(peft, tokenizer, tmp_path / "stages" / "adapter", adapter_of=tiny_model_dir)
    assert {"adapter_model.safetensors", ADAPTER_POINTER} <= set(_check_manifest(tmp_path / "stages" / "adapter"))
    carry_forward(tmp_path / "stages" / "adapter", tmp_path / "elsewhere" / "carried", "no pairs")
    assert ADAPTER_POINTER in _check_manifest(tmp_path / "elsewhere" / "carried")
    load_causal_lm(tmp_path / "elsewhere" / "carried")
    # the base an adapter points to is verified too
    base = _copy_model(tiny_model_dir, tmp_path / "base")
    save_model(peft, tokenizer, tmp_path / "adapter2", adapter_of=str(base))
    _truncate(base / "model.safetensors")
    with pytest.raises(CorruptModelError) as error:
        load_causal_lm(tmp_path / "adapter2")
    assert str(base / "model.safetensors") in str(error.value)
