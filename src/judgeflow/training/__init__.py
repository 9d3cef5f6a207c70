"""SFT, DPO (+ NLL), GRPO and a Bradley-Terry reward model with TRL, LoRA or full fine-tuning, checkpointed
and resumable (one fingerprinted work dir per job, see `_run`).

A stage's model folder holds either full weights (full fine-tuning, or LoRA merged into the weights) or,
with `lora.merge: false`, only the adapter plus a pointer to the model it was trained on; every sampler and
the next stage load either kind through `judgeflow.models.load_causal_lm`.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import re
import shutil
from pathlib import Path

from judgeflow.core.config import canonical_sha256
from judgeflow.core.hardware import record_work, resolutions, resolve_precision
from judgeflow.judge.critiques import decision_spans
from judgeflow.models import (
    load_causal_lm,
    load_reward_model,
    model_identity,
    safetensors_problem,
    save_model,
    torch_file_problem,
)
from judgeflow.training import rl

log = logging.getLogger(__name__)


class EmptyTrainingSet(RuntimeError):
    pass


def _peft_config(lora: dict, task_type: str = "CAUSAL_LM"):
    """LoRA settings for a causal LM, or for a sequence classifier (SEQ_CLS: PEFT also trains its score head)."""
    if not lora["enabled"]:
        return None
    from peft import LoraConfig

    return LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora.get("dropout", 0.0),
                      target_modules=lora["target_modules"], task_type=task_type)


def score_labelled_positions_only() -> bool:
    """Make TRL's fused LM head project only the positions that carry a label on every device.

    TRL 1.16's SFT, DPO and GRPO trainers score tokens through a fused LM head (`trl.trainer.utils.add_fused_lm_head`).
    On CUDA and XPU it projects only the labelled positions through the vocabulary; on any other device it projects
    every position (prompt and padding too) so that tile shapes stay fixed for devices that compile one graph per
    shape (AWS Neuron). Eager CPU training compiles nothing, and a judge row is mostly prompt: on the default run's
    SFT rows (~80 % prompt tokens) scoring every position through the 49k vocabulary, with its float32 softmax
    statistics, took half of each step (benchmarks/README.md: 2.0-2.1x with this, the same losses). The choice is
    TRL's module-level `_use_triton(device)`, read at call time; the kernel module keeps its own copy, so the CPU
    still folds tiles with torch ops. Returns whether the switch is in place (False for a TRL without the name:
    then nothing is changed and a warning says so)."""
    import trl.trainer.utils as trl_utils

    choose = getattr(trl_utils, "_use_triton", None)
    if choose is None:
        log.warning("trl.trainer.utils has no _use_triton: the fused LM head keeps its own choice of positions (on "
                    "a CPU it may score every prompt and padding token; see training.score_labelled_positions_only)")
        return False
    if not hasattr(choose, "trl_choice"):
        def compact(device):
            return device.type == "cpu" or choose(device)

        compact.trl_choice = choose  # TRL's own function, for whoever needs to measure or undo the switch
        trl_utils._use_triton = compact
    return True


def micro_batch_size(tcfg: dict) -> int:
    """Rows per forward pass of an SFT or DPO step (DPO: pairs): `micro_batch_size`, or for `auto` (the default) 1
    on a CPU and batch_size on a GPU. A batch is padded to its longest row; a GPU needs several rows per pass to
    fill its matmuls, a CPU does not (one judge row of a few hundred tokens already does), so there the padding
    is pure loss: one 832-token prompt among 250-token ones made the default run's DPO step 2.2x slower
    (benchmarks/README.md, "Rows per pass"; rows of one length, which judge data never are, lose 0.80-1.03x instead).
    The optimizer still steps once per batch_size x accumulation rows."""
    size = tcfg.get("micro_batch_size", "auto")
    if size == "auto":
        return tcfg["batch_size"] if _cuda() else 1
    if tcfg["batch_size"] % size:
        raise ValueError(f"micro_batch_size {size} does not divide batch_size {tcfg['batch_size']}")
    return size


def _common_args(tcfg: dict, work_dir: Path, seed: int, rows: int, shuffle: bool = True,
                 group_by_length: bool = False, micro_batches: bool = False) -> dict:
    """The Trainer arguments every trained stage shares. micro_batches: run each batch as batch_size /
    micro_batch_size forward passes with the gradients accumulated (SFT and DPO, whose losses the Trainer
    accumulates as one batch's; the optimizer steps are the same)."""
    precision = resolve_precision(tcfg.get("precision", "float32"))
    steps_per_epoch = math.ceil(rows / (tcfg["batch_size"] * tcfg["gradient_accumulation_steps"]))
    micro = micro_batch_size(tcfg) if micro_batches else tcfg["batch_size"]
    checkpoint_steps = tcfg.get("checkpoint_steps", 0)
    checkpointing = {"save_strategy": "steps", "save_steps": checkpoint_steps, "save_total_limit": 2} \
        if checkpoint_steps else {"save_strategy": "no"}
    return dict(
        output_dir=str(work_dir), num_train_epochs=tcfg["epochs"], learning_rate=tcfg["learning_rate"],
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=tcfg["gradient_accumulation_steps"] * tcfg["batch_size"] // micro,
        lr_scheduler_type=tcfg["lr_scheduler"],
        # floor, not ceil: a warm-up step starts at learning rate 0, so a run of a few steps would otherwise
        # spend its first step (all of a one-step run) not learning
        warmup_steps=math.floor(tcfg["warmup_ratio"] * steps_per_epoch * tcfg["epochs"]),
        weight_decay=tcfg.get("weight_decay", 0.0),
        max_length=tcfg["max_length"], logging_steps=1, seed=seed, data_seed=seed,
        # TensorBoard event files where tensorboard is installed; _finish moves them to <model>.tensorboard/
        report_to=["tensorboard"] if tensorboard_available() else [],
        **checkpointing,
        bf16=precision.dtype == "bfloat16", fp16=False, use_cpu=not _cuda(),
        dataloader_num_workers=0, disable_tqdm=False,
        # off unless asked for (TRL turns it on by default): recomputing activations costs a third more compute,
        # which a model that fits without it should not pay; the multi-GPU recipes turn it on
        gradient_checkpointing=bool(tcfg.get("gradient_checkpointing", False)),
        # the curriculum keeps the order it was given; everything else is shuffled with the seed, in batches of
        # similar length where asked (less padding; SFT-trained stages only: TRL's SFT rows carry input_ids)
        train_sampling_strategy="sequential" if not shuffle else "group_by_length" if group_by_length else "random",
    )


def tensorboard_available() -> bool:
    return any(importlib.util.find_spec(name) is not None for name in ("tensorboard", "tensorboardX"))


def tensorboard_dir(out_dir: str | Path) -> Path:
    """Where a trained stage's TensorBoard event files end up: beside its model folder, so that
    `tensorboard --logdir results/<experiment>/main/models` shows every stage of a run."""
    return Path(str(out_dir) + ".tensorboard")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


# What a work dir's checkpoints were trained on (see fingerprint); a work dir is resumed only when it matches.
FINGERPRINT = "judgeflow_fingerprint.json"
_CHECKPOINT = re.compile(r"checkpoint-([0-9]+)")


def fingerprint(kind: str, rows: list[dict], settings: dict, init_dir: str | Path) -> dict:
    """sha256 sums of what a training run's checkpoints depend on: the trainer, its examples (as canonical
    JSON, in order), its settings, and the weights it starts from (by checksum, not path, so a moved results
    tree still resumes)."""
    parts = {"kind": kind, "examples": canonical_sha256(rows), "settings": canonical_sha256(settings),
             "init": canonical_sha256(model_identity(init_dir))}
    return {**parts, "sha256": canonical_sha256(parts), "rows": len(rows)}


def _claim_work_dir(work_dir: Path, expected: dict) -> None:
    """Discard a work dir left by a run of other data, settings or initial weights (or by a judgeflow that
    wrote no fingerprint), then record this run's fingerprint in it."""
    stored = None
    try:
        stored = json.loads((work_dir / FINGERPRINT).read_text())
    except FileNotFoundError:
        pass
    except ValueError:
        stored = {}
    leftovers = work_dir.is_dir() and any(p.name != FINGERPRINT for p in work_dir.iterdir())
    if leftovers and (stored or {}).get("sha256") != expected["sha256"]:
        if stored is None:
            why = f"it has no {FINGERPRINT} (left by an older judgeflow), so what it was trained on is unknown"
        else:
            changed = [k for k in ("kind", "examples", "settings", "init") if stored.get(k) != expected[k]]
            why = f"its fingerprint ({FINGERPRINT}) differs in: {', '.join(changed) or 'all of it'}"
        log.warning("discarding the work dir %s of an earlier, interrupted run: %s; training starts from step 0",
                    work_dir, why)
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    tmp = work_dir / (FINGERPRINT + ".tmp")
    tmp.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, work_dir / FINGERPRINT)


