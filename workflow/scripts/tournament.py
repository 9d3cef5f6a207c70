from judgeflow.core.config import as_plain
from judgeflow.stages.downstream import tournament

sm = snakemake  # noqa: F821
tournament(config=as_plain(sm.params.cfg), judge=sm.params.judge, answers=sm.input.answers, records=sm.input.records,
           model_dir=sm.input.model_dir, pairs=sm.output.pairs, judgments=sm.output.judgments,
           summary=sm.output.summary, log=sm.log[0], threads=sm.threads)
