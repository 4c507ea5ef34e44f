"""
ScriptsManager Metadata:
@display_name: Old File Cleaner
@display_name_es: Limpiador de archivos antiguos
@display_name_it: Pulizia dei file vecchi
@display_name_fr: Nettoyeur de fichiers anciens
@description: Preview, then delete, files older than N days that match a name pattern - only inside the project data folder
@description_es: Previsualiza y luego elimina los archivos con más de N días que coinciden con un patrón, solo dentro de la carpeta de datos del proyecto
@description_it: Anteprima e poi eliminazione dei file più vecchi di N giorni che corrispondono a un modello, solo nella cartella dati del progetto
@description_fr: Prévisualise puis supprime les fichiers de plus de N jours correspondant à un motif, uniquement dans le dossier de données du projet
@description_long: docs/log_cleaner.md
@description_long_es: docs/log_cleaner_es.md
@description_long_it: docs/log_cleaner_it.md
@description_long_fr: docs/log_cleaner_fr.md
@required_level: developer
@category: system
@tags: logs,cleanup,maintenance,retention
@parameters: [
    {"name": "pattern", "type": "string", "required": false, "default": "*.log,*.log.*",
     "description": {"en": "Comma-separated file name patterns (shell wildcards * ? [...])",
                     "es": "Patrones de nombre de archivo separados por comas (comodines * ? [...])",
                     "it": "Modelli di nome file separati da virgole (caratteri jolly * ? [...])",
                     "fr": "Motifs de noms de fichiers séparés par des virgules (jokers * ? [...])"}},
    {"name": "days", "type": "int", "required": false, "default": 30, "min": 0, "max": 3650,
     "description": {"en": "Minimum age in days (last modification) of a file to be deleted",
                     "es": "Antigüedad mínima en días (última modificación) de un archivo a eliminar",
                     "it": "Età minima in giorni (ultima modifica) di un file da eliminare",
                     "fr": "Âge minimal en jours (dernière modification) d'un fichier à supprimer"}},
    {"name": "recursive", "type": "bool", "required": false, "default": false,
     "description": {"en": "Also look into subfolders",
                     "es": "Buscar también en las subcarpetas",
                     "it": "Cercare anche nelle sottocartelle",
                     "fr": "Chercher aussi dans les sous-dossiers"}}
]
@execution_timeout: 3600
@interface: true
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import stat
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from flask import render_template_string, request

sys.dont_write_bytecode = True  # keep the script tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
import sidel_script as ss  # noqa: E402

HISTORY_FILE = "log_cleaner_history.json"
HISTORY_SIZE = 100
MAX_MATCHES = 5000
MAX_PATTERNS = 10
CAN_DELETE = ("admin", "developer")


class CleanerError(ValueError):
    """Invalid criteria or a path outside the data directory."""


def folder_inside(base: Path, rel: str) -> Path:
    """The folder ``base``/``rel`` with symlinks resolved; refused if it leaves ``base``."""
    rel = (rel or "").strip().replace("\\", "/")
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        raise CleanerError("absolute paths are not allowed")
    folder = (base / rel).resolve()
    if not folder.is_relative_to(base):
        raise CleanerError("the folder leaves the data directory")
    if not folder.is_dir():
        raise CleanerError("no such folder")
    return folder


def parse_patterns(text: str) -> list[str]:
    patterns = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not patterns:
        raise CleanerError("give at least one file name pattern")
    if len(patterns) > MAX_PATTERNS:
        raise CleanerError(f"at most {MAX_PATTERNS} patterns")
    for p in patterns:
        if "/" in p or "\\" in p or p in (".", ".."):
            raise CleanerError(f"pattern {p!r}: a pattern matches file names, not paths")
    return patterns


class Criteria:
    """What to clean: validated once, used for preview and again for deletion."""

    def __init__(self, base: Path, folder: str, patterns: str, days: float, recursive: bool):
        if not 0 <= days <= 36500:
            raise CleanerError("days must be between 0 and 36500")
        self.base = base
        self.folder = folder_inside(base, folder)
        self.patterns = parse_patterns(patterns)
        self.days = days
        self.recursive = recursive
        self.cutoff = time.time() - days * 86400
        # The cleaner's own record is never a candidate, whatever the pattern.
        self.protected = {base / HISTORY_FILE}

    def describe(self) -> dict:
        folder = self.folder.relative_to(self.base).as_posix()
        return {
            "folder": "" if folder == "." else folder,
            "patterns": ",".join(self.patterns),
            "days": int(self.days) if float(self.days).is_integer() else self.days,
            "recursive": self.recursive,
        }

    def matches(self, path: Path, st: os.stat_result) -> bool:
        return (
            stat.S_ISREG(st.st_mode)
            and st.st_mtime <= self.cutoff
            and path not in self.protected
            and any(fnmatch.fnmatchcase(path.name, p) for p in self.patterns)
        )

    def candidates(self) -> tuple[list[dict], bool]:
        """Matching regular files, oldest first, and whether the list was cut.

        Symlinks (to files or folders) are skipped, never followed.
        """
        found: list[dict] = []
        for dirpath, dirnames, filenames in os.walk(self.folder, followlinks=False):
            if not self.recursive:
                dirnames.clear()
            for name in filenames:
                path = Path(dirpath) / name
                try:
                    st = path.lstat()
                except OSError:
                    continue
                if self.matches(path, st):
                    found.append(
                        {
                            "path": path.relative_to(self.base).as_posix(),
                            "bytes": st.st_size,
                            "mtime": st.st_mtime,
                            "age_days": (time.time() - st.st_mtime) / 86400,
                        }
                    )
                    if len(found) >= MAX_MATCHES:
                        found.sort(key=lambda f: f["mtime"])
                        return found, True
        found.sort(key=lambda f: f["mtime"])
        return found, False

    def delete(self, rel_paths: list[str]) -> dict:
        """Delete the listed files (relative to the data directory) that still
        match; every other path is reported as skipped with the reason."""
        deleted, skipped, freed = [], [], 0
        for rel in rel_paths:
            rel = str(rel)
            path = self.base / rel
            try:
                if Path(rel).is_absolute() or ".." in Path(rel).parts:
                    raise CleanerError("not a path inside the data directory")
                parent = path.parent.resolve()
                # The parent, symlinks resolved, must be the chosen folder (or below it
                # when recursive): a file elsewhere cannot be smuggled into the list.
                inside = parent == self.folder or (
                    self.recursive and parent.is_relative_to(self.folder)
                )
                if not inside or not parent.is_relative_to(self.base):
                    raise CleanerError("outside the selected folder")
                path = parent / path.name
                st = path.lstat()
                if not self.matches(path, st):
                    raise CleanerError("no longer matches the criteria")
                path.unlink()
            except (CleanerError, OSError) as exc:
                skipped.append({"path": rel, "reason": str(exc)})
                continue
            deleted.append(rel)
            freed += st.st_size
        return {"deleted": deleted, "skipped": skipped, "bytes_freed": freed}


TEXT = {
    "en": {"title": "Old File Cleaner"},
    "es": {
        "title": "Limpiador de archivos antiguos",
        "Folder (relative to the data directory)": "Carpeta (relativa al directorio de datos)",
        "File name patterns": "Patrones de nombre",
        "Older than (days)": "Con más de (días)",
        "Include subfolders": "Incluir subcarpetas",
        "Preview": "Previsualizar",
        "Delete selected": "Eliminar seleccionados",
        "File": "Archivo",
        "Size": "Tamaño",
        "Modified": "Modificado",
        "Age (days)": "Antigüedad (días)",
        "files match": "archivos coinciden",
        "Only the first matches are listed": "Solo se listan las primeras coincidencias",
        "Deleting needs the developer or admin level; this is a preview only.": "Eliminar requiere nivel developer o admin; esto es solo una vista previa.",
        "Deleted": "Eliminados",
        "Skipped": "Omitidos",
        "freed": "liberados",
        "Delete the selected files? This cannot be undone.": "¿Eliminar los archivos seleccionados? No se puede deshacer.",
    },
    "it": {
        "title": "Pulizia dei file vecchi",
        "Folder (relative to the data directory)": "Cartella (relativa alla directory dati)",
        "File name patterns": "Modelli di nome",
        "Older than (days)": "Più vecchi di (giorni)",
        "Include subfolders": "Includi sottocartelle",
        "Preview": "Anteprima",
        "Delete selected": "Elimina selezionati",
        "File": "File",
        "Size": "Dimensione",
        "Modified": "Modificato",
        "Age (days)": "Età (giorni)",
        "files match": "file corrispondono",
        "Only the first matches are listed": "Sono elencate solo le prime corrispondenze",
        "Deleting needs the developer or admin level; this is a preview only.": "L'eliminazione richiede il livello developer o admin; questa è solo un'anteprima.",
        "Deleted": "Eliminati",
        "Skipped": "Saltati",
        "freed": "liberati",
        "Delete the selected files? This cannot be undone.": "Eliminare i file selezionati? L'operazione è irreversibile.",
    },
    "fr": {
        "title": "Nettoyeur de fichiers anciens",
        "Folder (relative to the data directory)": "Dossier (relatif au répertoire de données)",
        "File name patterns": "Motifs de noms",
        "Older than (days)": "Plus anciens que (jours)",
        "Include subfolders": "Inclure les sous-dossiers",
        "Preview": "Aperçu",
        "Delete selected": "Supprimer la sélection",
        "File": "Fichier",
        "Size": "Taille",
        "Modified": "Modifié",
        "Age (days)": "Âge (jours)",
        "files match": "fichiers correspondent",
        "Only the first matches are listed": "Seules les premières correspondances sont listées",
        "Deleting needs the developer or admin level; this is a preview only.": "La suppression exige le niveau developer ou admin ; ceci n'est qu'un aperçu.",
        "Deleted": "Supprimés",
        "Skipped": "Ignorés",
        "freed": "libérés",
        "Delete the selected files? This cannot be undone.": "Supprimer les fichiers sélectionnés ? Action irréversible.",
    },
}

PAGE = """{% extends "sidel_base.html" %}
{% block content %}
<form class="card" method="post" action="preview">
 <div class="inline">
  <div style="flex:2 1 220px"><label for="folder">{{ t("Folder (relative to the data directory)") }}</label>
   <input id="folder" name="folder" value="{{ crit.folder }}" placeholder="logs"></div>
  <div style="flex:2 1 220px"><label for="patterns">{{ t("File name patterns") }}</label>
   <input id="patterns" name="patterns" value="{{ crit.patterns }}" required></div>
  <div><label for="days">{{ t("Older than (days)") }}</label><input id="days" name="days" type="number" min="0" step="any" value="{{ crit.days }}"></div>
  <div><label><input type="checkbox" name="recursive" value="1" {{ "checked" if crit.recursive }}> {{ t("Include subfolders") }}</label></div>
  <div style="flex:0 0 auto"><button class="btn" type="submit">{{ t("Preview") }}</button></div>
 </div>
 {% if error %}<div class="alert alert-err">{{ t("Error") }}: {{ error }}</div>{% endif %}
