"""Parallel guesses against the real server (several web workers) cannot get
more password checks than the throttle allows."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from scriptsmanager.testing import PERSONA_PASSWORD, ApiSession, app_database_query, running_app

GUESSES = 30


def test_parallel_guesses_get_no_more_password_checks_than_the_limit(tmp_path):
    data = tmp_path / "data"
    env = {
        "LOGIN_THROTTLE_MAX_PER_PAIR": "5",
        "LOGIN_THROTTLE_MAX_PER_ADDRESS": "20",
        "LOGIN_BACKOFF_AFTER": "1000",
    }
    with running_app(data, extra_env=env, serve_args=("--workers", "2", "--only", "web")) as url:
        sessions = [ApiSession(url) for _ in range(GUESSES)]
        for session in sessions:
            session.csrf_token()
        start = threading.Barrier(GUESSES)

        def guess(number: int) -> int:
            password = PERSONA_PASSWORD if number == GUESSES - 1 else f"wrong-{number}"
            start.wait()
            status, _body = sessions[number].login("op_otto", password)
            return status

        with ThreadPoolExecutor(GUESSES) as pool:
            statuses = Counter(pool.map(guess, range(GUESSES)))
    checked = statuses[200] + statuses[401]
    assert set(statuses) <= {200, 401, 429}, statuses
    assert checked <= 5, statuses
    assert statuses[200] <= 1
    assert statuses[429] == GUESSES - checked
    ((failed,),) = app_database_query(
        data, "SELECT COUNT(*) FROM accounts_auditevent WHERE action = 'login_failed'"
    )
    assert failed == statuses[401]
