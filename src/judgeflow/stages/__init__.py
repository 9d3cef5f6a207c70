"""One module per rule file of workflow/rules/ (stages.train for train.smk, ...), one function per rule,
named as the rule: read its input files, call the logic, write its outputs and the stage summary.

workflow/scripts/<rule>.py pass snakemake's input/output/params to these functions as keyword arguments, so
every stage can also be run (and tested) without Snakemake."""
