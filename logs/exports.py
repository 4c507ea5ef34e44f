"""Execution logs as downloads and exports: TXT (the full record), JSON, CSV
and PDF, for one log or many.

The output is never held whole: every format is produced as chunks read from
the execution's raw stream files (the only copy of the output, see
`logs.services.log_record_write`), so memory stays constant whatever the size
of the logs. No format carries the interface token of a run: it is left out of
the documents and cut out of the output, where a script may have printed its
own URL. CSV cells that a spreadsheet would run as a formula are neutralised.
"""

import codecs
import csv
import io
import json
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings

from execution.models import ScriptProcess
from logs.models import ExecutionLog
from logs.pdf import logs_pdf

CHUNK = 1 << 20
STREAMS = ("stdout", "stderr")
TOKEN_REMOVED = b"[interface token removed]"
# Records written before the output was kept once start with this line and
# hold a copy of the output; the newer ones start with RECORD_FIRST_LINE.
LEGACY_RECORD_START = b"===== CONTEXT =====\n"
RECORD_FIRST_LINE = b"===== SCRIPTSMANAGER RECORD 2 (output in the stream files below) =====\n"
# OWASP's list for CSV injection: a spreadsheet evaluates a cell starting with
# one of these; a leading single quote makes it plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "execution_id", "script_name", "username", "project_name", "status", "stop_reason",
    "execution_start", "execution_end", "duration_seconds", "exit_code", "parameters",
    "stdout", "stderr",
)  # fmt: skip


def stream_path(log: ExecutionLog, stream: str) -> Path | None:
    """The raw file of `stream` ("stdout" or "stderr"), None when it has none."""
    relative = log.stdout_path if stream == "stdout" else log.stderr_path
    if not relative:
        return None
    path = Path(settings.LOGS_DIR) / relative
    return path if path.is_file() else None


def _token_removed(chunks: Iterable[bytes], token: str) -> Iterator[bytes]:
    """`chunks` with every occurrence of `token` replaced, also one that spans
    two chunks (the last len(token) - 1 bytes wait for the next chunk)."""
    if not token:
        yield from chunks
        return
    secret = token.encode()
    keep = len(secret) - 1
    pending = b""
    for chunk in chunks:
        data = (pending + chunk).replace(secret, TOKEN_REMOVED)
        # TOKEN_REMOVED holds "[", which no token has: a replacement can never
        # become part of a later match.
        pending = data[-keep:] if keep else b""
        if len(data) > keep:
            yield data[: len(data) - keep]
        else:
            pending = data
    if pending:
        yield pending


def _text_token_removed(text: str, token: str) -> str:
    return text.replace(token, TOKEN_REMOVED.decode()) if token else text


def _file_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes as it is now: a file still growing is read up to the
    size it had when opened."""
    with path.open("rb") as handle:
        left = path.stat().st_size
        while left > 0:
            data = handle.read(min(CHUNK, left))
            if not data:
                return
            left -= len(data)
            yield data


def stream_bytes(log: ExecutionLog, stream: str) -> Iterator[bytes]:
    """One output stream of the run, in chunks, interface token removed: from
    its raw file, or from the database copy for a log without files."""
    path = stream_path(log, stream)
    if path is not None:
        chunks: Iterable[bytes] = _file_chunks(path)
    else:
        text = log.output if stream == "stdout" else log.error_output
        chunks = [text.encode()] if text else []
    return _token_removed(chunks, log.session_id)


def stream_text(log: ExecutionLog, stream: str) -> Iterator[str]:
    """stream_bytes decoded (invalid UTF-8 and NUL become U+FFFD, as in the
    database copy); a character split between two chunks is kept whole."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for chunk in stream_bytes(log, stream):
        text = decoder.decode(chunk)
        if text:
            yield text.replace("\x00", "\ufffd")
    rest = decoder.decode(b"", final=True)
    if rest:
        yield rest


def record_context(log: ExecutionLog) -> dict:
    """The CONTEXT section of the full record."""
    return {
        "execution_id": str(log.execution_uuid),
        "script": log.script_name,
        "user": log.username,
        "project": log.project_name,
        "started": log.start_time.isoformat() if log.start_time else None,
        "parameters": log.parameters,
        "environment": log.conda_environment or "(manager's Python)",
        "python": log.python_executable,
        "port": log.flask_port,
    }


def record_result(log: ExecutionLog) -> dict:
    """The RESULT section of the full record."""
    return {
        "status": log.status,
        "exit_code": log.exit_code,
        "stop_reason": log.stop_reason,
        "ended": log.end_time.isoformat() if log.end_time else None,
        "duration_seconds": log.duration_seconds,
    }


def _json_text(data: dict) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str).encode() + b"\n"


def _legacy_record(log: ExecutionLog) -> Path | None:
    """The full record file when it is of the old kind, holding the output."""
    from logs.services import log_file_path

    path = log_file_path(log)
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            start = handle.read(len(LEGACY_RECORD_START))
    except OSError:
        return None
    return path if start == LEGACY_RECORD_START else None


