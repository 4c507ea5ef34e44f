"""Page latency and throughput on the real server (`manage.py serve`).

Prints p50/p95/p99 and requests per second for a few pages, sequentially and
with 8 concurrent clients, and compares p95 with the 100 ms target for a page.
"""

import os
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptsmanager.settings_test")

import django  # noqa: E402

django.setup()

from scriptsmanager.testing import ApiSession, running_app  # noqa: E402

TARGET_P95_MS = 100.0
REQUESTS = 300
CONCURRENCY = 8


def opener_logged_in(url: str) -> urllib.request.OpenerDirector:
    session = ApiSession(url)
    session.login("op_otto")
    return session.opener


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(opener, url: str, concurrency: int) -> tuple[list[float], float, int]:
    errors = 0

    def one(_):
        nonlocal errors
        start = time.perf_counter()
        try:
            with opener.open(url) as response:
                response.read()
                if response.status != 200:
                    errors += 1
        except OSError:
            errors += 1
        return (time.perf_counter() - start) * 1000

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        samples = list(pool.map(one, range(REQUESTS)))
    return samples, REQUESTS / (time.perf_counter() - began), errors


def main() -> None:
    with tempfile.TemporaryDirectory() as data, running_app(Path(data)) as url:
        opener = opener_logged_in(url)
        login_times = []
        for _ in range(5):
            start = time.perf_counter()
            opener_logged_in(url)
            login_times.append((time.perf_counter() - start) * 1000)
        print(f"server: daphne at {url}, {REQUESTS} requests per row")
        columns = ("clients", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors")
        print(f"{'page':<26}" + "".join(f"{c:>9}" for c in columns))
        worst_p95 = 0.0
        for path in ("/health", "/accounts/login/", "/", "/accounts/profile/", "/api/auth/user"):
            for clients in (1, CONCURRENCY):
                samples, rate, errors = measure(opener, url + path, clients)
                p95 = percentile(samples, 95)
                if clients == 1:
                    worst_p95 = max(worst_p95, p95)
                print(
                    f"{path:<26}{clients:>9}{statistics.median(samples):>9.1f}{p95:>9.1f}"
                    f"{percentile(samples, 99):>9.1f}{rate:>9.0f}{errors:>9}"
                )
        login_ms = statistics.median(login_times)
        print(f"login through the API (bcrypt, 12 rounds): median {login_ms:.0f} ms")
        verdict = "within" if worst_p95 <= TARGET_P95_MS else "OVER"
        print(
            f"worst single-client p95 {worst_p95:.1f} ms: {verdict} the {TARGET_P95_MS:.0f} ms aim"
        )


if __name__ == "__main__":
    main()
