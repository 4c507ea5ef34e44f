"""Conda environment detection and resolution, on real folders in conda's layout
whose environments are real virtualenvs, and with a real (fake) `conda` program."""

import logging
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog.conda import (
    EnvironmentUnavailable,
    conda_env_list_parse,
    conda_env_list_run,
    conda_envs_on_disk,
    conda_executable,
    conda_roots,
    environment_describe,
    environment_resolve,
    environments_detect,
    environments_refresh,
)
from catalog.models import CondaEnvironment

FIXTURE = Path(__file__).parent / "fixtures" / "conda_env_list.json"
# The home folder of the machine the fixture was recorded on; tests put theirs in its place.
RECORDED_HOME = "/home/engineer"
RUNNING_VERSION = ".".join(str(part) for part in sys.version_info[:3])
# Not the running Python's version, so seeing it proves the conda-meta record was read.
RECORDED_VERSION = "3.11.9"


def make_env(path: Path, *, python: bool = True, meta_files: tuple[str, ...] = ()) -> Path:
    """A conda-layout environment: a real virtualenv (or an empty folder) with conda-meta/."""
    if python:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    (path / "conda-meta").mkdir(parents=True, exist_ok=True)
    (path / "conda-meta" / "history").write_text("")
    for name in meta_files:
        (path / "conda-meta" / name).write_text("{}")
    return path


def install_fake_conda(bin_dir: Path, output: Path, *, body: str | None = None) -> Path:
    """A `conda` shell script that prints `output` for `conda env list --json`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    conda = bin_dir / "conda"
    body = body or (
        f'if [ "$*" = "env list --json" ]; then exec cat {shlex.quote(str(output))}; fi\n'
        'echo "unexpected arguments: $*" >&2\nexit 2\n'
    )
    conda.write_text("#!/bin/sh\n" + body)
    conda.chmod(0o755)
    return conda


def recorded_output(top: Path) -> str:
    """The recorded `conda env list --json` output, as if recorded with `top` as home."""
    return FIXTURE.read_text().replace(RECORDED_HOME, top.as_posix())


@dataclass
class Layout:
    top: Path
    root: Path
    thermal: Path
    data: Path
    empty: Path
    lab: Path
    environments_txt: Path

    @property
    def home(self) -> Path:
        return self.top / "home"


@pytest.fixture(autouse=True)
def _no_conda_of_this_machine(monkeypatch, tmp_path, settings):
    """Nothing from the machine's own conda setup (if any) leaks into a test."""
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.setenv("PATH", os.defpath)
    settings.CONDA_ROOTS = []


@pytest.fixture(scope="session")
def environments_template(tmp_path_factory) -> Path:
    """Built once (the virtualenvs take a moment), copied into each test's tmp_path."""
    top = tmp_path_factory.mktemp("conda-template")
    root = make_env(top / "miniconda3")
    make_env(
        root / "envs" / "thermal",
        meta_files=(
            f"python-{RECORDED_VERSION}-h955ad1f_0.json",
            "python-dateutil-2.9.0-pyhd8ed1ab_0.json",
            "python_abi-3.11-5_cp311.json",
        ),
    )
    make_env(root / "envs" / "data", meta_files=("python-dateutil-2.9.0-pyhd8ed1ab_0.json",))
    make_env(root / "envs" / "empty", python=False)
    (root / "envs" / "not-an-env").mkdir()
    make_env(top / "work" / "lab-env", meta_files=("python-3.12.1-h1234_0.json",))
    return top


@pytest.fixture
def layout(environments_template, tmp_path) -> Layout:
    shutil.copytree(environments_template, tmp_path, symlinks=True, dirs_exist_ok=True)
    root = tmp_path / "miniconda3"
    result = Layout(
        top=tmp_path,
        root=root,
        thermal=root / "envs" / "thermal",
        data=root / "envs" / "data",
        empty=root / "envs" / "empty",
        lab=tmp_path / "work" / "lab-env",
        environments_txt=tmp_path / "home" / ".conda" / "environments.txt",
    )
    result.environments_txt.parent.mkdir(parents=True)
    # As conda writes it, plus a removed environment and a blank line.
    result.environments_txt.write_text(
        f"{root}\n{result.data}\n\n{tmp_path / 'gone' / 'old-env'}\n{result.lab}\n"
    )
    return result


