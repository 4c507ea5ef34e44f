"""Python environments for scripts: finding conda, detecting its environments
(from `conda env list --json` and from conda's on-disk layout), keeping the
CondaEnvironment rows current, and resolving a group's environment setting to
the interpreter a script is started with."""

import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import CondaEnvironment

logger = logging.getLogger(__name__)

WINDOWS = os.name == "nt"
# Folder names of the usual installers; Windows paths are case-insensitive.
CONDA_INSTALL_NAMES = ("miniconda3", "anaconda3", "miniforge3")
# The folders a conda executable sits in, directly under the installation root.
CONDA_EXECUTABLE_FOLDERS = ("bin", "Scripts", "condabin")
# conda-meta/python-3.12.1-h1234_0.json; the digit keeps out python-dateutil & co.
PYTHON_META_FILE = re.compile(r"^python-(\d+(?:\.\d+)+)-[^-]+\.json$")
PYTHON_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
VERSION_SCRIPT = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
VERSION_TIMEOUT = 10


@dataclass(frozen=True)
class EnvironmentInfo:
    """One detected environment. `python_path` is None when the interpreter is
    missing or not executable; `python_version` is "" when unknown."""

    name: str
    path: Path
    python_path: Path | None
    python_version: str
    is_available: bool


class EnvironmentUnavailable(Exception):
    """A configured environment cannot run scripts; str() is the user-facing reason."""

    NOT_FOUND = "not_found"
    INTERPRETER_MISSING = "interpreter_missing"
    NOT_EXECUTABLE = "not_executable"

    def __init__(self, name: str, reason: str, path: Path | None = None) -> None:
        self.name = name
        self.reason = reason
        self.path = path
        super().__init__(self._message())

    def _message(self) -> str:
        values = {"name": self.name, "path": self.path}
        if self.reason == self.INTERPRETER_MISSING:
            return _('Environment "%(name)s" has no Python interpreter in %(path)s.') % values
        if self.reason == self.NOT_EXECUTABLE:
            return (
                _('The Python interpreter of environment "%(name)s" is not executable: %(path)s.')
                % values
            )
        if self.path is not None:
            return _('Environment "%(name)s" was not found: %(path)s does not exist.') % values
        return (
            _('Environment "%(name)s" was not found among the detected conda environments.')
            % values
        )


def _usual_roots() -> list[Path]:
    """Where the installers put conda by default, whether or not it is there."""
    if WINDOWS:
        profile = Path(os.environ.get("USERPROFILE") or Path.home())
        program_data = Path(os.environ.get("PROGRAMDATA") or r"C:\ProgramData")
        return [base / name for base in (profile, program_data) for name in CONDA_INSTALL_NAMES]
    home = Path.home()
    return [home / name for name in CONDA_INSTALL_NAMES] + [Path("/opt/conda")]


def _conda_candidates() -> list[Path]:
    if WINDOWS:
        return [
            root / folder / executable
            for root in _usual_roots()
            for folder, executable in (("Scripts", "conda.exe"), ("condabin", "conda.bat"))
        ]
    return [root / "bin" / "conda" for root in _usual_roots()] + [Path("/usr/local/bin/conda")]


