# Tables and figures, drawn only from result files. A table rule collects metrics into a tidy CSV (plus
# Markdown and LaTeX); a figure rule draws that CSV in the configured style, so a style change re-runs only
# the figure rules. `snakemake --report report.html` gathers every table and figure with its caption.


rule config_snapshot:
    # the resolved config that made the results; figure style (report.style) is left out, so restyling a
    # figure re-runs only the figure rules (each figure's summary.json records the style it was drawn with)
    output:
        snapshot=f"{RESULTS}/config.json",
    log:
        f"{LOGS}/config_snapshot.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg={key: value for key, value in config.items() if key != "report"},
    script:
        "../scripts/config_snapshot.py"


rule report_table:
    input:
        metrics=main_metrics(),
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        csv=f"{RESULTS}/report/metrics.csv",
        md=f"{RESULTS}/report/metrics.md",
        tex=f"{RESULTS}/report/metrics.tex",
        summary=f"{RESULTS}/report/metrics.summary.json",
    log:
        f"{LOGS}/report_table.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "evaluation.confidence"),
    script:
        "../scripts/report_table.py"


rule report_delta:
    # every model against the base model on the same items (paired bootstrap), beside shortcut baselines
    input:
        judgments=main_judgments(),
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        csv=f"{RESULTS}/report/delta_vs_base.csv",
        md=f"{RESULTS}/report/delta_vs_base.md",
        tex=f"{RESULTS}/report/delta_vs_base.tex",
        summary=f"{RESULTS}/report/delta_vs_base.summary.json",
    log:
        f"{LOGS}/report_delta.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "seed", "evaluation.confidence", "evaluation.bootstrap_samples"),
    script:
        "../scripts/report_delta.py"


rule report_training:
    # loss per step of every trained model (DPO: reward accuracy and margin too) and each stage's cost
    input:
        summaries=main_training_summaries(),
        sampling=main_sampling_summaries(),
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        csv=f"{RESULTS}/report/training_curves.csv",
        md=f"{RESULTS}/report/training_costs.md",
        png=f"{RESULTS}/report/training_curves.png",
        pdf=f"{RESULTS}/report/training_curves.pdf",
        summary=f"{RESULTS}/report/training.summary.json",
    log:
        f"{LOGS}/report_training.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "report"),
    script:
        "../scripts/report_training.py"


rule report_figure:
    input:
        csv=rules.report_table.output.csv,
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        png=report(
            f"{RESULTS}/report/metrics.png",
            caption="../report/metrics.rst",
            category="Main run",
            labels={"figure": "accuracy per stage"},
        ),
        pdf=f"{RESULTS}/report/metrics.pdf",
        summary=f"{RESULTS}/report/metrics_figure.summary.json",
    log:
        f"{LOGS}/report_figure.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "evaluation.confidence", "report"),
    script:
        "../scripts/report_figure.py"


rule ablation_table:
    input:
        metrics=lambda w: ablation_metric_files(w.ablation),
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        csv=f"{RESULTS}/figures/{{ablation}}.csv",
        md=f"{RESULTS}/figures/{{ablation}}.md",
        tex=f"{RESULTS}/figures/{{ablation}}.tex",
        summary=f"{RESULTS}/figures/{{ablation}}.summary.json",
    log:
        f"{LOGS}/ablation_table/{{ablation}}.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "evaluation.confidence", f"ablations.{w.ablation}"),
        cells=lambda w: ablation_cells(w.ablation),
    script:
        "../scripts/ablation_table.py"


rule ablation_figure:
    input:
        csv=rules.ablation_table.output.csv,
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        png=report(
            f"{RESULTS}/figures/{{ablation}}.png",
            caption="../report/ablation.rst",
            category="Ablations",
            labels={"ablation": "{ablation}"},
        ),
        pdf=f"{RESULTS}/figures/{{ablation}}.pdf",
        summary=f"{RESULTS}/figures/{{ablation}}.figure.summary.json",
    log:
        f"{LOGS}/ablation_figure/{{ablation}}.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "evaluation.confidence", "report", f"ablations.{w.ablation}"),
    script:
        "../scripts/ablation_figure.py"


