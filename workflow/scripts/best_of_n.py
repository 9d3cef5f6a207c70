from judgeflow.core.config import as_plain
from judgeflow.stages.downstream import best_of_n

sm = snakemake  # noqa: F821
best_of_n(config=as_plain(sm.params.cfg), model=sm.wildcards.model, answers=sm.input.answers,
          model_dir=sm.input.model_dir, judgments=sm.output.judgments, metrics=sm.output.metrics,
          summary=sm.output.summary, log=sm.log[0], threads=sm.threads)
