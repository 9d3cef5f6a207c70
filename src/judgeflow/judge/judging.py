"""Sampling judgments of every task type and turning them into training data (SFT set, DPO pairs, rollout keeps)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from judgeflow import tasks
from judgeflow.generation import Continuation, GenerationBackend, SamplingParams
from judgeflow.judge.templates import item_task_type, judge_prompt, pick_template
from judgeflow.tasks.verdicts import format_verdict, is_correct, parse_verdict

# what a judgment record carries over from its prompt (the metrics break results down by these)
CUE_TOKENS = 4  # new tokens a judgment continued after the verdict cue may take (the verdict and ']]')
PROMPT_FIELDS = ("item_id", "order", "label", "template_id", "task_type", "protocol", "messages", "verdict_args",
                 "subset", "source", "domain", "tie", "chosen_first", "chosen_longer", "chosen_shorter", "origin")


def orders_for(item: dict) -> tuple[str, ...]:
    """The orders the item's task type is judged in (pairwise: both, the position swap; the others once)."""
    return tasks.get(item_task_type(item)).orders


def template_for(item: dict, pool: list[str], seed: int, override: bool = False) -> str:
    """The item's own template (drawn in build_items) or, for benchmark items and with `override` (an
    evaluation-time prompt set, evaluation.templates), a seeded draw from the pool."""
    return pick_template(item, pool, seed) if override else item.get("template_id") or pick_template(item, pool, seed)


def prompts_for(items: list[dict], pool: list[str], seed: int, orders: tuple[str, ...] | None = None,
                override: bool = False) -> list[dict]:
    """Judge prompts of every item in each of its orders (or only `orders`, where the item has them), with the
    item fields the metrics break results down by."""
    prompts = []
    for item in items:
        template_id = template_for(item, pool, seed, override)
        for order in orders_for(item):
            if orders is not None and order not in orders:
                continue
            prompt = judge_prompt(item, order, template_id, seed)
            prompt.update(subset=item.get("subset"), source=item.get("source"), domain=item.get("domain"),
                          tie=bool(item.get("tie")))
            if prompt["task_type"] == "pairwise":
                prompt["chosen_first"] = prompt["label"] == "A"
                prompt["chosen_longer"] = len(item["chosen"]) > len(item["rejected"])
                prompt["chosen_shorter"] = len(item["chosen"]) < len(item["rejected"])
            prompt["origin"] = origin_of(item)
            prompts.append(prompt)
    return prompts


def origin_of(item: dict) -> str | None:
    """Where the judged response(s) came from, so results can be split by it (a gain that holds only when a
    reference-written answer faces a model-written one may be style, not judgment): 'chosen vs rejected'
    origins for pairs (reference, injected, a generator's name), the response's origin otherwise."""
    if "chosen_origin" in item:
        return f"{_origin_kind(item['chosen_origin'])} vs {_origin_kind(item.get('rejected_origin'))}"
    if "response_origin" in item:
        return _origin_kind(item["response_origin"])
    return item.get("steps_origin") and ("reference" if item["steps_origin"] == "reference" else "injected")


def _origin_kind(origin: str | None) -> str:
    if origin in (None, "reference", "injected"):
        return origin or "unknown"
    return "instruction_pair" if ":" in origin else "sampled"


