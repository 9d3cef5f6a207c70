"""A wall-time estimate of a run's main DAG before its first job, from its token counts and this machine's peak.

Each model stage's tokens come from the config: judge prompts per split (records x the items a record gives per
task type with a share x its orders, after the seed split's task mix), samples and token budgets, SFT examples and
preference pairs per prompt, epochs, with the per-prompt constants below measured in the stage summaries of the
default run and of learning runs 5 and 6; model FLOPs are 2·P per sampled or prefilled token and 4·P (LoRA) or
6·P (full) per trained token, as the stage summaries count them (judgeflow.core.hardware).
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

from judgeflow import tasks
from judgeflow.core.config_checks import load_config, with_default_config
from judgeflow.core.hardware import describe, fact_lines

# Per-prompt constants, from the stage summaries of `make run` on config/config.yaml (commit 3a426ab, Zen 4, the
# five-task mix) and of learning runs 5-6 (reference verification alone); each names what it was read from.
ITEM_YIELD = 0.8         # judge items per record and task type with a share (default held-out split: 39 of 50)
PROMPT_TOKENS = 350      # prefilled tokens of a judge prompt (default teacher: 57 prompts x (350 + 4 x 54) = 34.5k)
CRITIQUE_FILL = 0.85     # sampled share of a critique's budget (default teacher: 54 of 64 tokens) ...
CRITIQUE_CAP = 64        # ... and critiques end by about here whatever the budget (runs 5-6: ~40 of 128)
QUESTION_TOKENS = 90     # a question prompt of generate-then-grade (default: 80 x (90 + 0.93 x 96) = 14.3k)
ANSWER_FILL = 0.93       # sampled share of an answer's budget (answers mostly run to the limit)
EXAMPLE_TOKENS = 310     # a trained judge example, prompt + completion (default SFT 308, run 6's SFT 276)
PAIR_TOKENS = 750        # a DPO pair, both sides (default 934, run 5 569)
RM_PAIR_TOKENS = 400     # a reward-model pair: two question + response conversations, no judge template
SFT_KEEP = {"model": 0.45, "programmatic": 0.85}  # SFT examples per seed prompt (default 26 of 57; run 4 220 of 260)
DPO_POOL = 0.3           # DPO-sampled prompts per seed prompt when DPO samples the teacher's pool (default 19 of 57)
DPO_PAIRS = {"pool": 0.2, "seed": 0.87}   # DPO pairs per seed prompt (default 12 of 57; run 5 225 of 260)
ROUND_KEEP = 0.6         # kept round examples per round prompt (default 14 of 27; run 5 240 of 260)
RM_PAIRS = 0.45          # reward-model pairs per seed prompt (run 6: 110 of 260)
# The share of the matmul peak of the dtype in use that model work reached, (low, high), by (device, dtype),
# from the stage summaries and benchmarks in benchmarks/README.md: bf16 on a Zen 4 and a Zen 5 EPYC (sampling
# 11-42 %; causal-LM training 28-49 % in the Zen 4 `make run` of 2026-12-03 evening, once SFT and DPO ran one row
# per pass, 32-45 % in the benchmarks; the reward model, which has no 49k-vocabulary head, 39 % in run 6), float32
# on an AVX2 EPYC and on the Zen 4 restricted to AVX2 code (sampling 34-66 %; training 46-74 % in that evening's
# run, 20-45 % on the AVX2 EPYC before the LM-head and one-row changes). GPUs: not measured, a wide guess, flagged
# as such.
EFFICIENCY = {
    ("cpu", "bfloat16"): {"sampling": (0.11, 0.42), "training": (0.22, 0.45), "reward_model": (0.20, 0.40)},
    ("cpu", "float32"): {"sampling": (0.34, 0.66), "training": (0.30, 0.60), "reward_model": (0.20, 0.45)},
}
GUESSED_EFFICIENCY = {"sampling": (0.05, 0.40), "training": (0.10, 0.50), "reward_model": (0.10, 0.50)}
# Seconds per job besides model work (imports, loading, the in-job peak probe, Snakemake's own bookkeeping): in
# the Zen 4 `make run` of 2026-12-03, once the venv held compiled bytecode (tools/install.py), 3.6-5.1 s inside a
# sampling job and 9.7-10.7 s inside a training job, plus Snakemake's start of each job; ~5 s per light job;
# 29 s to prepare the GGUF model. (Before the bytecode, 17-30 s per model job.)
JOB_SECONDS = {"model": (6.0, 16.0), "light": (3.0, 8.0), "prepare": (20.0, 40.0)}


@dataclass
class StageCost:
    stage: str
    jobs: int
    kind: str  # sampling | training | reward_model (EFFICIENCY's keys)
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


def judge_prompts(records: float, config: dict, mixed: bool) -> float:
    """Judge prompts of `records` records: ITEM_YIELD items per task type with a share, both orders of a pairwise
    one. `mixed`: the seed split and rollout batches keep the largest subset that follows data.task_ratio, so the
    task with the largest share caps the items (the held-out split keeps every item)."""
    ratio = {task: share for task, share in config["data"]["task_ratio"].items() if share > 0}
    orders = {task: len(tasks.get(task).orders) for task in ratio}
    if not mixed:
        return records * ITEM_YIELD * sum(orders.values())
    total = sum(ratio.values())
    items = min(records * ITEM_YIELD * total / max(ratio.values()), records * ITEM_YIELD * len(ratio))
    return items * sum(share / total * orders[task] for task, share in ratio.items())


def _sampled(prompts: float, samples: int, max_new_tokens: int) -> float:
    """Tokens a sampler processes: each prompt prefilled once (its samples share it) and each sample's critique."""
    return prompts * (PROMPT_TOKENS + samples * CRITIQUE_FILL * min(max_new_tokens, CRITIQUE_CAP))


