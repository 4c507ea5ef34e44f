import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import AuditEvent
from logs.models import ExecutionLog
from logs.services import log_file_path, log_record_write, logs_cleanup
from projects.services import user_logs_dir


def make_log(
    user, *, script="calc.py", status="completed", output="", errors="", params=None,
    days_ago=0, duration=1.0, files=True,
):  # fmt: skip
    log = ExecutionLog.objects.create(
        user=user,
        username=user.username if user else "gone",
        script_name=script,
        project_name="project_default",
        status=status,
        output=output,
        error_output=errors,
        parameters=params or {},
        duration_seconds=duration,
        exit_code=0 if status == "completed" else 1,
    )
    if days_ago:
        ExecutionLog.objects.filter(pk=log.pk).update(
            start_time=timezone.now() - timedelta(days=days_ago)
        )
        log.refresh_from_db()
    if files:
        owner = user_logs_dir(user) if user else Path(settings.LOGS_DIR) / "executions" / "gone"
        folder = owner / "2026-11-28"
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"execution_{log.execution_uuid}"
        (folder / f"{stem}.stdout.log").write_text(output)
        (folder / f"{stem}.stderr.log").write_text(errors)
        log.stdout_path = str((folder / f"{stem}.stdout.log").relative_to(settings.LOGS_DIR))
        log.stderr_path = str((folder / f"{stem}.stderr.log").relative_to(settings.LOGS_DIR))
        log.save()
        log_record_write(log)
    return log


def test_users_see_only_their_own_logs(personas, client_for):
    mine = make_log(personas["op_otto"], output="otto's result")
    theirs = make_log(personas["op_olga"], output="olga's secret result")
    otto = client_for("op_otto")
    listed = otto.get("/api/logs/execution").json()
    assert [item["execution_id"] for item in listed["items"]] == [str(mine.execution_uuid)]
    for method, path in [
        ("get", f"/api/logs/execution/{theirs.execution_uuid}"),
        ("get", f"/api/logs/execution/{theirs.execution_uuid}/download"),
        ("get", f"/api/logs/execution/{theirs.execution_uuid}/output"),
        ("delete", f"/api/logs/execution/{theirs.execution_uuid}"),
    ]:
        assert getattr(otto, method)(path).status_code == 404
    assert ExecutionLog.objects.filter(pk=theirs.pk).exists()
    assert (
        AuditEvent.objects.filter(action="log_access_refused", actor_username="op_otto").count()
        == 4
    )
    assert otto.get("/api/logs/search?q=secret").json()["count"] == 0
    admin = client_for("ada_admin")
    assert admin.get("/api/admin/logs/execution").json()["count"] == 2
    assert admin.get("/api/admin/logs/execution?q=secret").json()["count"] == 1
    assert admin.get(f"/api/logs/execution/{theirs.execution_uuid}").status_code == 200
    assert client_for("op_otto").get("/api/admin/logs/execution").status_code == 403


def test_full_text_search_finds_output_and_parameters(personas, client_for):
    otto = personas["op_otto"]
    hit = make_log(otto, output="pressure drop computed: 42 kPa", params={"material": "steel"})
    make_log(otto, output="nothing to see", params={"material": "copper"})
    client = client_for("op_otto")
    found = client.get("/api/logs/search?q=pressure kPa").json()
    assert [i["execution_id"] for i in found["items"]] == [str(hit.execution_uuid)]
    by_param = client.get("/api/logs/execution?q=steel").json()
    assert [i["execution_id"] for i in by_param["items"]] == [str(hit.execution_uuid)]
    odd = client.get('/api/logs/execution?q="unbalanced OR NEAR(').json()
    assert odd["count"] == 0
    assert client.get("/api/logs/search?q=").status_code == 400


def test_filters_and_sorting(personas, client_for):
    otto = personas["op_otto"]
    make_log(otto, script="a.py", duration=5, status="failed")
    make_log(otto, script="b.py", duration=1)
    make_log(otto, script="c.py", duration=3, days_ago=10)
    client = client_for("op_otto")
    by_duration = client.get("/api/logs/execution?sort=duration").json()["items"]
    assert [i["script_name"] for i in by_duration] == ["b.py", "c.py", "a.py"]
    assert client.get("/api/logs/execution?status=failed").json()["count"] == 1
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert client.get("/api/logs/execution", {"since": since}).json()["count"] == 2
    assert client.get("/api/logs/execution?min_duration=2&max_duration=4").json()["count"] == 1
    assert client.get("/api/logs/execution?sort=sideways").status_code == 400


