"""A run whose output passes SCRIPT_OUTPUT_LIMIT_MB is stopped, with a reason
the log shows, and its files stay within the limit."""

from pathlib import Path

from .test_execute import execute, wait_final

MIB = 1024 * 1024
FLOOD = (
    "import sys\nblock = b'y' * 65535 + b'\\n'\n"
    "for _ in range(16 * 300):\n    sys.stdout.buffer.write(block)\n"
    "print('finished', file=sys.stderr)\n"
)


def test_a_run_printing_past_the_output_limit_is_stopped_and_the_log_says_so(
    make_script, client_for, settings
):
    settings.SCRIPT_OUTPUT_LIMIT_MB = 1
    script = make_script("flood.py", FLOOD, interface="false")
    client = client_for("op_otto")

    body = execute(client, script).json()
    log = wait_final(body["execution_id"], timeout=60)

    assert (log.status, log.stop_reason) == ("terminated", "output_limit")
    logs_root = Path(settings.LOGS_DIR)
    assert (logs_root / log.stdout_path).stat().st_size == MIB
    errors = (logs_root / log.stderr_path).read_text()
    assert "output limit of 1 MiB reached" in errors and "finished" not in errors
    assert "limit of 1 MiB" in log.debug_output
    page = client.get(f"/logs/{log.execution_uuid}/").content.decode()
    assert "Output limit" in page
    status = client.get(
        f"/api/scripts/{script.pk}/status", {"execution_id": str(log.execution_uuid)}
    ).json()
    assert (status["stop_reason"], status["stop_reason_label"]) == ("output_limit", "Output limit")
    record = client.get(f"/api/logs/execution/{log.execution_uuid}/download").getvalue()
    assert b'"stop_reason": "output_limit"' in record
    assert b"output limit of 1 MiB reached" in record
