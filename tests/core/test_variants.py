import copy
import re

import pytest

from judgeflow.core.config import ConfigError, deep_merge, stage_models
from judgeflow.core.config_checks import validate_config
from judgeflow.core.variants import MAIN, STAGES, ablation_grid, build_variants, canonical, model_stage, upstream_keys

from conftest import REPO

TRAINING_STAGES = ("ingest", "generate_responses", "build_items", "annotate", "train_sft", "dpo_sample", "train_dpo",
                   "rollout")


def _spec(vary):
    return {"title": "t", "vary": vary, "models": ["final"], "benchmark": "heldout", "plot": "bar",
            "metric": "accuracy"}


def _config(base, **ablations):
    """`base` with a direct-judgment share of 0.2 and exactly the given ablations."""
    config = deep_merge(base, {"rollout": {"direct_judgment_share": 0.2}})
    config["ablations"] = {name: _spec(vary) for name, vary in ablations.items()}
    validate_config(config)
    return config


def test_ablation_grid_ids_and_points():
    grid = ablation_grid("mix", _spec({"rollout.direct_judgment_share": [0.0, 0.5],
                                       "rollout.curriculum": [True, False]}))
    assert [variant for variant, _ in grid] == [
        "mix.direct_judgment_share=0.0_curriculum=true", "mix.direct_judgment_share=0.0_curriculum=false",
        "mix.direct_judgment_share=0.5_curriculum=true", "mix.direct_judgment_share=0.5_curriculum=false"]
    assert [point for _, point in grid] == [
        {"rollout.direct_judgment_share": share, "rollout.curriculum": curriculum}
        for share in (0.0, 0.5) for curriculum in (True, False)]
    assert [v for v, _ in ablation_grid("size", _spec({"teacher.max_sft_examples": [0, 16, None]}))] == [
        "size.max_sft_examples=0", "size.max_sft_examples=16", "size.max_sft_examples=none"]
    odd = ablation_grid("m", _spec({"generate.bad_response.method": ["worse answer/v2", "modified_instruction"]}))
    assert [v for v, _ in odd] == ["m.method=worse-answer-v2", "m.method=modified_instruction"]
    for variant, _ in grid + odd:
        assert re.fullmatch(r"[A-Za-z0-9_.=+-]+", variant), "ids are path-safe (the Snakemake wildcard)"


def test_build_variants_overlays_and_validates(test_config):
    config = _config(test_config, share={"rollout.direct_judgment_share": [0.0, 0.5]},
                     cue={"judge.verdict_cue": [None]})
    variants = build_variants(config)
    assert list(variants) == [MAIN, "share.direct_judgment_share=0.0", "share.direct_judgment_share=0.5",
                              "cue.verdict_cue=none"]
    assert variants[MAIN] == config
    half = variants["share.direct_judgment_share=0.5"]
    assert half["rollout"]["direct_judgment_share"] == 0.5 and config["rollout"]["direct_judgment_share"] == 0.2
    assert deep_merge(half, {"rollout": {"direct_judgment_share": 0.2}}) == config, "nothing else changes"
    assert variants["cue.verdict_cue=none"]["judge"]["verdict_cue"] is None
    assert variants["cue.verdict_cue=none"]["judge"]["templates"] == config["judge"]["templates"]

    bad = _config(test_config, share={"rollout.direct_judgment_share": [0.5, 1.5]})
    with pytest.raises(ConfigError) as error:
        build_variants(bad)
    message = str(error.value)
    assert "ablation 'share'" in message and "1.5" in message and "rollout.direct_judgment_share" in message
    typo = _config(test_config, curr={"rollout.curriculm": [False]})
    with pytest.raises(ConfigError, match=r"(?s)ablation 'curr'.*unknown config key 'rollout.curriculm'"):
        build_variants(typo)


def test_model_stage_and_upstream_keys():
    assert [model_stage(m) for m in ("base", "sft", "dpo", "round_1", "round_3")] == [
        "build_items", "train_sft", "train_dpo", "rollout", "rollout"]
    assert upstream_keys("ingest") == ["seed", "data", "rollout.rounds", "rollout.items"]
    assert set(upstream_keys("evaluate")) == {"seed", "base_model", "judge", "generation", "evaluation"}
    round_eval = upstream_keys(model_stage("round_2"), "evaluate")
    assert len(round_eval) == len(set(round_eval))
    assert {"rollout", "evaluation", "dpo", "sft", "data", "generate", "judge", "generation", "seed"} <= set(round_eval)
    sft_eval = upstream_keys(model_stage("sft"), "evaluate")
    assert "rollout" not in sft_eval and "dpo" not in sft_eval and "rollout.rounds" in sft_eval
    assert {"data", "evaluation", "sft"} <= set(sft_eval)
    for stage, (_, parents) in STAGES.items():
        assert set(upstream_keys(*parents)) <= set(upstream_keys(stage)), stage


