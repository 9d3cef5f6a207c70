"""Config loading, schema validation and the config fingerprint written beside every output."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config that does not match the schema or refers to something that does not exist."""


def deep_merge(base: dict, override: dict) -> dict:
    """Return base updated by override, recursing into nested mappings (lists are replaced whole)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_yaml(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level of a config must be a mapping")
    return data


def load_config(*paths: str | Path) -> dict:
    """Load and deep-merge config files left to right (as snakemake --configfile does), then validate."""
    config: dict = {}
    for path in paths:
        config = deep_merge(config, load_yaml(path))
    validate_config(config)
    return config


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        prefix = "" if where == "<top level>" else where + "."
        keys = ", ".join(f"'{prefix}{key}'" for key in extra)
        return f"unknown config key {keys}; allowed here: {', '.join(allowed)}"
    if error.validator == "required":
        return f"config key '{where}': {error.message}"
    return f"config key '{where}': {error.message}"


def validate_config(config: dict, schema_path: Path = SCHEMA_PATH) -> None:
    """Validate against the JSON schema and check the cross references the schema cannot express.

    Raises ConfigError listing every problem, each naming the offending key.
    """
    schema = load_yaml(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = [_describe(error) for error in errors]
    if not problems:
        problems = _cross_reference_problems(config)
    if problems:
        raise ConfigError("invalid config:\n  - " + "\n  - ".join(problems))


def _cross_reference_problems(config: dict) -> list[str]:
    from judgeflow.templates import TEMPLATES

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
        problems.append(f"config key 'downstream.policy': '{config['downstream']['policy']}' is not defined under 'models'")
    if config["teacher"]["model"] not in models:
        problems.append(f"config key 'teacher.model': '{config['teacher']['model']}' is not defined under 'models'")
    for key, protocol in (("templates", "critique"), ("direct_templates", "direct")):
        for index, template_id in enumerate(config["judge"][key]):
            if template_id not in TEMPLATES:
                problems.append(f"config key 'judge.{key}.{index}': unknown template '{template_id}'; "
                                f"known: {', '.join(sorted(TEMPLATES))}")
            elif TEMPLATES[template_id].protocol != protocol:
                problems.append(f"config key 'judge.{key}.{index}': '{template_id}' is a {TEMPLATES[template_id].protocol}"
                                f" template; judge.{key} takes {protocol} templates")
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
        if spec["plot"] == "line" and len(spec["vary"]) > 1:
            problems.append(f"config key 'ablations.{name}.vary': a line plot varies at most one key")
    names = [source["name"] for source in config["data"]["sources"]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"config key 'data.sources': duplicate source names {duplicates}")
    for index, source in enumerate(config["data"]["sources"]):
        if source["type"] == "synthetic_arithmetic" and source["min_steps"] > source["max_steps"]:
            problems.append(f"config key 'data.sources.{index}.min_steps': larger than max_steps")
    return problems


def config_hash(config: dict) -> str:
    """A short, stable fingerprint of the whole config, recorded in every summary.json."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def select(config: dict, *keys: str) -> dict:
    """The part of the config a stage reads: 'experiment' plus the given (dotted) keys, nesting kept.

    Rules pass this slice as a Snakemake param, so a change to exactly these settings re-runs the stage and
    a stage that reads a key it did not declare fails loudly instead of silently missing a rerun."""
    out = {"experiment": config["experiment"]}
    for key in keys:
        node, target = config, out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
            target = target.setdefault(part, {})
        target[leaf] = copy.deepcopy(node[leaf])
    return out


def stage_models(config: dict) -> list[str]:
    """Every model of the run, in training order: base, sft, dpo, round_1..round_R."""
    return ["base", "sft", "dpo"] + [f"round_{r}" for r in range(1, config["rollout"]["rounds"] + 1)]


def as_plain(value: Any) -> Any:
    """Snakemake hands scripts Namedlist/config proxies; turn them into plain JSON-able Python."""
    return json.loads(json.dumps(value, default=dict))
