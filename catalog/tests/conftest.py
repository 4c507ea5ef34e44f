import json
import os
import textwrap
from pathlib import Path

import pytest


class ScriptsTree:
    """Writes real group folders and scripts under a temporary SCRIPT_GROUPS_DIR."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tick = 0

    def group(self, name: str, metadata: dict | None = None) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        if metadata is not None:
            self.write(folder / "metadata.json", json.dumps(metadata, indent=2))
        return folder

    def script(
        self, group: str, filename: str, header: str = "", body: str = "print('hi')\n"
    ) -> Path:
        folder = self.group(group)
        text = (
            f'"""\nScriptsManager Metadata:\n{textwrap.dedent(header).strip()}\n"""\n{body}'
            if header
            else body
        )
        return self.write(folder / filename, text)

    def script_metadata(self, group: str, data: dict, *, in_scripts_folder: bool = False) -> Path:
        folder = self.group(group) / ("scripts" if in_scripts_folder else "")
        folder.mkdir(exist_ok=True)
        return self.write(folder / "script_metadata.json", json.dumps(data, indent=2))

    def write(self, path: Path, text: str) -> Path:
        path.write_text(text, encoding="utf-8")
        # Distinct mtimes even when a test writes twice within the clock's resolution.
        self._tick += 1
        stamp = 1_700_000_000 + self._tick
        os.utime(path, (stamp, stamp))
        return path


@pytest.fixture
def tree(settings, tmp_path) -> ScriptsTree:
    root = tmp_path / "script_groups"
    root.mkdir()
    settings.SCRIPT_GROUPS_DIR = root
    return ScriptsTree(root)
