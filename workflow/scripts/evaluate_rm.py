# The reward model as a pairwise judge: both responses scored, judgments in the `evaluate` format (model rm).
from judgeflow.config import as_plain
from judgeflow.stages import evaluate_rm

sm = snakemake  # noqa: F821
evaluate_rm(as_plain(sm.params.cfg), sm.wildcards.benchmark, sm.params.heldout, sm.input.judge_items, sm.input.model,
            sm.output.judgments, sm.output.metrics, sm.output.summary, sm.log[0], sm.threads)
