# Raw sources -> normalized records with splits -> generated, graded responses -> judge items of five task types.


rule ingest:
    input:
        local_sources=lambda w: local_source_files(vcfg(w.variant)["data"]["sources"]),
    output:
        records=artifact("records"),
        rejects=f"{RESULTS}/{{variant}}/data/ingest_rejects.jsonl",
        summary=f"{RESULTS}/{{variant}}/data/ingest_summary.json",
    log:
        f"{LOGS}/{{variant}}/ingest.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=settings("ingest"),
    script:
        "../scripts/ingest.py"


rule generate_responses:
    input:
        records=lambda w: artifact("records", w.variant),
        model_dir=base_model_dir("{name}"),
    output:
        responses=f"{RESULTS}/{{variant}}/data/responses/{{name}}.jsonl",
        summary=f"{RESULTS}/{{variant}}/data/responses/{{name}}.summary.json",
    log:
        f"{LOGS}/{{variant}}/generate_responses/{{name}}.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=lambda w: 0 if config["models"][w.name]["source"] == "openai" else SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("generate_responses"),
    script:
        "../scripts/generate_responses.py"


rule prepare_benchmark:
    input:
        local_sources=lambda w: local_source_files(
            [s for s in config["evaluation"]["benchmarks"] if s["name"] == w.benchmark]
        ),
    output:
        benchmark_items=f"{RESULTS}/benchmarks/{{benchmark}}.jsonl",
        rejects=f"{RESULTS}/benchmarks/{{benchmark}}.rejects.jsonl",
        summary=f"{RESULTS}/benchmarks/{{benchmark}}.summary.json",
    log:
        f"{LOGS}/prepare_benchmark/{{benchmark}}.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=lambda w: select(config, "seed", "evaluation.benchmarks"),
    script:
        "../scripts/prepare_benchmark.py"


rule build_items:
    input:
        records=lambda w: artifact("records", w.variant),
        responses=lambda w: [
            f"{run_dir(w.variant, 'generate_responses')}/data/responses/{name}.jsonl"
            for name in vcfg(w.variant)["generate"]["generators"]
        ],
        benchmarks=expand(f"{RESULTS}/benchmarks/{{benchmark}}.jsonl", benchmark=BENCHMARKS[1:]),
    output:
        judge_items=artifact("judge_items"),
        rejects=f"{RESULTS}/{{variant}}/data/build_items_rejects.jsonl",
        summary=f"{RESULTS}/{{variant}}/data/build_items_summary.json",
    log:
        f"{LOGS}/{{variant}}/build_items.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=settings("build_items"),
    script:
        "../scripts/build_items.py"
