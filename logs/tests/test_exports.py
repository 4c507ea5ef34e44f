"""Downloads and exports: the output stored once and assembled from the raw
files, old records still served, no interface token, no CSV formula."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from pypdf import PdfReader

from execution.tests.test_execute import execute, wait_final
from logs.models import ExecutionLog
from logs.services import log_file_path, log_files

from .test_logs_api import make_log

TOKEN = "tok3n-Of-An-Interface-1234567890ab"
MIB = 1024 * 1024
# The size of the pieces the exports read the files in (logs.exports.CHUNK).
CHUNK = MIB


def download(client, log, fmt="txt") -> bytes:
    response = client.get(f"/api/logs/execution/{log.execution_uuid}/download?format={fmt}")
    assert response.status_code == 200
    return response.getvalue()


def export(client, logs, fmt) -> bytes:
    response = client.post(
        "/api/logs/export",
        json.dumps({"execution_ids": [str(log.execution_uuid) for log in logs], "format": fmt}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.getvalue()


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_run_printing_n_mebibytes_takes_about_n_on_disk_and_downloads_whole(
    make_script, client_for
):
    script = make_script(
        "twenty.py",
        "import sys\nline = b'z' * 1023 + b'\\n'\n"
        "for _ in range(20 * 1024):\n    sys.stdout.buffer.write(line)\n",
        interface="false",
    )
    client = client_for("op_otto")
    log = wait_final(execute(client, script).json()["execution_id"], timeout=60)
    assert log.status == "completed"

    on_disk = sum(path.stat().st_size for path in log_files(log))
    assert 20 * MIB <= on_disk < 20 * MIB + 64 * 1024  # not twice: the record holds no copy
    text = download(client, log)
    assert text.count(b"z" * 1023 + b"\n") == 20 * 1024
    assert b'"status": "completed"' in text


def test_an_old_record_holding_a_copy_of_the_output_still_downloads_as_it_was(personas, client_for):
    log = make_log(personas["op_otto"], output="new output\n")
    old_record = (
        b"===== CONTEXT =====\n{}\n===== STDOUT =====\nthe old copy\n\n"
        b"===== STDERR =====\n\n===== DEBUG =====\n\n===== RESULT =====\n{}\n"
    )
    log_file_path(log).write_bytes(old_record)

    assert download(client_for("op_otto"), log) == old_record


def test_json_and_csv_exports_carry_the_whole_output_across_chunk_boundaries(personas, client_for):
    # Characters, quotes and escapes straddling the 1 MiB chunks the files are read in.
    output = "a" * (CHUNK - 1) + 'é"\\\x01' + "b" * (CHUNK - 2) + "€\n\t€end"
    errors = 'said "no"\r\nthen "yes"'
    log = make_log(personas["op_otto"], output=output, errors=errors)
    assert len(output.encode()) > settings.OUTPUT_DB_LIMIT_BYTES  # more than the row keeps
    client = client_for("op_otto")

    document = json.loads(download(client, log, "json"))
    assert document["output"]["stdout"] == output
    assert document["output"]["stderr"] == errors
    assert document["output"]["truncated"] is False

    other = make_log(personas["op_otto"], output="second")
    documents = json.loads(export(client, [log, other], "json"))
    assert sorted(d["output"]["stdout"] for d in documents) == sorted([output, "second"])

    previous = csv.field_size_limit(16 * MIB)  # the reader's default is 128 KiB
    try:
        rows = list(csv.DictReader(io.StringIO(export(client, [log, other], "csv").decode())))
    finally:
        csv.field_size_limit(previous)
    assert sorted(row["stdout"] for row in rows) == sorted([output, "second"])
    assert next(row for row in rows if row["stdout"] == output)["stderr"] == errors


def test_a_log_without_files_exports_its_database_copy(personas, client_for):
    log = make_log(personas["op_otto"], output="kept in the row", files=False)
    client = client_for("op_otto")
    assert json.loads(export(client, [log], "json"))["output"]["stdout"] == "kept in the row"
    assert b"kept in the row" in download(client, log)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_would_run_as_a_formula_are_neutralised(personas, client_for, start):
    formula = f"{start}cmd|' /C calc'!A0"
    log = make_log(
        personas["op_otto"],
        script=f"{start}script.py",
        output=f"{formula}\nsecond line\n",
        errors=formula,
        params={"p": formula},
    )
    ExecutionLog.objects.filter(pk=log.pk).update(project_name=formula)

    rows = list(csv.reader(io.StringIO(export(client_for("op_otto"), [log], "csv").decode())))
    header, row = rows
    cells = dict(zip(header, row, strict=True))
    assert cells["script_name"] == f"'{start}script.py"
    assert cells["project_name"] == f"'{formula}"
    assert cells["stdout"] == f"'{formula}\nsecond line\n"
    assert cells["stderr"] == f"'{formula}"
    assert json.loads(cells["parameters"]) == {"p": formula}  # starts with "{": inert
    for value in row:
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_no_export_of_an_interface_run_holds_its_token(personas, client_for):
    url = f"http://127.0.0.1:8000/interfaces/{TOKEN}/app/"
    # One occurrence straddles the first chunk boundary of the file.
    output = f"serving on {url}\n" + "x" * (CHUNK - 40) + f"again {TOKEN} done\n"
    log = make_log(personas["op_otto"], output=output, errors=f"GET {url}static/app.js\n")
    ExecutionLog.objects.filter(pk=log.pk).update(session_id=TOKEN)
    log.refresh_from_db()
    client = client_for("op_otto")

    texts = {fmt: download(client, log, fmt) for fmt in ("txt", "json", "csv")}
    texts["pdf"] = pdf_text(download(client, log, "pdf")).encode()
    texts["export json"] = export(client, [log, make_log(personas["op_otto"])], "json")
    texts["detail"] = client.get(f"/api/logs/execution/{log.execution_uuid}").content
    for name, text in texts.items():
        assert TOKEN.encode() not in text, name
        assert b"browser_session" not in text, name
    assert texts["txt"].count(b"[interface token removed]") == 3
    assert b"again [interface token removed] done" in texts["txt"]
    assert json.loads(texts["json"])["session_info"] == {"interface": True}


def test_the_pdf_reads_only_the_start_of_a_log_without_line_breaks(personas, client_for):
    log = make_log(personas["op_otto"], output="start " + "w" * (8 * MIB))
    text = pdf_text(download(client_for("op_otto"), log, "pdf"))
    assert "start" in text
    assert 990 <= text.count("w") < 1100  # the first 1000 characters of the one line
    assert "download TXT for all" in text


def test_the_full_record_of_a_run_still_running_holds_the_output_so_far(personas, client_for):
    log = make_log(personas["op_otto"], status="running", output="halfway\n")
    Path(log_file_path(log)).unlink()
    text = download(client_for("op_otto"), log).decode()
    assert "===== STDOUT =====\nhalfway\n" in text and '"status": "running"' in text
