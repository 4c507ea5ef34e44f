"""
ScriptsManager Metadata:
@display_name: Disk Usage Report
@display_name_es: Informe de uso de disco
@display_name_it: Report di utilizzo del disco
@display_name_fr: Rapport d'occupation disque
@description: Report the disk usage of the project data folder, largest items first, with the free space of its filesystem
@description_es: Informa del uso de disco de la carpeta de datos del proyecto, de mayor a menor, con el espacio libre de su sistema de archivos
@description_it: Riporta l'uso del disco della cartella dati del progetto, dagli elementi più grandi, con lo spazio libero del filesystem
@description_fr: Rapporte l'occupation disque du dossier de données du projet, des plus gros éléments aux plus petits, avec l'espace libre du système de fichiers
@description_long: docs/disk_usage_report.md
@description_long_es: docs/disk_usage_report_es.md
@description_long_it: docs/disk_usage_report_it.md
@description_long_fr: docs/disk_usage_report_fr.md
@required_level: admin
@category: system
@tags: disk,storage,maintenance,report
@parameters: [
    {"name": "top", "type": "int", "required": false, "default": 25, "min": 5, "max": 500,
     "description": {"en": "Largest entries listed per folder; the rest are grouped",
                     "es": "Entradas más grandes listadas por carpeta; el resto se agrupa",
                     "it": "Voci più grandi elencate per cartella; le altre sono raggruppate",
                     "fr": "Plus grosses entrées listées par dossier ; les autres sont regroupées"}},
    {"name": "warn_percent", "type": "int", "required": false, "default": 90, "min": 50, "max": 99,
     "description": {"en": "Filesystem usage (%) from which a warning is shown",
                     "es": "Uso del sistema de archivos (%) a partir del cual se muestra un aviso",
                     "it": "Utilizzo del filesystem (%) oltre il quale compare un avviso",
                     "fr": "Taux d'occupation du système de fichiers (%) à partir duquel un avertissement s'affiche"}}
]
@execution_timeout: 3600
@interface: true
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from flask import redirect, render_template_string, request

sys.dont_write_bytecode = True  # keep the script tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
import sidel_script as ss  # noqa: E402

HISTORY_FILE = "disk_usage_history.json"
HISTORY_SIZE = 100
MAX_ENTRIES_SCANNED = 500_000  # stop walking huge trees; the report says it is partial


class PathError(ValueError):
    """A requested path that is not inside the data directory."""


def resolve_inside(base: Path, rel: str) -> Path:
    """``base``/``rel`` resolved (symlinks followed), refused unless it stays in ``base``."""
    rel = (rel or "").strip().replace("\\", "/")
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        raise PathError("absolute paths are not allowed")
    target = (base / rel).resolve()
    if not target.is_relative_to(base):
        raise PathError("the path leaves the data directory")
    return target


def tree_size(path: Path, seen: set[tuple[int, int]], budget: list[int]) -> dict:
    """Apparent and allocated bytes, file and folder counts of the tree at ``path``.

    Symlinks are counted as themselves and never followed; a hard-linked file
    is counted once (``seen`` holds (device, inode) pairs). ``budget`` is a
    one-item list of entries still allowed, shared by the whole scan.
    """
    out = {
        "bytes": 0,
        "disk_bytes": 0,
        "files": 0,
        "dirs": 0,
        "newest": 0.0,
        "errors": 0,
        "partial": False,
    }
    stack = [path]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                entries = list(it)
        except OSError:
            out["errors"] += 1
            continue
        for entry in entries:
            budget[0] -= 1
            if budget[0] < 0:
                out["partial"] = True
                return out
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                out["errors"] += 1
                continue
            out["newest"] = max(out["newest"], st.st_mtime)
            if stat.S_ISDIR(st.st_mode):
                out["dirs"] += 1
                stack.append(entry.path)
                continue
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            out["files"] += 1
            out["bytes"] += st.st_size
            out["disk_bytes"] += getattr(st, "st_blocks", 0) * 512 or st.st_size
    return out


def scan(base: Path, rel: str, top: int) -> dict:
    """Usage of every direct child of ``base``/``rel``, largest first."""
    folder = resolve_inside(base, rel)
    if not folder.is_dir():
        raise PathError("not a folder")
    seen: set[tuple[int, int]] = set()
    budget = [MAX_ENTRIES_SCANNED]
    started = time.monotonic()
    entries = []
    with os.scandir(folder) as it:
        children = list(it)
    for entry in children:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        item = {"name": entry.name, "mtime": st.st_mtime}
        if stat.S_ISDIR(st.st_mode):
            size = tree_size(Path(entry.path), seen, budget)
            item.update(kind="dir", **size)
            item["newest"] = max(size["newest"], st.st_mtime)
        else:
            item.update(
                kind="link" if stat.S_ISLNK(st.st_mode) else "file",
                bytes=st.st_size,
                disk_bytes=getattr(st, "st_blocks", 0) * 512 or st.st_size,
                files=1,
                dirs=0,
                newest=st.st_mtime,
                errors=0,
                partial=False,
            )
        entries.append(item)
    entries.sort(key=lambda e: e["disk_bytes"], reverse=True)
    total = {
        k: sum(e[k] for e in entries) for k in ("bytes", "disk_bytes", "files", "dirs", "errors")
    }
    rest = entries[top:]
    fs = shutil.disk_usage(folder)
    rel_clean = folder.relative_to(base).as_posix()
    return {
        "path": "" if rel_clean == "." else rel_clean,
        "entries": entries[:top],
        "others": {
            "count": len(rest),
            "bytes": sum(e["bytes"] for e in rest),
            "disk_bytes": sum(e["disk_bytes"] for e in rest),
        }
        if rest
        else None,
        "total": total,
        "partial": any(e["partial"] for e in entries),
        "filesystem": {
            "total": fs.total,
            "used": fs.used,
            "free": fs.free,
            "percent": 100.0 * fs.used / fs.total if fs.total else 0.0,
        },
        "seconds": round(time.monotonic() - started, 3),
    }


def human(n: float | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


TEXT = {
    "en": {"title": "Disk Usage Report"},
    "es": {
        "title": "Informe de uso de disco",
        "Filesystem": "Sistema de archivos",
        "Total": "Total",
        "Used": "Usado",
        "Free": "Libre",
        "Folder": "Carpeta",
        "Size": "Tamaño",
        "On disk": "En disco",
        "Files": "Archivos",
        "Last change": "Último cambio",
        "Share": "Proporción",
        "more entries": "entradas más",
        "Save snapshot": "Guardar instantánea",
        "Snapshots": "Instantáneas",
        "Change": "Variación",
        "Filesystem almost full": "Sistema de archivos casi lleno",
        "Scan stopped early: partial figures": "Exploración interrumpida: cifras parciales",
        "unreadable entries": "entradas ilegibles",
        "Data directory": "Directorio de datos",
        "Open": "Abrir",
    },
    "it": {
        "title": "Report di utilizzo del disco",
        "Filesystem": "Filesystem",
        "Total": "Totale",
        "Used": "Usato",
        "Free": "Libero",
        "Folder": "Cartella",
        "Size": "Dimensione",
        "On disk": "Su disco",
        "Files": "File",
        "Last change": "Ultima modifica",
        "Share": "Quota",
        "more entries": "altre voci",
        "Save snapshot": "Salva istantanea",
        "Snapshots": "Istantanee",
        "Change": "Variazione",
        "Filesystem almost full": "Filesystem quasi pieno",
        "Scan stopped early: partial figures": "Scansione interrotta: valori parziali",
        "unreadable entries": "voci illeggibili",
        "Data directory": "Directory dati",
        "Open": "Apri",
    },
    "fr": {
        "title": "Rapport d'occupation disque",
        "Filesystem": "Système de fichiers",
        "Total": "Total",
        "Used": "Utilisé",
        "Free": "Libre",
        "Folder": "Dossier",
        "Size": "Taille",
        "On disk": "Sur disque",
        "Files": "Fichiers",
        "Last change": "Dernière modification",
        "Share": "Part",
        "more entries": "entrées de plus",
        "Save snapshot": "Enregistrer un instantané",
        "Snapshots": "Instantanés",
        "Change": "Variation",
        "Filesystem almost full": "Système de fichiers presque plein",
        "Scan stopped early: partial figures": "Analyse interrompue : chiffres partiels",
        "unreadable entries": "entrées illisibles",
        "Data directory": "Répertoire de données",
        "Open": "Ouvrir",
    },
}

PAGE = """{% extends "sidel_base.html" %}
{% block content %}
{% if error %}<div class="alert alert-err">{{ t("Error") }}: {{ error }}</div>{% endif %}
{% if report %}
<div class="card">
 <h2>{{ t("Filesystem") }}</h2>
 {% set fs = report.filesystem %}
 <div class="inline">
  <div><label>{{ t("Total") }}</label><b>{{ fs.total|human }}</b></div>
  <div><label>{{ t("Used") }}</label><b>{{ fs.used|human }}</b> ({{ "%.1f"|format(fs.percent) }} %)</div>
  <div><label>{{ t("Free") }}</label><b>{{ fs.free|human }}</b></div>
  <div style="flex:3 1 240px"><label>&nbsp;</label><div class="bar" style="height:.9rem"><span style="width:{{ fs.percent }}%;{{ 'background:var(--err)' if fs.percent >= warn_percent }}"></span></div></div>
 </div>
 {% if fs.percent >= warn_percent %}<div class="alert alert-err">{{ t("Filesystem almost full") }} (&ge; {{ warn_percent }} %)</div>{% endif %}