def _files_problem(paths: list[Path]) -> str | None:
    for path in paths:
        if not path.is_file():
            return f"{path.name} is missing"
        check = safetensors_problem if path.suffix == ".safetensors" else torch_file_problem
        problem = check(path)
        if problem:
            return f"{path.name} is cut short: {problem}"
    return None


def checkpoint_problem(folder: Path, step: int) -> str | None:
    """Why a Trainer checkpoint folder cannot be resumed from, or None when it is complete: the trainer state
    (the Trainer writes it last) naming this step, the weights, optimizer and scheduler state as the Trainer
    writes them, each file whole (a safetensors header, or a torch archive's directory at its end, checked)."""
    state = folder / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json (the Trainer writes it last)"
    try:
        global_step = json.loads(state.read_text())["global_step"]
    except (ValueError, KeyError, TypeError):
        return "trainer_state.json is cut short or unreadable"
    if global_step != step:
        return f"trainer_state.json is of step {global_step}"
    names = {p.name for p in folder.iterdir()}
    engine = any(n.startswith("global_step") for n in names)  # DeepSpeed keeps model and optimizer in there
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if index in names:
            try:
                shards = sorted(set(json.loads((folder / index).read_text())["weight_map"].values()))
            except (ValueError, KeyError, TypeError, AttributeError):
                return f"{index} is cut short or unreadable"
            weights = [folder / shard for shard in shards]
            break
    else:
        weights = [folder / n for n in ("model.safetensors", "adapter_model.safetensors", "pytorch_model.bin",
                                        "adapter_model.bin") if n in names]
    if not weights and not engine and not any(n.startswith("pytorch_model_fsdp") for n in names):
        return "no model weights"
    optimizer = [folder / n for n in ("optimizer.pt", "optimizer.bin") if n in names]
    if not optimizer and not engine and not any(n.startswith("optimizer") or n.endswith("-optimizer.pt")
                                                for n in names):
        return "no optimizer state"
    if "scheduler.pt" not in names and not engine:
        return "no scheduler.pt"
    return _files_problem(weights + optimizer + [folder / n for n in ("scheduler.pt",) if n in names])


