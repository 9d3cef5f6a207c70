"""The config checks the JSON schema cannot express, and loading a config with every check.

validate_config: the schema (judgeflow.core.config.schema_problems), then the cross references (models, templates,
ablations), what the sources can give (splits, task_ratio shares), the tiny models' dimensions and LoRA target
modules, and training max_length against the judge templates' fixed text. load_config merges config files as
snakemake --configfile does and validates the result; missing_inputs lists the local data files the configs name
that do not exist. `python -m judgeflow.core.check_config` runs them on config files."""

from __future__ import annotations

import re
from pathlib import Path

from judgeflow import tasks
from judgeflow.core.config import (
    REPO_ROOT,
    SCHEMA_PATH,
    ConfigError,
    deep_merge,
    fresh_rounds,
    load_yaml,
    schema_problems,
    with_training_defaults,
)
from judgeflow.data import loaders
from judgeflow.data.loaders import LOCAL_FILE_KEYS
from judgeflow.judge.templates import TEMPLATES


def with_default_config(paths: list[str | Path]) -> list[Path]:
    """The config files a run merges: config/config.yaml first (the Snakefile's `configfile`) unless given, then
    `paths` in order, as snakemake --configfile overlays them."""
    paths = [Path(p) for p in paths]
    default = REPO_ROOT / "config" / "config.yaml"
    return paths if any(p.resolve() == default for p in paths) else [default, *paths]


def load_config(*paths: str | Path) -> dict:
    """Load and deep-merge config files left to right (as snakemake --configfile does), fill the training blocks
    from `training_defaults` (judgeflow.core.config.with_training_defaults), then validate."""
    config: dict = {}
    for path in paths:
        config = deep_merge(config, load_yaml(path))
    config = with_training_defaults(config)
    validate_config(config)
    return config


def validate_config(config: dict, schema_path: Path = SCHEMA_PATH) -> None:
    """Validate against the JSON schema and check the cross references the schema cannot express, and what
    can be known without reading data or models: splits against the records the sources can give, task_ratio
    shares against the task types the sources can give, the tiny model's dimensions and LoRA target modules,
    training max_length against the judge templates' fixed text.

    Raises ConfigError listing every problem, each naming the offending key.
    """
    config = with_training_defaults(config)
    problems = schema_problems(config, schema_path)
    if not problems:
        problems = _cross_reference_problems(config)
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))


