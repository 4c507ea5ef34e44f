"""django-q2 tasks of the catalog: thin wrappers around services."""

from catalog.discovery import discovery_run


def discovery_task() -> dict:
    return discovery_run().as_dict()