def sample_judgments(backend: GenerationBackend, prompts: list[dict], params: SamplingParams,
                     verdict_cue: str | None, model: str) -> list[dict]:
    """params.n judgments per prompt, each parsed strictly for its task type.

    With a verdict cue, a judgment that ends without any verdict tag is continued once: the cue (e.g.
    "\\nVerdict: [[") is appended as the start of the assistant's text and the model writes the rest (at most
    CUE_TOKENS tokens), kept up to the tag's closing ']]'. The full text, cue included, is what gets parsed and
    what later stages train on. A backend that supports it (hf) continues in the same generate call from the
    judgment's KV cache, stopping at ']]' (fused); the others get a second generate call on the continued
    conversations (two-pass; vLLM's prefix cache makes its re-prefill cheap). Both condition on the same tokens;
    greedy verdicts agree up to float rounding, sampled ones are drawn from a different random stream, and the
    fused path's num_tokens stops counting at the ']]' (the two-pass path counts up to CUE_TOKENS).
    """
    def parse(i, text):
        return parse_verdict(text, prompts[i]["task_type"], **prompts[i]["verdict_args"])

    def needs_cue(i, text):
        return parse(i, text).error == "no_verdict"

    conversations = [p["messages"] for p in prompts]
    fused = bool(verdict_cue) and getattr(backend, "supports_fused_continuation", False)
    if fused:
        spec = Continuation(cue=verdict_cue, max_new_tokens=CUE_TOKENS, stop="]]", when=needs_cue)
        first = backend.generate(conversations, params, continuation=spec)
    else:
        first = backend.generate(conversations, params)
    texts = {(i, k): c.text for i, comps in enumerate(first) for k, c in enumerate(comps)}
    tokens = {(i, k): c.num_tokens for i, comps in enumerate(first) for k, c in enumerate(comps)}
    cued = []
    if verdict_cue:
        cued = [key for key, text in texts.items() if needs_cue(key[0], text)]
        if fused:
            seconds = [first[i][k].continuation for i, k in cued]
            if any(c is None for c in seconds):
                raise RuntimeError("the backend did not continue every judgment without a verdict")
        else:
            continued = [conversations[i] + [{"role": "assistant", "content": texts[(i, k)].rstrip() + verdict_cue}]
                         for i, k in cued]
            seconds = [comps[0] for comps in backend.generate(
                continued, params.with_(n=1, max_new_tokens=CUE_TOKENS, seed=params.seed + 1))] if continued else []
        for key, second in zip(cued, seconds):
            texts[key] = texts[key].rstrip() + verdict_cue + _through_tag_end(second.text)
            tokens[key] += second.num_tokens
    cued = set(cued)
    judgments = []
    for i, prompt in enumerate(prompts):
        for k in range(params.n):
            parsed = parse(i, texts[(i, k)])
            judgments.append({
                **{key: prompt[key] for key in PROMPT_FIELDS if key in prompt}, "sample": k, "model": model,
                "text": texts[(i, k)], "verdict": parsed.verdict, "parse_error": parsed.error,
                "correct": is_correct(prompt["task_type"], parsed.verdict, prompt["label"]),
                "num_tokens": tokens[(i, k)], "cue_used": (i, k) in cued,
            })
    return judgments


def _through_tag_end(continuation: str) -> str:
    """What the model wrote after the cue, up to and including the first ']]' (the rest is not verdict)."""
    end = continuation.find("]]")
    return continuation if end < 0 else continuation[:end + 2]


def sft_example(judgment: dict) -> dict:
    """A conversational prompt/completion row for TRL's SFTTrainer (completion-only loss)."""
    return {"prompt": judgment["messages"], "completion": [{"role": "assistant", "content": judgment["text"]}],
            "item_id": judgment["item_id"], "order": judgment["order"]}


def split_teacher_judgments(items: list[dict], judgments: list[dict],
                            seed: int) -> tuple[dict[str, list[dict]], list[dict], Counter]:
    """RISE's filter: an item the teacher judged correctly in every order it has (both orders for pairwise)
    goes to SFT (one correct judgment per order, drawn with the seed when the teacher sampled several),
    every other item goes to the DPO pool. Returns ({item id: its SFT examples}, DPO pool items, reasons
    items went to the pool)."""
    by_item: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for judgment in judgments:
        by_item[judgment["item_id"]][judgment["order"]].append(judgment)
    sft, pool, reasons = {}, [], Counter()
    for item in items:
        samples = by_item[item["id"]]
        orders = orders_for(item)
        correct = {order: [j for j in samples[order] if j["correct"]] for order in orders}
        if all(correct.values()):
            rng = random.Random(f"{seed}:{item['id']}")
            sft[item["id"]] = [sft_example(rng.choice(correct[order])) for order in orders]
            continue
        failed = [order for order in orders if not correct[order]]
        if any(not samples[order] for order in failed):
            reasons["no_judgment"] += 1
        elif any(all(j["parse_error"] for j in samples[order]) for order in failed):
            reasons["parse_error"] += 1
        elif len(failed) == len(orders):
            reasons["wrong_in_every_order"] += 1
        else:
            reasons["position_inconsistent"] += 1
        pool.append(item)
    return sft, pool, reasons


