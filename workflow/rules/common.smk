# Config loading, validation and the path helpers every rule uses.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from judgeflow.config import ConfigError, select, stage_models, validate_config  # noqa: E402

try:
    validate_config(config)
except ConfigError as error:
    raise WorkflowError(str(error))

RESULTS = f"results/{config['experiment']}"
LOGS = f"{RESULTS}/logs"
ENV = "../../environment.yml"
THREADS = config["threads"]
STAGE_MODELS = stage_models(config)
ROUNDS = config["rollout"]["rounds"]
TRAINING = config["resources"]["training"]
SAMPLING = config["resources"]["sampling"]
LIGHT = config["resources"]["light"]
ACCELERATE_CONFIG = config["launch"]["accelerate_config"]


wildcard_constraints:
    model="base|sft|dpo|round_[0-9]+",
    name="[A-Za-z0-9][A-Za-z0-9_-]*",
    round="[0-9]+",


def settings(*keys):
    """The config slice a rule's script reads; as a param it re-runs the rule when these settings change."""
    return select(config, *keys)


def local_source_files():
    """Data files the ingest reads, declared as inputs so that editing one re-runs ingest and what follows."""
    return [source["path"] for source in config["data"]["sources"] if "path" in source]


def base_model_dir(name=None):
    return f"resources/models/{name or config['base_model']}"


def model_dir(model):
    """Folder of a model of the run: base, sft, dpo or round_<r>."""
    return base_model_dir() if model == "base" else f"{RESULTS}/models/{model}"


def previous_model(round_index):
    return "dpo" if int(round_index) == 1 else f"round_{int(round_index) - 1}"


def rollout_init(round_index):
    """Where round r's training starts: round r-1 (rollout.init: previous) or the round-0 model (seed)."""
    return model_dir("dpo" if config["rollout"]["init"] == "seed" else previous_model(round_index))


def report_outputs():
    return multiext(f"{RESULTS}/report/metrics", ".csv", ".md", ".png")
