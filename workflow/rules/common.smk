# Config loading, validation and the path helpers every rule uses.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from judgeflow.core.config import (  # noqa: E402
    ConfigError,
    as_plain,
    chain_models,
    final_model,
    select,
    stage_models,
)
from judgeflow.core.config_checks import missing_inputs  # noqa: E402
from judgeflow.data.loaders import local_files  # noqa: E402
from judgeflow.core.variants import (
    MAIN,
    ablation_grid,
    build_variants,
    canonical,
    model_stage,
    stage_keys,
)  # noqa: E402

try:
    VARIANTS = build_variants(as_plain(config))
except ConfigError as error:
    raise WorkflowError(str(error))
MISSING_INPUTS = missing_inputs(VARIANTS)
if MISSING_INPUTS:
    raise WorkflowError("missing input files:\n  " + "\n  ".join(MISSING_INPUTS))

RESULTS = f"results/{config['experiment']}"
LOGS = f"{RESULTS}/logs"
ENV = "../../environment.yml"
THREADS = config["threads"]
TRAINING = config["resources"]["training"]
SAMPLING = config["resources"]["sampling"]
LIGHT = config["resources"]["light"]
ACCELERATE_CONFIG = config["launch"]["accelerate_config"]
BENCHMARKS = ["heldout"] + [spec["name"] for spec in config["evaluation"]["benchmarks"]]
ABLATION_NAMES = "|".join(config["ablations"]) or "(?!)"  # the {ablation} wildcard matches only these


wildcard_constraints:
    variant="[A-Za-z0-9_.=+-]+",
    model="base|sft|dpo|round_[0-9]+|rl",
    name="[A-Za-z0-9][A-Za-z0-9_-]*",
    benchmark="[A-Za-z0-9][A-Za-z0-9_.-]*",
    round="[0-9]+",
    policy="base|dpo",
    split="benchmark|seed",
    mode="sampled|greedy",
    ablation=ABLATION_NAMES,


def vcfg(variant):
    """The full config of a variant (main: the config itself; see judgeflow.core.variants)."""
    return VARIANTS[variant]


def settings(stage):
    """Param function: the config slice `stage` reads (judgeflow.core.variants.STAGES), for the job's variant.
    As a param it re-runs the rule exactly when these settings change."""
    return lambda w: select(vcfg(w.variant), *stage_keys(stage))


def run_dir(variant, *stages):
    """Folder of a variant's outputs for the given stages: the first variant with identical upstream settings."""
    return f"{RESULTS}/{canonical(VARIANTS, variant, *stages)}"


# The data files several rules read: the stage that makes each one and its place in a variant's folder. The
# producing rule's output and every consumer's input come from here (artifact), so the path is written once.
ARTIFACTS = {
    "records": ("ingest", "data/records.jsonl"),
    "judge_items": ("build_items", "data/items.jsonl"),
    "sft_examples": ("annotate", "annotate/sft.jsonl"),
    "dpo_pool": ("annotate", "annotate/dpo_pool.jsonl"),
    "dpo_pairs": ("dpo_sample", "dpo/pairs.jsonl"),
}


def artifact(name, variant=None):
    """The file `name` of a variant (in the folder of the first variant with the same upstream settings), or,
    without a variant, its producing rule's output pattern (variant as a wildcard)."""
    stage, path = ARTIFACTS[name]
    return f"{RESULTS}/{{variant}}/{path}" if variant is None else f"{run_dir(variant, stage)}/{path}"


def local_source_files(specs):
    """Data files a stage reads, declared as inputs so that editing one re-runs it and what follows."""
    return [path for spec in specs for path in local_files(spec)]


def base_model_dir(name=None):
    return f"resources/models/{name or config['base_model']}"


def model_dir(variant, model):
    """Folder of a model of a variant: base, sft, dpo, round_<r>, rl or rm. A stage given no data is skipped and
    its model is the one it would have started from (teacher.max_sft_examples 0, dpo.max_pairs 0, rl.max_items 0)."""
    model = evaluated_model(variant, model)
    if model == "base":
        return base_model_dir(vcfg(variant)["base_model"])
    return f"{run_dir(variant, model_stage(model))}/models/{model}"


def dpo_init_dir(variant):
    """DPO starts from the SFT model (RISE) or from the base model (dpo.init: base, the 'Instruct+DPO' arm)."""
    return model_dir(variant, "sft" if vcfg(variant)["dpo"]["init"] == "sft" else "base")


def dpo_items(variant):
    """The items DPO samples on: the teacher's DPO pool (dpo.items: pool, RISE) or the seed split (seed)."""
    if vcfg(variant)["dpo"]["items"] == "seed":
        return artifact("judge_items", variant)
    return artifact("dpo_pool", variant)


def programmatic_teacher(variant):
    """Critiques written from the known truth (teacher.critiques: programmatic): no teacher model is loaded."""
    return vcfg(variant)["teacher"]["critiques"] == "programmatic"


def judge_stages(variant):
    """The stages that make the final judge: the rollout rounds, and GRPO when it continues them (rl.init: final)."""
    return ("rollout", "train_rl") if final_model(vcfg(variant)) == "rl" else ("rollout",)


def policy_dir(variant, policy):
    """The downstream policy before (base) or after DPO on its judge's tournament picks (dpo)."""
    if policy == "base":
        return base_model_dir(vcfg(variant)["downstream"]["policy"])
    return f"{run_dir(variant, *judge_stages(variant), 'evaluate', 'policy_answers')}/models/policy_dpo"


