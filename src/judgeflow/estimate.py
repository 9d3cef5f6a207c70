"""A wall-time estimate of a run's main DAG before its first job, from its token counts and this machine's peak.

Each model stage's tokens are the config's units (records of a split x samples x epochs) times the tokens one
unit cost in a measured run of the default config (CALIBRATION); model FLOPs are 2·P per sampled or prefilled
token and 4·P (LoRA) or 6·P (full) per trained token, as the stage summaries count them (judgeflow.hardware).
Seconds are FLOPs / (the matmul peak measured now x the share of it such work reached in measured runs,
EFFICIENCY: a low and a high figure per device and dtype), plus a measured fixed cost per job. The estimate
covers the main run (`snakemake all`), not the ablations or extra benchmark files; the report's cost table
(`training_costs.md`) shows what each job really took.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from judgeflow.config import REPO_ROOT
from judgeflow.config_checks import load_config
from judgeflow.hardware import describe, fact_lines

# Tokens processed per unit (the stage summaries' `compute.tokens` divided by the units of
# `stage_units`) in `make run` on config/config.yaml, commit 3a426ab (2026-12-02), a 2-core AMD EPYC Zen 4 in
# bf16: generate 14331 tokens / 80 record-samples, annotate 34549 / 80 seed-record-samples, dpo_sample 9035 / 80,
# rollout_sample 12710 / 40, evaluate ~20560 per model / 10 held-out records, train_sft 9860 / 20 seed-record-epochs,
# train_dpo 11206 / 20, train_rollout 5022 / 10. They hold the default task mix, prompt lengths and token budgets;
# a config far from them (one task type, longer critiques) is estimated less well.
CALIBRATION = {
    "generate_responses": 179.1, "annotate": 431.9, "dpo_sample": 112.9, "dpo_sample_seed": 431.9,
    "rollout_sample": 317.8, "evaluate": 2056.0, "train_sft": 493.0, "train_dpo": 560.3, "train_rollout": 502.2,
    "train_rl": 431.9, "train_rm": 560.3,
}
# The share of the matmul peak of the dtype in use that model work reached, (low, high), by (device, dtype),
# from the stage summaries and benchmarks in benchmarks/README.md: bf16 on a Zen 4 and a Zen 5 EPYC (sampling
# 11-29 %, LoRA training 6-13 %), float32 on an AVX2 EPYC (sampling 36-66 %, training 20-39 %). GPUs: not
# measured, a wide guess, flagged as such.
EFFICIENCY = {
    ("cpu", "bfloat16"): {"sampling": (0.11, 0.29), "training": (0.06, 0.13)},
    ("cpu", "float32"): {"sampling": (0.36, 0.66), "training": (0.20, 0.39)},
}
GUESSED_EFFICIENCY = {"sampling": (0.05, 0.40), "training": (0.10, 0.50)}
# Seconds per job besides model work (imports, loading, the in-job peak probe, Snakemake's own bookkeeping) in
# the calibration run: 17-30 s per model job, ~8 s per light job, 34 s to prepare the GGUF model.
JOB_SECONDS = {"model": (17.0, 30.0), "light": (5.0, 10.0), "prepare": (20.0, 40.0)}


@dataclass
class StageCost:
    stage: str
    jobs: int
    kind: str  # sampling | training
    tokens: float
    flops: float


def parameter_count(name: str, spec: dict, models_dir: str | Path = "resources/models") -> int | None:
    """Parameters of a model under `models`, without loading it: the prepare_model summary when the model is
    prepared, else the tensor shapes of a packaged GGUF file or of a local folder's safetensors headers.
    0 for an API model (no local compute); None when it cannot be known before preparation (a tiny model, a
    hub id)."""
    summary = Path(models_dir) / f"{name}.summary.json"
    if summary.exists():
        return json.loads(summary.read_text()).get("parameters")
    if spec["source"] == "openai":
        return 0
    if spec["source"] == "gguf_package":
        found = importlib.util.find_spec(spec["package"])
        path = Path(found.origin).parent / spec["file"] if found and found.origin else None
        if path is None or not path.exists():
            return None
        from gguf import GGUFReader

        return sum(int(math.prod(tensor.shape)) for tensor in GGUFReader(path).tensors)
    if spec["source"] == "hf" and Path(spec["path"]).is_dir():
        return _safetensors_parameters(Path(spec["path"]))
    return None


def _safetensors_parameters(folder: Path) -> int | None:
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with open(file, "rb") as handle:
            header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
        total += sum(math.prod(t["shape"]) for key, t in header.items() if key != "__metadata__")
    return total


def stage_units(config: dict) -> list[tuple[str, int, float]]:
    """(stage, jobs, units) of the main run's model stages, units as CALIBRATION counts them."""
    splits, rollout = config["data"]["splits"], config["rollout"]
    rounds = rollout["rounds"]
    fresh = rollout.get("items", "fresh") == "fresh"
    round_records = splits["rollout_batch"] if fresh else splits["seed"]
    generators = config["generate"]["generators"]
    records = splits["benchmark"] + splits["seed"] + (splits["rollout_batch"] * rounds if fresh else 0)
    rows = [("generate_responses", len(generators),
             len(generators) * records * config["generate"]["samples_per_question"])]
    if config["teacher"].get("critiques", "model") == "model":
        rows.append(("annotate", 1, splits["seed"] * config["teacher"]["samples_per_order"]))
    sft = config["teacher"].get("max_sft_examples") != 0
    if sft:
        rows.append(("train_sft", 1, splits["seed"] * config["sft"]["epochs"]))
    dpo = config["dpo"].get("max_pairs") != 0
    if dpo:
        key = "dpo_sample_seed" if config["dpo"].get("items") == "seed" else "dpo_sample"
        rows += [(key, 1, splits["seed"] * config["dpo"]["samples_per_item"]),
                 ("train_dpo", 1, splits["seed"] * config["dpo"]["training"]["epochs"])]
    if rounds:
        rows += [("rollout_sample", rounds, rounds * round_records * rollout["samples_per_item"]),
                 ("train_rollout", rounds, rounds * round_records * rollout["training"]["epochs"])]
    rl, rm = config.get("rl", {}), config.get("reward_model", {})
    if rl.get("enabled") and rl.get("max_items") != 0:
        items = rl["max_items"] or splits["seed"]
        rows.append(("train_rl", 1, items * 2 * rl["num_generations"] * rl["training"]["epochs"]))
    if rm.get("enabled"):
        rows.append(("train_rm", 1, splits["seed"] * rm["training"]["epochs"]))
    models = 1 + sft + dpo + rounds + bool(rl.get("enabled")) + bool(rm.get("enabled"))
    rows.append(("evaluate", models, models * splits["benchmark"]))
    return rows


