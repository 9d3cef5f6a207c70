from judgeflow.core.config import as_plain
from judgeflow.stages.evaluate import evaluate_sc

sm = snakemake  # noqa: F821
evaluate_sc(as_plain(sm.params.cfg), sm.wildcards.model, sm.wildcards.benchmark, sm.params.heldout,
            sm.input.judge_items, sm.input.model, sm.output.judgments, sm.output.metrics, sm.output.summary, sm.log[0],
            sm.threads)
