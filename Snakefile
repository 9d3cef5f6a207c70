# judgeflow: raw data -> synthetic pairs -> teacher judgments -> SFT -> DPO -> rollout rounds (-> GRPO; a scalar RM
# baseline) -> evaluation -> report
#
#   snakemake --cores 2                                   # default experiment (config/config.yaml)
#   snakemake --cores 2 --configfile config/test.yaml     # tiny model, used by the tests
#
# The config is validated against workflow/schemas/config.schema.yaml before any job starts.


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/annotate.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/rollout.smk"
include: "workflow/rules/rl.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/downstream.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        report_outputs(),
        # named here too, not only as the report's inputs: Snakemake does not rebuild a deleted intermediate
        # file whose consumers are up to date, and these are the files a researcher reads and may delete
        main_metrics(),
        main_judgments(),
