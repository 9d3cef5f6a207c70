import copy
import subprocess
import sys

import pytest
import yaml

from judgeflow.core.config import ConfigError, config_hash, deep_merge, select, stage_models, with_training_defaults
from judgeflow.core.config_checks import validate_config

from conftest import REPO


def test_shipped_configs_validate(default_config, test_config):
    assert default_config["experiment"] == "default"
    assert test_config["experiment"] == "test"
    assert test_config["models"]["tiny-judge"]["source"] == "tiny"
    # test.yaml overrides nested keys and keeps the rest of the default
    assert test_config["sft"]["lora"] == default_config["sft"]["lora"]
    assert test_config["sft"]["epochs"] == 1


def test_misspelt_key_is_named(default_config):
    bad = copy.deepcopy(default_config)
    bad["sft"]["lerning_rate"] = 1e-4
    with pytest.raises(ConfigError, match=r"'sft\.lerning_rate'"):
        validate_config(bad)


def test_wrong_type_is_named(default_config):
    bad = copy.deepcopy(default_config)
    bad["dpo"]["samples_per_item"] = "four"
    with pytest.raises(ConfigError, match=r"'dpo\.samples_per_item'.*not of type 'integer'"):
        validate_config(bad)


def test_missing_key_and_unknown_model(default_config):
    bad = copy.deepcopy(default_config)
    del bad["rollout"]["rounds"]
    with pytest.raises(ConfigError, match=r"'rounds' is a required property"):
        validate_config(bad)
    bad = copy.deepcopy(default_config)
    bad["teacher"]["model"] = "gpt-5"
    with pytest.raises(ConfigError, match=r"'teacher\.model': 'gpt-5' is not defined"):
        validate_config(bad)


def test_select_and_hash(default_config):
    part = select(default_config, "seed", "dpo.beta")
    assert part == {"experiment": "default", "seed": 1234, "dpo": {"beta": 0.1}}
    assert config_hash(part) == config_hash(copy.deepcopy(part))
    assert config_hash(part) != config_hash(deep_merge(part, {"dpo": {"beta": 0.2}}))
    assert stage_models(default_config) == ["base", "sft", "dpo", "round_1"]


def test_snakemake_rejects_bad_config_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"sft": {"lerning_rate": 0.1}, "threads": "two"}))
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", str(bad)], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert "'sft.lerning_rate'" in out and "config key 'threads'" in out
    assert "Building DAG" not in out


def test_zero_rollout_rounds_plans_no_rollout_jobs(tmp_path):
    override = tmp_path / "r0.yaml"
    override.write_text(yaml.safe_dump({"experiment": "r0", "rollout": {"rounds": 0}}))
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", str(override)], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "rollout_sample" not in run.stdout and "train_rollout" not in run.stdout
    assert "train_dpo" in run.stdout and "results/r0/main/eval/dpo/heldout/metrics.json" in run.stdout


def test_api_teacher_config_and_untrainable_base(default_config):
    config = copy.deepcopy(default_config)
    config["models"]["gpt-4o"] = {"source": "openai", "base_url": "https://api.openai.com/v1",
                                  "served_model": "gpt-4o-2024-08-06", "api_key_env": "OPENAI_API_KEY"}
    config["teacher"]["model"] = "gpt-4o"
    validate_config(config)
    config["base_model"] = "gpt-4o"
    with pytest.raises(ConfigError, match="served over an API and cannot be trained"):
        validate_config(config)
    del config["models"]["gpt-4o"]["served_model"]
    with pytest.raises(ConfigError, match="'served_model' is a required property"):
        validate_config(config)


# ---------------------------------------------------------------------------------------------------------
# Issue 13: configs that used to pass the dry run and fail minutes later are caught at parse time


def _bad(config, **changes):
    """A copy of config with dotted keys set."""
    out = copy.deepcopy(config)
    for dotted, value in changes.items():
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[leaf] = value
    return out


SHIPPED = [["config.yaml"], ["config.yaml", "test.yaml"]] + [
    ["config.yaml", f"experiments/{path.name}"]
    for path in sorted((REPO / "config" / "experiments").glob("*.yaml"))] + [
    ["config.yaml", "experiments/cpu_learning.yaml", "experiments/cpu_learning_refver.yaml"],  # run 4, as it is run
    ["config.yaml", "experiments/cpu_learning.yaml", "experiments/cpu_learning_refver.yaml",
     "experiments/cpu_learning_enhancement.yaml"]]  # the enhancement comparison on run 4's data, as it is run


@pytest.mark.parametrize("files", SHIPPED, ids=lambda files: files[-1])
def test_every_shipped_config_and_its_variants_validate(files):
    """Every config as snakemake --configfile merges it over config/config.yaml, and every ablation variant."""
    from judgeflow.core.config_checks import load_config
    from judgeflow.core.variants import build_variants

    config = load_config(*(REPO / "config" / name for name in files))
    assert build_variants(config)


