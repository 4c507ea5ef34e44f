"""Log list and full-text search over 100 000 executions.

Prints p50/p95 of the paginated list (first and a deep page, sorted two ways)
and of full-text searches, through the real API views (Django test client on
a file SQLite database, or PostgreSQL when DATABASE_URL is set: run it under
`python -m scriptsmanager.localservices --`), and the queries per list page.
Aim: p95 under 200 ms.
"""

import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_setup  # noqa: E402

ROWS = 100_000
WORDS = [
    "pressure",
    "flow",
    "valve",
    "pump",
    "heat",
    "stress",
    "bar",
    "steel",
    "copper",
    "tank",
    "level",
    "alarm",
    "batch",
    "report",
]


def seed() -> None:
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from logs.models import ExecutionLog

    user = User.objects.create_user(username="bench", email="b@example.com", user_level="operator")
    random.seed(7)  # noqa: S311 (test data, not secrets)
    now = timezone.now()
    batch = []
    for i in range(ROWS):
        words = " ".join(random.choices(WORDS, k=12))
        batch.append(
            ExecutionLog(
                execution_uuid=uuid.uuid4(),
                user=user,
                username="bench",
                script_name=f"script_{i % 50}.py",
                project_name=f"project_{i % 7}",
                status=random.choice(["completed", "failed", "terminated"]),
                output=f"run {i}: {words}\n" * 5,
                error_output="" if i % 5 else f"warning {i}: {random.choice(WORDS)} out of range\n",
                parameters={"case": i, "material": random.choice(WORDS)},
                duration_seconds=random.random() * 100,
            )
        )
        if len(batch) == 5000:
            ExecutionLog.objects.bulk_create(batch)
            batch = []
    ExecutionLog.objects.bulk_create(batch)
    # Spread the runs over 90 days, as a real history would be.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE logs_executionlog "
                "SET start_time = %s::timestamptz - (id * 77 %% 7776000) * interval '1 second'",
                [now],
            )
        else:
            cursor.execute(
                "UPDATE logs_executionlog "
                "SET start_time = datetime(%s, '-' || (id * 77 % 7776000) || ' seconds')",
                [now.strftime("%Y-%m-%d %H:%M:%S")],
            )
        cursor.execute("ANALYZE")
    return user


def timed(client, url: str, runs: int = 30) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:200]
    return samples


def main() -> None:
    django_setup({})
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    start = time.perf_counter()
    user = seed()
    print(f"database: {connection.vendor}")
    print(f"seeded {ROWS} executions in {time.perf_counter() - start:.1f} s")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    rows = [
        ("list, newest first", "/api/logs/execution"),
        ("list, page 2000", "/api/logs/execution?page=2000"),
        ("list by duration", "/api/logs/execution?sort=-duration"),
        ("list, status filter", "/api/logs/execution?status=failed"),
        ("search one word", "/api/logs/execution?q=valve"),
        ("search two words", "/api/logs/execution?q=pump%20alarm"),
        ("search rare text", "/api/logs/execution?q=run%2099999"),
        ("search, no hit", "/api/logs/execution?q=zeppelin"),
    ]
    worst = 0.0
    print(f"{'request':<24}{'p50 ms':>9}{'p95 ms':>9}")
    for label, url in rows:
        samples = sorted(timed(client, url))
        p95 = samples[int(0.95 * (len(samples) - 1))]
        worst = max(worst, p95)
        print(f"{label:<24}{statistics.median(samples):>9.1f}{p95:>9.1f}")
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/logs/execution?page=3")
    print(f"queries per list page: {len(queries)}")
    print(f"worst p95 {worst:.1f} ms (aim < 200 ms: {'ok' if worst < 200 else 'OVER'})")


if __name__ == "__main__":
    main()