def interpreter_prefix(python: Path) -> Path:
    """sys.prefix as that interpreter reports it: the virtualenv it belongs to."""
    completed = subprocess.run(
        [str(python), "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(completed.stdout.strip())


# conda env list --json


def test_it_parses_recorded_conda_output(tmp_path):
    assert conda_env_list_parse(recorded_output(tmp_path)) == [
        tmp_path / "miniconda3",
        tmp_path / "miniconda3" / "envs" / "data",
        tmp_path / "miniconda3" / "envs" / "empty",
        tmp_path / "miniconda3" / "envs" / "thermal",
        tmp_path / "work" / "lab-env",
    ]


def test_it_parses_the_short_output_of_newer_conda():
    assert conda_env_list_parse('{"envs": []}') == []
    assert conda_env_list_parse('{"envs": ["/opt/conda"], "envs_details": {}}') == [
        Path("/opt/conda")
    ]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("", "not JSON"),
        ("# conda environments:\n#\nbase  *  /opt/conda\n", "not JSON"),
        ('["/opt/conda"]', 'no "envs" key'),
        ('{"active_prefix": null}', 'no "envs" key'),
        ('{"envs": "/opt/conda"}', "not a list of paths"),
        ('{"envs": ["/opt/conda", 3]}', "not a list of paths"),
        ('{"envs": [""]}', "not a list of paths"),
    ],
)
def test_it_rejects_unexpected_conda_output(output, message):
    with pytest.raises(ValueError, match=message):
        conda_env_list_parse(output)


def test_it_runs_conda_env_list(tmp_path):
    output = tmp_path / "env-list.json"
    output.write_text(recorded_output(tmp_path))
    conda = install_fake_conda(tmp_path / "bin", output)
    assert conda_env_list_run(conda) == conda_env_list_parse(output.read_text())


@pytest.mark.parametrize(
    ("body", "logged"),
    [
        ('echo "CondaError: broken install" >&2\nexit 1\n', "exited with 1: CondaError"),
        ('echo "# conda environments:"\necho "base  *  /opt/conda"\n', "not JSON"),
        ("exec sleep 10\n", "took longer than 0.3 s"),
    ],
)
def test_a_failing_conda_gives_no_environments_and_a_warning(tmp_path, caplog, body, logged):
    conda = install_fake_conda(tmp_path / "bin", tmp_path / "unused", body=body)
    with caplog.at_level(logging.WARNING, logger="catalog.conda"):
        assert conda_env_list_run(conda, timeout=0.3) == []
    assert logged in caplog.text


def test_a_conda_that_cannot_start_gives_no_environments(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="catalog.conda"):
        assert conda_env_list_run(tmp_path / "no-such-conda") == []
    assert "could not run" in caplog.text


# Finding conda and its installations


def test_conda_executable_prefers_conda_exe_then_path_then_usual_places(
    tmp_path, monkeypatch, layout
):
    assert conda_executable() is None
    usual = install_fake_conda(layout.home / "miniforge3" / "bin", tmp_path / "unused")
    assert conda_executable() == usual
    on_path = install_fake_conda(tmp_path / "path-bin", tmp_path / "unused")
    monkeypatch.setenv("PATH", f"{on_path.parent}{os.pathsep}{os.defpath}")
    assert conda_executable() == on_path
    activated = install_fake_conda(layout.root / "bin", tmp_path / "unused")
    monkeypatch.setenv("CONDA_EXE", str(activated))
    assert conda_executable() == activated


def test_conda_roots_are_settings_then_conda_then_usual_places_each_once(
    tmp_path, monkeypatch, settings, layout
):
    usual = layout.home / "miniforge3"
    usual.mkdir()
    conda = install_fake_conda(tmp_path / "other-install" / "condabin", tmp_path / "unused")
    monkeypatch.setenv("PATH", f"{conda.parent}{os.pathsep}{os.defpath}")
    settings.CONDA_ROOTS = [layout.root, layout.root / "envs" / "..", tmp_path / "not-there"]

    roots = conda_roots()

    mine = [root for root in roots if tmp_path in root.parents]
    assert mine == [layout.root, tmp_path / "not-there", tmp_path / "other-install", usual]
    assert len({root.resolve() for root in roots}) == len(roots)


def test_the_disk_scan_finds_base_envs_and_registered_environments_once(layout):
    found = conda_envs_on_disk([layout.root, layout.top / "missing-root"], layout.environments_txt)
    assert found == [layout.root, layout.data, layout.empty, layout.thermal, layout.lab]


def test_the_disk_scan_reads_the_users_environments_txt_by_default(layout):
    assert conda_envs_on_disk([]) == [layout.root, layout.data, layout.lab]


def test_the_disk_scan_copes_without_environments_txt(layout):
    layout.environments_txt.unlink()
    assert conda_envs_on_disk([layout.root]) == [
        layout.root,
        layout.data,
        layout.empty,
        layout.thermal,
    ]


# Describing one environment


def test_the_version_comes_from_the_conda_meta_record(layout):
    info = environment_describe(layout.thermal)
    assert info.name == "thermal"
    assert info.path == layout.thermal
    assert info.python_path == layout.thermal / "bin" / "python"
    assert info.python_version == RECORDED_VERSION
    assert info.is_available


