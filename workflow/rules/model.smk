rule prepare_model:
    output:
        model=directory("resources/models/{name}"),
        summary="resources/models/{name}.summary.json",
    params:
        cfg=lambda w: select(config, "seed", "judge", f"models.{w.name}"),
    resources:
        gpu=config["resources"].get("prepare", LIGHT)["gpu"],
        mem_mb=config["resources"].get("prepare", LIGHT)["mem_mb"],
        runtime=config["resources"].get("prepare", LIGHT)["runtime"],
    log:
        "resources/models/{name}.log",
    threads: config["resources"].get("prepare", LIGHT).get("threads", THREADS)
    conda:
        ENV
    script:
        "../scripts/prepare_model.py"
