"""Judge task types. Each module here defines one (or two closely related) TaskType and registers it;
importing this package registers them all (TaskType.position orders them in tables and metric files). A sixth
task type is one more module listed below (plus its templates in judgeflow.judge.templates): everything else
reads the registry.

  from judgeflow import tasks
  tasks.get("pairwise").orders     # ("original", "swapped")
  tasks.names()                    # every registered task type

items (judge items from graded responses, the task mix) and verdicts (the strict verdict parser) live here too."""

from judgeflow.tasks import pairwise, single_rating, step_level, verification  # noqa: F401  (they register)
from judgeflow.tasks.base import ORDERS, TaskType, binary_tasks, builders, get, names, register, unregister

__all__ = ["ORDERS", "TaskType", "binary_tasks", "builders", "get", "names", "register", "unregister"]