for _ablation in config["ablations"]:

    rule:
        name:
            f"ablation_{_ablation}"
        default_target: False
        input:
            multiext(f"{RESULTS}/figures/{_ablation}", ".csv", ".md", ".tex", ".png", ".pdf"),


rule figures:
    # every ablation figure and table of the config: `snakemake --cores N figures`
    input:
        [
            multiext(f"{RESULTS}/figures/{name}", ".csv", ".md", ".tex", ".png", ".pdf")
            for name in list(config["ablations"]) + ["downstream_best_of_n", "downstream_policy_dpo"]
        ],


rule downstream_table:
    input:
        # the generative chain (base, sft, dpo, rounds); rl and rm are compared in the `enhancement` ablation
        metrics=[f"{RESULTS}/{MAIN}/downstream/best_of_n/{model}/best_of_n.json" for model in chain_models(config)],
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        csv=f"{RESULTS}/figures/downstream_best_of_n.csv",
        md=f"{RESULTS}/figures/downstream_best_of_n.md",
        tex=f"{RESULTS}/figures/downstream_best_of_n.tex",
        summary=f"{RESULTS}/figures/downstream_best_of_n.summary.json",
    log:
        f"{LOGS}/downstream_table.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "downstream", "evaluation.confidence"),
    script:
        "../scripts/downstream_table.py"


rule downstream_figure:
    input:
        csv=rules.downstream_table.output.csv,
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        png=report(
            f"{RESULTS}/figures/downstream_best_of_n.png",
            caption="../report/downstream.rst",
            category="Downstream",
            labels={"figure": "best-of-N reranking"},
        ),
        pdf=f"{RESULTS}/figures/downstream_best_of_n.pdf",
        summary=f"{RESULTS}/figures/downstream_best_of_n.figure.summary.json",
    log:
        f"{LOGS}/downstream_figure.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "downstream", "evaluation.confidence", "report"),
    script:
        "../scripts/downstream_figure.py"


rule downstream_best_of_n:
    # best-of-N reranking with every model of the main run: `snakemake --cores N downstream_best_of_n`
    input:
        multiext(f"{RESULTS}/figures/downstream_best_of_n", ".csv", ".md", ".tex", ".png", ".pdf"),


rule policy_table:
    input:
        accuracy=[f"{RESULTS}/{MAIN}/downstream/policy_{policy}/accuracy.json" for policy in ("base", "dpo")],
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        csv=f"{RESULTS}/figures/downstream_policy_dpo.csv",
        md=f"{RESULTS}/figures/downstream_policy_dpo.md",
        tex=f"{RESULTS}/figures/downstream_policy_dpo.tex",
        summary=f"{RESULTS}/figures/downstream_policy_dpo.summary.json",
    log:
        f"{LOGS}/policy_table.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "downstream.policy", "evaluation.confidence"),
    script:
        "../scripts/policy_table.py"


rule policy_figure:
    input:
        csv=rules.policy_table.output.csv,
        snapshot=rules.config_snapshot.output.snapshot,
    output:
        png=report(
            f"{RESULTS}/figures/downstream_policy_dpo.png",
            caption="../report/policy_dpo.rst",
            category="Downstream",
            labels={"figure": "policy DPO on judge-picked pairs"},
        ),
        pdf=f"{RESULTS}/figures/downstream_policy_dpo.pdf",
        summary=f"{RESULTS}/figures/downstream_policy_dpo.figure.summary.json",
    log:
        f"{LOGS}/policy_figure.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "downstream.policy", "evaluation.confidence", "report"),
    script:
        "../scripts/policy_figure.py"


rule downstream_policy_dpo:
    # a policy trained by DPO on pairs the final judge picked: `snakemake --cores N downstream_policy_dpo`
    input:
        multiext(f"{RESULTS}/figures/downstream_policy_dpo", ".csv", ".md", ".tex", ".png", ".pdf"),
