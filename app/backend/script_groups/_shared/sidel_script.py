"""Helpers shared by the SIDEL ScriptsManager sample scripts.

Folders whose name starts with ``_`` are not script groups, so this module is
never listed as a script. A script imports it with::

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
    import sidel_script as ss

What it gives:

* ``parse_args`` - the contract arguments every script receives, plus the
  script's own parameters;
* ``install_sigterm_handler`` - SIGTERM ends the process cleanly (exit 0);
* ``json_load`` / ``json_save_atomic`` - tolerant reads, crash-safe writes;
* ``json_object`` - the request's JSON body as a dict;
* ``create_app`` - a Flask app with the SIDEL-branded base template
  ``sidel_base.html`` (logo, title, project, theme, language), inline CSS only;
* ``t`` - translation of the few common UI words;
* ``run`` - serve on ``127.0.0.1:<port>`` until SIGTERM.

Templates must use relative URLs only (``api/cases``, ``_sidel/logo``, never a
leading ``/``): the manager may serve the interface under a prefix such as
``/interfaces/<session>/app/`` (environment variable
``SCRIPTSMANAGER_BASE_URL``) as well as directly at ``/``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context, request, send_file
from jinja2 import ChoiceLoader, DictLoader

USER_LEVELS = ("admin", "developer", "operator", "viewer")
THEMES = ("light", "dark")
LANGUAGES = ("en", "es", "it", "fr")

#: Serialises read-modify-write cycles on a script's JSON files: the Flask
#: development server handles each request in its own thread.
data_lock = threading.RLock()

TRANSLATIONS: dict[str, dict[str, str]] = {
    "en": {
        "Project": "Project",
        "User level": "User level",
        "Save": "Save",
        "Saved": "Saved",
        "Run": "Run",
        "Calculate": "Calculate",
        "Result": "Result",
        "Results": "Results",
        "Error": "Error",
        "Delete": "Delete",
        "Load": "Load",
        "Name": "Name",
        "Date": "Date",
        "History": "History",
        "Nothing yet": "Nothing yet",
        "Documentation": "Documentation",
    },
    "es": {
        "Project": "Proyecto",
        "User level": "Nivel de usuario",
        "Save": "Guardar",
        "Saved": "Guardado",
        "Run": "Ejecutar",
        "Calculate": "Calcular",
        "Result": "Resultado",
        "Results": "Resultados",
        "Error": "Error",
        "Delete": "Eliminar",
        "Load": "Cargar",
        "Name": "Nombre",
        "Date": "Fecha",
        "History": "Historial",
        "Nothing yet": "Nada todavía",
        "Documentation": "Documentación",
    },
    "it": {
        "Project": "Progetto",
        "User level": "Livello utente",
        "Save": "Salva",
        "Saved": "Salvato",
        "Run": "Esegui",
        "Calculate": "Calcola",
        "Result": "Risultato",
        "Results": "Risultati",
        "Error": "Errore",
        "Delete": "Elimina",
        "Load": "Carica",
        "Name": "Nome",
        "Date": "Data",
        "History": "Cronologia",
        "Nothing yet": "Ancora niente",
        "Documentation": "Documentazione",
    },
    "fr": {
        "Project": "Projet",
        "User level": "Niveau utilisateur",
        "Save": "Enregistrer",
        "Saved": "Enregistré",
        "Run": "Exécuter",
        "Calculate": "Calculer",
        "Result": "Résultat",
        "Results": "Résultats",
        "Error": "Erreur",
        "Delete": "Supprimer",
        "Load": "Charger",
        "Name": "Nom",
        "Date": "Date",
        "History": "Historique",
        "Nothing yet": "Rien pour l'instant",
        "Documentation": "Documentation",
    },
}

# ---------------------------------------------------------------------------
# Arguments and process lifecycle
# ---------------------------------------------------------------------------


def parse_args(
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
    *,
    description: str = "SIDEL ScriptsManager script",
    interface: bool = True,
    argv: list[str] | None = None,
) -> argparse.Namespace:
    """Parse the contract arguments plus whatever ``extra`` adds.

    ``args.data_dir`` is returned as an absolute ``Path`` (not created here),
    or None when ``interface`` is False and it was not given: a script without
    a web interface accepts ``--data-dir`` and ``--port`` but does not need
    them, so it can also be run by hand; the manager runs it with
    ``--port 0`` (it takes no port). Unknown arguments - for example a
    parameter the manager knows about but this version of the script does
    not - are reported on stderr and ignored rather than aborting the run.
    """
    # allow_abbrev=False: with parse_known_args an unknown "--proj" must stay
    # unknown instead of being silently taken as "--project-id".
    parser = argparse.ArgumentParser(description=description, allow_abbrev=False)
    contract = parser.add_argument_group("ScriptsManager contract")
    contract.add_argument(
        "--data-dir", required=interface, help="persistent data directory of this user and project"
    )
    contract.add_argument(
        "--user-level",
        choices=USER_LEVELS,
        default="viewer",
        help="level of the user who started the script",
    )
    contract.add_argument("--port", type=int, required=interface, help="port to bind on 127.0.0.1")
    contract.add_argument("--project-id", default="project_default", help="project identifier")
    contract.add_argument("--project-name", default="Default", help="project display name")
    contract.add_argument("--theme", choices=THEMES, default="light", help="user interface theme")
    contract.add_argument(
        "--language", choices=LANGUAGES, default="en", help="user interface language"
    )
    if extra is not None:
        extra(parser)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(
            f"warning: ignoring unknown arguments: {' '.join(unknown)}", file=sys.stderr, flush=True
        )
    if args.data_dir is not None:
        args.data_dir = Path(args.data_dir).expanduser().resolve()
    return args


def install_sigterm_handler() -> None:
    """Make SIGTERM end the process with exit code 0 after flushing output.

    ``SystemExit`` raised in the main thread unwinds the server loop, so
    ``finally`` blocks and ``atexit`` hooks still run.
    """

    def _on_sigterm(signum: int, frame: object) -> None:
        print("SIGTERM received, shutting down", flush=True)
        sys.stderr.flush()
        sys.exit(0)

    signal.signal(signal.SIGTERM, _on_sigterm)


def run(app: Flask, args: argparse.Namespace) -> None:
    """Serve ``app`` on 127.0.0.1:``args.port`` until SIGTERM."""
    install_sigterm_handler()
    print(f"Serving on 127.0.0.1:{args.port}", flush=True)
    app.run(host="127.0.0.1", port=args.port, debug=False, use_reloader=False)


# ---------------------------------------------------------------------------
# JSON files in the data directory
# ---------------------------------------------------------------------------


def json_load(path: str | os.PathLike[str], default: Any) -> Any:
    """Return the JSON content of ``path``, or a copy of ``default`` when the
    file is missing or unreadable (a corrupt file is reported on stderr)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return copy.deepcopy(default)
    except (OSError, ValueError) as exc:
        print(f"warning: cannot read {path}: {exc}; using defaults", file=sys.stderr, flush=True)
        return copy.deepcopy(default)