def test_without_a_record_the_interpreter_is_asked_for_its_version(layout):
    info = environment_describe(layout.data)
    assert info.python_version == RUNNING_VERSION
    assert info.python_path == layout.data / "bin" / "python"
    assert info.is_available


def test_an_environment_without_interpreter_is_unavailable(layout):
    info = environment_describe(layout.empty)
    assert (info.name, info.python_path, info.python_version, info.is_available) == (
        "empty",
        None,
        "",
        False,
    )


def test_a_non_executable_interpreter_is_unavailable(layout):
    python = layout.thermal / "bin" / "python"
    python.unlink()
    python.write_text("not a program")
    python.chmod(0o644)
    info = environment_describe(layout.thermal)
    assert info.python_path is None and not info.is_available
    assert info.python_version == RECORDED_VERSION


def test_an_installation_root_is_named_base(layout, tmp_path):
    assert environment_describe(layout.root).name == "miniconda3"
    assert environment_describe(layout.root, root_names={layout.root: "base"}).name == "base"
    spelled_otherwise = layout.root / "envs" / ".."
    assert environment_describe(spelled_otherwise, root_names={layout.root: "base"}).name == "base"
    # An installation conda itself lives in has condabin/ even when nobody says it is a root.
    (layout.root / "condabin").mkdir()
    assert environment_describe(layout.root).name == "base"


# Detecting all of them


def test_detection_scans_the_configured_roots_and_environments_txt(settings, layout):
    settings.CONDA_ROOTS = [layout.root, layout.root / "envs" / ".."]

    found = environments_detect()

    assert [(info.name, info.path) for info in found] == [
        ("base", layout.root),
        ("data", layout.data),
        ("empty", layout.empty),
        ("lab-env", layout.lab),
        ("thermal", layout.thermal),
    ]
    versions = {info.name: info.python_version for info in found}
    assert versions["thermal"] == RECORDED_VERSION
    assert versions["lab-env"] == "3.12.1"
    assert versions["data"] == RUNNING_VERSION
    assert [info.name for info in found if not info.is_available] == ["empty"]


def test_detection_keeps_same_named_environments_of_two_installations(settings, layout, tmp_path):
    other = make_env(tmp_path / "other", python=False)
    make_env(other / "envs" / "data", python=False)
    settings.CONDA_ROOTS = [layout.root, other]

    names = {info.name: info.path for info in environments_detect()}

    assert names["data"] == layout.data
    assert names["data (other)"] == other / "envs" / "data"
    assert names["base"] == layout.root
    assert names["base (other)"] == other


def test_a_conda_on_path_is_found_and_its_environments_detected(tmp_path, monkeypatch, layout):
    # Only conda knows lab-env here: it is in no root's envs/ and in no environments.txt.
    layout.environments_txt.unlink()
    output = tmp_path / "env-list.json"
    output.write_text(recorded_output(tmp_path))
    conda = install_fake_conda(layout.root / "bin", output)
    monkeypatch.setenv("PATH", f"{conda.parent}{os.pathsep}{os.defpath}")

    assert conda_executable() == conda
    assert conda_roots() == [layout.root]
    found = environments_detect()

    assert [(info.name, info.path) for info in found] == [
        ("base", layout.root),
        ("data", layout.data),
        ("empty", layout.empty),
        ("lab-env", layout.lab),
        ("thermal", layout.thermal),
    ]


# Storing them


def test_refresh_upserts_rows_and_keeps_vanished_environments_unavailable(
    db, settings, layout, tmp_path
):
    settings.CONDA_ROOTS = [layout.root]
    CondaEnvironment.objects.create(
        name="thermal", path="/old/thermal", python_version="3.8.0", is_available=False
    )
    CondaEnvironment.objects.create(name="retired", path=str(tmp_path / "retired"))

    rows = environments_refresh()

    assert [row.name for row in rows] == ["base", "data", "empty", "lab-env", "retired", "thermal"]
    by_name = {row.name: row for row in rows}
    thermal = by_name["thermal"]
    assert thermal.path == str(layout.thermal)
    assert thermal.python_path == str(layout.thermal / "bin" / "python")
    assert (thermal.python_version, thermal.is_available) == (RECORDED_VERSION, True)
    assert thermal.last_verified is not None
    assert by_name["data"].python_version == RUNNING_VERSION
    assert (by_name["empty"].python_path, by_name["empty"].is_available) == ("", False)
    assert not by_name["retired"].is_available and by_name["retired"].last_verified is None

    shutil.rmtree(layout.thermal)
    rows = environments_refresh()

    assert [row.name for row in rows] == ["base", "data", "empty", "lab-env", "retired", "thermal"]
    assert CondaEnvironment.objects.count() == 6
    gone = CondaEnvironment.objects.get(name="thermal")
    assert not gone.is_available
    assert gone.last_verified == thermal.last_verified
    data = CondaEnvironment.objects.get(name="data")
    assert data.is_available and data.last_verified > by_name["data"].last_verified


