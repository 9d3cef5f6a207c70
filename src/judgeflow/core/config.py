"""Config files (load_yaml, deep_merge), schema validation, the config fingerprint written beside every output
(config_hash) and what a config implies (the slice a stage reads, the models a run trains).

The checks the schema cannot express (cross references; what the sources, templates and tiny models allow) and
load_config, which merges config files and runs every check: judgeflow.core.config_checks."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
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


# The trained stages' hyperparameter blocks: each starts from `training_defaults` and sets only what differs.
TRAINING_BLOCKS = (("sft",), ("dpo", "training"), ("rollout", "training"), ("rl", "training"),
                   ("reward_model", "training"), ("downstream", "policy_dpo", "training"))


def with_training_defaults(config: dict) -> dict:
    """The config with every block of TRAINING_BLOCKS merged over `training_defaults` (the block's own keys win);
    a config without `training_defaults` is returned as it is. Idempotent."""
    defaults = config.get("training_defaults")
    if not isinstance(defaults, dict):
        return config
    out = copy.deepcopy(config)
    for path in TRAINING_BLOCKS:
        parent = out
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and isinstance(parent.get(path[-1], {}), dict):
            parent[path[-1]] = deep_merge(defaults, parent.get(path[-1]) or {})
    return out


def load_yaml(path: str | Path) -> dict:
    """A YAML mapping from a file; a syntax error is a ConfigError naming the file, line and column."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = "; ".join(part for part in (error.context, error.problem) if part)
        raise ConfigError(f"{where}: YAML syntax error: {problem or error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: YAML syntax error: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level of a config must be a mapping")
    return data


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


def schema_problems(config: dict, schema_path: Path = SCHEMA_PATH) -> list[str]:
    """What in the config does not match the JSON schema, one line each naming the offending key ([] when it
    matches). judgeflow.core.config_checks.validate_config runs this, then the checks the schema cannot express."""
    schema = load_yaml(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    return [_describe(error) for error in errors]


def fresh_rounds(config: dict) -> int:
    """Rollout rounds that judge a fresh batch of questions each (rollout.items: fresh, FARE): the rounds that
    reserve data.splits.rollout_batch questions. Rounds on the seed items (rollout.items: seed, STE) reserve none."""
    return config["rollout"]["rounds"] if config["rollout"]["items"] == "fresh" else 0


def canonical_sha256(value: Any) -> str:
    """sha256 of a JSON-like value written canonically (sorted keys, no spaces): equal values, equal sums."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def config_hash(config: dict) -> str:
    """A short, stable fingerprint of the whole config, recorded in every summary.json."""
    return canonical_sha256(config)[:16]


def select(config: dict, *keys: str, shared: bool = False) -> dict:
    """The part of the config a stage reads: 'experiment' plus the given (dotted) keys, nesting kept.

    Rules pass this slice as a Snakemake param, so a change to exactly these settings re-runs the stage and
    a stage that reads a key it did not declare fails loudly instead of silently missing a rerun. `shared`
    leaves 'experiment' out: for outputs every experiment shares (resources/models), which switching
    experiments must not rebuild."""
    out = {} if shared else {"experiment": config["experiment"]}
    for key in keys:
        node, target = config, out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
            target = target.setdefault(part, {})
        target[leaf] = copy.deepcopy(node[leaf])
    return out


def chain_models(config: dict) -> list[str]:
    """The generative chain: base, sft, dpo, round_1..round_R (each trained from the one before)."""
    return ["base", "sft", "dpo"] + [f"round_{r}" for r in range(1, config["rollout"]["rounds"] + 1)]


def stage_models(config: dict) -> list[str]:
    """Every model of the run, in training order: the chain (base, sft, dpo, round_1..round_R), then rl (GRPO,
    when rl.enabled) and rm (the scalar reward model, when reward_model.enabled)."""
    return (chain_models(config) + (["rl"] if config["rl"]["enabled"] else [])
            + (["rm"] if config["reward_model"]["enabled"] else []))


def final_model(config: dict) -> str:
    """The last generative judge of the run: rl when it continues the chain (rl.init: final), else the
    chain's last model (rl from sft or dpo is a branch beside the chain, compared with it)."""
    if config["rl"]["enabled"] and config["rl"]["init"] == "final":
        return "rl"
    return chain_models(config)[-1]


def as_plain(value: Any) -> Any:
    """Snakemake hands scripts Namedlist/config proxies; turn them into plain JSON-able Python."""
    return json.loads(json.dumps(value, default=dict))


if __name__ == "__main__":  # the check moved: fail loudly rather than let an old caller pass without checking
    raise SystemExit("the config check is `python -m judgeflow.core.check_config FILE...`")
