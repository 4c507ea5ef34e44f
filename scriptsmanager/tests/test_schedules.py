"""Periodic jobs are rows in the database: several job clusters checking them
at the same moment queue a due job once, not once per cluster."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler

from scriptsmanager.schedules import schedules_ensure


@pytest.mark.django_db(transaction=True)
def test_a_due_job_is_queued_once_however_many_clusters_check_it():
    Schedule.objects.create(
        name="due",
        func="math.floor",
        args="1.5",
        schedule_type=Schedule.MINUTES,
        minutes=5,
        repeats=-1,
        next_run=timezone.now() - timedelta(seconds=1),
    )
    broker = get_broker()
    broker.purge_queue()
    start = threading.Barrier(4)
    failures = []

    def cluster() -> None:
        try:
            start.wait()
            scheduler(broker=get_broker())
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=cluster) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert broker.queue_size() == 1
    assert Schedule.objects.get(name="due").next_run > timezone.now()
    broker.purge_queue()


@pytest.mark.django_db
def test_starting_again_keeps_one_row_per_job():
    schedules_ensure()
    first = set(Schedule.objects.values_list("name", "func"))
    schedules_ensure()
    assert set(Schedule.objects.values_list("name", "func")) == first
    assert Schedule.objects.count() == len(first)
    assert {"catalog-discovery", "logs-retention", "execution-cleanup"} <= {n for n, _ in first}