# Resolving a group's setting to an interpreter


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_setting_runs_the_managers_own_python(blank):
    assert environment_resolve(blank) == Path(sys.executable)


def test_a_name_is_detected_on_first_use_and_runs_inside_its_environment(db, settings, layout):
    settings.CONDA_ROOTS = [layout.root]
    python = environment_resolve("thermal")
    assert python == layout.thermal / "bin" / "python"
    assert interpreter_prefix(python) == layout.thermal
    assert CondaEnvironment.objects.get(name="thermal").is_available


def test_a_name_is_looked_up_in_the_stored_rows(db, layout):
    python = layout.lab / "bin" / "python"
    CondaEnvironment.objects.create(name="lab", path=str(layout.lab), python_path=str(python))
    assert environment_resolve("lab") == python


def test_a_virtualenv_folder_runs_its_interpreter(layout, monkeypatch):
    tools = layout.home / "venvs" / "tools"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tools)], check=True)
    assert environment_resolve(str(tools)) == tools / "bin" / "python"
    assert environment_resolve("~/venvs/tools/") == tools / "bin" / "python"
    assert interpreter_prefix(environment_resolve("~/venvs/tools")) == tools
    monkeypatch.chdir(layout.top)
    assert environment_resolve("work/lab-env") == layout.lab / "bin" / "python"


def test_a_python_path_runs_that_python(layout):
    python = layout.data / "bin" / "python"
    assert environment_resolve(f"  {python}  ") == python
    assert interpreter_prefix(environment_resolve(str(python))) == layout.data


def test_an_unknown_name_is_reported_by_name(db, layout):
    with pytest.raises(EnvironmentUnavailable) as raised:
        environment_resolve("ghost")
    assert raised.value.reason == EnvironmentUnavailable.NOT_FOUND
    assert str(raised.value) == (
        'Environment "ghost" was not found among the detected conda environments.'
    )


def test_an_environment_without_interpreter_is_reported_by_name(db, settings, layout):
    settings.CONDA_ROOTS = [layout.root]
    with pytest.raises(EnvironmentUnavailable) as raised:
        environment_resolve("empty")
    assert raised.value.reason == EnvironmentUnavailable.INTERPRETER_MISSING
    assert str(raised.value) == (
        f'Environment "empty" has no Python interpreter in {layout.empty}.'
    )


def test_a_vanished_environment_is_reported_by_name(db, settings, layout):
    settings.CONDA_ROOTS = [layout.root]
    environments_refresh()
    shutil.rmtree(layout.thermal)
    with pytest.raises(EnvironmentUnavailable) as raised:
        environment_resolve("thermal")
    assert raised.value.reason == EnvironmentUnavailable.NOT_FOUND
    assert (
        str(raised.value)
        == f'Environment "thermal" was not found: {layout.thermal} does not exist.'
    )
    assert not CondaEnvironment.objects.get(name="thermal").is_available


def test_a_non_executable_interpreter_is_reported_by_name(db, layout):
    python = layout.lab / "bin" / "python"
    python.unlink()
    python.write_text("not a program")
    python.chmod(0o644)
    CondaEnvironment.objects.create(name="lab", path=str(layout.lab), python_path=str(python))
    with pytest.raises(EnvironmentUnavailable) as raised:
        environment_resolve("lab")
    assert raised.value.reason == EnvironmentUnavailable.NOT_EXECUTABLE
    assert str(raised.value) == (
        f'The Python interpreter of environment "lab" is not executable: {python}.'
    )
    with pytest.raises(EnvironmentUnavailable, match="is not executable"):
        environment_resolve(str(layout.lab))


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("{top}/nowhere", EnvironmentUnavailable.NOT_FOUND),
        ("~/nowhere", EnvironmentUnavailable.NOT_FOUND),
        ("{top}/miniconda3/envs/empty", EnvironmentUnavailable.INTERPRETER_MISSING),
        ("{top}/miniconda3/envs/empty/bin/python", EnvironmentUnavailable.NOT_FOUND),
    ],
)
def test_a_bad_path_is_reported_with_the_path(layout, setting, reason):
    setting = setting.format(top=layout.top)
    with pytest.raises(EnvironmentUnavailable) as raised:
        environment_resolve(setting)
    assert raised.value.reason == reason
    assert raised.value.name == setting
    assert f'"{setting}"' in str(raised.value)
    assert str(raised.value.path.relative_to(layout.top)) in str(raised.value)
