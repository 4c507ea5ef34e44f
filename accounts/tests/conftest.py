import json
from pathlib import Path

import pytest

from catalog.models import ScriptGroup
from execution.tests.conftest import make_script  # noqa: F401
from projects.models import UserProject
from projects.services import (
    group_folder,
    project_data_dir,
    project_data_dir_ensure,
    project_folder,
)


@pytest.fixture
def data_root(settings, tmp_path) -> Path:
    """A fresh BASE_DATA_PATH: project folders and backups go under it."""
    settings.BASE_DATA_PATH = tmp_path / "data"
    return settings.BASE_DATA_PATH


@pytest.fixture
def groups(data_root, db) -> dict[str, ScriptGroup]:
    return {
        name: ScriptGroup.objects.create(directory_name=name, name=name.title())
        for name in ("lab", "line")
    }


def project_with_files(user, group, name: str, files: dict[str, bytes]) -> UserProject:
    """A project of `user` whose data folder holds `files` (name -> content)."""
    project, _created = UserProject.objects.get_or_create(
        user=user, group=group, name=name, defaults={"is_default": name == "project_default"}
    )
    folder = project_data_dir_ensure(project)
    for filename, content in files.items():
        path = folder / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return project


def in_zip(project: UserProject) -> str:
    """Where a user data zip holds the project's files: `<group>-<id>/<project>-<id>`."""
    return f"{group_folder(project.group)}/{project_folder(project)}"


def folder_files(project: UserProject) -> dict[str, bytes]:
    folder = project_data_dir(project)
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def send(client, method: str, path: str, body=None, **extra):
    """A JSON request: send(client, "put", "/api/...", {...})."""
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method)(path, data, content_type="application/json", **extra)