def stage_costs(config: dict, parameters: dict[str, int]) -> list[StageCost]:
    """Tokens and model FLOPs per stage. parameters: model name -> count (0 for an API model)."""
    base = parameters[config["base_model"]]
    teacher = parameters[config["teacher"]["model"]]
    generators = [parameters[name] for name in config["generate"]["generators"]]
    costs = []
    for stage, jobs, units in stage_units(config):
        tokens = units * CALIBRATION[stage]
        if stage == "generate_responses":
            flops = 2 * tokens * sum(generators) / len(generators)
        elif stage == "annotate":
            flops = 2 * tokens * teacher
        elif stage.startswith("train_"):
            block = {"train_sft": config["sft"], "train_dpo": config["dpo"]["training"],
                     "train_rollout": config["rollout"]["training"], "train_rl": config.get("rl", {}).get("training"),
                     "train_rm": config.get("reward_model", {}).get("training")}[stage]
            per_token = 4 if block["lora"]["enabled"] else 6
            # GRPO also samples its completions (2·P per token) before it trains on them
            flops = (per_token + (2 if stage == "train_rl" else 0)) * tokens * base
        else:
            flops = 2 * tokens * base
        costs.append(StageCost(stage, jobs, "training" if stage.startswith("train_") else "sampling", tokens, flops))
    return costs