def text_chunks(log: ExecutionLog) -> Iterator[bytes]:
    """The full record: context, stdout, stderr, debug notes and result."""
    legacy = _legacy_record(log)
    if legacy is not None and log.is_final:
        yield from _token_removed(_file_chunks(legacy), log.session_id)
        return
    yield b"===== CONTEXT =====\n" + _json_text(record_context(log))
    for stream in STREAMS:
        yield f"===== {stream.upper()} =====\n".encode()
        yield from stream_bytes(log, stream)
        yield b"\n"
    yield b"===== DEBUG =====\n" + (log.debug_output or "").encode() + b"\n"
    yield b"===== RESULT =====\n" + _json_text(record_result(log))


def logs_text_chunks(logs: list[ExecutionLog]) -> Iterator[bytes]:
    for index, log in enumerate(logs):
        if index:
            yield b"\n"
        yield from text_chunks(log)


def log_document(log: ExecutionLog) -> dict:
    """The specification's log content structure, with the database's copy of
    the output (its last OUTPUT_DB_LIMIT_BYTES). Holds no interface token."""
    return {
        "execution_id": str(log.execution_uuid),
        "script_id": log.script_id,
        "script_name": log.script_name,
        "user_id": log.user_id,
        "username": log.username,
        "project_id": log.project_id,
        "project_name": log.project_name,
        "execution_start": log.start_time.isoformat() if log.start_time else None,
        "execution_end": log.end_time.isoformat() if log.end_time else None,
        "duration_seconds": log.duration_seconds,
        "status": log.status,
        "stop_reason": log.stop_reason,
        "exit_code": log.exit_code,
        "parameters": log.parameters,
        "environment": {
            "conda_env": log.conda_environment,
            "python": log.python_executable,
            "flask_port": log.flask_port,
        },
        "output": {
            "stdout": _text_token_removed(log.output, log.session_id),
            "stderr": _text_token_removed(log.error_output, log.session_id),
            "debug": log.debug_output,
            "truncated": log.output_truncated,
        },
        "session_info": {"interface": bool(log.session_id)},
    }


def _export_document(log: ExecutionLog, stdout: object, stderr: object) -> dict:
    """log_document with the whole output in its place (`stdout`, `stderr`):
    truncated only when the run passed its output limit or lost its files."""
    document = log_document(log)
    files_missing = any(stream_path(log, stream) is None for stream in STREAMS)
    document["output"] = {
        "stdout": stdout,
        "stderr": stderr,
        "debug": log.debug_output,
        "truncated": log.stop_reason == ScriptProcess.StopReason.OUTPUT_LIMIT
        or (files_missing and log.output_truncated),
    }
    return document


def _json_document_chunks(log: ExecutionLog) -> Iterator[bytes]:
    # Serialise the document with a random placeholder for each stream, then
    # stream each one's escaped text where its placeholder stands.
    marker = f"@@{secrets.token_hex(16)}@@"
    placeholders = {json.dumps(f"{marker}{stream}"): stream for stream in STREAMS}
    document = _export_document(log, f"{marker}stdout", f"{marker}stderr")
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    for placeholder, stream in placeholders.items():
        before, text = text.split(placeholder, 1)
        yield before.encode()
        yield b'"'
        for part in stream_text(log, stream):
            yield json.dumps(part, ensure_ascii=False)[1:-1].encode()
        yield b'"'
    yield text.encode()


def logs_json_chunks(logs: list[ExecutionLog]) -> Iterator[bytes]:
    """One log as an object, several as an array of them."""
    if len(logs) == 1:
        yield from _json_document_chunks(logs[0])
        return
    yield b"["
    for index, log in enumerate(logs):
        yield b",\n" if index else b"\n"
        yield from _json_document_chunks(log)
    yield b"\n]"


def csv_cell(value: object) -> object:
    """A value as a CSV cell a spreadsheet shows as text, never runs: text
    starting with = + - @ TAB or CR gets a leading single quote (numbers that
    we wrote ourselves are left alone)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_stream_cell(log: ExecutionLog, stream: str) -> Iterator[bytes]:
    """One stream as a quoted CSV field, written chunk by chunk."""
    yield b'"'
    first = True
    for part in stream_text(log, stream):
        if first:
            part = csv_cell(part)
            first = False
        yield part.replace('"', '""').encode()
    yield b'"'


def logs_csv_chunks(logs: list[ExecutionLog]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def taken() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode()

    writer.writerow(CSV_COLUMNS)
    yield taken()
    for log in logs:
        doc = log_document(log)
        writer.writerow(
            csv_cell(value)
            for value in (
                doc["execution_id"], doc["script_name"], doc["username"], doc["project_name"],
                doc["status"], doc["stop_reason"], doc["execution_start"], doc["execution_end"],
                doc["duration_seconds"], doc["exit_code"], json.dumps(doc["parameters"]),
            )
        )  # fmt: skip
        # The row so far without its line end: the two streams follow, streamed.
        yield taken().removesuffix(b"\r\n") + b","
        yield from _csv_stream_cell(log, "stdout")
        yield b","
        yield from _csv_stream_cell(log, "stderr")
        yield b"\r\n"


def logs_pdf_bytes(logs: list[ExecutionLog]) -> bytes:
    """The PDF (bounded: logs.pdf takes at most a fixed number of lines)."""
    documents = [
        _export_document(log, stream_text(log, "stdout"), stream_text(log, "stderr"))
        for log in logs
    ]
    return logs_pdf(documents)
