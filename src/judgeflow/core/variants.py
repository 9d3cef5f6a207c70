"""Ablation variants: named overlays on the main config, and which stage outputs they can share.

An ablation in config (`ablations.<name>.vary`) is a grid of dotted keys and values; every point of the
grid is a variant: the main config with those keys overridden. Each variant's stages live under
results/<experiment>/<variant>/. A variant that does not change what a stage (or anything upstream of it)
reads reuses the main run's file for that stage instead of recomputing it: `canonical()` names the first
variant, main first, whose settings for the stage and everything before it are identical.
"""

from __future__ import annotations

import itertools
import re

from judgeflow.core.config import ConfigError, deep_merge, select, stage_models, with_training_defaults
from judgeflow.core.config_checks import validate_config

MAIN = "main"

# Every stage: the config keys it reads itself and the stages whose outputs it reads. The rules pass
# select(config, *keys) to their scripts, so a change to these keys re-runs exactly the stages it affects.
STAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ingest": (("seed", "data", "rollout.rounds", "rollout.items"), ()),
    "generate_responses": (("seed", "generate", "generation"), ("ingest",)),
    "build_items": (("seed", "data", "generate", "judge.templates", "rollout.rounds", "rollout.items",
                    "evaluation.benchmarks"),
                    ("ingest", "generate_responses")),
    "annotate": (("seed", "judge", "generation", "teacher.model", "teacher.critiques", "teacher.samples_per_order",
                  "teacher.sampling", "teacher.balance_labels", "teacher.balance_length", "teacher.chat_share"),
                 ("build_items",)),
    "train_sft": (("seed", "base_model", "sft", "teacher.max_sft_examples"), ("annotate",)),
    "dpo_sample": (("seed", "judge", "generation", "dpo.items", "dpo.samples_per_item", "dpo.sampling", "dpo.init",
                    "dpo.max_pairs"), ("build_items", "annotate", "train_sft")),
    "train_dpo": (("seed", "dpo"), ("dpo_sample",)),
    "rollout": (("seed", "judge", "generation", "rollout"), ("build_items", "train_dpo")),
    "evaluate": (("seed", "base_model", "judge", "generation", "evaluation"), ()),
    "policy_answers": (("seed", "generation", "downstream"), ("ingest",)),
    # GRPO reads the seed items and starts from rl.init's model (sft, dpo or the chain's last round): its
    # parents are all three, so a variant that changes only rl settings shares every other stage
    "train_rl": (("seed", "judge", "rl"), ("build_items", "train_sft", "train_dpo", "rollout")),
    "train_rm": (("seed", "base_model", "reward_model"), ("build_items",)),
    "evaluate_rm": (("seed", "judge", "evaluation", "reward_model.training.max_length"), ()),
}

# The stage that makes each trained model (round_r: the rollout rounds).
MODEL_STAGE = {"sft": "train_sft", "dpo": "train_dpo", "rl": "train_rl", "rm": "train_rm"}


def stage_keys(stage: str) -> tuple[str, ...]:
    return STAGES[stage][0]


def upstream_keys(*stages: str) -> list[str]:
    """The keys the stages and everything upstream of them read (their outputs are a function of these)."""
    keys, todo, seen = [], list(stages), set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        own, parents = STAGES[current]
        keys.extend(k for k in own if k not in keys)
        todo.extend(parents)
    return keys


def model_stage(model: str) -> str:
    """The stage that trains `model`; the base model is prepared once for all variants."""
    if model == "base":
        return "build_items"
    return "rollout" if model.startswith("round_") else MODEL_STAGE[model]


def _nested(dotted: dict) -> dict:
    out: dict = {}
    for key, value in dotted.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _slug(value) -> str:
    """A short path-safe name of a grid value: a list is named by its first element and its length."""
    if isinstance(value, list):
        return f"{_slug(value[0])}+{len(value) - 1}" if value else "none"
    text = value if isinstance(value, str) else str(value).lower()
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


def ablation_grid(name: str, spec: dict) -> list[tuple[str, dict]]:
    """The variants of one ablation, in grid order: (variant id, {dotted key: value})."""
    keys = list(spec["vary"])
    out = []
    for values in itertools.product(*(spec["vary"][key] for key in keys)):
        point = dict(zip(keys, values))
        slug = "_".join(f"{key.rsplit('.', 1)[-1]}={_slug(value)}" for key, value in point.items())
        out.append((f"{name}.{slug}", point))
    return out


def build_variants(config: dict) -> dict[str, dict]:
    """{variant id: full config}: main first, then every ablation's grid; each one with its training blocks
    filled from `training_defaults` (a grid point may vary those too) and validated."""
    raw, config = config, with_training_defaults(config)
    validate_config(config)
    variants = {MAIN: config}
    for name, spec in config.get("ablations", {}).items():
        if not spec["vary"]:
            continue  # plots models of the main run
        for variant, point in ablation_grid(name, spec):
            if variant in variants:
                raise ConfigError(f"ablation '{name}': two grid points are both named '{variant}'; give the "
                                  "values distinct first elements or spellings")
            merged = with_training_defaults(deep_merge(raw, _nested({**spec.get("set", {}), **point})))
            try:
                validate_config(merged)
            except ConfigError as error:
                raise ConfigError(f"ablation '{name}', variant {point}: {error}") from None
            _check_models(name, spec, merged, point)
            variants[variant] = merged
    for name, spec in config.get("ablations", {}).items():
        if not spec["vary"]:
            _check_models(name, spec, config, {})
    return variants


def _check_models(name: str, spec: dict, config: dict, point: dict) -> None:
    """An ablation may plot rl or rm only from variants that train them (rl.enabled, reward_model.enabled,
    in the config or the ablation's `set`)."""
    missing = [m for m in spec["models"] if m in ("rl", "rm") and m not in stage_models(config)]
    if missing:
        where = f"variant {point}" if point else "the main run"
        raise ConfigError(f"config key 'ablations.{name}.models': {', '.join(missing)} is not trained in {where}; "
                          "set rl.enabled / reward_model.enabled (e.g. under the ablation's `set`)")


def canonical(variants: dict[str, dict], variant: str, *stages: str) -> str:
    """The first variant (main first) whose settings for the stages and everything upstream of them equal
    `variant`'s: the one whose output files this variant reads for those stages."""
    keys = upstream_keys(*stages)
    wanted = select(variants[variant], *keys)
    for candidate, config in variants.items():
        if select(config, *keys) == wanted:
            return candidate
    raise AssertionError("unreachable: a variant always matches itself")
