# The reward model as a judge of pairs (both responses scored) and verification items (the reward against the
# threshold in rm.summary.json), judgments in the `evaluate` format (model rm).
from judgeflow.core.config import as_plain
from judgeflow.stages.rl import evaluate_rm

sm = snakemake  # noqa: F821
evaluate_rm(as_plain(sm.params.cfg), sm.wildcards.benchmark, sm.params.heldout, sm.input.judge_items, sm.input.model,
            sm.input.rm_summary, sm.output.judgments, sm.output.metrics, sm.output.summary, sm.log[0], sm.threads)
