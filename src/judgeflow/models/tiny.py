"""The tiny model of the tests and CPU runs: a small Llama with a BPE tokenizer trained on the run's own formats
(arithmetic solutions and judgments with the run's templates and verdicts), then a short format pre-training,
so that its outputs are parseable (models.<name>.source: tiny; config.tiny_modules lists its modules)."""

from __future__ import annotations

import logging
import random

from judgeflow import tasks
from judgeflow.data.questions import synthetic_arithmetic
from judgeflow.judge.templates import TEMPLATES, judge_prompt
from judgeflow.tasks.step_level import solution_steps
from judgeflow.tasks.verdicts import format_verdict

log = logging.getLogger(__name__)

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def tiny_corpus(tcfg: dict, config: dict) -> list[list[dict]]:
    """Chat conversations in the run's own formats: solving arithmetic, and judging items of every task type
    with the run's templates and a verdict. Verdicts are drawn at random, so the tiny model learns the output
    formats, not the answers."""
    rng = random.Random(config["seed"])
    cue = config["judge"]["verdict_cue"] or "\nVerdict: [["
    # every template the run or one of its ablation variants judges with
    pool = config["judge"]["templates"] + config["judge"]["direct_templates"]
    for spec in config.get("ablations", {}).values():
        for key in ("judge.templates", "evaluation.templates"):
            pool += [t for pool_value in spec["vary"].get(key, []) for t in pool_value or []]
    pool = list(dict.fromkeys(pool))
    questions = synthetic_arithmetic("tiny-corpus", tcfg["corpus_questions"], 1, 3, 20, config["seed"])
    conversations = []
    for q in questions:
        conversations.append([{"role": "user", "content": q["question"]},
                              {"role": "assistant", "content": q["solution"]}])
        wrong = q["solution"].replace(f"is {q['answer']}.", f"is {int(q['answer']) + rng.randint(1, 9)}.")
        response = rng.choice([q["solution"], wrong])
        steps = solution_steps(q["solution"])
        context = {"question": q["question"], "solution": q["solution"], "answer": q["answer"], "wrong": wrong,
                   "response": response, "steps": steps}
        for task_type in tasks.names():  # one judgment per task type, with a template of the run's pool
            task = tasks.get(task_type)
            if task.tiny_fields is None:
                continue
            template_id = rng.choice([t for t in pool if TEMPLATES[t].task_type == task_type] or
                                     [t for t in TEMPLATES if TEMPLATES[t].task_type == task_type])
            item = {"id": q["id"], "question": q["question"], "task_type": task_type, **task.tiny_fields(context)}
            order = rng.choice(task.orders) if task.both_orders else "original"
            prompt = judge_prompt(item, order, template_id, config["seed"])
            # one random verdict drawn per registered task type, this one's kept: the draw order of the corpus
            # before the task registry, so the tiny model's bytes stay the same
            drawn = {name: tasks.get(name).random_verdict(rng, context) for name in tasks.names()
                     if tasks.get(name).random_verdict is not None}
            verdict = drawn[task_type]
            tag = format_verdict(task_type, verdict)[2:]
            direct = TEMPLATES[template_id].protocol == "direct"
            text = f"[[{tag}" if direct else f"Checked the {task_type} item.{cue}{tag}"
            conversations.append(prompt["messages"] + [{"role": "assistant", "content": text}])
    return conversations


def build_tiny_model(tcfg: dict, config: dict):
    """A randomly initialised small Llama with a BPE tokenizer trained on the run's formats, then a short
    causal-LM pre-training on that corpus so its outputs are parseable."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(config["seed"])
    conversations = tiny_corpus(tcfg, config)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    texts = [m["content"] for c in conversations for m in c]
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=tcfg["vocab_size"], special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tokenizer.chat_template = CHATML_TEMPLATE
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=tcfg["hidden_size"], intermediate_size=tcfg["hidden_size"] * 4,
        num_hidden_layers=tcfg["num_layers"], num_attention_heads=tcfg["num_heads"],
        num_key_value_heads=tcfg["num_heads"], max_position_embeddings=2048, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    _pretrain(model, tokenizer, conversations, tcfg["pretrain_steps"], config["seed"])
    return model, tokenizer


def _pretrain(model, tokenizer, conversations, steps: int, seed: int, batch_size: int = 8) -> None:
    import torch

    encoded = [tokenizer.apply_chat_template(c, tokenize=True, return_dict=False)[:1024] for c in conversations]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    model.train()
    for step in range(steps):
        batch = rng.sample(encoded, min(batch_size, len(encoded)))
        width = max(map(len, batch))
        ids = torch.full((len(batch), width), tokenizer.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        for row, seq in enumerate(batch):
            ids[row, :len(seq)] = torch.tensor(seq)
            labels[row, :len(seq)] = torch.tensor(seq)
        loss = model(input_ids=ids, attention_mask=(labels != -100).long(), labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % 50 == 0 or step == steps - 1:
            log.info("tiny pre-training step %d/%d loss %.3f", step + 1, steps, loss.item())
    model.eval()