def json_save_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as JSON so that ``path`` holds either the old or the new
    content, never a partial file: temp file in the same folder, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    # Persist the rename itself; not every platform lets a directory be opened.
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def json_object() -> dict[str, Any]:
    """The current request's JSON body when it is an object, else ``{}``, so
    that the caller's own validation reports what is missing."""
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else {}


# ---------------------------------------------------------------------------
# Translation
# ---------------------------------------------------------------------------


def t(key: str, language: str | None = None) -> str:
    """Translate ``key`` into ``language``.

    Without ``language`` inside a request (or app context) of an app made by
    ``create_app``, that app's language and extra translations are used.
    Falls back to English, then to the key itself.
    """
    tables: list[Mapping[str, Mapping[str, str]]] = [TRANSLATIONS]
    if has_app_context():
        state = current_app.extensions.get("sidel")
        if state is not None:
            tables.insert(0, state["translations"])
            language = language or state["language"]
    language = language or "en"
    for lang in (language, "en"):
        for table in tables:
            value = table.get(lang, {}).get(key)
            if value is not None:
                return value
    return key


# ---------------------------------------------------------------------------
# Flask app with the SIDEL base template
# ---------------------------------------------------------------------------

BASE_TEMPLATE = """<!doctype html>
<html lang="{{ language }}" data-theme="{{ theme }}" data-bs-theme="{{ theme }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} - {{ project_name }}</title>
<link rel="icon" href="data:,">
<style>
:root{--brand:#003da5;--brand-dark:#002a73;--accent:#00a3e0;--bg:#f4f6fa;--fg:#1d2433;--muted:#5c6b80;
--card:#fff;--border:#d7dde8;--input:#fff;--ok:#0f8a5f;--warn:#b26a00;--err:#c0392b;--code:#eef1f6;--stripe:#f7f9fc}
[data-theme="dark"]{--brand:#4d8dff;--brand-dark:#7aa9ff;--bg:#12161f;--fg:#dde3ec;--muted:#9aa7b8;--card:#1a2030;
--border:#2c3650;--input:#0f1420;--ok:#3ecf8e;--warn:#f0b44c;--err:#ff6b6b;--code:#222a3c;--stripe:#1e2538}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--brand)}
.sm-header{display:flex;align-items:center;gap:1rem;padding:.6rem 1.25rem;color:#fff;
background:linear-gradient(90deg,#002a73,#003da5)}
[data-theme="dark"] .sm-header{background:linear-gradient(90deg,#0b1220,#13223f);border-bottom:1px solid var(--border)}
.sm-logo{display:inline-flex;align-items:center;background:#fff;border-radius:.4rem;padding:.15rem .5rem;text-decoration:none}
.sm-logo img{display:block;height:26px;width:auto}
.sm-logo-text{font-weight:800;letter-spacing:.12em;color:#003da5;font-size:1.1rem}
.sm-title{font-size:1.15rem;font-weight:600;margin:0}
.sm-project{margin-left:auto;font-size:.9rem;opacity:.95;text-align:right}
.sm-project b{font-weight:600}
main{max-width:1200px;margin:1.25rem auto;padding:0 1.25rem}
.card{background:var(--card);border:1px solid var(--border);border-radius:.5rem;padding:1rem 1.25rem;margin-bottom:1rem}
.card h2{font-size:1.05rem;margin:0 0 .75rem}
.row{display:flex;flex-wrap:wrap;gap:1rem}
.row>.col{flex:1 1 260px;min-width:0}
label{display:block;font-size:.85rem;color:var(--muted);margin-bottom:.2rem}
input,select,textarea{font:inherit;color:var(--fg);background:var(--input);border:1px solid var(--border);
border-radius:.35rem;padding:.35rem .5rem;width:100%}
input[type=checkbox]{width:auto}
textarea{font-family:ui-monospace,SFMono-Regular,Consolas,monospace;font-size:.85rem}
input:focus,select:focus,textarea:focus{outline:2px solid var(--accent);outline-offset:0}
.field{margin-bottom:.6rem}
.inline{display:flex;gap:.5rem;align-items:end;flex-wrap:wrap}
.inline>*{flex:1 1 120px}
.btn{display:inline-block;font:inherit;font-weight:500;cursor:pointer;border-radius:.35rem;padding:.4rem .9rem;
border:1px solid var(--brand);background:var(--brand);color:#fff;text-decoration:none}
[data-theme="dark"] .btn{color:#0b1220}
.btn:hover{background:var(--brand-dark);border-color:var(--brand-dark)}
.btn-outline{background:transparent;color:var(--brand)}
[data-theme="dark"] .btn-outline{color:var(--brand)}
.btn-outline:hover{color:#fff}
.btn-danger{background:var(--err);border-color:var(--err);color:#fff}
.btn-sm{padding:.15rem .5rem;font-size:.85rem}
.btn:disabled{opacity:.5;cursor:not-allowed}
table{width:100%;border-collapse:collapse;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--border);vertical-align:top}
th{color:var(--muted);font-weight:600}
tbody tr:nth-child(even){background:var(--stripe)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.alert{border-radius:.35rem;padding:.5rem .75rem;margin:.5rem 0;border:1px solid}
.alert-ok{border-color:var(--ok);color:var(--ok)}
.alert-warn{border-color:var(--warn);color:var(--warn)}
.alert-err{border-color:var(--err);color:var(--err)}
.muted{color:var(--muted)}
.badge{display:inline-block;font-size:.75rem;padding:.05rem .45rem;border-radius:1rem;background:var(--code);color:var(--fg)}
code,pre{font-family:ui-monospace,SFMono-Regular,Consolas,monospace;background:var(--code);border-radius:.25rem}
code{padding:.05rem .3rem}pre{padding:.6rem .8rem;overflow:auto}
.bar{height:.55rem;background:var(--code);border-radius:.3rem;overflow:hidden;min-width:80px}
.bar>span{display:block;height:100%;background:var(--accent)}
.hidden{display:none}
footer{max-width:1200px;margin:0 auto 1.5rem;padding:0 1.25rem;font-size:.8rem;color:var(--muted)}
</style>
{% block head %}{% endblock %}
</head>
<body>
<header class="sm-header">
  <span class="sm-logo">{% if has_logo %}<img src="_sidel/logo" alt="SIDEL">{% else %}<span class="sm-logo-text">SIDEL</span>{% endif %}</span>
  <h1 class="sm-title">{{ title }}</h1>
  <div class="sm-project">{{ t("Project") }}: <b>{{ project_name }}</b><br>
    <span style="opacity:.8">{{ t("User level") }}: {{ user_level }}</span></div>
</header>
<main>
{% block content %}{% endblock %}
</main>
<footer>SIDEL ScriptsManager &middot; {{ title }}</footer>
{% block scripts %}{% endblock %}
</body>
</html>
"""