def test_exports_parse_back(personas, client_for):
    otto = personas["op_otto"]
    tricky = 'a "quoted", comma\nand a second line'
    log = make_log(otto, output=tricky, params={"note": 'he said "hi"'})
    other = make_log(otto, output="plain")
    client = client_for("op_otto")
    as_json = json.loads(
        client.get(f"/api/logs/execution/{log.execution_uuid}/download?format=json").getvalue()
    )
    assert as_json["execution_id"] == str(log.execution_uuid)
    assert as_json["output"]["stdout"] == tricky
    assert set(as_json) >= {
        "script_name",
        "username",
        "parameters",
        "environment",
        "output",
        "status",
    }
    exported = client.post(
        "/api/logs/export",
        json.dumps(
            {"execution_ids": [str(log.execution_uuid), str(other.execution_uuid)], "format": "csv"}
        ),
        content_type="application/json",
    )
    rows = list(csv.DictReader(io.StringIO(exported.getvalue().decode())))
    assert {row["stdout"] for row in rows} == {tricky, "plain"}
    assert json.loads(next(r for r in rows if r["stdout"] == tricky)["parameters"]) == {
        "note": 'he said "hi"'
    }
    text = client.get(f"/api/logs/execution/{log.execution_uuid}/download").getvalue().decode()
    assert "===== STDOUT =====" in text and tricky in text and "===== RESULT =====" in text


def test_the_record_file_holds_header_references_to_the_output_and_footer(personas, client_for):
    log = make_log(personas["op_otto"], output="out line\n", errors="err line\n", params={"x": 1})
    record = log_file_path(log).read_text()
    stem = f"execution_{log.execution_uuid}"
    assert (
        record.index("CONTEXT")
        < record.index(f"{stem}.stdout.log (9 bytes)")
        < record.index(f"{stem}.stderr.log (9 bytes)")
        < record.index("RESULT")
    )
    assert '"exit_code": 0' in record
    assert "out line" not in record and "err line" not in record  # stored once, in the files
    text = client_for("op_otto").get(f"/api/logs/execution/{log.execution_uuid}/download")
    text = text.getvalue().decode()
    assert (
        text.index("===== CONTEXT =====")
        < text.index("===== STDOUT =====\nout line\n")
        < text.index("===== STDERR =====\nerr line\n")
        < text.index("===== RESULT =====")
    )


def test_output_ranges_load_big_logs_on_demand_without_splitting_characters(personas, client_for):
    text = "é" * 1000 + "\nend\n"
    log = make_log(personas["op_otto"], output=text)
    client = client_for("op_otto")
    first = client.get(f"/api/logs/execution/{log.execution_uuid}/output?limit=101").json()
    assert first["size"] == len(text.encode())
    assert first["next_offset"] == 100  # not 101: that would cut an é in two
    rest = client.get(
        f"/api/logs/execution/{log.execution_uuid}/output?offset=100&limit=1000000"
    ).json()
    assert first["data"] + rest["data"] == text


def test_deleting_removes_the_row_and_files_and_refuses_running_ones(personas, client_for):
    otto = personas["op_otto"]
    done = make_log(otto, output="x")
    running = make_log(otto, status="running")
    files = list(log_file_path(done).parent.glob(f"execution_{done.execution_uuid}.*"))
    assert len(files) == 3
    client = client_for("op_otto")
    assert client.delete(f"/api/logs/execution/{done.execution_uuid}").json() == {"deleted": 1}
    assert not any(path.exists() for path in files)
    assert client.delete(f"/api/logs/execution/{running.execution_uuid}").status_code == 409
    bulk = client.post(
        "/api/logs/delete",
        json.dumps({"execution_ids": [str(running.execution_uuid)]}),
        content_type="application/json",
    )
    assert bulk.status_code == 409


@pytest.mark.parametrize(
    ("persona", "kept_days", "dropped_days"),
    [("vic_viewer", 6, 8), ("op_otto", 29, 31), ("dev_dora", 89, 91), ("ada_admin", 364, 366)],
)
def test_retention_follows_the_owners_level(personas, persona, kept_days, dropped_days):
    user = personas[persona]
    kept = make_log(user, days_ago=kept_days)
    dropped = make_log(user, days_ago=dropped_days)
    running = make_log(user, days_ago=dropped_days, status="running")
    assert logs_cleanup() == 1
    assert set(ExecutionLog.objects.values_list("pk", flat=True)) == {kept.pk, running.pk}
    assert not log_file_path(dropped).exists()