</form>
{% if outcome %}<div class="card"><h2>{{ t("Result") }}</h2>
 <div class="alert alert-ok">{{ t("Deleted") }}: {{ outcome.deleted|length }} ({{ outcome.bytes_freed|filesize }} {{ t("freed") }})</div>
 {% if outcome.skipped %}<div class="alert alert-warn">{{ t("Skipped") }}: {% for s in outcome.skipped %}<code>{{ s.path }}</code> ({{ s.reason }}){{ ", " if not loop.last }}{% endfor %}</div>{% endif %}
</div>{% endif %}
{% if matches is not none %}
<form class="card" method="post" action="delete" onsubmit="return confirm({{ t('Delete the selected files? This cannot be undone.')|tojson|forceescape }})">
 {% for k, v in crit.items() %}<input type="hidden" name="{{ k }}" value="{{ '1' if v is sameas true else ('' if v is sameas false else v) }}">{% endfor %}
 <h2>{{ matches|length }} {{ t("files match") }} &middot; {{ matches|sum(attribute="bytes")|filesize }}</h2>
 {% if truncated %}<div class="alert alert-warn">{{ t("Only the first matches are listed") }}</div>{% endif %}
 {% if matches %}<table><thead><tr><th><input type="checkbox" checked onclick="document.querySelectorAll('input[name=files]').forEach(c => c.checked = this.checked)"></th>
  <th>{{ t("File") }}</th><th class="num">{{ t("Size") }}</th><th>{{ t("Modified") }}</th><th class="num">{{ t("Age (days)") }}</th></tr></thead><tbody>
  {% for m in matches %}<tr><td><input type="checkbox" name="files" value="{{ m.path }}" checked></td><td><code>{{ m.path }}</code></td>
   <td class="num">{{ m.bytes|filesize }}</td><td>{{ m.mtime|datetime }}</td><td class="num">{{ "%.1f"|format(m.age_days) }}</td></tr>{% endfor %}
 </tbody></table>
 {% if can_delete %}<p><button class="btn btn-danger" type="submit">{{ t("Delete selected") }}</button></p>
 {% else %}<div class="alert alert-warn">{{ t("Deleting needs the developer or admin level; this is a preview only.") }}</div>{% endif %}
 {% endif %}