def logo_path() -> Path | None:
    """The SIDEL logo file given by the manager, or None if absent."""
    value = os.environ.get("SCRIPTSMANAGER_LOGO", "").strip()
    if not value:
        return None
    path = Path(value)
    return path if path.is_file() else None


def create_app(
    args: argparse.Namespace,
    title: str,
    *,
    translations: Mapping[str, Mapping[str, str]] | None = None,
    import_name: str = "__main__",
) -> Flask:
    """A Flask app whose templates can ``{% extends "sidel_base.html" %}``.

    Every template gets ``title``, ``project_name``, ``project_id``,
    ``user_level``, ``theme``, ``language``, ``has_logo``, ``base_url`` and
    ``t``. ``translations`` (language -> key -> text) adds the script's own
    words to ``t``. The data directory is created if needed.
    """
    args.data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(import_name)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    app.json.ensure_ascii = False
    app.extensions["sidel"] = {
        "language": args.language,
        "translations": dict(translations or {}),
    }
    app.jinja_env.loader = ChoiceLoader(
        [DictLoader({"sidel_base.html": BASE_TEMPLATE}), app.jinja_env.loader]
    )

    @app.context_processor
    def _sidel_context() -> dict[str, Any]:
        return {
            "title": title,
            "project_name": args.project_name,
            "project_id": args.project_id,
            "user_level": args.user_level,
            "theme": args.theme,
            "language": args.language,
            "has_logo": logo_path() is not None,
            "base_url": os.environ.get("SCRIPTSMANAGER_BASE_URL", "/"),
            "t": t,
        }

    @app.get("/_sidel/logo")
    def _sidel_logo():
        path = logo_path()
        if path is None:
            return ("no logo configured", 404)
        return send_file(path, max_age=3600)

    @app.get("/api/project-info")
    def _sidel_project_info():
        return {
            "project_id": args.project_id,
            "project_name": args.project_name,
            "user_level": args.user_level,
            "theme": args.theme,
            "language": args.language,
        }

    return app
