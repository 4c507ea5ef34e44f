import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from backups import services
from scriptsmanager.schedules import schedules_ensure

ENDPOINTS = [
    ("post", "/api/system/backup"),
    ("get", "/api/system/backups"),
    ("delete", "/api/system/backups/2024-05-01"),
    ("get", "/api/system/backup-status"),
]


def test_an_admin_backs_up_lists_and_reads_the_status(data, client_for, tmp_path):
    admin = client_for("ada_admin")
    schedules_ensure()

    created = admin.post("/api/system/backup")

    assert created.status_code == 200, created.content
    archive = created.json()["archive"]
    today = timezone.localdate().isoformat()
    assert archive["date"] == today
    assert (tmp_path / "backup" / today / archive["name"]).stat().st_size == archive["size"]
    assert created.json()["files"] >= 7
    listed = admin.get("/api/system/backups").json()
    assert listed == [{"date": today, "size": archive["size"], "archives": [archive]}]
    status = admin.get("/api/system/backup-status").json()
    assert status["enabled"] is True
    assert status["schedule_time"] == "02:00"
    assert status["retention_days"] == 30
    assert status["running"] is False
    assert status["last_run"]["status"] == "success"
    assert status["last_run"]["archive"] == archive["name"]
    assert status["last_run"]["size"] == archive["size"]
    assert status["last_run"]["error"] is None
    assert status["next_run"] is not None
    assert status["total_size"] == archive["size"]
    assert status["archives"] == 1
    assert status["disk_free"] > 0
    event = AuditEvent.objects.get(action=AuditEvent.Action.BACKUP_CREATED)
    assert event.actor_username == "ada_admin"
    assert event.details["archive"] == archive["name"]


@pytest.mark.parametrize("persona", ["dev_dora", "op_otto", "vic_viewer"])
@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_only_admins_reach_the_system_backup(data, client_for, persona, method, url, tmp_path):
    response = getattr(client_for(persona), method)(url)

    assert response.status_code == 403
    assert not (tmp_path / "backup").exists()


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_requests_are_refused(data, client, method, url):
    assert getattr(client, method)(url).status_code == 401


def test_unsafe_requests_need_the_csrf_token(data, csrf_client, personas, tmp_path):
    csrf_client.force_login(personas["ada_admin"])

    assert csrf_client.post("/api/system/backup").status_code == 403
    assert csrf_client.delete("/api/system/backups/2024-05-01").status_code == 403
    assert not (tmp_path / "backup").exists()


def test_a_second_backup_while_one_runs_answers_409(data, client_for, tmp_path):
    with services.backup_lock():
        response = client_for("ada_admin").post("/api/system/backup")

    assert response.status_code == 409
    assert "Another backup" in response.json()["detail"]
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.BACKUP_FAILED).exists()
    assert not list((tmp_path / "backup").glob("2*"))


@pytest.mark.parametrize("date", ["2024-5-1", "yesterday", "2024-02-30", "..", "2024-05-01x"])
def test_deleting_needs_a_real_date(data, client_for, date):
    response = client_for("ada_admin").delete(f"/api/system/backups/{date}")

    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.json()["detail"]


def test_deleting_a_date_removes_its_archives_only(data, client_for, tmp_path):
    admin = client_for("ada_admin")
    archive = services.backup_create(reason=services.REASON_MANUAL).archive
    other = tmp_path / "backup" / "2024-05-01"
    other.mkdir()
    (other / "data_backup_20240501_020000.tar.gz").write_bytes(b"old")
    (other / "README.txt").write_bytes(b"not ours")

    assert admin.delete("/api/system/backups/2024-05-02").status_code == 404
    response = admin.delete("/api/system/backups/2024-05-01")

    assert response.status_code == 200
    assert response.json() == {
        "date": "2024-05-01",
        "deleted": ["data_backup_20240501_020000.tar.gz"],
    }
    assert [p.name for p in other.iterdir()] == ["README.txt"]
    assert archive.path.exists()
    assert admin.delete("/api/system/backups/2024-05-01").status_code == 404
    event = AuditEvent.objects.get(action=AuditEvent.Action.BACKUP_DELETED)
    assert event.actor_username == "ada_admin"
    assert event.details == {
        "date": "2024-05-01",
        "archives": ["data_backup_20240501_020000.tar.gz"],
    }