def _cross_reference_problems(config: dict) -> list[str]:
    problems = []
    models = config["models"]
    if config["base_model"] not in models:
        problems.append(f"config key 'base_model': '{config['base_model']}' is not defined under 'models'")
    elif models[config["base_model"]]["source"] == "openai":
        problems.append(f"config key 'base_model': '{config['base_model']}' is served over an API and cannot be "
                        "trained; the base model needs weights (source gguf_package, hf or tiny)")
    for index, name in enumerate(config["generate"]["generators"]):
        if name not in models:
            problems.append(f"config key 'generate.generators.{index}': '{name}' is not defined under 'models'")
    if config["downstream"]["policy"] not in models:
        problems.append(f"config key 'downstream.policy': '{config['downstream']['policy']}' "
                        "is not defined under 'models'")
    if config["teacher"]["model"] not in models:
        problems.append(f"config key 'teacher.model': '{config['teacher']['model']}' is not defined under 'models'")
    for key, protocol in (("templates", "critique"), ("direct_templates", "direct")):
        for index, template_id in enumerate(config["judge"][key]):
            if template_id not in TEMPLATES:
                problems.append(f"config key 'judge.{key}.{index}': unknown template '{template_id}'; "
                                f"known: {', '.join(sorted(TEMPLATES))}")
            elif TEMPLATES[template_id].protocol != protocol:
                problems.append(f"config key 'judge.{key}.{index}': '{template_id}' is a "
                                f"{TEMPLATES[template_id].protocol} template; judge.{key} takes {protocol} templates")
    for task_type in config["data"]["task_ratio"]:
        if task_type not in tasks.names():
            problems.append(f"config key 'data.task_ratio.{task_type}': unknown task type; known: "
                            f"{', '.join(tasks.names())}")
    pools = {key: {TEMPLATES[t].task_type for t in config["judge"][key] if t in TEMPLATES}
             for key in ("templates", "direct_templates")}
    for task_type, share in config["data"]["task_ratio"].items():
        if share > 0 and task_type not in pools["templates"]:
            problems.append(f"config key 'judge.templates': no {task_type} template, but data.task_ratio gives "
                            f"{task_type} a share")
        if share > 0 and config["rollout"]["direct_judgment_share"] > 0 and task_type not in pools["direct_templates"]:
            problems.append(f"config key 'judge.direct_templates': no {task_type} template, but "
                            f"rollout.direct_judgment_share > 0 and data.task_ratio gives {task_type} a share")
    eval_templates = config["evaluation"]["templates"] or []
    for index, template_id in enumerate(eval_templates):
        if template_id not in TEMPLATES:
            problems.append(f"config key 'evaluation.templates.{index}': unknown template '{template_id}'")
    covered = {TEMPLATES[t].task_type for t in eval_templates if t in TEMPLATES}
    for task_type, share in config["data"]["task_ratio"].items():
        if eval_templates and share > 0 and task_type not in covered:
            problems.append(f"config key 'evaluation.templates': no {task_type} template, but the held-out split "
                            f"has {task_type} items")
    benchmark_names = [spec["name"] for spec in config["evaluation"]["benchmarks"]]
    for name in sorted({n for n in benchmark_names if benchmark_names.count(n) > 1 or n == "heldout"}):
        problems.append(f"config key 'evaluation.benchmarks': the name '{name}' is used twice or is reserved")
    for name, spec in config["ablations"].items():
        if spec["benchmark"] not in ["heldout"] + benchmark_names:
            problems.append(f"config key 'ablations.{name}.benchmark': '{spec['benchmark']}' is neither heldout "
                            f"nor a name under evaluation.benchmarks")
        if spec["plot"] == "heatmap" and len(spec["vary"]) != 2:
            problems.append(f"config key 'ablations.{name}.vary': a heatmap needs exactly two varied keys")
        if spec.get("set") and not spec["vary"]:
            problems.append(f"config key 'ablations.{name}.set': needs a non-empty vary (an empty vary plots the "
                            "main run's models)")
        if spec["plot"] == "line" and len(spec["vary"]) > 1:
            problems.append(f"config key 'ablations.{name}.vary': a line plot varies at most one key")
    names = [source["name"] for source in config["data"]["sources"]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"config key 'data.sources': duplicate source names {duplicates}")
    for index, source in enumerate(config["data"]["sources"]):
        if source["type"] == "synthetic_arithmetic" and source["min_steps"] > source["max_steps"]:
            problems.append(f"config key 'data.sources.{index}.min_steps': larger than max_steps")
    problems += _data_problems(config)
    problems += _rl_problems(config)
    problems += _model_problems(config)
    problems += _training_problems(config)
    return problems


def _rl_problems(config: dict) -> list[str]:
    """A GRPO generation batch must hold whole groups: num_generations completions per row (TRL), and with
    EIS grouping both rows of an item, 2 x num_generations. The batch is training.batch_size x
    gradient_accumulation_steps x processes (resources.training.gpu, at least 1). The reward model is scored
    from full weights (models.load_reward_model), so its LoRA is merged."""
    problems = []
    lora = config["reward_model"]["training"]["lora"]
    if config["reward_model"]["enabled"] and lora["enabled"] and not lora.get("merge", True):
        problems.append("config key 'reward_model.training.lora.merge': the reward model is scored from full "
                        "weights; set it to true")
    rl = config["rl"]
    if not rl["enabled"]:
        return problems
    tcfg = rl["training"]
    batch = tcfg["batch_size"] * tcfg["gradient_accumulation_steps"] * max(1, config["resources"]["training"]["gpu"])
    group = rl["num_generations"] * (2 if rl["grouping"] == "eis" else 1)
    if batch % group:
        problems.append(f"config key 'rl.training.batch_size': the GRPO generation batch of {batch} completions "
                        f"(batch_size {tcfg['batch_size']} x gradient_accumulation_steps "
                        f"{tcfg['gradient_accumulation_steps']} x processes) must be a multiple of "
                        + ("2 x rl.num_generations (EIS grouping: both orders of an item in one group) = "
                           if rl["grouping"] == "eis" else "rl.num_generations = ") + str(group))
    if rl["max_completion_length"] >= tcfg["max_length"]:
        problems.append(f"config key 'rl.max_completion_length': {rl['max_completion_length']} leaves no room for "
                        f"the prompt in rl.training.max_length {tcfg['max_length']}")
    return problems