</div>
<div class="card">
 <h2>{{ t("Folder") }}:
  <a href="?path=">{{ t("Data directory") }}</a>{% for crumb in crumbs %} / <a href="?path={{ crumb.path|urlencode }}">{{ crumb.name }}</a>{% endfor %}
  <span class="muted">&middot; {{ report.total.disk_bytes|human }} &middot; {{ report.total.files }} {{ t("Files") | lower }}</span></h2>
 {% if report.partial %}<div class="alert alert-warn">{{ t("Scan stopped early: partial figures") }}</div>{% endif %}
 {% if report.total.errors %}<div class="alert alert-warn">{{ report.total.errors }} {{ t("unreadable entries") }}</div>{% endif %}
 {% if report.entries %}
 <table><thead><tr><th>{{ t("Name") }}</th><th class="num">{{ t("Size") }}</th><th class="num">{{ t("On disk") }}</th>
  <th class="num">{{ t("Files") }}</th><th>{{ t("Last change") }}</th><th style="width:22%">{{ t("Share") }}</th></tr></thead><tbody>
 {% for e in report.entries %}{% set pct = 100 * e.disk_bytes / report.total.disk_bytes if report.total.disk_bytes else 0 %}
  <tr><td>{% if e.kind == "dir" %}<a href="?path={{ (report.path ~ '/' ~ e.name if report.path else e.name)|urlencode }}"><b>{{ e.name }}/</b></a>
      {% elif e.kind == "link" %}{{ e.name }} <span class="badge">symlink</span>{% else %}{{ e.name }}{% endif %}</td>
   <td class="num">{{ e.bytes|human }}</td><td class="num">{{ e.disk_bytes|human }}</td><td class="num">{{ e.files }}</td>
   <td>{{ e.newest|datetime }}</td>
   <td><div class="bar" title="{{ '%.1f'|format(pct) }} %"><span style="width:{{ pct }}%"></span></div></td></tr>
 {% endfor %}
 {% if report.others %}<tr><td class="muted">+ {{ report.others.count }} {{ t("more entries") }}</td><td class="num">{{ report.others.bytes|human }}</td>
   <td class="num">{{ report.others.disk_bytes|human }}</td><td colspan="3"></td></tr>{% endif %}
 </tbody></table>
 {% else %}<p class="muted">{{ t("Nothing yet") }}</p>{% endif %}
 <form method="post" action="snapshot" style="margin-top:.8rem"><input type="hidden" name="path" value="{{ report.path }}">
  <button class="btn btn-outline btn-sm" type="submit">{{ t("Save snapshot") }}</button> <span class="muted">{{ report.seconds }} s</span></form>