def test_splits_larger_than_the_sources_give(test_config):
    # test.yaml: sources give 30 + 6 + 6 + 6 = 48 records; splits need 8 + 14 + 6 x 2 rounds = 34
    validate_config(_bad(test_config, **{"data.splits": {"benchmark": 8, "seed": 14, "rollout_batch": 13}}))
    bad = _bad(test_config, **{"data.splits": {"benchmark": 8, "seed": 14, "rollout_batch": 14}})
    with pytest.raises(ConfigError, match=r"'data\.splits': the splits need 50 records .* give at most 48 "
                                          r"\(arithmetic 30, code 6, tool_use 6, instructions 6\)"):
        validate_config(bad)
    with pytest.raises(ConfigError, match=r"'data\.splits': the splits need 52 .*rollout\.rounds 5\)"):
        validate_config(_bad(test_config, **{"rollout.rounds": 5}))  # 8 + 14 + 6 x 5
    # a limited file source counts `limit`; one without limit makes the total unknown: left to ingest
    limited = {"name": "gsm", "type": "gsm8k", "path": "tests/fixtures/datasets/gsm8k.jsonl", "limit": 1}
    with pytest.raises(ConfigError, match=r"give at most 49 .*gsm 1\)"):
        validate_config(_bad(bad, **{"data.sources": bad["data"]["sources"] + [limited]}))
    unlimited = {key: value for key, value in limited.items() if key != "limit"}
    validate_config(_bad(bad, **{"data.sources": bad["data"]["sources"] + [unlimited]}))


def test_assign_splits_names_data_splits_when_the_data_is_short():
    from judgeflow.data.questions import assign_splits

    records = [{"id": f"q{i}"} for i in range(5)]
    with pytest.raises(ValueError, match=r"the splits need 6 questions \(data\.splits, rollout\.rounds\) but the "
                                         r"sources give 5"):
        assign_splits(records, {"benchmark": 2, "seed": 2, "rollout_batch": 1}, 2, 0)


def test_task_ratio_share_for_a_task_no_source_gives(default_config):
    pairs_only = [{"name": "instructions", "type": "synthetic_instructions", "num_instructions": 80},
                  {"name": "rb", "type": "rewardbench", "path": "x.jsonl"}]
    config = _bad(default_config, **{"data.sources": pairs_only})
    with pytest.raises(ConfigError) as caught:
        validate_config(config)
    message = str(caught.value)
    for task_type in ("step_level", "ref_verification", "ref_free_verification", "single_rating"):
        assert f"'data.task_ratio.{task_type}': a share of" in message
    assert "'data.task_ratio.pairwise'" not in message
    assert "sources: instructions (synthetic_instructions), rb (rewardbench)" in message
    only_pairwise = {"pairwise": 1.0, "step_level": 0, "ref_verification": 0.0, "ref_free_verification": 0,
                     "single_rating": 0}
    validate_config(_bad(config, **{"data.task_ratio": only_pairwise}))
    # options that change what a loader gives are followed
    prm = {"name": "prm", "type": "prm800k", "path": "x.jsonl", "task_types": ["step_level"]}
    ratio = {"pairwise": 1.0, "step_level": 1.0, "ref_verification": 1.0}
    with pytest.raises(ConfigError, match=r"'data\.task_ratio\.ref_verification'"):
        validate_config(_bad(config, **{"data.sources": pairs_only + [prm], "data.task_ratio": ratio}))
    del prm["task_types"]
    validate_config(_bad(config, **{"data.sources": pairs_only + [prm], "data.task_ratio": ratio}))
    helpsteer = {"name": "hs", "type": "helpsteer2", "path": "x.jsonl"}
    ratio = {"pairwise": 1.0, "single_rating": 1.0}
    with pytest.raises(ConfigError, match=r"'data\.task_ratio\.single_rating'"):
        validate_config(_bad(config, **{"data.sources": [helpsteer], "data.task_ratio": ratio}))
    validate_config(_bad(config, **{"data.sources": [{**helpsteer, "as_ratings": True}], "data.task_ratio": ratio}))


