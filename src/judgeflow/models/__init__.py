"""Model folders under resources/models/ and results/: saving (atomic, with a checksum manifest), verifying,
loading (an adapter-only folder merged onto the model it points to) and carrying weights forward. What a base
model's folder is made from (GGUF package, Hugging Face, the tiny model, an API): judgeflow.models.sources.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

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
# the marker file Snakemake writes into, and touches in, every directory output: never hard-linked into a carried
# copy, or touching the copy's would make its source look newer than the jobs that read it (they would rerun)
SNAKEMAKE_TIMESTAMP = ".snakemake_timestamp"


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
                    ignore=shutil.ignore_patterns(CARRIED_MARKER, CHECKSUMS, SNAKEMAKE_TIMESTAMP))
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
