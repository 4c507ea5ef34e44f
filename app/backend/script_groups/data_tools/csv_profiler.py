"""
ScriptsManager Metadata:
@display_name: CSV Profiler
@display_name_es: Perfilador CSV
@display_name_it: Profilatore CSV
@display_name_fr: Profileur CSV
@description: Profile a CSV file: column types, counts, missing values and min/max/mean/std of numeric columns
@description_es: Perfila un archivo CSV: tipos de columna, recuentos, valores ausentes y mín/máx/media/desviación de las columnas numéricas
@description_it: Profila un file CSV: tipi di colonna, conteggi, valori mancanti e min/max/media/deviazione delle colonne numeriche
@description_fr: Profile un fichier CSV : types de colonnes, effectifs, valeurs manquantes et min/max/moyenne/écart-type des colonnes numériques
@description_long: docs/csv_profiler.md
@description_long_es: docs/csv_profiler_es.md
@description_long_it: docs/csv_profiler_it.md
@description_long_fr: docs/csv_profiler_fr.md
@required_level: viewer
@category: data
@tags: csv,statistics,data-quality
@parameters: [
    {"name": "delimiter", "type": "select", "required": false, "default": "auto",
     "options": ["auto", ",", ";", "tab", "|"],
     "description": {"en": "Field separator preselected in the form (auto = detect)",
                     "es": "Separador de campos preseleccionado (auto = detectar)",
                     "it": "Separatore di campo preselezionato (auto = rileva)",
                     "fr": "Séparateur de champs présélectionné (auto = détecter)"}},
    {"name": "decimal", "type": "select", "required": false, "default": ".", "options": [".", ","],
     "description": {"en": "Decimal separator of numbers in the file",
                     "es": "Separador decimal de los números del archivo",
                     "it": "Separatore decimale dei numeri nel file",
                     "fr": "Séparateur décimal des nombres du fichier"}},
    {"name": "max_rows", "type": "int", "required": false, "default": 200000, "min": 1, "max": 5000000,
     "description": {"en": "Rows read at most; the rest of the file is ignored",
                     "es": "Máximo de filas leídas; el resto del archivo se ignora",
                     "it": "Numero massimo di righe lette; il resto del file è ignorato",
                     "fr": "Nombre maximal de lignes lues ; le reste du fichier est ignoré"}},
    {"name": "keep_profiles", "type": "int", "required": false, "default": 20, "min": 1, "max": 200,
     "description": {"en": "How many profiles are kept in the project",
                     "es": "Cuántos perfiles se conservan en el proyecto",
                     "it": "Quanti profili vengono conservati nel progetto",
                     "fr": "Nombre de profils conservés dans le projet"}}
]
@execution_timeout: 3600
@interface: true
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import math
import sys
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from flask import redirect, render_template_string, request

sys.dont_write_bytecode = True  # keep the script tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
import sidel_script as ss  # noqa: E402

PROFILES_FILE = "csv_profiles.json"
MISSING = {"", "na", "n/a", "nan", "null", "none", "-", "#n/a"}
BOOLEANS = {"true", "false", "yes", "no", "y", "n"}
DELIMITERS = {",": ",", ";": ";", "tab": "\t", "|": "|"}
UNIQUE_CAP = 10_000  # distinct values tracked per column before counting stops
TOP_VALUES = 5


class ColumnStats:
    """One pass over a column's values: counts, inferred type, Welford mean/variance."""

    def __init__(self, name: str, decimal: str):
        self.name = name
        self.decimal = decimal
        self.count = self.missing = 0
        self.kinds = Counter()
        self.n = 0
        self.mean = self.m2 = 0.0
        self.min = self.max = None
        self.dt_min = self.dt_max = None
        self.len_min = self.len_max = None
        self.values: Counter[str] = Counter()
        self.unique_capped = False

    def _number(self, raw: str) -> tuple[str, float] | None:
        if "_" in raw:  # int() and float() accept "1_000"; a CSV cell like that is text
            return None
        text = raw.replace(",", ".") if self.decimal == "," else raw
        try:
            return "integer", float(int(text))
        except ValueError:
            pass
        try:
            value = float(text)
        except ValueError:
            return None
        return ("float", value) if math.isfinite(value) else None

    def add(self, raw: str) -> None:
        value = raw.strip()
        if value.lower() in MISSING:
            self.missing += 1
            return
        self.count += 1
        if value in self.values or len(self.values) < UNIQUE_CAP:
            self.values[value] += 1
        else:
            self.unique_capped = True
        length = len(value)
        self.len_min = length if self.len_min is None else min(self.len_min, length)
        self.len_max = length if self.len_max is None else max(self.len_max, length)
        number = self._number(value)
        if number is not None:
            kind, x = number
            self.kinds[kind] += 1
            self.n += 1
            delta = x - self.mean
            self.mean += delta / self.n
            self.m2 += delta * (x - self.mean)
            self.min = x if self.min is None else min(self.min, x)
            self.max = x if self.max is None else max(self.max, x)
            return
        if value.lower() in BOOLEANS:
            self.kinds["boolean"] += 1
            return
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.kinds["text"] += 1
            return
        self.kinds["datetime"] += 1
        iso = moment.isoformat()
        self.dt_min = iso if self.dt_min is None else min(self.dt_min, iso)
        self.dt_max = iso if self.dt_max is None else max(self.dt_max, iso)

    def inferred_type(self) -> str:
        if self.count == 0:
            return "empty"
        if self.kinds["integer"] == self.count:
            return "integer"
        if self.kinds["integer"] + self.kinds["float"] == self.count:
            return "float"
        for kind in ("boolean", "datetime"):
            if self.kinds[kind] == self.count:
                return kind
        return "text"

    def result(self) -> dict:
        kind = self.inferred_type()
        out = {
            "name": self.name,
            "type": kind,
            "count": self.count,
            "missing": self.missing,
            "unique": len(self.values),
            "unique_capped": self.unique_capped,
        }
        if kind in ("integer", "float"):
            out.update(
                min=self.min,
                max=self.max,
                mean=self.mean,
                std=math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None,
            )
        elif kind == "datetime":
            out.update(min=self.dt_min, max=self.dt_max)
        else:
            if self.n and kind == "text":
                out["numeric_share"] = self.n / self.count
            out.update(
                min_length=self.len_min,
                max_length=self.len_max,
                top=[[value, n] for value, n in self.values.most_common(TOP_VALUES)],
            )
        return out


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 - what spreadsheet exports use."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def detect_delimiter(text: str, decimal: str = ".") -> str:
    """Guess the field separator; with a decimal comma, ',' is not a candidate."""
    candidates = ";\t|" if decimal == "," else ",;\t|"
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=candidates).delimiter
    except csv.Error:
        return candidates[0]


