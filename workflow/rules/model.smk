rule prepare_model:
    output:
        model=directory("resources/models/{name}"),
        summary="resources/models/{name}.summary.json",
    log:
        "resources/models/{name}.log",
    conda:
        ENV
    threads:
        lambda w: (
            LIGHT if config["models"][w.name]["source"] == "openai" else config["resources"].get("prepare", LIGHT)
        ).get("threads", THREADS)
    resources:  # a model behind an API only writes its endpoint file: light
        gpu=lambda w: (
            LIGHT if config["models"][w.name]["source"] == "openai" else config["resources"].get("prepare", LIGHT)
        )["gpu"],
        mem_mb=lambda w: (
            LIGHT if config["models"][w.name]["source"] == "openai" else config["resources"].get("prepare", LIGHT)
        )["mem_mb"],
        runtime=lambda w: (
            LIGHT if config["models"][w.name]["source"] == "openai" else config["resources"].get("prepare", LIGHT)
        )["runtime"],
    params:
        # a tiny model learns the output formats of every template the run uses, so it reads judge and ablations
        cfg=lambda w: select(
            config,
            "seed",
            f"models.{w.name}",
            *(["judge", "ablations"] if config["models"][w.name]["source"] == "tiny" else []),
            shared=True,
        ),
    script:
        "../scripts/prepare_model.py"