def last_checkpoint(work_dir: Path, discard_incomplete: bool = False) -> str | None:
    """The newest complete Trainer checkpoint in work_dir (a killed job's leftovers), if any. Incomplete ones
    (a job killed while writing one) are logged and skipped; with discard_incomplete also deleted, so neither
    a later resume nor the Trainer's rotation of old checkpoints (save_total_limit) ever meets them."""
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return None
    found = []
    for path in work_dir.iterdir():
        match = _CHECKPOINT.fullmatch(path.name)
        if not match or not path.is_dir():
            continue
        step = int(match.group(1))
        problem = checkpoint_problem(path, step)
        if problem is None:
            found.append((step, path))
            continue
        log.warning("skipping the incomplete checkpoint %s: %s%s", path, problem,
                    "; removed" if discard_incomplete else "")
        if discard_incomplete:
            shutil.rmtree(path, ignore_errors=True)
    return str(max(found)[1]) if found else None


def _run(trainer, work_dir: Path, expected: dict) -> str | None:
    """Train, resuming from the work dir's newest complete checkpoint when the work dir was written by a run
    with this fingerprint; rank 0 alone cleans the work dir up, the other processes wait for it."""
    if trainer.is_world_process_zero():
        _claim_work_dir(work_dir, expected)
        resume = last_checkpoint(work_dir, discard_incomplete=True)
    trainer.accelerator.wait_for_everyone()
    if not trainer.is_world_process_zero():
        resume = last_checkpoint(work_dir)
    if resume:
        log.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=resume)
    return resume