def balance_sft_items(items: dict[str, dict], sft: dict[str, list[dict]], balance_labels: bool,
                      balance_length: bool, seed: int) -> tuple[dict[str, list[dict]], Counter]:
    """RISE's balancing of the SFT set, by dropping seeded-random items of the larger side:
    balance_length: among pairwise items, as many with the chosen response longer as shorter;
    balance_labels: as many yes as no verification items (pairwise items hold both orders, so their A and B
    verdicts are balanced already). Returns (kept, dropped counts by reason)."""
    kept, dropped = dict(sft), Counter()

    def even_out(groups: dict[str, list[str]], reason: str) -> None:
        smallest = min((len(ids) for ids in groups.values()), default=0)
        for key, ids in sorted(groups.items()):
            ids = sorted(ids)
            random.Random(f"{seed}:{reason}:{key}").shuffle(ids)
            for item_id in ids[smallest:]:
                del kept[item_id]
                dropped[reason] += 1

    if balance_length:
        groups = {"longer": [], "shorter": []}
        for item_id in kept:
            item = items[item_id]
            if item["task_type"] == "pairwise" and not item.get("tie") and len(item["chosen"]) != len(item["rejected"]):
                groups["longer" if len(item["chosen"]) > len(item["rejected"]) else "shorter"].append(item_id)
        even_out(groups, "length_balance")
    if balance_labels:
        groups = {"yes": [], "no": []}
        for item_id in kept:
            item = items[item_id]
            if item["task_type"] in tasks.binary_tasks():
                groups[item["label"]].append(item_id)
        even_out(groups, "label_balance")
    return kept, dropped


def chat_examples(items: list[dict], judge_examples: int, share: float, seed: int) -> list[dict]:
    """General (non-judge) chat examples mixed into SFT so that share of the mix is chat (RISE: 4:1, 0.2):
    the instruction and the preferred response of pairwise items marked chat_ok."""
    pool = sorted((i for i in items if i.get("chat_ok") and i["split"] != "benchmark"), key=lambda i: i["id"])
    wanted = min(len(pool), round(share / (1 - share) * judge_examples)) if share else 0
    picked = random.Random(f"{seed}:chat").sample(pool, wanted)
    return [{"prompt": [{"role": "user", "content": item["question"]}],
             "completion": [{"role": "assistant", "content": item["chosen"]}],
             "item_id": item["id"], "order": "chat", "protocol": "chat"} for item in picked]


def group_samples(judgments: list[dict]) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for judgment in judgments:
        grouped[judgment["item_id"]].append(judgment)
    return grouped


def dpo_pairs(judgments: list[dict], seed: int) -> tuple[list[dict], Counter]:
    """One (correct, incorrect) judgment pair per item from its K samples; unparseable samples count as
    incorrect (they teach the format). Items whose samples are all correct or all incorrect yield no pair."""
    pairs, reasons = [], Counter()
    for item_id, samples in sorted(group_samples(judgments).items()):
        good = [s for s in samples if s["correct"]]
        bad = [s for s in samples if not s["correct"]]
        if not good or not bad:
            reasons["all_samples_correct" if good else "no_correct_sample"] += 1
            continue
        rng = random.Random(f"{seed}:{item_id}")
        chosen, rejected = rng.choice(good), rng.choice(bad)
        pairs.append({"prompt": chosen["messages"],
                      "chosen": [{"role": "assistant", "content": chosen["text"]}],
                      "rejected": [{"role": "assistant", "content": rejected["text"]}],
                      "item_id": item_id, "order": chosen["order"],
                      "rejected_parse_error": rejected["parse_error"]})
    return pairs, reasons


