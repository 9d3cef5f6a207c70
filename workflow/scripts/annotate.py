from judgeflow.core.config import as_plain
from judgeflow.stages.annotate import annotate

sm = snakemake  # noqa: F821
annotate(config=as_plain(sm.params.cfg), judge_items=sm.input.judge_items, teacher=sm.input.teacher or None,
         judgments=sm.output.judgments, sft=sm.output.sft, dpo_pool=sm.output.dpo_pool, summary=sm.output.summary,
         log=sm.log[0], threads=sm.threads)
