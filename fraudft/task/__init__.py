"""The task: what is predicted (labels, the answer's label key, reply parsing, scores, the positive
class). A low layer: it imports fraudft.core only; records, readers, the task format, evaluation
and run records import it. See fraudft.task.base for the interface and how a second task registers.

    from fraudft.task import get_task
    task = get_task()          # is_fraud, the default; get_task("is_fraud", option="--task")

Tasks register in the order of the imports below.
"""

from fraudft.task.base import DEFAULT_TASK, TASKS, Task, get_task
from fraudft.task import is_fraud  # noqa: E402,F401  registers is_fraud, the default
from fraudft.task.is_fraud import IS_FRAUD, BoolTask

__all__ = ["DEFAULT_TASK", "IS_FRAUD", "TASKS", "BoolTask", "Task", "get_task"]