def keep_one_correct(judgments: list[dict], seed: int) -> tuple[list[dict], Counter, dict[str, int]]:
    """Rejection sampling: per item keep one correct judgment at random; items with none are dropped.
    Returns (SFT examples with their item's pass rate, reasons for dropped items, histogram of correct
    samples per item)."""
    kept, reasons, histogram = [], Counter(), Counter()
    for item_id, samples in sorted(group_samples(judgments).items()):
        good = [s for s in samples if s["correct"]]
        histogram[f"{len(good)}/{len(samples)}"] += 1
        if not good:
            reasons["no_correct_sample"] += 1
            continue
        example = sft_example(random.Random(f"{seed}:{item_id}").choice(good))
        kept.append({**example, "pass_rate": len(good) / len(samples)})
    return kept, reasons, dict(sorted(histogram.items(), key=lambda kv: tuple(map(int, kv[0].split("/")))))


def curriculum_order(examples: list[dict], seed: int) -> list[dict]:
    """FARE's continuous curriculum: easiest first (highest pass rate, K/K first); ties in seeded random order."""
    rng = random.Random(seed)
    keyed = [(-example["pass_rate"], rng.random(), example) for example in examples]
    return [example for *_, example in sorted(keyed, key=lambda k: (k[0], k[1]))]


def shuffled(examples: list[dict], seed: int) -> list[dict]:
    out = list(examples)
    random.Random(seed).shuffle(out)
    return out


def cap_sft_examples(examples: list[dict], cap: int | None, seed: int) -> tuple[list[dict], int]:
    """At most `cap` judge examples (a seeded draw), the chat examples cut in the same proportion so the
    mix keeps its share (RISE Fig. 4's SFT size axis). Returns (examples, how many were left out)."""
    judge = [e for e in examples if e.get("protocol") != "chat"]
    if cap is None or len(judge) <= cap:
        return examples, 0
    chat = [e for e in examples if e.get("protocol") == "chat"]
    kept = shuffled(judge, seed)[:cap]
    kept_chat = chat[:round(len(chat) * cap / len(judge))]
    return kept + kept_chat, len(examples) - len(kept) - len(kept_chat)



def to_direct_judgments(examples: list[dict], items: dict[str, dict], share: float, pool: list[str],
                        prompt_seed: int, seed: int) -> list[dict]:
    """Rewrite round(share * n) seeded-random examples as direct judgments: the prompt re-rendered with a
    verdict-only template of the item's task type from `pool` (same A/B placement: prompt_seed is the seed
    the judge prompts were made with), the critique dropped, the completion just the (correct) verdict tag."""
    chosen = set(random.Random(seed).sample(range(len(examples)), round(share * len(examples))))
    out = []
    for index, example in enumerate(examples):
        if index not in chosen:
            out.append({**example, "protocol": "critique"})
            continue
        item = items[example["item_id"]]
        prompt = judge_prompt(item, example["order"], pick_template(item, pool, prompt_seed), prompt_seed)
        verdict = parse_verdict(example["completion"][0]["content"], prompt["task_type"],
                                **prompt["verdict_args"]).verdict
        if not is_correct(prompt["task_type"], verdict, prompt["label"]):
            raise ValueError(f"item {example['item_id']}: only correct judgments become direct examples")
        out.append({**example, "prompt": prompt["messages"], "protocol": "direct",
                    "completion": [{"role": "assistant", "content": format_verdict(prompt["task_type"], verdict)}]})
    return out