def _finish(trainer, tokenizer, init_dir: str, out_dir: str | Path, work_dir: Path, lora: dict,
            resumed_from: str | None) -> dict:
    adapter_only = lora["enabled"] and not lora.get("merge", True)
    if not trainer.is_world_process_zero():
        # several processes (accelerate launch): rank 0 alone writes the model and reports
        trainer.accelerator.wait_for_everyone()
        return {"is_main_process": False}
    model = trainer.accelerator.unwrap_model(trainer.model)
    _record_training_work(trainer, model, lora["enabled"])
    if lora["enabled"] and not adapter_only:
        model = model.merge_and_unload()
    save_model(model, tokenizer, out_dir, adapter_of=init_dir if adapter_only else None)
    history = [entry for entry in trainer.state.log_history if "loss" in entry]
    events = work_dir / "runs"  # the TensorBoard callback's default folder under output_dir
    if events.is_dir():
        shutil.rmtree(tensorboard_dir(out_dir), ignore_errors=True)
        shutil.move(str(events), tensorboard_dir(out_dir))
    shutil.rmtree(work_dir, ignore_errors=True)
    if trainer.accelerator.num_processes > 1:
        trainer.accelerator.wait_for_everyone()
    return {"is_main_process": True, "processes": trainer.accelerator.num_processes,
            "steps": trainer.state.global_step, "resumed_from": resumed_from, "adapter_only": adapter_only,
            "first_loss": history[0]["loss"] if history else None,
            "last_loss": history[-1]["loss"] if history else None,
            "train_tokens_per_second": _throughput(trainer), "precision": resolutions()[-1:],
            "log_history": trainer.state.log_history}


def _record_training_work(trainer, model, lora: bool) -> None:
    """The run's trained tokens and FLOPs for the stage summary: 6·P per token (forward, input and weight
    gradients), 4·P with LoRA (the frozen base needs no weight gradients); non-padding tokens, all processes."""
    tokens, runtime = trainer.state.num_input_tokens_seen or 0, _runtime(trainer)
    if not tokens or not runtime:
        return
    parameters = sum(p.numel() for p in model.parameters())
    precision = (resolutions()[-1:] or [{"dtype": "float32"}])[0]
    record_work("training", tokens, (4 if lora else 6) * parameters * tokens, runtime, precision["dtype"],
                str(model.device.type))


def _runtime(trainer) -> float | None:
    # every log entry carries the running train_runtime; the last one is the whole run's
    return next((e["train_runtime"] for e in reversed(trainer.state.log_history) if "train_runtime" in e), None)


def _throughput(trainer) -> float | None:
    tokens, runtime = trainer.state.num_input_tokens_seen, _runtime(trainer)
    return round(tokens / runtime, 2) if tokens and runtime else None