def test_a_deleted_users_history_keeps_the_longest_retention(personas):
    viewer = personas["vic_viewer"]
    kept = make_log(viewer, days_ago=300)
    dropped = make_log(viewer, days_ago=366)
    viewer.delete()
    assert logs_cleanup() == 1
    assert list(ExecutionLog.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not log_file_path(dropped).exists()


def test_cleanup_and_stats_endpoints(personas, client_for):
    otto = personas["op_otto"]
    make_log(otto, days_ago=40)
    make_log(otto, status="failed", duration=3)
    make_log(otto, duration=1)
    client = client_for("op_otto")
    assert client.post("/api/logs/cleanup").json() == {"deleted": 1}
    stats = client.get("/api/logs/stats").json()
    assert stats["total"] == 2 and stats["success_rate"] == 0.5
    assert stats["average_duration_seconds"] == 2
    assert stats["storage_bytes"] > 0
    assert stats["most_used_scripts"][0]["runs"] == 2


def test_admins_delete_a_users_logs_and_it_is_audited(personas, client_for):
    make_log(personas["op_olga"])
    response = client_for("ada_admin").delete(f"/api/admin/logs/user/{personas['op_olga'].pk}")
    assert response.json() == {"deleted": 1}
    assert AuditEvent.objects.filter(action="logs_deleted").exists()


def test_the_list_runs_a_constant_number_of_queries(
    personas, client_for, django_assert_num_queries
):
    client = client_for("op_otto")
    for _ in range(26):
        make_log(personas["op_otto"], files=False)
    client.get("/api/logs/execution")
    with django_assert_num_queries(4):  # session, user, count, page
        client.get("/api/logs/execution")
    for _ in range(30):
        make_log(personas["op_otto"], files=False)
    with django_assert_num_queries(4):
        assert len(client.get("/api/logs/execution").json()["items"]) == 25


def test_the_pdf_export_opens_and_holds_the_output(personas, client_for, tmp_path):
    log = make_log(personas["op_otto"], output="température mesurée: 42 °C\nline two\n")
    response = client_for("op_otto").get(
        f"/api/logs/execution/{log.execution_uuid}/download?format=pdf"
    )
    assert response["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.content)).pages
    text = "".join(page.extract_text() for page in pages)
    assert "température mesurée: 42 °C" in text
    assert "line two" in text


def test_system_logs_rotate_and_admins_read_them(settings, tmp_path, client_for, personas):
    from logs.services import system_logs_rotate

    settings.SYSTEM_LOG_DIR = tmp_path / "system"
    settings.LOGS_DIR = tmp_path
    settings.SYSTEM_LOG_DIR.mkdir()
    settings.SYSTEM_LOG_MAX_BYTES = 100
    settings.SYSTEM_LOG_KEEP = 2
    big = settings.SYSTEM_LOG_DIR / "application.log"
    small = settings.SYSTEM_LOG_DIR / "error.log"
    small.write_text("one error\n")
    for generation in range(4):
        big.write_text(f"generation {generation}\n" * 20)
        assert system_logs_rotate() == ["application.log"]
    names = sorted(p.name for p in settings.SYSTEM_LOG_DIR.iterdir())
    assert names == ["application.log.1", "application.log.2", "error.log"]
    assert "generation 3" in (settings.SYSTEM_LOG_DIR / "application.log.1").read_text()
    body = client_for("ada_admin").get("/api/admin/logs/system?name=error.log").json()
    assert body["lines"] == ["one error"]
    assert client_for("ada_admin").get("/api/admin/logs/system?name=../x.log").status_code == 404
    assert client_for("op_otto").get("/api/admin/logs/system?name=error.log").status_code == 403


def test_bookmarks_notes_and_presets_are_personal(personas, client_for):
    log = make_log(personas["op_otto"])
    otto, olga = client_for("op_otto"), client_for("op_olga")
    url = f"/api/logs/execution/{log.execution_uuid}/annotation"
    body = {"bookmarked": True, "note": "compare with run 12"}
    response = otto.put(url, json.dumps(body), content_type="application/json")
    assert response.json()["bookmarked"] is True
    log.refresh_from_db()
    assert log.note == "compare with run 12"
    assert olga.put(url, json.dumps(body), content_type="application/json").status_code == 404

    saved = otto.post(
        "/api/logs/presets",
        json.dumps({"name": "failures", "filters": {"status": "failed", "sort": "-duration"}}),
        content_type="application/json",
    )
    assert saved.status_code == 200
    assert [p["name"] for p in otto.get("/api/logs/presets").json()] == ["failures"]
    assert olga.get("/api/logs/presets").json() == []
    for bad in ({"colour": "red"}, {"status": "exploded"}):
        refused = otto.post(
            "/api/logs/presets",
            json.dumps({"name": "bad", "filters": bad}),
            content_type="application/json",
        )
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "filters"
    preset_id = saved.json()["id"]
    assert olga.delete(f"/api/logs/presets/{preset_id}").status_code == 404
    assert otto.delete(f"/api/logs/presets/{preset_id}").json() == {"deleted": 1}
