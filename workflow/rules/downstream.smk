# The judge used downstream. Best-of-N: a policy answers each held-out question N times and each judge model
# picks one. Policy DPO: the final judge runs tournaments over the policy's N answers to the seed questions;
# the policy is trained by DPO on (champion, an answer it eliminated) and evaluated on the held-out questions.


rule policy_answers:
    # the policy's answers to one split's questions (sampled N per question; greedy for evaluation)
    input:
        records=lambda w: artifact("records", w.variant),
        policy_dir=lambda w: policy_dir(w.variant, w.policy),
    output:
        answers=f"{RESULTS}/{{variant}}/downstream/answers/{{policy}}_{{split}}_{{mode}}.jsonl",
        summary=f"{RESULTS}/{{variant}}/downstream/answers/{{policy}}_{{split}}_{{mode}}.summary.json",
    log:
        f"{LOGS}/{{variant}}/policy_answers/{{policy}}_{{split}}_{{mode}}.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("policy_answers"),
        n=lambda w: 0 if w.mode == "greedy" else None,
    script:
        "../scripts/policy_answers.py"


rule best_of_n:
    input:
        answers=lambda w: policy_answers_file(w.variant, "base", "benchmark", "sampled"),
        model_dir=lambda w: model_dir(w.variant, w.model),
    output:
        judgments=f"{RESULTS}/{{variant}}/downstream/best_of_n/{{model}}/judgments.jsonl",
        metrics=f"{RESULTS}/{{variant}}/downstream/best_of_n/{{model}}/best_of_n.json",
        summary=f"{RESULTS}/{{variant}}/downstream/best_of_n/{{model}}/summary.json",
    log:
        f"{LOGS}/{{variant}}/best_of_n/{{model}}.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("evaluate"),
    script:
        "../scripts/best_of_n.py"


rule tournament:
    input:
        answers=lambda w: policy_answers_file(w.variant, "base", "seed", "sampled"),
        records=lambda w: artifact("records", w.variant),
        model_dir=lambda w: model_dir(w.variant, final_model(vcfg(w.variant))),
    output:
        pairs=f"{RESULTS}/{{variant}}/downstream/tournament/pairs.jsonl",
        judgments=f"{RESULTS}/{{variant}}/downstream/tournament/judgments.jsonl",
        summary=f"{RESULTS}/{{variant}}/downstream/tournament/summary.json",
    log:
        f"{LOGS}/{{variant}}/tournament.log",
    conda:
        ENV
    threads: SAMPLING.get("threads", THREADS)
    resources:
        gpu=SAMPLING["gpu"],
        mem_mb=SAMPLING["mem_mb"],
        runtime=SAMPLING["runtime"],
    params:
        cfg=settings("evaluate"),
        judge=lambda w: final_model(vcfg(w.variant)),
    script:
        "../scripts/tournament.py"


rule train_policy:
    input:
        pairs=rules.tournament.output.pairs,
        init=lambda w: policy_dir(w.variant, "base"),
    output:
        model=directory(f"{RESULTS}/{{variant}}/models/policy_dpo"),
        summary=f"{RESULTS}/{{variant}}/models/policy_dpo.summary.json",
    log:
        f"{LOGS}/{{variant}}/train_policy.log",
    conda:
        ENV
    threads: TRAINING.get("threads", THREADS)
    resources:
        gpu=TRAINING["gpu"],
        mem_mb=TRAINING["mem_mb"],
        runtime=TRAINING["runtime"],
    params:
        accelerate_config=ACCELERATE_CONFIG,
        cfg=lambda w: select(vcfg(w.variant), "seed", "downstream"),
    script:
        "../scripts/train_policy.py"


rule policy_accuracy:
    input:
        answers=lambda w: policy_answers_file(w.variant, w.policy, "benchmark", "greedy"),
    output:
        accuracy=f"{RESULTS}/{{variant}}/downstream/policy_{{policy}}/accuracy.json",
        summary=f"{RESULTS}/{{variant}}/downstream/policy_{{policy}}/summary.json",
    log:
        f"{LOGS}/{{variant}}/policy_accuracy/{{policy}}.log",
    conda:
        ENV
    resources:
        gpu=LIGHT["gpu"],
        mem_mb=LIGHT["mem_mb"],
        runtime=LIGHT["runtime"],
    params:
        cfg=settings("evaluate"),
    script:
        "../scripts/policy_accuracy.py"