def weighted_rows(tokenizer, rows: list[dict], weight: float, max_length: int) -> list[dict]:
    """Prompt/completion conversations tokenized as TRL's SFT preparation does (chat template, the completion
    from where prompt and prompt+completion diverge, keep-start truncation, examples without a completion token
    dropped), each with a per-token loss weight: `weight` on a completion token that overlaps a decision span
    (`critiques.decision_spans`), 1 on the other completion tokens, 0 on the prompt."""
    from trl.data_utils import common_prefix_length

    out = []
    for row in rows:
        prompt_text = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        full_text = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
        prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
        encoded = tokenizer(full_text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        start = common_prefix_length(prompt_ids, ids)  # where TRL starts the completion
        content = row["completion"][-1]["content"]
        base = full_text.rfind(content)
        spans = [(base + a, base + b) for a, b in decision_spans(content)] if base >= 0 else []
        labels = [-100] * start + ids[start:]
        weights = [0.0] * start + [weight if any(a < end and begin < b for a, b in spans) else 1.0
                                   for begin, end in offsets[start:]]
        labels, ids, weights = labels[:max_length], ids[:max_length], weights[:max_length]
        if any(label != -100 for label in labels):
            out.append({"input_ids": ids, "labels": labels, "loss_weights": weights})
    return out


def _weighted_sft_trainer():
    """SFTTrainer whose loss is the weighted mean of the completion tokens' NLL (weights from `weighted_rows`);
    it logs the token accuracy on the weighted (decision) tokens beside the usual one."""
    import torch
    from trl import SFTTrainer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    class WeightedCollator(DataCollatorForLanguageModeling):
        def torch_call(self, examples):
            batch = super().torch_call([{k: v for k, v in e.items() if k != "loss_weights"} for e in examples])
            width = batch["input_ids"].shape[1]
            weights = [e["loss_weights"][:width] for e in examples]
            batch["loss_weights"] = torch.tensor([w + [0.0] * (width - len(w)) for w in weights])
            return batch

    class WeightedSFTTrainer(SFTTrainer):
        # the loss is divided by the whole batch's weight (_get_num_items_in_batch), over all its forward passes
        loss_is_scaled_for_ga = True

        def __init__(self, *args, **kwargs):
            kwargs["data_collator"] = WeightedCollator(pad_token_id=kwargs["processing_class"].pad_token_id)
            super().__init__(*args, **kwargs)

        def _set_signature_columns_if_needed(self):
            self._signature_columns = ["input_ids", "labels", "loss_weights"]

        def _get_num_items_in_batch(self, batch_samples, device):
            """The weight of the labelled tokens of a whole optimizer batch (all its micro-batches; summed over
            processes like the Trainer's token count), so a batch run in several passes (micro_batch_size) makes
            the same update as one pass: the weighted mean over the batch."""
            weight = sum((b["loss_weights"][:, 1:] * b["labels"][:, 1:].ne(-100)).sum() for b in batch_samples)
            weight = torch.as_tensor(weight, dtype=torch.float32, device=device)
            if self.args.average_tokens_across_devices and self.args.world_size > 1:
                weight = self.accelerator.gather(weight).sum()
            return weight

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            # TRL's fused LM head (labelled positions only, see score_labelled_positions_only) gives each
            # next-token label's log-probability and whether it was the top prediction, zero where the label is -100
            weights = inputs.pop("loss_weights")[:, 1:]
            outputs = model(**inputs, use_cache=False, fused_lm_head=True)
            mask = outputs.label_mask
            weights = weights.to(outputs.log_probs.dtype) * mask
            total = weights.sum() if num_items_in_batch is None else num_items_in_batch
            loss = -(outputs.log_probs * weights).sum() / total.clamp(min=1e-8)
            if self.args.average_tokens_across_devices and self.args.world_size > 1:
                loss = loss * self.accelerator.num_processes  # DDP averages the gradients over the processes
            mode = "train" if model.training else "eval"
            with torch.no_grad():
                right = outputs.is_top1 & mask
                decisive = mask & (weights > 1)
                self._metrics[mode]["mean_token_accuracy"].append((right.sum() / mask.sum().clamp(min=1)).item())
                if decisive.any():
                    self._metrics[mode]["decision_token_accuracy"].append(
                        ((right & decisive).sum() / decisive.sum()).item())
            return (loss, outputs) if return_outputs else loss

    return WeightedSFTTrainer


def train_sft(init_dir: str, examples: list[dict], out_dir: str | Path, tcfg: dict, seed: int,
              shuffle: bool = True) -> dict:
    """Supervised fine-tuning on prompt/completion conversations (loss on the completion only; with
    `decision_weight` > 1 the decision tokens weigh more, see `weighted_rows`)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    if not examples:
        raise EmptyTrainingSet(f"no training examples for {out_dir}: the stage before kept none; see its "
                               "summary.json and enlarge the data or change the sampling settings")
    score_labelled_positions_only()
    model, tokenizer = load_causal_lm(init_dir)
    work_dir = Path(str(out_dir) + ".work")
    rows = [{"prompt": e["prompt"], "completion": e["completion"]} for e in examples]
    weight = tcfg.get("decision_weight", 1)
    args = SFTConfig(**_common_args(tcfg, work_dir, seed, len(examples), shuffle,
                                    group_by_length=bool(tcfg.get("group_by_length", False)), micro_batches=True),
                     completion_only_loss=True, shuffle_dataset=False, include_num_input_tokens_seen="non_padding")
    if weight == 1:
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                             processing_class=tokenizer, peft_config=_peft_config(tcfg["lora"]))
    else:
        dataset = Dataset.from_list(weighted_rows(tokenizer, rows, weight, tcfg["max_length"]))
        trainer = _weighted_sft_trainer()(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                                          peft_config=_peft_config(tcfg["lora"]))
    kept = len(trainer.train_dataset)
    if kept == 0:
        raise EmptyTrainingSet(f"no training examples left for {out_dir}: all {len(examples)} lost their whole "
                               f"completion to truncation at max_length={tcfg['max_length']} tokens; raise max_length")
    if kept < len(examples):
        log.warning("%d of %d examples lost their whole completion to truncation at max_length=%d and are skipped",
                    len(examples) - kept, len(examples), tcfg["max_length"])
    resumed = _run(trainer, work_dir, fingerprint("sft", rows,
                                                  {"tcfg": tcfg, "seed": seed, "shuffle": shuffle}, init_dir))
    return {**_finish(trainer, tokenizer, init_dir, out_dir, work_dir, tcfg["lora"], resumed),
            "examples_trained": kept, "examples_truncated_away": len(examples) - kept}


def train_dpo(init_dir: str, pairs: list[dict], out_dir: str | Path, tcfg: dict, beta: float,
              nll_weight: float, seed: int) -> dict:
    """DPO with RISE's NLL term on the chosen judgment: loss = sigmoid DPO + nll_weight * NLL.

    The reference model is the initial model (with LoRA: the same weights with the adapter disabled)."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    if not pairs:
        raise EmptyTrainingSet(f"no preference pairs for {out_dir}: no item had both a correct and an "
                               "incorrect sampled judgment; see the sampling stage's summary.json")
    score_labelled_positions_only()
    model, tokenizer = load_causal_lm(init_dir)
    work_dir = Path(str(out_dir) + ".work")
    rows = [{k: p[k] for k in ("prompt", "chosen", "rejected")} for p in pairs]
    dataset = Dataset.from_list(rows)
    loss = {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, nll_weight]} if nll_weight > 0 \
        else {"loss_type": ["sigmoid"]}
    args = DPOConfig(**_common_args(tcfg, work_dir, seed, len(pairs), micro_batches=True), beta=beta,
                     include_num_input_tokens_seen="non_padding", **loss)
    trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=_peft_config(tcfg["lora"]))
    resumed = _run(trainer, work_dir, fingerprint("dpo", rows, {"tcfg": tcfg, "seed": seed, "beta": beta,
                                                                          "nll_weight": nll_weight}, init_dir))
    return _finish(trainer, tokenizer, init_dir, out_dir, work_dir, tcfg["lora"], resumed)