def light_jobs(config: dict) -> int:
    """Jobs without model work in the main run: ingest, build_items and the report's four."""
    return 6


def estimate(config: dict, parameters: dict[str, int], peak_gflops: float, device: str, dtype: str) -> dict:
    """Seconds (low, high) per stage and in total for the main run, with the assumptions named."""
    efficiency = EFFICIENCY.get((device, dtype))
    rows, low, high = [], 0.0, 0.0
    for cost in stage_costs(config, parameters):
        share = (efficiency or GUESSED_EFFICIENCY)[cost.kind]
        fixed = cost.jobs * JOB_SECONDS["model"][0], cost.jobs * JOB_SECONDS["model"][1]
        seconds = (cost.flops / (peak_gflops * 1e9 * share[1]) + fixed[0],
                   cost.flops / (peak_gflops * 1e9 * share[0]) + fixed[1])
        rows.append({"stage": cost.stage, "jobs": cost.jobs, "kind": cost.kind, "tokens": round(cost.tokens),
                     "gflop": round(cost.flops / 1e9), "seconds": [round(s) for s in seconds]})
        low, high = low + seconds[0], high + seconds[1]
    light, prepare = light_jobs(config), sum(parameters[name] != 0 for name in config["models"])
    low += light * JOB_SECONDS["light"][0] + prepare * JOB_SECONDS["prepare"][0]
    high += light * JOB_SECONDS["light"][1] + prepare * JOB_SECONDS["prepare"][1]
    return {"stages": rows, "light_jobs": light, "seconds": [round(low), round(high)], "device": device,
            "dtype": dtype, "peak_gflops": peak_gflops, "calibrated": efficiency is not None}


def model_parameters(config: dict, models_dir: str | Path = "resources/models") -> dict[str, int | None]:
    return {name: parameter_count(name, spec, models_dir) for name, spec in config["models"].items()}


def describe_estimate(result: dict) -> list[str]:
    """The lines `make run` prints."""
    low, high = (s / 60 for s in result["seconds"])
    lines = [f"  estimate:   ~{math.sqrt(low * high):.0f} min ({low:.0f}-{high:.0f}) for the main run at "
             f"{result['dtype']} ({result['peak_gflops']:.0f} GFLOP/s peak x the share measured runs reached"
             + ("" if result["calibrated"] else "; NOT calibrated on this kind of device: a wide guess") + ")"]
    for row in result["stages"]:
        lines.append(f"    {row['stage']:20} {row['jobs']:2d} job(s) {row['tokens']:>9,} tokens "
                     f"{row['gflop']:>7,} GFLOP {row['seconds'][0] / 60:5.1f}-{row['seconds'][1] / 60:4.1f} min")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m judgeflow.estimate THREADS [CONFIG...]`: the hardware check, then the estimate for the main run
    of the merged configs (config/config.yaml first when it is not given), before the first job."""
    import torch

    args = sys.argv[1:] if argv is None else argv
    torch.set_num_threads(int(args[0]))
    facts = describe()
    print("\n".join(fact_lines(facts)))
    paths = [Path(p) for p in args[1:]]
    default = REPO_ROOT / "config" / "config.yaml"
    if not any(p.resolve() == default for p in paths):
        paths.insert(0, default)
    config = load_config(*paths)
    parameters = model_parameters(config)
    unknown = sorted(name for name, count in parameters.items() if count is None)
    if unknown:
        print(f"  estimate:   none before {', '.join(unknown)} is prepared (its parameter count is not known yet)")
        return 0
    dtype = facts["auto_precision"] if config["generation"]["dtype"] == "auto" else config["generation"]["dtype"]
    peak = facts["peak_gflops"].get(dtype, facts["peak_gflops"]["float32"])
    print("\n".join(describe_estimate(estimate(config, parameters, peak, facts["device"], dtype))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