def test_source_task_types_cover_what_the_loaders_give():
    """What each registered source type says it gives (Loader.gives, through loaders.task_types_of) against what
    it makes of the test fixtures, so the two cannot drift apart."""
    from judgeflow import tasks
    from judgeflow.data import loaders

    fx = REPO / "tests" / "fixtures" / "datasets"
    specs = [{"type": kind, "path": str(fx / name)} for kind, name in [
        ("gsm8k", "gsm8k.jsonl"), ("math", "math.jsonl"), ("rewardbench", "rewardbench.jsonl"),
        ("ultrafeedback", "ultrafeedback.jsonl"), ("skywork", "skywork.jsonl"), ("prm800k", "prm800k.jsonl"),
        ("pandalm", "pandalm.json"), ("prometheus", "prometheus.json"), ("gsm8k_solutions", "gsm8k_solutions.jsonl"),
        ("judgebench", "judgebench.jsonl"), ("processbench", "processbench.jsonl"), ("helpsteer2", "helpsteer2.jsonl"),
        ("xstest", "xstest_prompts.csv"), ("mt_bench", "mt_bench_question.jsonl")]]
    specs += [{"type": "helpsteer2", "path": str(fx / "helpsteer2.jsonl"), "as_ratings": True},
              {"type": "xstest", "path": str(fx / "xstest_prompts.csv"),
               "completions": str(fx / "xstest_completions.csv")},
              {"type": "synthetic_arithmetic", "num_questions": 3, "min_steps": 1, "max_steps": 2, "max_operand": 9},
              {"type": "synthetic_code", "num_questions": 3}, {"type": "synthetic_tool_use", "num_questions": 3},
              {"type": "synthetic_instructions", "num_instructions": 3}]
    assert {spec["type"] for spec in specs} == set(loaders.loader_types())
    for spec in specs:
        records, _ = loaders.load_source({"name": "fx", **spec}, 0)
        assert records, spec
        given = {"question": set(tasks.names()), "instruction": {"pairwise"}}
        made = set().union(*(given.get(r["kind"], {r.get("task_type")}) for r in records))
        assert made <= loaders.task_types_of(spec), (spec, made)


def test_all_zero_task_ratio_is_named(default_config):
    zero = {task: 0 for task in default_config["data"]["task_ratio"]}
    with pytest.raises(ConfigError, match=r"'data\.task_ratio': every share is 0") as caught:
        validate_config(_bad(default_config, **{"data.task_ratio": zero}))
    assert "no source under data.sources" not in str(caught.value)