# ---------------------------------------------------------------------------------------------------------
# What the sources can give, known from the config alone (judgeflow.data.loaders: each Loader's `gives`)

def source_size_bound(spec: dict) -> int | None:
    """The most records one configured source can give, where the config alone tells: a synthetic source
    exactly num_questions (num_instructions), a file or Hugging Face source with `limit` at most that many.
    None for a file or HF source without `limit`: its size is known only once it is read, and the ingest
    stage (judgeflow.data.questions.assign_splits) then fails naming data.splits when the splits do not fit."""
    for key in ("num_questions", "num_instructions", "limit"):
        if key in spec:
            return spec[key]
    return None


def _data_problems(config: dict) -> list[str]:
    problems = []
    data = config["data"]
    ratio = data["task_ratio"]
    for key, specs in (("data.sources", data["sources"]),
                       ("evaluation.benchmarks", config["evaluation"]["benchmarks"])):
        for index, spec in enumerate(specs):
            if spec["type"] not in loaders.loader_types():
                problems.append(f"config key '{key}[{index}].type' ({spec['name']}): unknown source type "
                                f"'{spec['type']}'; known: {', '.join(loaders.loader_types())}")
    if problems:
        return problems
    if not any(share > 0 for share in ratio.values()):
        problems.append(f"config key 'data.task_ratio': every share is 0 ({', '.join(ratio)}), so the seed split "
                        "and the rollout batches would get no items; give at least one task type a share > 0")
    offered = set().union(*(loaders.task_types_of(spec) for spec in data["sources"]))
    for task_type, share in ratio.items():
        if share > 0 and task_type not in offered:
            kinds = ", ".join(f"{spec['name']} ({spec['type']})" for spec in data["sources"])
            problems.append(f"config key 'data.task_ratio.{task_type}': a share of {share}, but no source under "
                            f"data.sources gives {task_type} items (sources: {kinds}); add a source that does or "
                            "set the share to 0")
    splits, rounds = data["splits"], fresh_rounds(config)
    needed = splits["benchmark"] + splits["seed"] + splits["rollout_batch"] * rounds
    bounds = [(spec["name"], source_size_bound(spec)) for spec in data["sources"]]
    if all(bound is not None for _, bound in bounds) and sum(bound for _, bound in bounds) < needed:
        given = ", ".join(f"{name} {bound}" for name, bound in bounds)
        problems.append(f"config key 'data.splits': the splits need {needed} records (benchmark "
                        f"{splits['benchmark']} + seed {splits['seed']} + rollout_batch {splits['rollout_batch']} x "
                        f"rollout.rounds {rounds}) but data.sources give at most {sum(b for _, b in bounds)} "
                        f"({given}); shrink the splits or add records (num_questions, num_instructions, limit)")
    return problems


# ---------------------------------------------------------------------------------------------------------
# Models whose architecture the config fixes: the tiny model (judgeflow.models.tiny.build_tiny_model)


