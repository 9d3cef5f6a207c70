"""Judge task types: the registry (one TaskType per task), items built from graded responses, verdicts."""