def profile_csv(
    text: str,
    *,
    delimiter: str = "auto",
    decimal: str = ".",
    header: bool = True,
    max_rows: int = 200_000,
) -> dict:
    """Profile CSV ``text``. ``delimiter`` is ``auto`` or a key of DELIMITERS."""
    if not text.strip():
        raise ValueError("the CSV is empty")
    if decimal not in (".", ","):
        raise ValueError("decimal separator must be '.' or ','")
    sep = detect_delimiter(text, decimal) if delimiter == "auto" else DELIMITERS.get(delimiter)
    if sep is None:
        raise ValueError(f"unknown delimiter {delimiter!r}")
    if sep == "," and decimal == ",":
        raise ValueError("',' cannot be both the delimiter and the decimal separator")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    first = next(reader, None)
    if first is None:
        raise ValueError("the CSV is empty")
    names = (
        [n.strip() or f"column_{i}" for i, n in enumerate(first, 1)]
        if header
        else [f"column_{i}" for i in range(1, len(first) + 1)]
    )
    columns = [ColumnStats(name, decimal) for name in names]
    rows = ragged = 0
    truncated = False
    for row in reader if header else itertools.chain([first], reader):
        if not row:
            continue
        if rows >= max_rows:
            truncated = True
            break
        rows += 1
        if len(row) != len(columns):
            ragged += 1
            while len(columns) < len(row):
                columns.append(ColumnStats(f"column_{len(columns) + 1}", decimal))
                columns[-1].missing = rows - 1
        for i, column in enumerate(columns):
            column.add(row[i] if i < len(row) else "")
    return {
        "rows": rows,
        "columns_count": len(columns),
        "delimiter": "tab" if sep == "\t" else sep,
        "decimal": decimal,
        "header": header,
        "truncated": truncated,
        "ragged_rows": ragged,
        "columns": [c.result() for c in columns],
    }


