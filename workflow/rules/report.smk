rule config_snapshot:
    output:
        f"{RESULTS}/config.json",
    params:
        cfg=config,
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    log:
        f"{LOGS}/config_snapshot.log",
    conda:
        ENV
    script:
        "../scripts/config_snapshot.py"


rule report:
    input:
        metrics=expand(f"{RESULTS}/eval/{{model}}/metrics.json", model=STAGE_MODELS),
        config=rules.config_snapshot.output[0],
    output:
        csv=f"{RESULTS}/report/metrics.csv",
        md=f"{RESULTS}/report/metrics.md",
        figure=f"{RESULTS}/report/metrics.png",
        summary=f"{RESULTS}/report/summary.json",
    params:
        cfg=settings("evaluation.confidence", "report"),
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    log:
        f"{LOGS}/report.log",
    conda:
        ENV
    script:
        "../scripts/report.py"