def stage_tokens(config: dict) -> list[tuple[str, int, float]]:
    """(stage, jobs, tokens) of the main run's model stages."""
    splits, rollout, teacher = config["data"]["splits"], config["rollout"], config["teacher"]
    rounds = rollout["rounds"]
    fresh = rollout.get("items", "fresh") == "fresh"
    seed_prompts = judge_prompts(splits["seed"], config, mixed=True)
    round_prompts = judge_prompts(splits["rollout_batch"], config, mixed=True) if fresh else seed_prompts
    generate = config["generate"]
    records = splits["benchmark"] + splits["seed"] + (splits["rollout_batch"] * rounds if fresh else 0)
    rows = [("generate_responses", len(generate["generators"]),
             len(generate["generators"]) * records * generate["samples_per_question"]
             * (QUESTION_TOKENS + ANSWER_FILL * generate["sampling"]["max_new_tokens"]))]
    critiques = teacher.get("critiques", "model")
    if critiques == "model":
        rows.append(("annotate", 1, _sampled(seed_prompts, teacher["samples_per_order"],
                                             teacher["sampling"]["max_new_tokens"])))
    sft = teacher.get("max_sft_examples") != 0
    if sft:
        examples = min(teacher.get("max_sft_examples") or math.inf, seed_prompts * SFT_KEEP[critiques])
        examples /= 1 - teacher.get("chat_share", 0.0)
        rows.append(("train_sft", 1, examples * config["sft"]["epochs"] * EXAMPLE_TOKENS))
    dpo = config["dpo"]
    with_dpo = dpo.get("max_pairs") != 0
    if with_dpo:
        items = dpo.get("items", "pool")
        pairs = min(dpo.get("max_pairs") or math.inf, seed_prompts * DPO_PAIRS[items])
        rows += [("dpo_sample", 1, _sampled(seed_prompts * (DPO_POOL if items == "pool" else 1),
                                            dpo["samples_per_item"], dpo["sampling"]["max_new_tokens"])),
                 ("train_dpo", 1, pairs * dpo["training"]["epochs"] * PAIR_TOKENS)]
    if rounds:
        rows += [("rollout_sample", rounds, rounds * _sampled(round_prompts, rollout["samples_per_item"],
                                                              rollout["sampling"]["max_new_tokens"])),
                 ("train_rollout", rounds, rounds * round_prompts * ROUND_KEEP * rollout["training"]["epochs"]
                  * EXAMPLE_TOKENS)]
    rl, rm = config.get("rl", {}), config.get("reward_model", {})
    if rl.get("enabled") and rl.get("max_items") != 0:
        completions = 2 * (rl["max_items"] or seed_prompts) * rl["num_generations"]  # two rows per item
        rows.append(("train_rl", 1, completions * rl["training"]["epochs"]
                     * (PROMPT_TOKENS + CRITIQUE_FILL * min(rl["max_completion_length"], CRITIQUE_CAP))))
    if rm.get("enabled"):
        rows.append(("train_rm", 1, seed_prompts * RM_PAIRS * rm["training"]["epochs"] * RM_PAIR_TOKENS))
    models = 1 + sft + with_dpo + rounds + bool(rl.get("enabled"))  # rm scores, it does not sample: left out
    heldout = judge_prompts(splits["benchmark"], config, mixed=False)
    rows.append(("evaluate", models, models * _sampled(heldout, 1, config["evaluation"]["sampling"]["max_new_tokens"])))
    return rows