TEXT = {
    "en": {"title": "CSV Profiler"},
    "es": {
        "title": "Perfilador CSV",
        "Upload a CSV file": "Subir un archivo CSV",
        "or paste CSV text": "o pegar texto CSV",
        "Delimiter": "Separador",
        "Decimal separator": "Separador decimal",
        "First row is a header": "La primera fila es un encabezado",
        "Profile": "Perfilar",
        "Rows": "Filas",
        "Columns": "Columnas",
        "Column": "Columna",
        "Type": "Tipo",
        "Count": "Recuento",
        "Missing": "Ausentes",
        "Unique": "Únicos",
        "Mean": "Media",
        "Std": "Desv. típ.",
        "Most frequent": "Más frecuentes",
        "Length": "Longitud",
        "Recent profiles": "Perfiles recientes",
        "Only the first rows were read": "Solo se leyeron las primeras filas",
        "rows with a different number of fields": "filas con un número distinto de campos",
        "numeric": "numérico",
    },
    "it": {
        "title": "Profilatore CSV",
        "Upload a CSV file": "Carica un file CSV",
        "or paste CSV text": "oppure incolla testo CSV",
        "Delimiter": "Separatore",
        "Decimal separator": "Separatore decimale",
        "First row is a header": "La prima riga è un'intestazione",
        "Profile": "Profila",
        "Rows": "Righe",
        "Columns": "Colonne",
        "Column": "Colonna",
        "Type": "Tipo",
        "Count": "Conteggio",
        "Missing": "Mancanti",
        "Unique": "Distinti",
        "Mean": "Media",
        "Std": "Dev. std.",
        "Most frequent": "Più frequenti",
        "Length": "Lunghezza",
        "Recent profiles": "Profili recenti",
        "Only the first rows were read": "Sono state lette solo le prime righe",
        "rows with a different number of fields": "righe con un numero diverso di campi",
        "numeric": "numerico",
    },
    "fr": {
        "title": "Profileur CSV",
        "Upload a CSV file": "Téléverser un fichier CSV",
        "or paste CSV text": "ou coller du texte CSV",
        "Delimiter": "Séparateur",
        "Decimal separator": "Séparateur décimal",
        "First row is a header": "La première ligne est un en-tête",
        "Profile": "Profiler",
        "Rows": "Lignes",
        "Columns": "Colonnes",
        "Column": "Colonne",
        "Type": "Type",
        "Count": "Effectif",
        "Missing": "Manquants",
        "Unique": "Distincts",
        "Mean": "Moyenne",
        "Std": "Écart-type",
        "Most frequent": "Plus fréquents",
        "Length": "Longueur",
        "Recent profiles": "Profils récents",
        "Only the first rows were read": "Seules les premières lignes ont été lues",
        "rows with a different number of fields": "lignes avec un nombre de champs différent",
        "numeric": "numérique",
    },
}

