from judgeflow.core.config import as_plain
from judgeflow.stages.evaluate import evaluate_sc

sm = snakemake  # noqa: F821
evaluate_sc(config=as_plain(sm.params.cfg), model=sm.wildcards.model, benchmark=sm.wildcards.benchmark,
            heldout=sm.params.heldout, judge_items=sm.input.judge_items, model_dir=sm.input.model_dir,
            judgments=sm.output.judgments, metrics=sm.output.metrics, summary=sm.output.summary, log=sm.log[0],
            threads=sm.threads)