# ---------------------------------------------------------------------------------------------------------
# RL for judges (GRPO, plain or EIS grouping) and the scalar reward-model baseline (judgeflow.training.rl)


def _prompt_tokens(tokenizer, messages: list[dict]) -> int:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
    return len(ids)


def train_rl(init_dir: str, rows: list[dict], out_dir: str | Path, rcfg: dict, seed: int) -> dict:
    """GRPO on judge prompts with the verifiable verdict reward (judgeflow.training.rl). rows: two adjacent rows per
    item (judgeflow.training.rl.rl_rows); rcfg: the `rl` config block (grouping, num_generations, max_completion_length,
    sampling, beta, loss_type, scale_rewards, reward, vllm, training). An item whose longest prompt leaves
    fewer than max_completion_length tokens of training.max_length is left out (both of its rows)."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    tcfg = rcfg["training"]
    score_labelled_positions_only()
    model, tokenizer = load_causal_lm(init_dir)
    budget = tcfg["max_length"] - rcfg["max_completion_length"]
    too_long = {row["group"] for row in rows if _prompt_tokens(tokenizer, row["prompt"]) > budget}
    rows = [row for row in rows if row["group"] not in too_long]
    if not rows:
        raise EmptyTrainingSet(f"no RL items left for {out_dir}: every prompt is longer than training.max_length "
                               f"({tcfg['max_length']}) minus max_completion_length ({rcfg['max_completion_length']})")
    work_dir = Path(str(out_dir) + ".work")
    common = _common_args(tcfg, work_dir, seed, len(rows) * rcfg["num_generations"])
    common.pop("max_length")
    vllm = rcfg.get("vllm") or {}
    args = GRPOConfig(**common, num_generations=rcfg["num_generations"],
                      max_completion_length=rcfg["max_completion_length"],
                      temperature=rcfg["sampling"]["temperature"], top_p=rcfg["sampling"]["top_p"],
                      beta=rcfg["beta"], loss_type=rcfg["loss_type"], scale_rewards=rcfg["scale_rewards"],
                      use_vllm=bool(vllm.get("enabled")), vllm_mode=vllm.get("mode", "colocate"),
                      vllm_gpu_memory_utilization=vllm.get("gpu_memory_utilization", 0.3),
                      vllm_tensor_parallel_size=vllm.get("tensor_parallel_size", 1),
                      shuffle_dataset=True, log_completions=False)
    if rcfg["grouping"] == "eis" and args.generation_batch_size % (2 * rcfg["num_generations"]):
        raise ValueError(f"rl.grouping eis: the generation batch ({args.generation_batch_size} completions: "
                         "training.batch_size x gradient_accumulation_steps x processes) must hold whole items, a "
                         f"multiple of 2 x num_generations = {2 * rcfg['num_generations']}")
    trainer_class = rl.eis_trainer_class() if rcfg["grouping"] == "eis" else GRPOTrainer
    trainer = trainer_class(model=model, reward_funcs=rl.reward_functions(rcfg["reward"]), args=args,
                            train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                            peft_config=_peft_config(tcfg["lora"]))
    resumed = _run(trainer, work_dir, fingerprint("rl", rows, {"rl": rcfg, "seed": seed}, init_dir))
    rewards = [e["reward"] for e in trainer.state.log_history if "reward" in e]
    # per optimizer step: the mean reward, its std over the step's completions, and the share of groups whose
    # completions all got the same reward (zero advantage, so no policy gradient from them with beta 0)
    zero_std_key = "eis_frac_reward_zero_std" if rcfg["grouping"] == "eis" else "frac_reward_zero_std"
    per_step = {key: [e[key] for e in trainer.state.log_history if key in e]
                for key in ("reward", "reward_std", zero_std_key)}
    return {**_finish(trainer, tokenizer, init_dir, out_dir, work_dir, tcfg["lora"], resumed),
            "grouping": rcfg["grouping"], "rows_trained": len(rows), "items_trained": len(rows) // 2,
            "items_prompt_too_long": len(too_long), "generation_batch_size": args.generation_batch_size,
            "first_reward": rewards[0] if rewards else None, "last_reward": rewards[-1] if rewards else None,
            "step_rewards": per_step["reward"], "step_reward_std": per_step["reward_std"],
            "step_frac_groups_zero_std": per_step[zero_std_key]}


def train_rm(init_dir: str, pairs: list[dict], out_dir: str | Path, tcfg: dict, seed: int) -> dict:
    """A Bradley-Terry reward model (TRL RewardTrainer) from the base model: a score head on its last token,
    trained on chosen vs rejected conversations (judgeflow.training.rl.rm_pairs: pairwise and verification seed
    items)."""
    from datasets import Dataset
    from transformers import set_seed
    from trl import RewardConfig, RewardTrainer

    if not pairs:
        raise EmptyTrainingSet(f"no preference pairs for {out_dir}: the seed split gives no pairwise or "
                               "verification pair")
    set_seed(seed)  # the new score head is drawn when the model is loaded, before RewardTrainer seeds anything
    model, tokenizer = load_reward_model(init_dir)
    work_dir = Path(str(out_dir) + ".work")
    rows = [{k: p[k] for k in ("chosen", "rejected")} for p in pairs]
    args = RewardConfig(**{**_common_args(tcfg, work_dir, seed, len(rows)), "gradient_checkpointing": False})
    trainer = RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                            peft_config=_peft_config(tcfg["lora"], "SEQ_CLS"))
    kept = len(trainer.train_dataset)
    if kept == 0:
        raise EmptyTrainingSet(f"no reward-model pairs left for {out_dir}: all {len(rows)} are longer than "
                               f"max_length={tcfg['max_length']} tokens; raise it")
    resumed = _run(trainer, work_dir, fingerprint("rm", rows, {"tcfg": tcfg, "seed": seed}, init_dir))
    accuracy = [e["accuracy"] for e in trainer.state.log_history if "accuracy" in e]
    return {**_finish(trainer, tokenizer, init_dir, out_dir, work_dir, tcfg["lora"], resumed), "pairs_trained": kept,
            "pairs_too_long": len(rows) - kept, "last_train_accuracy": accuracy[-1] if accuracy else None}


def score_conversations(model_dir: str | Path, conversations: list[list[dict]], max_length: int,
                        batch_size: int = 8) -> list[float]:
    """The reward model's scalar for each conversation, tokenized as RewardTrainer tokenizes its training
    pairs (the chat template, tokenized); a conversation longer than max_length keeps its last max_length tokens."""
    import torch

    model, tokenizer = load_reward_model(model_dir)
    model.eval()
    if _cuda():
        model.to("cuda")
    out = []
    for start in range(0, len(conversations), batch_size):
        batch = [tokenizer.apply_chat_template(c, tokenize=True, return_dict=True)["input_ids"][-max_length:]
                 for c in conversations[start:start + batch_size]]
        width = max(len(ids) for ids in batch)
        ids = torch.full((len(batch), width), tokenizer.pad_token_id)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, seq in enumerate(batch):  # right padding: the score is read at the last non-pad token
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, :len(seq)] = 1
        with torch.inference_mode():
            logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits
        out += logits[:, 0].float().cpu().tolist()
    return out