PAGE = """{% extends "sidel_base.html" %}
{% macro num(v) %}{% if v is none %}&ndash;{% elif v is number %}{{ "%.6g"|format(v) }}{% else %}{{ v }}{% endif %}{% endmacro %}
{% block content %}
<div class="row">
 <form class="card col" style="flex:2 1 520px" method="post" action="profile" enctype="multipart/form-data">
  <div class="field"><label for="file">{{ t("Upload a CSV file") }}</label><input id="file" type="file" name="file" accept=".csv,.txt,.tsv,text/csv"></div>
  <div class="field"><label for="text">{{ t("or paste CSV text") }}</label><textarea id="text" name="text" rows="6" placeholder="time;pressure_bar;temp_C&#10;2024-05-01T08:00:00;6,1;21,5"></textarea></div>
  <div class="inline">
   <div><label for="delimiter">{{ t("Delimiter") }}</label><select id="delimiter" name="delimiter">
    {% for d in ["auto", ",", ";", "tab", "|"] %}<option value="{{ d }}" {{ "selected" if d == delimiter }}>{{ d }}</option>{% endfor %}</select></div>
   <div><label for="decimal">{{ t("Decimal separator") }}</label><select id="decimal" name="decimal">
    {% for d in [".", ","] %}<option value="{{ d }}" {{ "selected" if d == decimal }}>{{ d }}</option>{% endfor %}</select></div>
   <div><label><input type="checkbox" name="header" value="1" checked> {{ t("First row is a header") }}</label></div>
   <div style="flex:0 0 auto"><button class="btn" type="submit">{{ t("Profile") }}</button></div>
  </div>
  {% if error %}<div class="alert alert-err">{{ t("Error") }}: {{ error }}</div>{% endif %}
 </form>
 <div class="card col">
  <h2>{{ t("Recent profiles") }}</h2>
  {% if history %}<table>{% for p in history %}<tr><td><a href="?id={{ p.id }}">{{ p.name }}</a><br>
    <span class="muted">{{ p.created[:16]|replace("T", " ") }} &middot; {{ p.rows }} &times; {{ p.columns_count }}</span></td>
    <td class="num"><form method="post" action="delete"><input type="hidden" name="id" value="{{ p.id }}">
    <button class="btn btn-danger btn-sm" type="submit" title="{{ t('Delete') }}">&times;</button></form></td></tr>{% endfor %}</table>
  {% else %}<p class="muted">{{ t("Nothing yet") }}</p>{% endif %}
 </div>
</div>
{% if profile %}
<div class="card">
 <h2>{{ profile.name }} <span class="muted">&middot; {{ t("Rows") }}: {{ profile.rows }} &middot; {{ t("Columns") }}: {{ profile.columns_count }}
  &middot; {{ t("Delimiter") }} <code>{{ profile.delimiter }}</code> &middot; {{ t("Decimal separator") }} <code>{{ profile.decimal }}</code></span></h2>
 {% if profile.truncated %}<div class="alert alert-warn">{{ t("Only the first rows were read") }} ({{ profile.rows }}).</div>{% endif %}
 {% if profile.ragged_rows %}<div class="alert alert-warn">{{ profile.ragged_rows }} {{ t("rows with a different number of fields") }}.</div>{% endif %}
 <div style="overflow-x:auto"><table>
  <thead><tr><th>#</th><th>{{ t("Column") }}</th><th>{{ t("Type") }}</th><th class="num">{{ t("Count") }}</th><th class="num">{{ t("Missing") }}</th>
   <th class="num">{{ t("Unique") }}</th><th class="num">Min</th><th class="num">Max</th><th class="num">{{ t("Mean") }}</th><th class="num">{{ t("Std") }}</th>
   <th>{{ t("Most frequent") }} / {{ t("Length") }}</th></tr></thead>
  <tbody>{% for c in profile.columns %}<tr>
   <td>{{ loop.index }}</td><td><b>{{ c.name }}</b></td><td><span class="badge">{{ c.type }}</span>
    {% if c.numeric_share %}<br><span class="muted">{{ "%.0f"|format(c.numeric_share * 100) }} % {{ t("numeric") }}</span>{% endif %}</td>
   <td class="num">{{ c.count }}</td><td class="num">{{ c.missing }}</td><td class="num">{{ c.unique }}{% if c.unique_capped %}+{% endif %}</td>
   <td class="num">{{ num(c.min) }}</td><td class="num">{{ num(c.max) }}</td><td class="num">{{ num(c.mean) }}</td><td class="num">{{ num(c.std) }}</td>
   <td>{% if c.top %}{% for v, n in c.top %}<code>{{ v|truncate(30, True) }}</code>&nbsp;&times;{{ n }}{{ ", " if not loop.last }}{% endfor %}
    <br><span class="muted">{{ t("Length") }} {{ c.min_length }}&ndash;{{ c.max_length }}</span>{% endif %}</td>
  </tr>{% endfor %}</tbody>
 </table></div>
</div>
{% endif %}
{% endblock %}
"""