def tiny_modules(tcfg: dict) -> dict[str, str]:
    """{module name: class} of the tiny model: a transformers LlamaForCausalLM with tcfg's num_layers, as
    model.named_modules() lists it (tests/core/test_config.py checks this against a built one)."""
    names = {"": "LlamaForCausalLM", "model": "LlamaModel", "model.embed_tokens": "Embedding",
             "model.layers": "ModuleList", "model.norm": "LlamaRMSNorm", "model.rotary_emb": "LlamaRotaryEmbedding",
             "lm_head": "Linear"}
    for layer in range(tcfg["num_layers"]):
        prefix = f"model.layers.{layer}"
        names.update({prefix: "LlamaDecoderLayer", f"{prefix}.self_attn": "LlamaAttention",
                      f"{prefix}.mlp": "LlamaMLP", f"{prefix}.mlp.act_fn": "SiLUActivation",
                      f"{prefix}.input_layernorm": "LlamaRMSNorm",
                      f"{prefix}.post_attention_layernorm": "LlamaRMSNorm"})
        names.update({f"{prefix}.self_attn.{proj}": "Linear" for proj in ("q_proj", "k_proj", "v_proj", "o_proj")})
        names.update({f"{prefix}.mlp.{proj}": "Linear" for proj in ("gate_proj", "up_proj", "down_proj")})
    return names


_LORA_LAYERS = ("Linear", "Embedding")  # the module classes of the tiny model LoRA can adapt


def _lora_target_problems(key: str, targets: str | list[str], modules: dict[str, str], model: str) -> list[str]:
    """peft's matching: a string is a regular expression the full module name must match (re.fullmatch),
    'all-linear' every linear layer; a list entry matches a module named exactly so or ending in '.<entry>'."""
    adaptable = [name for name, kind in modules.items() if kind in _LORA_LAYERS]
    known = ", ".join(sorted({name.rsplit(".", 1)[-1] for name in adaptable}))
    if isinstance(targets, str):
        if targets == "all-linear":
            return []
        try:
            pattern = re.compile(targets)
        except re.error as error:
            return [f"config key '{key}': '{targets}' is not a valid regular expression ({error})"]
        if not any(pattern.fullmatch(name) for name in adaptable):
            return [f"config key '{key}': the regular expression '{targets}' matches the full name of no linear "
                    f"or embedding layer of model '{model}' (a Llama: model.layers.<i>.self_attn.q_proj, ...); "
                    f"use all-linear or a list of names from: {known}"]
        return []
    return [f"config key '{key}.{index}': '{target}' names no linear or embedding layer of model '{model}' (a "
            f"Llama); known: {known}"
            for index, target in enumerate(targets)
            if not any(name == target or name.endswith("." + target) for name in adaptable)]