def stage_costs(config: dict, parameters: dict[str, int]) -> list[StageCost]:
    """Tokens and model FLOPs per stage. parameters: model name -> count (0 for an API model)."""
    base = parameters[config["base_model"]]
    teacher = parameters[config["teacher"]["model"]]
    generators = [parameters[name] for name in config["generate"]["generators"]]
    blocks = {"train_sft": config["sft"], "train_dpo": config["dpo"]["training"],
              "train_rollout": config["rollout"]["training"], "train_rl": config.get("rl", {}).get("training"),
              "train_rm": config.get("reward_model", {}).get("training")}
    costs = []
    for stage, jobs, tokens in stage_tokens(config):
        if stage == "generate_responses":
            flops = 2 * tokens * sum(generators) / len(generators)
        elif stage == "annotate":
            flops = 2 * tokens * teacher
        elif stage in blocks:
            per_token = 4 if blocks[stage]["lora"]["enabled"] else 6
            # GRPO also samples its completions (2·P per token) before it trains on them
            flops = (per_token + (2 if stage == "train_rl" else 0)) * tokens * base
        else:
            flops = 2 * tokens * base
        kind = "reward_model" if stage == "train_rm" else "training" if stage in blocks else "sampling"
        costs.append(StageCost(stage, jobs, kind, tokens, flops))
    return costs


LIGHT_JOBS = 6  # jobs without model work in the main run: ingest, build_items and the report's four


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
    prepare = sum(parameters[name] != 0 for name in config["models"])
    low += LIGHT_JOBS * JOB_SECONDS["light"][0] + prepare * JOB_SECONDS["prepare"][0]
    high += LIGHT_JOBS * JOB_SECONDS["light"][1] + prepare * JOB_SECONDS["prepare"][1]
    return {"stages": rows, "light_jobs": LIGHT_JOBS, "seconds": [round(low), round(high)], "device": device,
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
    """`python -m judgeflow.core.estimate THREADS [CONFIG...]`: the hardware check, then the estimate for the main run
    of the merged configs (config/config.yaml first when it is not given), before the first job."""
    import torch

    args = sys.argv[1:] if argv is None else argv
    torch.set_num_threads(int(args[0]))
    facts = describe()
    print("\n".join(fact_lines(facts)))
    config = load_config(*with_default_config(args[1:]))
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
