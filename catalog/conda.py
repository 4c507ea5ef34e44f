"""Finding conda on this machine (environments themselves come with the catalog)."""

import os
import shutil
from pathlib import Path

CONDA_CANDIDATES = (
    "~/miniconda3/bin/conda",
    "~/anaconda3/bin/conda",
    "~/miniforge3/bin/conda",
    "/opt/conda/bin/conda",
    "/usr/local/bin/conda",
)


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
    for candidate in CONDA_CANDIDATES:
        path = Path(candidate).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None