def _model_problems(config: dict) -> list[str]:
    problems = []
    for name, spec in config["models"].items():
        if spec["source"] != "tiny":
            continue
        tiny = spec["tiny"]
        if tiny["hidden_size"] % tiny["num_heads"]:
            problems.append(f"config key 'models.{name}.tiny.num_heads': hidden_size {tiny['hidden_size']} is not a "
                            f"multiple of num_heads {tiny['num_heads']}; each attention head gets hidden_size / "
                            "num_heads dimensions")
        elif (tiny["hidden_size"] // tiny["num_heads"]) % 2:
            problems.append(f"config key 'models.{name}.tiny.num_heads': the head dimension hidden_size / num_heads "
                            f"= {tiny['hidden_size']} / {tiny['num_heads']} = "
                            f"{tiny['hidden_size'] // tiny['num_heads']} is odd; rotary position embeddings need "
                            "an even one")
    trained = [("sft", config["base_model"]), ("dpo.training", config["base_model"]),
               ("rollout.training", config["base_model"]), ("rl.training", config["base_model"]),
               ("reward_model.training", config["base_model"]),
               ("downstream.policy_dpo.training", config["downstream"]["policy"])]
    for key, model in trained:
        spec = config["models"].get(model)
        lora = _get(config, key)["lora"]
        if spec is None or spec["source"] != "tiny" or not lora["enabled"] or "target_modules" not in lora:
            continue
        problems += _lora_target_problems(f"{key}.lora.target_modules", lora["target_modules"],
                                          tiny_modules(spec["tiny"]), model)
    return problems


# ---------------------------------------------------------------------------------------------------------
# Sequence lengths


def template_floor(template_ids: list[str]) -> tuple[int, str]:
    """(words, template id) of the template whose fixed text (system message and instruction, every field
    empty) has the fewest whitespace-separated words. Every rendered judge prompt has at least that many
    tokens: the tokenizers the workflow uses never put two whitespace-separated words into one token
    (byte-level BPE with GPT-2/Llama-3/Qwen-style pre-tokenization, as the tiny model's; SentencePiece
    splitting at whitespace). A lower bound only: the chat template, the item's question and responses and
    words of several tokens come on top, and for Chinese templates (few spaces) it is weak."""
    counts = []
    for template_id in template_ids:
        template = TEMPLATES[template_id]
        blank = {name: "" for name in tasks.get(template.task_type).fields}
        text = (template.system or "") + "\n" + template.user.format(**blank)
        counts.append((len(text.split()), template_id))
    return min(counts)


def _training_problems(config: dict) -> list[str]:
    """An SFT or DPO micro_batch_size that does not divide its batch_size. A training max_length that cannot hold
    the fixed text of any judge prompt the stage trains on: every example would lose its whole completion to
    truncation (the stage would fail after the sampling before it). Stages that are off (no SFT examples, no DPO
    pairs, no rounds) are not checked for the latter."""
    ratio = config["data"]["task_ratio"]
    wanted = {task for task, share in ratio.items() if share > 0}
    judge = config["judge"]
    critique = [t for t in judge["templates"] if t in TEMPLATES]
    direct = [t for t in judge["direct_templates"] if t in TEMPLATES]
    stages = [("sft", critique, config["teacher"]["max_sft_examples"] != 0),
              ("dpo.training", critique, config["dpo"]["max_pairs"] != 0),
              ("rollout.training", critique + (direct if config["rollout"]["direct_judgment_share"] > 0 else []),
               config["rollout"]["rounds"] > 0)]
    problems = []
    for key in ("sft", "dpo.training", "rollout.training", "downstream.policy_dpo.training"):
        tcfg = _get(config, key)
        micro = tcfg.get("micro_batch_size", "auto")
        if micro != "auto" and tcfg["batch_size"] % micro:
            problems.append(f"config key '{key}.micro_batch_size': {micro} rows per pass must divide batch_size "
                            f"({tcfg['batch_size']}): a batch runs as batch_size / micro_batch_size passes")
    for key, pool, active in stages:
        pool = [t for t in pool if TEMPLATES[t].task_type in wanted] or pool
        if not active or not pool:
            continue
        max_length = _get(config, key)["max_length"]
        words, template_id = template_floor(pool)
        if max_length <= words:
            problems.append(f"config key '{key}.max_length': {max_length} tokens cannot hold any judge prompt: the "
                            f"shortest template this stage trains with ({template_id}) has {words} words of fixed "
                            f"text, at least one token each, before the item's question and responses, so every "
                            f"example would lose its whole completion to truncation; raise it well above {words}")
    return problems


def _get(config: dict, dotted: str):
    node = config
    for part in dotted.split("."):
        node = node[part]
    return node


def missing_inputs(variants: dict[str, dict], root: str | Path = ".") -> list[str]:
    """The local data files that the configs name (sources and benchmarks of every variant) and that do not exist
    under `root`, one line each with its dotted key. Snakemake plans a job whose input is missing and whose output
    exists as if nothing changed, so a source or benchmark pointed at a missing file must be refused before."""
    problems = {}
    for variant, config in variants.items():
        for section in ("data.sources", "evaluation.benchmarks"):
            for i, spec in enumerate(_get(config, section) or []):
                for key in LOCAL_FILE_KEYS:
                    if key in spec and not (Path(root) / str(spec[key])).is_file():
                        line = f"{section}[{i}].{key} ({spec.get('name', '?')}): {spec[key]} does not exist"
                        problems.setdefault(line, variant)
    return [line if variant == "main" else f"{line} (in variant {variant})" for line, variant in problems.items()]