def add_parameters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delimiter", default="auto")
    parser.add_argument("--decimal", default=".")
    parser.add_argument("--max_rows", type=int, default=200_000)
    parser.add_argument("--keep_profiles", type=int, default=20)


def create_app(args: argparse.Namespace):
    title = TEXT.get(args.language, TEXT["en"])["title"]
    app = ss.create_app(args, title, translations=TEXT)
    store = args.data_dir / PROFILES_FILE
    keep = min(max(args.keep_profiles, 1), 200)
    max_rows = max(args.max_rows, 1)
    default_delimiter = args.delimiter if args.delimiter in ("auto", *DELIMITERS) else "auto"
    default_decimal = args.decimal if args.decimal in (".", ",") else "."

    def save_profile(name: str, profile: dict) -> dict:
        profile = {
            "id": uuid.uuid4().hex[:12],
            "name": name[:120] or "CSV",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **profile,
        }
        with ss.data_lock:
            profiles = ss.json_load(store, [])
            ss.json_save_atomic(store, [profile, *profiles][:keep])
        return profile

    def page(profile: dict | None = None, error: str | None = None, status: int = 200):
        history = ss.json_load(store, [])
        return render_template_string(
            PAGE,
            profile=profile,
            error=error,
            history=history,
            delimiter=default_delimiter,
            decimal=default_decimal,
        ), status

    @app.get("/")
    def index():
        profiles = ss.json_load(store, [])
        wanted = request.args.get("id")
        profile = (
            next((p for p in profiles if p.get("id") == wanted), None)
            if wanted
            else (profiles[0] if profiles else None)
        )
        return page(profile)

    @app.post("/profile")
    def profile_form():
        upload = request.files.get("file")
        if upload and upload.filename:
            text, name = decode(upload.read()), Path(upload.filename).name
        else:
            text, name = request.form.get("text", ""), "pasted.csv"
        try:
            result = profile_csv(
                text,
                delimiter=request.form.get("delimiter", default_delimiter),
                decimal=request.form.get("decimal", default_decimal),
                header=bool(request.form.get("header")),
                max_rows=max_rows,
            )
        except (ValueError, csv.Error) as exc:
            return page(error=str(exc), status=400)
        saved = save_profile(name, result)
        # Relative Location: resolves against this URL, so it also works under a prefix.
        return redirect(f"./?id={saved['id']}", code=303)

    @app.post("/delete")
    def delete():
        wanted = request.form.get("id", "")
        with ss.data_lock:
            profiles = ss.json_load(store, [])
            ss.json_save_atomic(store, [p for p in profiles if p.get("id") != wanted])
        return redirect("./", code=303)

    @app.post("/api/profile")
    def api_profile():
        body = ss.json_object()
        try:
            result = profile_csv(
                str(body.get("csv", "")),
                delimiter=str(body.get("delimiter", default_delimiter)),
                decimal=str(body.get("decimal", default_decimal)),
                header=bool(body.get("header", True)),
                max_rows=max_rows,
            )
        except (ValueError, csv.Error) as exc:
            return {"error": str(exc)}, 400
        return save_profile(str(body.get("name") or "api.csv"), result), 201

    @app.get("/api/profiles")
    def api_profiles():
        return {
            "profiles": [
                {k: p.get(k) for k in ("id", "name", "created", "rows", "columns_count")}
                for p in ss.json_load(store, [])
            ]
        }

    return app


def main() -> None:
    args = ss.parse_args(add_parameters, description="CSV profiler")
    ss.run(create_app(args), args)


if __name__ == "__main__":
    main()
