import copy
import subprocess
import sys

import pytest
import yaml

from conftest import REPO
from judgeflow.config import ConfigError, config_hash, deep_merge, select, stage_models, validate_config


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