def conda_executable() -> Path | None:
    """Path of a conda executable, or None when conda is not installed.

    Looks at CONDA_EXE (set by `conda activate`), then PATH, then the usual
    install locations; never runs conda, so it is cheap enough for /health.
    """
    configured = os.environ.get("CONDA_EXE")
    if configured and Path(configured).is_file():
        return Path(configured)
    found = shutil.which("conda")
    if found:
        return Path(found)
    for path in _conda_candidates():
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def _same_path_key(path: Path) -> Path:
    """What two spellings of one folder (symlinks, `..`) have in common."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare as written
        return path.absolute()


def _unique(paths: list[Path]) -> list[Path]:
    seen: set[Path] = set()
    unique = []
    for path in paths:
        key = _same_path_key(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def conda_env_list_parse(output: str) -> list[Path]:
    """The environment folders in `conda env list --json` output, in its order.

    Extra keys are ignored (conda before 25.x prints the whole `conda info
    --json` there). Raises ValueError when the output is not JSON or has no
    "envs" list of path strings.
    """
    try:
        data = json.loads(output)
    except json.JSONDecodeError as error:
        raise ValueError(f"conda env list output is not JSON: {error}") from error
    if not isinstance(data, dict) or "envs" not in data:
        raise ValueError('conda env list output has no "envs" key')
    envs = data["envs"]
    if not isinstance(envs, list) or not all(isinstance(e, str) and e for e in envs):
        raise ValueError('conda env list output: "envs" is not a list of paths')
    return [Path(env) for env in envs]


def conda_env_list_run(executable: Path, timeout: float = 30) -> list[Path]:
    """The environments conda itself knows, or [] (with a logged warning) when
    conda fails, times out or prints something unexpected."""
    try:
        completed = subprocess.run(
            [str(executable), "env", "list", "--json"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        logger.warning("%s env list --json took longer than %s s; ignored", executable, timeout)
        return []
    except OSError as error:
        logger.warning("could not run %s env list --json: %s", executable, error)
        return []
    if completed.returncode != 0:
        logger.warning(
            "%s env list --json exited with %s: %s",
            executable,
            completed.returncode,
            completed.stderr.strip()[-500:],
        )
        return []
    try:
        return conda_env_list_parse(completed.stdout)
    except ValueError as error:
        logger.warning("%s env list --json: %s", executable, error)
        return []


def _installation_root(executable: Path) -> Path | None:
    """`<root>` for `<root>/bin/conda`, `<root>/Scripts/conda.exe`,
    `<root>/condabin/conda(.bat)` or `<root>/Library/bin/conda.bat`; symlinks
    such as /usr/local/bin/conda are followed first."""
    executable = _same_path_key(executable)
    folder = executable.parent
    if folder.name not in CONDA_EXECUTABLE_FOLDERS:
        return None
    root = folder.parent
    if root.name == "Library" and folder.name == "bin":
        root = root.parent
    return root


def conda_roots() -> list[Path]:
    """Conda installation folders to scan: settings.CONDA_ROOTS (as configured),
    the installation of conda_executable(), then the usual install places that
    exist. Each folder appears once, even when spelled differently."""
    roots = list(settings.CONDA_ROOTS)
    executable = conda_executable()
    if executable is not None:
        root = _installation_root(executable)
        if root is not None and root.is_dir():
            roots.append(root)
    roots.extend(root for root in _usual_roots() if root.is_dir())
    return _unique(roots)


def _is_environment(path: Path) -> bool:
    return (path / "conda-meta").is_dir()


def conda_envs_on_disk(roots: list[Path], environments_txt: Path | None = None) -> list[Path]:
    """Environment folders found without running conda, each once: every root
    that is itself an environment (base), then its `envs/<name>` environments
    by name, then the existing environments listed in `environments_txt`
    (default ~/.conda/environments.txt, where conda registers every
    environment it creates). A folder counts when it has `conda-meta/`."""
    found: list[Path] = []
    for root in roots:
        if _is_environment(root):
            found.append(root)
        try:
            children = sorted((root / "envs").iterdir())
        except OSError:  # no envs/ (a plain folder, not installed yet) or not readable
            children = []
        found.extend(child for child in children if _is_environment(child))
    if environments_txt is None:
        environments_txt = Path.home() / ".conda" / "environments.txt"
    try:
        lines = environments_txt.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:  # usually: conda never created an environment for this user
        lines = []
    for line in lines:
        if line.strip() and _is_environment(Path(line.strip())):
            found.append(Path(line.strip()))
    return _unique(found)


def _interpreter_in(folder: Path) -> Path | None:
    """The Python file of a conda environment or virtualenv, executable or not."""
    if WINDOWS:
        candidates = (folder / "python.exe", folder / "Scripts" / "python.exe")
    else:
        candidates = (folder / "bin" / "python", folder / "bin" / "python3")
    return next((path for path in candidates if path.is_file()), None)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _python_version(path: Path, interpreter: Path | None) -> str:
    """From the python package record conda keeps, else by asking the
    interpreter; "" when neither works."""
    meta = path / "conda-meta"
    if meta.is_dir():
        for entry in sorted(meta.iterdir()):
            match = PYTHON_META_FILE.match(entry.name)
            if match:
                return match.group(1)
    if interpreter is None:
        return ""
    try:
        completed = subprocess.run(
            # -E: the manager's own PYTHONHOME/PYTHONPATH must not leak into another Python.
            [str(interpreter), "-E", "-c", VERSION_SCRIPT],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        logger.warning("could not ask %s for its version: %s", interpreter, error)
        return ""
    version = completed.stdout.strip()
    return version if completed.returncode == 0 and PYTHON_VERSION.match(version) else ""


def environment_describe(
    path: Path, *, root_names: dict[Path, str] | None = None
) -> EnvironmentInfo:
    """What `path` offers as an environment. Its name is root_names[path] when
    given (compared as resolved paths; detection maps installation roots to
    "base"), "base" for a folder with conda's `condabin/` (an installation
    root), otherwise the folder name. Never raises for a missing or broken
    environment: it is then reported with is_available False."""
    key = _same_path_key(path)
    names = {_same_path_key(root): name for root, name in (root_names or {}).items()}
    if key in names:
        name = names[key]
    elif (path / "condabin").is_dir():
        name = "base"
    else:
        name = path.name
    interpreter = _interpreter_in(path)
    if interpreter is not None and not _is_executable(interpreter):
        interpreter = None
    return EnvironmentInfo(
        name=name,
        path=path,
        python_path=interpreter,
        python_version=_python_version(path, interpreter),
        is_available=interpreter is not None,
    )


def _disambiguation(info: EnvironmentInfo) -> str:
    """The installation an environment belongs to, to tell same-named ones apart."""
    path = info.path
    if path.parent.name == "envs":
        label = path.parent.parent.name
    elif info.name != path.name:  # a root named "base": the installation is the folder itself
        label = path.name
    else:
        label = path.parent.name
    return label or str(path)


def environments_detect() -> list[EnvironmentInfo]:
    """Every environment conda lists (when conda is installed) or that lies in
    conda's layout under conda_roots() and ~/.conda/environments.txt, once per
    folder, sorted by name. Names are unique: when two folders have the same
    name, the one found later is renamed "<name> (<installation>)"; conda's own
    list comes first, so its environments keep the plain names."""
    roots = conda_roots()
    found: list[Path] = []
    executable = conda_executable()
    if executable is not None:
        found.extend(conda_env_list_run(executable))
    found.extend(conda_envs_on_disk(roots))
    root_names = {root: "base" for root in roots}
    described: list[EnvironmentInfo] = []
    taken: set[str] = set()
    for path in _unique(found):
        info = environment_describe(path, root_names=root_names)
        if info.name in taken:
            label = _disambiguation(info)
            name, number = f"{info.name} ({label})", 2
            while name in taken:
                name, number = f"{info.name} ({label} {number})", number + 1
            info = dataclasses.replace(info, name=name)
        taken.add(info.name)
        described.append(info)
    return sorted(described, key=lambda info: info.name)


def environments_refresh() -> list[CondaEnvironment]:
    """Detect environments and store them: a row per detected environment is
    created or updated (keyed by name, last_verified now, is_available from
    its interpreter); rows no longer detected are kept with is_available False.
    Returns every row, detected or not, sorted by name."""
    detected = environments_detect()  # outside the transaction: it runs subprocesses
    now = timezone.now()
    with transaction.atomic():
        for info in detected:
            CondaEnvironment.objects.update_or_create(
                name=info.name,
                defaults={
                    "path": str(info.path),
                    "python_path": str(info.python_path) if info.python_path else "",
                    "python_version": info.python_version,
                    "is_available": info.is_available,
                    "last_verified": now,
                },
            )
        CondaEnvironment.objects.exclude(name__in=[info.name for info in detected]).update(
            is_available=False
        )
    return list(CondaEnvironment.objects.order_by("name"))


def _looks_like_path(value: str) -> bool:
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    return (
        value.startswith("~")
        or any(separator in value for separator in separators)
        or Path(value).is_absolute()
    )


def _interpreter_at(value: str) -> Path:
    # absolute(), not resolve(): a virtualenv's bin/python is a symlink, and
    # following it would run the base interpreter outside the virtualenv.
    path = Path(value).expanduser().absolute()
    if path.is_dir():
        interpreter = _interpreter_in(path)
        if interpreter is None:
            raise EnvironmentUnavailable(value, EnvironmentUnavailable.INTERPRETER_MISSING, path)
    elif path.is_file():
        interpreter = path
    else:
        raise EnvironmentUnavailable(value, EnvironmentUnavailable.NOT_FOUND, path)
    if not os.access(interpreter, os.X_OK):
        raise EnvironmentUnavailable(value, EnvironmentUnavailable.NOT_EXECUTABLE, interpreter)
    return interpreter


def _interpreter_registered(name: str) -> Path:
    row = CondaEnvironment.objects.filter(name=name).first()
    if row is None:
        raise EnvironmentUnavailable(name, EnvironmentUnavailable.NOT_FOUND)
    folder = Path(row.path)
    if not folder.is_dir():
        raise EnvironmentUnavailable(name, EnvironmentUnavailable.NOT_FOUND, folder)
    interpreter = Path(row.python_path) if row.python_path else None
    if interpreter is None or not interpreter.is_file():
        raise EnvironmentUnavailable(name, EnvironmentUnavailable.INTERPRETER_MISSING, folder)
    if not os.access(interpreter, os.X_OK):
        raise EnvironmentUnavailable(name, EnvironmentUnavailable.NOT_EXECUTABLE, interpreter)
    if not row.is_available:
        raise EnvironmentUnavailable(name, EnvironmentUnavailable.NOT_FOUND)
    return interpreter


def environment_resolve(name_or_path: str) -> Path:
    """The interpreter to start a script with, for a group's or script's
    environment setting:

    - blank: the manager's own interpreter (sys.executable);
    - a path (absolute, `~`, or with a path separator): a virtualenv or conda
      environment folder gives its interpreter, a Python executable itself;
    - otherwise a conda environment name, looked up in the CondaEnvironment
      rows; when no usable row is there, environments are detected again
      (environments_refresh) once before giving up.

    Raises EnvironmentUnavailable, naming the setting and why, when the
    environment does not exist or has no executable interpreter.
    """
    value = name_or_path.strip()
    if not value:
        return Path(sys.executable)
    if _looks_like_path(value):
        return _interpreter_at(value)
    try:
        return _interpreter_registered(value)
    except EnvironmentUnavailable:
        environments_refresh()
        return _interpreter_registered(value)
