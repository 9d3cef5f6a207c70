rule ingest:
    input:
        local_sources=local_source_files(),
    output:
        questions=f"{RESULTS}/data/questions.jsonl",
        rejects=f"{RESULTS}/data/ingest_rejects.jsonl",
        summary=f"{RESULTS}/data/ingest_summary.json",
    params:
        cfg=settings("seed", "data", "rollout.rounds"),
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    log:
        f"{LOGS}/ingest.log",
    conda:
        ENV
    script:
        "../scripts/ingest.py"


rule generate_responses:
    input:
        questions=rules.ingest.output.questions,
        model=base_model_dir("{name}"),
    output:
        responses=f"{RESULTS}/data/responses/{{name}}.jsonl",
        summary=f"{RESULTS}/data/responses/{{name}}.summary.json",
    params:
        cfg=settings("seed", "generate", "generation"),
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    log:
        f"{LOGS}/generate_responses/{{name}}.log",
    threads: THREADS
    conda:
        ENV
    script:
        "../scripts/generate_responses.py"


rule build_items:
    input:
        questions=rules.ingest.output.questions,
        responses=expand(
            f"{RESULTS}/data/responses/{{name}}.jsonl", name=config["generate"]["generators"]
        ),
    output:
        pairs=f"{RESULTS}/data/pairs.jsonl",
        verification=f"{RESULTS}/data/verification.jsonl",
        rejects=f"{RESULTS}/data/build_items_rejects.jsonl",
        summary=f"{RESULTS}/data/build_items_summary.json",
    params:
        cfg=settings(
            "seed", "generate.include_reference_solution", "data.task_ratio", "rollout.rounds"
        ),
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    log:
        f"{LOGS}/build_items.log",
    conda:
        ENV
    script:
        "../scripts/build_items.py"
