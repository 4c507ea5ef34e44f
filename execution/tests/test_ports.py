import random
import socket
import threading

import pytest
from django.db import connection

from execution.models import PortAllocation
from execution.ports import PortsExhausted, port_allocate, port_is_free, port_release
from logs.models import ExecutionLog
from scriptsmanager.testing import free_port


@pytest.fixture
def small_range(settings):
    # Four free ports in a row, below the kernel's ephemeral range so client
    # connections made meanwhile (by other tests or programs) do not take them.
    for start in random.Random().sample(range(20000, 30000, 4), 200):  # noqa: S311
        if all(port_is_free(port) for port in range(start, start + 4)):
            settings.PORT_RANGE_START, settings.PORT_RANGE_END = start, start + 3
            return start
    raise AssertionError("no four free ports in a row between 20000 and 30000")


def execution(db):
    return ExecutionLog.objects.create(script_name="x.py", username="u", project_name="p")


def test_a_port_held_by_another_program_is_skipped(small_range, db):
    holder = socket.socket()
    holder.bind(("127.0.0.1", small_range))
    holder.listen()
    try:
        assert not port_is_free(small_range)
        allocation = port_allocate(script=None, user=None, project=None, execution=execution(db))
        assert allocation.port_number != small_range
    finally:
        holder.close()


def test_the_preferred_port_is_used_only_when_free(small_range, db):
    preferred = small_range + 2
    first = port_allocate(
        script=None, user=None, project=None, execution=execution(db), preferred=preferred
    )
    assert first.port_number == preferred
    second = port_allocate(
        script=None, user=None, project=None, execution=execution(db), preferred=preferred
    )
    assert second.port_number != preferred


def test_exhaustion_raises_and_release_frees(small_range, db):
    runs = [execution(db) for _ in range(4)]
    ports = {
        port_allocate(script=None, user=None, project=None, execution=r).port_number for r in runs
    }
    assert len(ports) == 4
    with pytest.raises(PortsExhausted):
        port_allocate(script=None, user=None, project=None, execution=execution(db))
    assert port_release(execution=runs[0]) == 1
    again = port_allocate(script=None, user=None, project=None, execution=execution(db))
    assert again.port_number == PortAllocation.objects.get(execution=runs[0]).port_number


@pytest.mark.django_db(transaction=True)
def test_parallel_allocations_never_share_a_port(settings):
    start = free_port()
    settings.PORT_RANGE_START, settings.PORT_RANGE_END = start, start + 40
    runs = [
        ExecutionLog.objects.create(script_name="x.py", username="u", project_name="p")
        for _ in range(12)
    ]
    results, errors = [], []

    def take(run):
        try:
            results.append(
                port_allocate(script=None, user=None, project=None, execution=run).port_number
            )
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 12 and len(set(results)) == 12
