rule prepare_model:
    output:
        model=directory("resources/models/{name}"),
        summary="resources/models/{name}.summary.json",
    params:
        cfg=lambda w: select(config, "seed", "judge", f"models.{w.name}"),
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    log:
        "resources/models/{name}.log",
    threads: LIGHT.get("threads", THREADS)
    conda:
        ENV
    script:
        "../scripts/prepare_model.py"
