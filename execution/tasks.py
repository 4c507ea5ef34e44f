"""django-q2 tasks of the execution app."""

from execution.services import executions_reconcile


def cleanup_task() -> dict:
    return executions_reconcile()