def test_lora_target_modules_that_match_nothing_in_the_tiny_model(test_config):
    for good in (["q_proj", "v_proj"], ["self_attn.o_proj", "down_proj", "lm_head", "embed_tokens"],
                 r"model\.layers\.\d+\.self_attn\.(q|v)_proj", "all-linear"):
        validate_config(_bad(test_config, **{"sft.lora.target_modules": good}))
    bad = _bad(test_config, **{"sft.lora.target_modules": ["q_proj", "query_key_value"],
                               "rollout.training.lora.target_modules": "q_proj",  # a regex: the full name
                               "dpo.training.lora.target_modules": ["self_attn"],  # not a layer LoRA adapts
                               "downstream.policy_dpo.training.lora.target_modules": "(unclosed"})
    with pytest.raises(ConfigError) as caught:
        validate_config(bad)
    message = str(caught.value)
    assert "'sft.lora.target_modules.1': 'query_key_value' names no linear or embedding layer of model " \
           "'tiny-judge'" in message and "known: down_proj, embed_tokens, gate_proj, k_proj, lm_head" in message
    assert "'sft.lora.target_modules.0'" not in message
    assert "'rollout.training.lora.target_modules': the regular expression 'q_proj' matches" in message
    assert "'dpo.training.lora.target_modules.0': 'self_attn'" in message
    assert "'downstream.policy_dpo.training.lora.target_modules': '(unclosed' is not a valid regular" in message
    # LoRA off, or a model whose architecture the config does not fix: not checked
    validate_config(_bad(bad, **{"sft.lora.enabled": False, "rollout.training.lora.enabled": False,
                                 "dpo.training.lora.enabled": False,
                                 "downstream.policy_dpo.training.lora.enabled": False}))
    default = with_training_defaults(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    validate_config(_bad(default, **{"sft.lora.target_modules": ["query_key_value"]}))


def test_tiny_modules_match_the_built_model():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from judgeflow.core.config_checks import tiny_modules

    tiny = {"hidden_size": 16, "num_layers": 2, "num_heads": 2}
    model = LlamaForCausalLM(LlamaConfig(vocab_size=300, hidden_size=16, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True))
    layers = {name for name, module in model.named_modules()
              if isinstance(module, (torch.nn.Linear, torch.nn.Embedding))}
    assert layers == {name for name, kind in tiny_modules(tiny).items() if kind in ("Linear", "Embedding")}
    assert set(dict(model.named_modules())) == set(tiny_modules(tiny))


def test_tiny_model_dimensions_that_do_not_divide(test_config):
    key = "models.tiny-judge.tiny"
    tiny = test_config["models"]["tiny-judge"]["tiny"]
    with pytest.raises(ConfigError, match=r"'models\.tiny-judge\.tiny\.num_heads': hidden_size 64 is not a "
                                          r"multiple of num_heads 5"):
        validate_config(_bad(test_config, **{key: {**tiny, "num_heads": 5}}))
    with pytest.raises(ConfigError, match=r"'models\.tiny-judge\.tiny\.num_heads': the head dimension .* = 66 / 6 "
                                          r"= 11 is odd"):
        validate_config(_bad(test_config, **{key: {**tiny, "hidden_size": 66, "num_heads": 6}}))
    validate_config(_bad(test_config, **{key: {**tiny, "hidden_size": 60, "num_heads": 5}}))


def test_max_length_too_small_for_any_judge_prompt(test_config):
    from judgeflow.core.config_checks import template_floor

    words, template_id = template_floor(test_config["judge"]["templates"])
    assert (words, template_id) == template_floor(["pairwise_critique_en"])
    assert words >= 40
    with pytest.raises(ConfigError) as caught:
        validate_config(_bad(test_config, **{"sft.max_length": words, "dpo.training.max_length": 16,
                                             "rollout.training.max_length": 20}))
    message = str(caught.value)
    assert f"'sft.max_length': {words} tokens cannot hold any judge prompt: the shortest template this stage " \
           f"trains with (pairwise_critique_en) has {words} words" in message
    assert "'dpo.training.max_length': 16 tokens" in message
    # direct-judgment items are rollout examples too, and a direct template is shorter
    direct_words, direct_id = template_floor(test_config["judge"]["direct_templates"])
    assert direct_words < words and "'rollout.training.max_length': 20 tokens" in message
    assert f"({direct_id}) has {direct_words} words" in message
    validate_config(_bad(test_config, **{"sft.max_length": words + 1}))
    # a stage that is off is not checked
    validate_config(_bad(test_config, **{"sft.max_length": 16, "teacher.max_sft_examples": 0}))


def test_micro_batch_size_must_divide_the_batch(test_config):
    batch = test_config["sft"]["batch_size"]
    assert batch > 1
    with pytest.raises(ConfigError, match=rf"'sft\.micro_batch_size': {batch + 1} rows per pass must divide "
                                          rf"batch_size \({batch}\)"):
        validate_config(_bad(test_config, **{"sft.micro_batch_size": batch + 1}))
    with pytest.raises(ConfigError, match=r"'sft\.micro_batch_size'"):
        validate_config(_bad(test_config, **{"sft.micro_batch_size": "all"}))
    validate_config(_bad(test_config, **{"sft.micro_batch_size": 1}))
    validate_config(_bad(test_config, **{"sft.micro_batch_size": "auto"}))


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    from judgeflow.core.config_checks import load_config

    path = tmp_path / "broken.yaml"
    path.write_text("experiment: x\nsft:\n  epochs: 1\n   learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml, line 4, column \d+: YAML syntax error: "):
        load_config(REPO / "config" / "config.yaml", path)
    path.write_text("experiment: x\nsft: {epochs: 1\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml, line \d+, column \d+: YAML syntax error: .*flow mapping"):
        load_config(path)


def test_config_check_command_names_the_yaml_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("experiment: x\nsft:\n  epochs: 1\n   learning_rate: 0.1\n")
    run = subprocess.run([sys.executable, "-m", "judgeflow.core.check_config", str(path)], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 1 and "broken.yaml, line 4, column" in run.stderr
    run = subprocess.run([sys.executable, "-m", "judgeflow.core.check_config", "config/test.yaml"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("valid: ")


def test_a_source_or_benchmark_at_a_missing_file_is_refused_naming_its_key(tmp_path):
    from judgeflow.core.config_checks import missing_inputs

    (tmp_path / "here.jsonl").write_text("{}\n")
    main = {"data": {"sources": [{"name": "a", "type": "gsm8k", "path": "here.jsonl"},
                                 {"name": "b", "type": "xstest", "path": "here.jsonl", "completions": "gone.jsonl"}]},
            "evaluation": {"benchmarks": [{"name": "rb", "type": "rewardbench", "path": "nope.jsonl"}]}}
    other = {**main, "evaluation": {"benchmarks": [{"name": "rb", "type": "rewardbench", "path": "else.jsonl"}]}}
    assert missing_inputs({"main": main, "v": other}, root=tmp_path) == [
        "data.sources[1].completions (b): gone.jsonl does not exist",
        "evaluation.benchmarks[0].path (rb): nope.jsonl does not exist",
        "evaluation.benchmarks[0].path (rb): else.jsonl does not exist (in variant v)"]
    missing = tmp_path / "missing.yaml"
    missing.write_text("evaluation:\n  benchmarks: [{name: rb, type: rewardbench, path: nope.jsonl}]\n")
    run = subprocess.run([sys.executable, "-m", "judgeflow.core.check_config", "config/test.yaml", str(missing)],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 1 and "evaluation.benchmarks[0].path (rb): nope.jsonl does not exist" in run.stderr
