import hashlib
import json
import os
import re
import threading
import zipfile

import pytest

from accounts.models import AuditEvent
from catalog.discovery import discovery_run
from catalog.models import ScriptGroup
from projects import data_files
from projects.data_files import DataPathError
from projects.models import UserProject
from projects.services import project_data_dir

SECRET = b"top secret, outside every project\n"


@pytest.fixture
def data_root(settings, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    settings.BASE_DATA_PATH = root
    return root


@pytest.fixture
def group(tree, db, data_root):
    tree.group("thermal", {"name": "Thermal"})
    tree.group("hydraulics", {"name": "Hydraulics"})
    discovery_run()
    return ScriptGroup.objects.get(directory_name="thermal")


@pytest.fixture
def project(personas, group):
    project = UserProject.objects.create(user=personas["op_otto"], group=group, name="alpha")
    return UserProject.objects.select_related("user", "group").get(pk=project.pk)


@pytest.fixture
def folder(project):
    path = project_data_dir(project)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def outside(tmp_path, folder):
    """A folder outside every project, and symlinks to it inside the project:
    `leak.txt` (a file) and `linked/` (a parent folder)."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_bytes(SECRET)
    os.symlink(path / "secret.txt", folder / "leak.txt")
    os.symlink(path, folder / "linked")
    return path


def snapshot(*roots):
    """Every entry under `roots` (symlinks not followed): kind, size, mtime, content hash."""
    seen = {}
    for root in roots:
        for base, dirs, files in os.walk(root, followlinks=False):
            for name in dirs + files:
                path = os.path.join(base, name)
                info = os.lstat(path)
                digest = ""
                if os.path.isfile(path) and not os.path.islink(path):
                    with open(path, "rb") as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
                seen[path] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return seen


def url(project, name=""):
    return f"/api/data/{project.group_id}/{project.pk}/{name}"


def call(client, method, path, body=b"{}"):
    if method == "post":
        return client.post(path, data=body, content_type="application/octet-stream")
    return getattr(client, method)(path)


# --- Names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "../x", "a/../../x", "a/..", "/etc/passwd", "a\\..\\x", "a\x00b", "x" * 256, "."],
)
def test_it_refuses_bad_names(project, name):
    with pytest.raises(DataPathError) as refused:
        data_files.data_path_resolve(project, name)
    assert repr(name[:40])[1:-1] in str(refused.value)


def test_it_allows_sub_folders(project):
    path = data_files.data_path_resolve(project, "results/run1.json")
    assert path == project_data_dir(project).resolve() / "results" / "run1.json"


def test_it_refuses_symlinks_leading_out_of_the_folder(project, outside):
    for name in ("leak.txt", "linked/secret.txt", "linked/new.txt", "linked/sub/new.txt"):
        with pytest.raises(DataPathError, match="outside"):
            data_files.data_path_resolve(project, name)


def test_a_symlink_that_stays_inside_is_followed(project, folder):
    (folder / "real.txt").write_bytes(b"inside")
    os.symlink(folder / "real.txt", folder / "alias.txt")
    assert data_files.data_file_read(project, "alias.txt") == b"inside"


def test_a_folder_swapped_for_a_symlink_after_the_check_is_not_followed(
    project, folder, outside, monkeypatch
):
    """The race the check alone would lose: the walk refuses the link itself."""
    (folder / "sub").mkdir()
    real_resolve = data_files.data_path_resolve

    def resolve_then_swap(project_, name):
        path = real_resolve(project_, name)
        (folder / "sub").rmdir()
        os.symlink(outside, folder / "sub")
        return path

    monkeypatch.setattr(data_files, "data_path_resolve", resolve_then_swap)
    before = snapshot(outside)
    with pytest.raises(DataPathError):
        data_files.data_file_write(project, "sub/secret.txt", b"overwritten")
    assert snapshot(outside) == before


# --- Every endpoint refuses a way out ------------------------------------------------

ESCAPES = [
    "../x",
    "a/../../x",
    "%2e%2e/x",
    "a/%2e%2e/%2e%2e/x",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "a%5C..%5Cx",
    "leak.txt",
    "linked/secret.txt",
    "linked/new.txt",
    "linked/sub/new.txt",
]


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("name", ESCAPES)
def test_every_endpoint_refuses_a_way_out(client_for, project, outside, data_root, method, name):
    before = snapshot(outside, data_root)
    outside_mtime = (outside / "secret.txt").stat().st_mtime_ns
    response = call(client_for("op_otto"), method, url(project, name), body=b'{"x": 1}')
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert SECRET not in response.content
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert (outside / "secret.txt").stat().st_mtime_ns == outside_mtime
    assert snapshot(outside, data_root) == before


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "is not valid JSON"), ("es", "no es JSON válido"), ("fr", "n’est pas un JSON valide")],
)
def test_refusals_are_in_the_users_language(
    client_for, personas, project, folder, language, expected
):
    personas["op_otto"].preferred_language = language
    personas["op_otto"].save()
    response = call(client_for("op_otto"), "post", url(project, "settings.json"), body=b"{oops")
    assert response.status_code == 400
    assert expected in response.json()["detail"]
    assert not (folder / "settings.json").exists()


# --- Who may reach a project ---------------------------------------------------------


def project_endpoints(project):
    return [
        ("get", url(project, "files")),
        ("get", url(project, "notes.txt")),
        ("post", url(project, "notes.txt")),
        ("delete", url(project, "notes.txt")),
        ("post", url(project, "backup")),
    ]


@pytest.mark.parametrize("persona", ["op_olga", "dev_dora", "vic_viewer"])
def test_it_refuses_another_users_project_like_a_missing_one(
    client_for, project, folder, data_root, persona
):
    (folder / "notes.txt").write_bytes(b"otto's")
    before = snapshot(data_root)
    client = client_for(persona)
    for method, path in project_endpoints(project):
        response = call(client, method, path, body=b"olga's")
        assert response.status_code == 404, (method, path)
        assert response.json()["detail"] == "Not found."
    missing = call(client, "get", f"/api/data/{project.group_id}/999999/files")
    assert missing.json() == response.json()
    assert snapshot(data_root) == before
    refused = AuditEvent.objects.filter(action="data_access_refused", actor_username=persona)
    assert refused.count() == len(project_endpoints(project))


def test_an_admin_reaches_every_project(client_for, project, folder):
    (folder / "notes.txt").write_bytes(b"otto's")
    admin = client_for("ada_admin")
    assert admin.get(url(project, "files")).json()[0]["name"] == "notes.txt"
    assert admin.get(url(project, "notes.txt")).getvalue() == b"otto's"
    assert call(admin, "post", url(project, "notes.txt"), b"checked").status_code == 200
    assert (folder / "notes.txt").read_bytes() == b"checked"
    assert call(admin, "post", url(project, "backup")).status_code == 200
    assert admin.delete(url(project, "notes.txt")).status_code == 204


def test_admins_are_kept_out_when_the_setting_says_so(client_for, project, folder, settings):
    settings.ADMIN_CAN_ACCESS_ALL_DATA = False
    (folder / "notes.txt").write_bytes(b"otto's")
    for method, path in project_endpoints(project):
        assert call(client_for("ada_admin"), method, path).status_code == 404
    assert (folder / "notes.txt").read_bytes() == b"otto's"


def test_the_group_must_be_visible_and_hold_the_project(client_for, project, folder):
    (folder / "notes.txt").write_bytes(b"otto's")
    client = client_for("op_otto")
    other = ScriptGroup.objects.get(directory_name="hydraulics")
    wrong_group = f"/api/data/{other.pk}/{project.pk}/notes.txt"
    assert client.get(wrong_group).status_code == 404
    ScriptGroup.objects.filter(pk=project.group_id).update(required_level="developer")
    assert client.get(url(project, "notes.txt")).status_code == 404


def test_anonymous_callers_are_refused(client, project, folder):
    (folder / "notes.txt").write_bytes(b"otto's")
    assert client.get(url(project, "notes.txt")).status_code == 401


# --- Reading, writing, listing, deleting ---------------------------------------------


def test_a_written_file_reads_back_and_is_listed_with_sub_folders(client_for, project, folder):
    client = client_for("op_otto")
    assert call(client, "post", url(project, "a.txt"), b"hello").status_code == 200
    written = call(client, "post", url(project, "results/run1.json"), b'{"ok": true}')
    assert written.status_code == 200
    assert written.json()["name"] == "results/run1.json"
    assert written.json()["size"] == 12
    assert (folder / "results" / "run1.json").read_bytes() == b'{"ok": true}'
    listed = client.get(url(project, "files")).json()
    assert [(f["name"], f["size"]) for f in listed] == [("a.txt", 5), ("results/run1.json", 12)]
    response = client.get(url(project, "results/run1.json"))
    assert response.getvalue() == b'{"ok": true}'
    assert response["Content-Type"] == "application/json"
    assert not response["Content-Disposition"].startswith("attachment")


def test_the_listing_leaves_out_links_leading_outside(client_for, project, folder, outside):
    (folder / "mine.txt").write_bytes(b"x")
    names = [f["name"] for f in client_for("op_otto").get(url(project, "files")).json()]
    assert names == ["mine.txt"]


@pytest.mark.parametrize("name", ["page.html", "drawing.svg", "blob.bin"])
def test_files_that_are_not_plain_text_are_downloads(client_for, project, folder, name):
    (folder / name).write_bytes(b"<script>alert(1)</script>")
    response = client_for("op_otto").get(url(project, name))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")


def test_invalid_json_is_refused_and_the_previous_content_kept(client_for, project, folder):
    (folder / "config.json").write_bytes(b'{"version": 1}')
    response = call(client_for("op_otto"), "post", url(project, "config.json"), b'{\n"a": 1,\n}')
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert "line 3" in response.json()["detail"]
    assert (folder / "config.json").read_bytes() == b'{"version": 1}'
    assert sorted(os.listdir(folder)) == ["config.json"]


def test_json_must_be_utf8(project, folder):
    with pytest.raises(ValueError, match="UTF-8"):
        data_files.data_file_write(project, "new.json", '{"a": "é"}'.encode("latin-1"))
    assert not (folder / "new.json").exists()


def test_the_size_limit_is_enforced(client_for, project, folder, settings):
    settings.DATA_FILE_MAX_BYTES = 1000
    client = client_for("op_otto")
    response = call(client, "post", url(project, "big.bin"), b"x" * 1001)
    assert response.status_code == 400
    assert "1000" in response.json()["detail"]
    assert not (folder / "big.bin").exists()
    assert call(client, "post", url(project, "big.bin"), b"x" * 1000).status_code == 200


def test_the_default_limit_is_ten_mebibytes(project, settings):
    del settings.DATA_FILE_MAX_BYTES
    assert data_files.data_file_max_bytes() == 10 * 1024 * 1024
    with pytest.raises(ValueError, match="limit"):
        data_files.data_file_write(project, "big.bin", b"x" * (10 * 1024 * 1024 + 1))


def test_concurrent_writers_never_leave_a_torn_file(project, folder):
    versions = {i: json.dumps({"writer": i, "payload": [i] * 50_000}).encode() for i in range(6)}
    data_files.data_file_write(project, "shared.json", versions[0])
    problems = []
    done = threading.Event()

    def write(i):
        try:
            for _ in range(15):
                data_files.data_file_write(project, "shared.json", versions[i])
        except Exception as error:  # reported below, not lost in the thread
            problems.append(repr(error))

    def read():
        while not done.is_set():
            content = data_files.data_file_read(project, "shared.json")
            if content not in versions.values():
                problems.append(f"torn read of {len(content)} bytes")

    writers = [threading.Thread(target=write, args=(i,)) for i in versions]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert problems == []
    assert data_files.data_file_read(project, "shared.json") in versions.values()
    assert os.listdir(folder) == ["shared.json"]  # no temporary file left behind


def test_delete_removes_the_file(client_for, project, folder):
    (folder / "old.txt").write_bytes(b"x")
    client = client_for("op_otto")
    assert client.delete(url(project, "old.txt")).status_code == 204
    assert not (folder / "old.txt").exists()
    assert client.get(url(project, "old.txt")).status_code == 404
    assert client.delete(url(project, "old.txt")).status_code == 404


def test_deleting_an_inside_link_removes_the_link_not_its_target(project, folder):
    (folder / "real.txt").write_bytes(b"kept")
    os.symlink(folder / "real.txt", folder / "alias.txt")
    data_files.data_file_delete(project, "alias.txt")
    assert sorted(os.listdir(folder)) == ["real.txt"]


def test_a_folder_is_neither_read_nor_deleted_as_a_file(client_for, project, folder):
    (folder / "results").mkdir()
    client = client_for("op_otto")
    assert client.get(url(project, "results")).status_code == 404
    assert client.delete(url(project, "results")).status_code == 400
    assert (folder / "results").is_dir()


def test_files_named_like_the_fixed_routes_stay_reachable(client_for, project, folder):
    client = client_for("op_otto")
    assert call(client, "post", url(project, "files"), b"named files").status_code == 200
    assert (folder / "files").read_bytes() == b"named files"
    (folder / "backup").write_bytes(b"named backup")
    assert client.get(url(project, "backup")).getvalue() == b"named backup"
    assert client.delete(url(project, "backup")).status_code == 204
    assert client.delete(url(project, "files")).status_code == 204


# --- Backup --------------------------------------------------------------------------


def test_the_backup_zip_holds_the_files_by_name(client_for, project, folder, outside, data_root):
    (folder / "a.txt").write_bytes(b"alpha")
    (folder / "results").mkdir()
    (folder / "results" / "run1.json").write_bytes(b"[1]")
    response = call(client_for("op_otto"), "post", url(project, "backup"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    disposition = response["Content-Disposition"]
    assert re.search(
        rf'attachment; filename="user_op_otto-{project.user.pk}_project_alpha-{project.pk}'
        r'_\d{8}_\d{6}\.zip"',
        disposition,
    )
    saved = list((data_root / "backups").iterdir())
    assert [p.name for p in saved] == [re.search(r'"(.+)"', disposition).group(1)]
    with zipfile.ZipFile(saved[0]) as archive:
        assert sorted(archive.namelist()) == ["a.txt", "results/run1.json"]
        assert archive.read("a.txt") == b"alpha"
        assert archive.read("results/run1.json") == b"[1]"
        assert SECRET not in b"".join(archive.read(n) for n in archive.namelist())
    assert response.getvalue() == saved[0].read_bytes()


def test_two_backups_in_one_second_are_both_kept(project, folder):
    (folder / "a.txt").write_bytes(b"alpha")
    first = data_files.project_backup_zip(project)
    second = data_files.project_backup_zip(project)
    assert first != second
    assert first.exists() and second.exists()
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]