def test_canonical_shares_unchanged_stages(test_config):
    config = _config(test_config, share={"rollout.direct_judgment_share": [0.5, 0.2]},
                     splits={"data.splits.seed": [10]}, sc={"evaluation.sc_max_k": [4]},
                     curr={"rollout.curriculum": [False]},
                     curr2={"rollout.curriculum": [False], "rollout.direct_judgment_share": [0.2]})
    variants = build_variants(config)
    models = stage_models(config)
    # the test config trains GRPO (rl) and the scalar reward model (rm) after the chain
    assert models == ["base", "sft", "dpo", "round_1", "round_2", "rl", "rm"]

    def evaluation(model):  # as workflow/rules/common.smk's eval_dir: the reward model is scored by evaluate_rm
        return "evaluate_rm" if model == "rm" else "evaluate"

    half = "share.direct_judgment_share=0.5"
    assert {s: canonical(variants, half, s) for s in TRAINING_STAGES} == {
        **{s: MAIN for s in TRAINING_STAGES}, "rollout": half}
    # rl: train_rl's parents include rollout whatever rl.init is (rl.init final starts from the last round), so
    # a rollout setting re-runs GRPO even from sft (conservative); rm reads only the seed items and the base model
    assert {m: canonical(variants, half, model_stage(m), evaluation(m)) for m in models} == {
        "base": MAIN, "sft": MAIN, "dpo": MAIN, "round_1": half, "round_2": half, "rl": half, "rm": MAIN}
    same = "share.direct_judgment_share=0.2"  # the main run's value: shares everything
    assert {canonical(variants, same, s) for s in STAGES} == {MAIN}
    assert {canonical(variants, same, model_stage(m), evaluation(m)) for m in models} == {MAIN}

    splits = "splits.seed=10"
    assert {s: canonical(variants, splits, s) for s in TRAINING_STAGES} == {s: splits for s in TRAINING_STAGES}
    assert {canonical(variants, splits, model_stage(m), evaluation(m)) for m in models} == {splits}

    sc = "sc.sc_max_k=4"
    assert config["evaluation"]["sc_max_k"] != 4
    assert {canonical(variants, sc, s) for s in TRAINING_STAGES} == {MAIN}, "only evaluation reads sc_max_k"
    assert {canonical(variants, sc, model_stage(m), evaluation(m)) for m in models} == {sc}

    # the first variant with the same settings is canonical, main first, then in ablation order
    twin = "curr2.curriculum=false_direct_judgment_share=0.2"
    assert canonical(variants, twin, "rollout") == "curr.curriculum=false"
    assert canonical(variants, twin, "train_dpo") == MAIN
    assert canonical(variants, "curr.curriculum=false", "rollout") == "curr.curriculum=false"
    assert canonical(variants, MAIN, "rollout", "evaluate") == MAIN


def test_duplicate_variant_names_and_empty_grids(test_config):
    config = deep_merge(test_config, {"ablations": {"cue": {
        "title": "t", "vary": {"judge.verdict_cue": ["\nVerdict: [[", "Verdict: [["]}, "models": ["final"],
        "benchmark": "heldout", "plot": "bar", "metric": "accuracy"}}})
    with pytest.raises(ConfigError, match="both named"):
        build_variants(config)
    config["ablations"] = {"cue": {**config["ablations"]["cue"], "vary": {}}}
    assert list(build_variants(config)) == [MAIN]  # an empty grid plots the main run's models


def test_training_blocks_start_from_training_defaults(default_config):
    """Each trained stage's block is training_defaults with its own keys on top (lora merged key by key), and an
    ablation may vary a default: every stage that does not set that key follows it."""
    from judgeflow.core.config import load_yaml, with_training_defaults

    raw = load_yaml(REPO / "config" / "config.yaml")
    assert "epochs" not in raw["dpo"]["training"], "the shipped config sets only what differs"
    resolved = with_training_defaults(raw)
    defaults = raw["training_defaults"]
    assert resolved["dpo"]["training"] == {**defaults, "learning_rate": 5.0e-5}
    assert resolved["rollout"]["training"] == defaults and resolved["sft"]["learning_rate"] == 2.0e-4
    assert resolved == with_training_defaults(resolved) == default_config
    nested = with_training_defaults({**raw, "sft": {"lora": {"r": 4}}})
    assert nested["sft"]["lora"] == {**defaults["lora"], "r": 4}

    ablations = {"fp32": {"title": "fp32", "vary": {"training_defaults.precision": ["float32"]}, "models": ["sft"],
                          "benchmark": "heldout", "plot": "bar", "metric": "accuracy"}}
    variants = build_variants({**copy.deepcopy(raw), "ablations": ablations})
    (variant,) = [config for name, config in variants.items() if name.startswith("fp32.")]
    assert {variant[k]["training"]["precision"] for k in ("dpo", "rollout", "rl")} == {"float32"}
    assert variant["sft"]["precision"] == "float32"
