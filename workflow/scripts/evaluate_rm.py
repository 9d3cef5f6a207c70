# The reward model as a judge of pairs (both responses scored) and verification items (the reward against the
# threshold in rm.summary.json), judgments in the `evaluate` format (model rm).
from judgeflow.core.config import as_plain
from judgeflow.stages.rl import evaluate_rm

sm = snakemake  # noqa: F821
evaluate_rm(config=as_plain(sm.params.cfg), benchmark=sm.wildcards.benchmark, heldout=sm.params.heldout,
            judge_items=sm.input.judge_items, model_dir=sm.input.model_dir, rm_summary=sm.input.rm_summary,
            judgments=sm.output.judgments, metrics=sm.output.metrics, summary=sm.output.summary, log=sm.log[0],
            threads=sm.threads)