def policy_answers_file(variant, policy, split, mode):
    stages = ("policy_answers",) if policy == "base" else (*judge_stages(variant), "evaluate", "policy_answers")
    return f"{run_dir(variant, *stages)}/downstream/answers/{policy}_{split}_{mode}.jsonl"


def previous_model(round_index):
    return "dpo" if int(round_index) == 1 else f"round_{int(round_index) - 1}"


def rollout_init(variant, round_index):
    """Where round r's training starts: round r-1 (rollout.init: previous) or the round-0 model (seed)."""
    start = "dpo" if vcfg(variant)["rollout"]["init"] == "seed" else previous_model(round_index)
    return model_dir(variant, start)


def rl_init_model(variant):
    """Where GRPO starts (rl.init): the SFT model, the DPO model, or the chain's last model (final)."""
    init = vcfg(variant)["rl"]["init"]
    return chain_models(vcfg(variant))[-1] if init == "final" else init


def evaluated_model(variant, model):
    """The model whose weights (and so whose evaluation) stand for `model`: a stage skipped by config
    (teacher.max_sft_examples 0, dpo.max_pairs 0, rl.max_items 0) holds the weights it would have started from."""
    cfg = vcfg(variant)
    if model == "sft" and cfg["teacher"]["max_sft_examples"] == 0:
        return "base"
    if model == "dpo" and cfg["dpo"]["max_pairs"] == 0:
        return evaluated_model(variant, "sft" if cfg["dpo"]["init"] == "sft" else "base")
    if model == "rl" and cfg["rl"]["max_items"] == 0:
        return evaluated_model(variant, rl_init_model(variant))
    return model


def eval_dir(variant, model, benchmark):
    """Evaluation outputs of one model of a variant on one benchmark."""
    model = evaluated_model(variant, model)
    evaluation = "evaluate_rm" if model == "rm" else "evaluate"  # the reward model is scored by evaluate_rm
    return f"{run_dir(variant, model_stage(model), evaluation)}/eval/{model}/{benchmark}"


def benchmark_items(variant, benchmark):
    if benchmark == "heldout":
        return artifact("judge_items", variant)
    return f"{RESULTS}/benchmarks/{benchmark}.jsonl"


def main_metrics():
    """Every model of the main run on every benchmark."""
    files = [
        f"{eval_dir(MAIN, model, benchmark)}/metrics.json" for model in stage_models(config) for benchmark in BENCHMARKS
    ]
    return list(dict.fromkeys(files))  # a skipped stage shares its start model's evaluation


def main_judgments():
    """The judgment files behind main_metrics (beside each metrics.json)."""
    return [str(Path(path).with_name("judgments.jsonl")) for path in main_metrics()]


def main_training_summaries():
    """The summary.json of every model the main run trains (a stage skipped by config trains nothing)."""
    return [
        f"{model_dir(MAIN, model)}.summary.json"
        for model in stage_models(config)[1:]
        if evaluated_model(MAIN, model) == model
    ]


def main_sampling_summaries():
    """The summary.json of every job of the main run that samples from a model (generators, teacher, DPO and
    rollout sampling, evaluations): with the trained stages' they make the report's per-stage cost table."""
    cfg = vcfg(MAIN)
    files = [
        f"{run_dir(MAIN, 'generate_responses')}/data/responses/{name}.summary.json"
        for name in cfg["generate"]["generators"]
    ]
    if not programmatic_teacher(MAIN):
        files.append(f"{run_dir(MAIN, 'annotate')}/annotate/summary.json")
    if evaluated_model(MAIN, "dpo") == "dpo":
        files.append(f"{run_dir(MAIN, 'dpo_sample')}/dpo/summary.json")
    rounds = range(1, cfg["rollout"]["rounds"] + 1)
    files += [f"{run_dir(MAIN, 'rollout')}/rollout/round_{r}/summary.json" for r in rounds]
    files += [str(Path(path).with_name("summary.json")) for path in main_metrics()]
    return files


def report_outputs():
    return (
        multiext(f"{RESULTS}/report/metrics", ".csv", ".md", ".tex", ".png", ".pdf")
        + multiext(f"{RESULTS}/report/delta_vs_base", ".csv", ".md", ".tex")
        + multiext(f"{RESULTS}/report/training_curves", ".csv", ".png", ".pdf")
        + [f"{RESULTS}/report/training_costs.md"]
    )


def ablation_cells(name):
    """One row per (grid point, model) of an ablation: where its metrics are and what it varied."""
    spec = config["ablations"][name]
    grid = ablation_grid(name, spec) if spec["vary"] else [(MAIN, {})]
    cells = []
    for variant, point in grid:
        models = stage_models(vcfg(variant))
        final = final_model(vcfg(variant))
        wanted = models if spec["models"] == ["all"] else [final if m == "final" else m for m in spec["models"]]
        for model in wanted:
            folder = eval_dir(variant, model, spec["benchmark"])
            metrics = "sc_metrics.json" if spec["plot"] == "sc_curve" else "metrics.json"
            cells.append({"variant": variant, "point": point, "model": model, "metrics": f"{folder}/{metrics}"})
    return cells


def ablation_metric_files(name):
    return sorted({cell["metrics"] for cell in ablation_cells(name)})
