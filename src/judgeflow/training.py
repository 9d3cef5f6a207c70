"""SFT and DPO (+ NLL) with TRL, LoRA or full fine-tuning; the result is always a plain model folder.

LoRA adapters are merged into the weights before saving, so the next stage and every sampler load a model
folder the same way whatever the training mode was.
"""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


class EmptyTrainingSet(RuntimeError):
    pass


def _peft_config(lora: dict):
    if not lora["enabled"]:
        return None
    from peft import LoraConfig

    return LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora.get("dropout", 0.0),
                      target_modules=lora["target_modules"], task_type="CAUSAL_LM")


def _common_args(tcfg: dict, work_dir: Path, seed: int, rows: int) -> dict:
    steps_per_epoch = math.ceil(rows / (tcfg["batch_size"] * tcfg["gradient_accumulation_steps"]))
    return dict(
        output_dir=str(work_dir), num_train_epochs=tcfg["epochs"], learning_rate=tcfg["learning_rate"],
        per_device_train_batch_size=tcfg["batch_size"],
        gradient_accumulation_steps=tcfg["gradient_accumulation_steps"], lr_scheduler_type=tcfg["lr_scheduler"],
        # floor, not ceil: a warm-up step starts at learning rate 0, so a run of a few steps would otherwise
        # spend its first step (all of a one-step run) not learning
        warmup_steps=math.floor(tcfg["warmup_ratio"] * steps_per_epoch * tcfg["epochs"]),
        weight_decay=tcfg.get("weight_decay", 0.0),
        max_length=tcfg["max_length"], logging_steps=1, save_strategy="no", report_to=[], seed=seed,
        data_seed=seed, bf16=False, fp16=False, use_cpu=not _cuda(), dataloader_num_workers=0,
        disable_tqdm=False,
    )


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _load(init_dir: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(init_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(init_dir)
    return model, tokenizer


def _finish(trainer, tokenizer, out_dir: str | Path, work_dir: Path, lora_enabled: bool) -> dict:
    model = trainer.model
    if lora_enabled:
        model = model.merge_and_unload()
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    history = [entry for entry in trainer.state.log_history if "loss" in entry]
    shutil.rmtree(work_dir, ignore_errors=True)
    return {"steps": trainer.state.global_step,
            "first_loss": history[0]["loss"] if history else None,
            "last_loss": history[-1]["loss"] if history else None,
            "log_history": trainer.state.log_history}


def train_sft(init_dir: str, examples: list[dict], out_dir: str | Path, tcfg: dict, seed: int) -> dict:
    """Supervised fine-tuning on prompt/completion conversations (loss on the completion only)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    if not examples:
        raise EmptyTrainingSet(f"no training examples for {out_dir}: the stage before kept none; see its "
                               "summary.json and enlarge the data or change the sampling settings")
    model, tokenizer = _load(init_dir)
    work_dir = Path(str(out_dir) + ".work")
    dataset = Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"]} for e in examples])
    args = SFTConfig(**_common_args(tcfg, work_dir, seed, len(examples)), completion_only_loss=True)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=_peft_config(tcfg["lora"]))
    trainer.train()
    return _finish(trainer, tokenizer, out_dir, work_dir, tcfg["lora"]["enabled"])


def train_dpo(init_dir: str, pairs: list[dict], out_dir: str | Path, tcfg: dict, beta: float,
              nll_weight: float, seed: int) -> dict:
    """DPO with RISE's NLL term on the chosen judgment: loss = sigmoid DPO + nll_weight * NLL.

    The reference model is the initial model (with LoRA: the same weights with the adapter disabled)."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    if not pairs:
        raise EmptyTrainingSet(f"no preference pairs for {out_dir}: no item had both a correct and an "
                               "incorrect sampled judgment; see the sampling stage's summary.json")
    model, tokenizer = _load(init_dir)
    work_dir = Path(str(out_dir) + ".work")
    dataset = Dataset.from_list([{k: p[k] for k in ("prompt", "chosen", "rejected")} for p in pairs])
    loss = {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, nll_weight]} if nll_weight > 0 \
        else {"loss_type": ["sigmoid"]}
    args = DPOConfig(**_common_args(tcfg, work_dir, seed, len(pairs)), beta=beta, **loss)
    trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=_peft_config(tcfg["lora"]))
    trainer.train()
    return _finish(trainer, tokenizer, out_dir, work_dir, tcfg["lora"]["enabled"])