</form>
{% endif %}
<div class="card"><h2>{{ t("History") }}</h2>
 {% if history %}<table><thead><tr><th>{{ t("Date") }}</th><th>{{ t("Folder") }}</th><th>{{ t("File name patterns") }}</th>
  <th class="num">{{ t("Older than (days)") }}</th><th class="num">{{ t("Deleted") }}</th><th class="num">{{ t("Size") }}</th></tr></thead><tbody>
  {% for h in history %}<tr><td>{{ h.created[:16]|replace("T", " ") }}</td><td>/{{ h.criteria.folder }}</td><td><code>{{ h.criteria.patterns }}</code></td>
   <td class="num">{{ h.criteria.days }}</td><td class="num">{{ h.deleted }}</td><td class="num">{{ h.bytes_freed|filesize }}</td></tr>{% endfor %}
 </tbody></table>{% else %}<p class="muted">{{ t("Nothing yet") }}</p>{% endif %}
</div>
{% endblock %}
"""


def add_parameters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pattern", default="*.log,*.log.*")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--recursive", action="store_true")


def filesize(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def create_app(args: argparse.Namespace):
    app = ss.create_app(args, TEXT.get(args.language, TEXT["en"])["title"], translations=TEXT)
    base = args.data_dir
    history_path = base / HISTORY_FILE
    can_delete = args.user_level in CAN_DELETE
    defaults = {
        "folder": "",
        "patterns": args.pattern,
        "days": max(args.days, 0),
        "recursive": args.recursive,
    }
    app.add_template_filter(filesize, "filesize")
    app.add_template_filter(
        lambda ts: datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M"), "datetime"
    )

    def criteria_from(source) -> Criteria:
        try:
            days = float(source.get("days", defaults["days"]))
        except (TypeError, ValueError) as exc:
            raise CleanerError("days must be a number") from exc
        recursive = source.get("recursive")
        return Criteria(
            base,
            str(source.get("folder", "")),
            str(source.get("patterns", defaults["patterns"])),
            days,
            recursive not in (None, "", "0", False),
        )

    def do_delete(crit: Criteria, files: list[str]) -> dict:
        with ss.data_lock:
            outcome = crit.delete(files)
            entry = {
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "user_level": args.user_level,
                "criteria": crit.describe(),
                "deleted": len(outcome["deleted"]),
                "bytes_freed": outcome["bytes_freed"],
                "files": outcome["deleted"][:200],
            }
            ss.json_save_atomic(
                history_path, [entry, *ss.json_load(history_path, [])][:HISTORY_SIZE]
            )
        print(
            f"deleted {len(outcome['deleted'])} file(s), {outcome['bytes_freed']} bytes", flush=True
        )
        return outcome

    def page(crit: dict, matches=None, truncated=False, outcome=None, error=None, status=200):
        return render_template_string(
            PAGE,
            crit=crit,
            matches=matches,
            truncated=truncated,
            outcome=outcome,
            error=error,
            can_delete=can_delete,
            history=ss.json_load(history_path, []),
        ), status

    @app.get("/")
    def index():
        return page(defaults)

    @app.post("/preview")
    def preview():
        try:
            crit = criteria_from(request.form)
        except CleanerError as exc:
            return page({**defaults, **request.form.to_dict()}, error=str(exc), status=400)
        matches, truncated = crit.candidates()
        return page(crit.describe(), matches, truncated)

    @app.post("/delete")
    def delete():
        if not can_delete:
            return page(defaults, error=t_forbidden(), status=403)
        try:
            crit = criteria_from(request.form)
        except CleanerError as exc:
            return page({**defaults, **request.form.to_dict()}, error=str(exc), status=400)
        outcome = do_delete(crit, request.form.getlist("files"))
        matches, truncated = crit.candidates()
        return page(crit.describe(), matches, truncated, outcome=outcome)

    @app.post("/api/preview")
    def api_preview():
        try:
            crit = criteria_from(ss.json_object())
        except CleanerError as exc:
            return {"error": str(exc)}, 400
        matches, truncated = crit.candidates()
        return {"criteria": crit.describe(), "matches": matches, "truncated": truncated}

    @app.post("/api/delete")
    def api_delete():
        if not can_delete:
            return {"error": t_forbidden()}, 403
        body = ss.json_object()
        try:
            crit = criteria_from(body)
        except CleanerError as exc:
            return {"error": str(exc)}, 400
        files = body.get("files")
        if not isinstance(files, list):
            return {"error": "'files' must be the list of paths returned by the preview"}, 400
        return do_delete(crit, files)

    def t_forbidden() -> str:
        return ss.t("Deleting needs the developer or admin level; this is a preview only.")

    return app


def main() -> None:
    args = ss.parse_args(add_parameters, description="Old file cleaner")
    ss.run(create_app(args), args)


if __name__ == "__main__":
    main()
