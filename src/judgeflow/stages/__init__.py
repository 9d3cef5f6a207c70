"""One module per rule file of workflow/rules/ (stages.train for train.smk, ...), one function per rule,
named as the rule: read its input files, call the logic, write its outputs and the stage summary. Two rules
reuse another rule's function with a different config block and stage name: train_rollout runs train_sft
(training: rollout.training), train_policy runs train_dpo (block: downstream.policy_dpo).

workflow/scripts/<rule>.py (each rule's script is named as the rule) pass snakemake's input/output/params/
wildcards to these functions as keyword arguments only, each parameter named as the rule's key (config is
params.cfg, log the rule's log file), so a renamed key fails loudly instead of shifting the arguments; every
stage can also be run (and tested) without Snakemake."""