</div>
{% endif %}
<div class="card">
 <h2>{{ t("Snapshots") }}</h2>
 {% if history %}<table><thead><tr><th>{{ t("Date") }}</th><th>{{ t("Folder") }}</th><th class="num">{{ t("On disk") }}</th>
   <th class="num">{{ t("Files") }}</th><th class="num">{{ t("Change") }}</th></tr></thead><tbody>
  {% for h in history %}<tr><td>{{ h.created[:16]|replace("T", " ") }}</td><td>/{{ h.path }}</td><td class="num">{{ h.disk_bytes|human }}</td>
   <td class="num">{{ h.files }}</td><td class="num">{% if h.delta is not none %}{{ "+" if h.delta >= 0 }}{{ h.delta|human }}{% else %}&ndash;{% endif %}</td></tr>{% endfor %}
 </tbody></table>{% else %}<p class="muted">{{ t("Nothing yet") }}</p>{% endif %}
</div>
{% endblock %}
"""


def with_deltas(history: list[dict]) -> list[dict]:
    """Newest first, each with ``delta``: change in bytes on disk since the
    previous snapshot of the same folder (None for the first one)."""
    previous: dict[str, int] = {}
    out = []
    for snap in reversed(history):
        before = previous.get(snap["path"])
        out.append({**snap, "delta": None if before is None else snap["disk_bytes"] - before})
        previous[snap["path"]] = snap["disk_bytes"]
    return list(reversed(out))


def add_parameters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--warn_percent", type=int, default=90)


def create_app(args: argparse.Namespace):
    app = ss.create_app(args, TEXT.get(args.language, TEXT["en"])["title"], translations=TEXT)
    base = args.data_dir
    top = min(max(args.top, 5), 500)
    warn_percent = min(max(args.warn_percent, 50), 99)
    history_path = base / HISTORY_FILE

    app.add_template_filter(human, "human")
    app.add_template_filter(
        lambda ts: datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "–", "datetime"
    )

    @app.get("/")
    def index():
        rel = request.args.get("path", "")
        report = error = None
        try:
            report = scan(base, rel, top)
        except (PathError, OSError) as exc:
            error = str(exc)
        crumbs = []
        if report and report["path"]:
            parts = report["path"].split("/")
            crumbs = [{"name": p, "path": "/".join(parts[: i + 1])} for i, p in enumerate(parts)]
        history = with_deltas(ss.json_load(history_path, []))
        return render_template_string(
            PAGE,
            report=report,
            error=error,
            crumbs=crumbs,
            history=history,
            warn_percent=warn_percent,
        ), (400 if error else 200)

    @app.get("/api/scan")
    def api_scan():
        try:
            return scan(base, request.args.get("path", ""), top)
        except (PathError, OSError) as exc:
            return {"error": str(exc)}, 400

    @app.post("/snapshot")
    def snapshot():
        rel = request.form.get("path", "")
        try:
            report = scan(base, rel, top)
        except (PathError, OSError) as exc:
            return {"error": str(exc)}, 400
        entry = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "path": report["path"],
            **{k: report["total"][k] for k in ("bytes", "disk_bytes", "files", "dirs")},
        }
        with ss.data_lock:
            ss.json_save_atomic(
                history_path, [entry, *ss.json_load(history_path, [])][:HISTORY_SIZE]
            )
        # Relative Location: resolves against this URL, so it also works under a prefix.
        return redirect(f"./?path={quote(report['path'])}", code=303)

    return app


def main() -> None:
    args = ss.parse_args(add_parameters, description="Disk usage report")
    ss.run(create_app(args), args)


if __name__ == "__main__":
    main()
