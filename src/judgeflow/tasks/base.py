"""The TaskType record and the registry every module reads the task types from.

A task type is one kind of judge item (pairwise preference, first wrong step, verification, rating, ...). Its
TaskType says everything the pipeline needs to know about it, so that adding a task type is one module under
judgeflow.tasks that calls `register` (plus its templates in judgeflow.judge.templates):

- orders: the orders an item is judged in (pairwise: both, for the position swap)
- fields: the placeholders every template of the type fills (the prompt's fields of an item)
- render: an item, an order and a template -> the placeholder values, the gold verdict, parse_verdict's arguments
- read_tag: the verdict grammar, one tag's token -> (verdict, error)
- build: an item from one graded question (generate-then-grade), or the reason it cannot give one
- metric_block / extras: the metrics of a group of judged items, and those only the whole task has
- item_stats: the per-item statistics the paired comparison against the base model uses
- primary_metric, paired_metrics, table_metrics, table_title: what the report shows
- tiny_fields / random_verdict: an item about one arithmetic question and a random verdict, for the tiny test
  model's format corpus

Correctness is the same for every type (a parsed verdict equal to the gold label, of the same type).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

ORDERS = ("original", "swapped")
INTEGER_TOKEN = re.compile(r"-?[0-9]+")  # a tag holding a whole number (step index, rating)


def _no_extras(block: dict, items: list, records: list[dict], samples: int, confidence: float, seed: int) -> None:
    return None


def _no_check(verdict_args: dict) -> None:
    return None


def _bracketed(verdict) -> str:
    return f"[[{verdict}]]"


@dataclass(frozen=True)
class TaskType:
    name: str
    fields: tuple[str, ...]
    render: Callable  # (item, order, template, seed) -> (values, label, verdict_args)
    read_tag: Callable  # (token, verdict_args) -> (verdict | None, error | None)
    metric_block: Callable  # (items, samples, confidence, seed) -> dict
    item_stats: Callable  # (items) -> {paired metric name: statistic}
    primary_metric: str
    paired_metrics: tuple[str, ...]
    table_metrics: tuple[str, ...]
    table_title: str
    description: str  # one line, the verdict grammar included
    orders: tuple[str, ...] = ("original",)
    build: Callable | None = None  # (record, candidates, slips, rng) -> item dict | missing reason; None: none
    position: int = 100  # where the task type comes in tables, metric files and the task mix (ties: registration)
    build_rank: int = 100  # builders run in this order on one question's seeded draws (ties: registration order)
    extras: Callable = _no_extras  # (block, items, records, samples, confidence, seed) -> None, updates block
    check_args: Callable = _no_check  # raises ValueError for parse_verdict arguments the type cannot use
    format_verdict: Callable = _bracketed  # verdict -> the tag a judge writes
    binary_labels: tuple[str, str] | None = None  # (positive, negative) for a yes/no task (reward-model threshold)
    constant_verdict: Callable | None = None  # (judgments) -> the constant baseline's verdict; None: commonest label
    shortcuts: dict = field(default_factory=dict)  # shortcut baseline name -> (judgment -> verdict)
    tiny_fields: Callable | None = None  # (context) -> item fields, context: question, solution, wrong, response, steps
    random_verdict: Callable | None = None  # (rng, context) -> a verdict for an item made by tiny_fields(context)

    @property
    def both_orders(self) -> bool:
        return len(self.orders) > 1


_REGISTRY: dict[str, TaskType] = {}


def register(task: TaskType) -> TaskType:
    """Add a task type (a module under judgeflow.tasks calls this at import); a name is registered once."""
    if task.name in _REGISTRY:
        raise ValueError(f"task type {task.name!r} is already registered")
    if not set(task.orders) <= set(ORDERS) or task.orders[0] != "original":
        raise ValueError(f"task type {task.name!r}: orders must start with 'original' and be among {ORDERS}")
    _REGISTRY[task.name] = task
    return task


def unregister(name: str) -> None:
    """Remove a task type (tests register a toy one and take it away again)."""
    del _REGISTRY[name]


def names() -> tuple[str, ...]:
    """Every registered task type, by position (the order of tables and metric files)."""
    return tuple(sorted(_REGISTRY, key=lambda name: _REGISTRY[name].position))


def get(name: str) -> TaskType:
    """The task type called `name`; a ValueError listing the known ones otherwise."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown task type {name!r}; known: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def binary_tasks() -> tuple[str, ...]:
    """The yes/no task types (verification): a scalar reward model judges them through a threshold."""
    return tuple(name for name in names() if _REGISTRY[name].binary_labels)


def builders() -> list[TaskType]:
    """The task types that build items from a graded question, in the order their builders draw."""
    tasks = [task for task in _REGISTRY.values() if task.build is not None]
    return sorted(tasks, key=lambda task: task.build_rank)  # stable: registration order within a rank


def item_field(item: dict, name: str, kind: type | tuple[type, ...]):
    """item[name], checked to be of `kind` (a bool is no int); a ValueError naming the item and field."""
    if name not in item:
        raise ValueError(f"item {item.get('id')!r}: missing field '{name}'")
    value = item[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ValueError(f"item {item.get('id')!r}: field '{name}' has type {type(value).__name__}")
    return value


def single_order(item: dict, order: str, task_type: str) -> None:
    if order != "original":
        raise ValueError(f"item {item.get('id')!r}: {task_type} items have only the 'original' order, got {order!r}")


def item_base(record: dict, task_type: str, suffix: str = "") -> dict:
    """The fields every item built from a question record has."""
    return {"id": f"{record['id']}-{task_type}{suffix}", "task_type": task_type, "question_id": record["id"],
            "split": record["split"], "source": record["source"], "domain": record.get("domain", "math"),
            "question": record["question"]}
