"""
ScriptsManager Metadata:
@display_name: Thermal Stress in a Restrained Bar
@display_name_es: Tensión térmica en una barra restringida
@display_name_it: Tensione termica in una barra vincolata
@display_name_fr: Contrainte thermique dans une barre bridée
@description: Thermal stress, axial force, yield margin and Euler buckling check of a bar whose thermal expansion is restrained
@description_es: Tensión térmica, fuerza axial, margen a fluencia y pandeo de Euler de una barra con dilatación térmica impedida
@description_it: Tensione termica, forza assiale, margine di snervamento e instabilità euleriana di una barra con dilatazione impedita
@description_fr: Contrainte thermique, effort axial, marge à la limite élastique et flambement d'Euler d'une barre à dilatation empêchée
@description_long: docs/thermal_stress.md
@description_long_es: docs/thermal_stress_es.md
@description_long_it: docs/thermal_stress_it.md
@description_long_fr: docs/thermal_stress_fr.md
@required_level: viewer
@category: thermal
@tags: thermal,stress,expansion,buckling,materials
@parameters: [
    {"name": "material", "type": "select", "required": false, "default": "steel_s235",
     "options": ["steel_s235", "steel_s355", "stainless_304", "stainless_316l", "aluminium_6061",
                 "copper_c11000", "titanium_ti6al4v", "pet"],
     "description": {"en": "Material selected when the page opens",
                     "es": "Material seleccionado al abrir la página",
                     "it": "Materiale selezionato all'apertura della pagina",
                     "fr": "Matériau sélectionné à l'ouverture de la page"}},
    {"name": "delta_t", "type": "float", "required": false, "default": 100.0, "min": -500, "max": 1000,
     "description": {"en": "Initial temperature change in K (positive = heating)",
                     "es": "Cambio de temperatura inicial en K (positivo = calentamiento)",
                     "it": "Variazione di temperatura iniziale in K (positiva = riscaldamento)",
                     "fr": "Variation de température initiale en K (positive = échauffement)"}},
    {"name": "restraint", "type": "float", "required": false, "default": 1.0, "min": 0.0, "max": 1.0,
     "description": {"en": "Degree of restraint, 0 = free expansion, 1 = fully fixed",
                     "es": "Grado de restricción, 0 = dilatación libre, 1 = totalmente fijo",
                     "it": "Grado di vincolo, 0 = dilatazione libera, 1 = completamente vincolato",
                     "fr": "Degré de bridage, 0 = dilatation libre, 1 = totalement bridé"}}
]
@execution_timeout: 3600
@interface: true
"""

# This script deliberately follows the bare "Script Implementation Template"
# of the specification (argparse + Flask only) and does not import the shared
# helper, to show that both styles work with the manager.

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, render_template_string, request, send_file

HISTORY_FILE = "thermal_stress_history.json"
HISTORY_SIZE = 50
EXAMPLE_FILE = Path(__file__).resolve().parent / "examples" / "stress_analysis_case.json"

# E in GPa, alpha in 1e-6/K, fy = yield or 0.2 % proof strength in MPa, at room
# temperature (typical minimum/handbook values; check the material certificate).
MATERIALS = {
    "steel_s235": {"name": "Structural steel S235", "E": 210.0, "alpha": 12.0, "fy": 235.0},
    "steel_s355": {"name": "Structural steel S355", "E": 210.0, "alpha": 12.0, "fy": 355.0},
    "stainless_304": {"name": "Stainless steel AISI 304", "E": 193.0, "alpha": 17.3, "fy": 215.0},
    "stainless_316l": {"name": "Stainless steel AISI 316L", "E": 193.0, "alpha": 16.0, "fy": 170.0},
    "aluminium_6061": {"name": "Aluminium 6061-T6", "E": 68.9, "alpha": 23.6, "fy": 276.0},
    "copper_c11000": {"name": "Copper C11000 (annealed)", "E": 117.0, "alpha": 17.0, "fy": 69.0},
    "titanium_ti6al4v": {"name": "Titanium Ti-6Al-4V", "E": 114.0, "alpha": 8.6, "fy": 880.0},
    "pet": {"name": "PET, amorphous (below Tg ≈ 75 °C)", "E": 2.8, "alpha": 70.0, "fy": 55.0},
}

TEXT = {
    "en": {},
    "es": {
        "Thermal Stress in a Restrained Bar": "Tensión térmica en una barra restringida",
        "Project": "Proyecto",
        "User level": "Nivel de usuario",
        "Material": "Material",
        "Custom": "Personalizado",
        "Temperature change ΔT (K)": "Cambio de temperatura ΔT (K)",
        "Degree of restraint (0–1)": "Grado de restricción (0–1)",
        "Young's modulus E (GPa)": "Módulo de Young E (GPa)",
        "Expansion coefficient α (10⁻⁶/K)": "Coeficiente de dilatación α (10⁻⁶/K)",
        "Yield strength fy (MPa)": "Límite elástico fy (MPa)",
        "Bar (optional)": "Barra (opcional)",
        "Length L (mm)": "Longitud L (mm)",
        "Diameter d (mm)": "Diámetro d (mm)",
        "Calculate": "Calcular",
        "Results": "Resultados",
        "Thermal strain": "Deformación térmica",
        "Stress σ": "Tensión σ",
        "compression": "compresión",
        "tension": "tracción",
        "Free expansion ΔL": "Dilatación libre ΔL",
        "Axial force F": "Fuerza axial F",
        "Utilisation σ/fy": "Utilización σ/fy",
        "ΔT at first yield": "ΔT de primera fluencia",
        "Slenderness λ": "Esbeltez λ",
        "Euler critical stress": "Tensión crítica de Euler",
        "ΔT at buckling": "ΔT de pandeo",
        "Buckling factor": "Factor de pandeo",
        "History": "Historial",
        "Nothing yet": "Nada todavía",
        "Error": "Error",
        "Date": "Fecha",
        "Example": "Ejemplo",
        "Load example": "Cargar ejemplo",
        "Yield exceeded: the elastic formula no longer applies.": "Fluencia superada: la fórmula elástica ya no es válida.",
        "The bar buckles before reaching this temperature change.": "La barra pandea antes de alcanzar este cambio de temperatura.",
        "Stocky bar: Euler overestimates the buckling load (inelastic buckling).": "Barra robusta: Euler sobrestima la carga de pandeo (pandeo inelástico).",
    },
    "it": {
        "Thermal Stress in a Restrained Bar": "Tensione termica in una barra vincolata",
        "Project": "Progetto",
        "User level": "Livello utente",
        "Material": "Materiale",
        "Custom": "Personalizzato",
        "Temperature change ΔT (K)": "Variazione di temperatura ΔT (K)",
        "Degree of restraint (0–1)": "Grado di vincolo (0–1)",
        "Young's modulus E (GPa)": "Modulo di Young E (GPa)",
        "Expansion coefficient α (10⁻⁶/K)": "Coefficiente di dilatazione α (10⁻⁶/K)",
        "Yield strength fy (MPa)": "Tensione di snervamento fy (MPa)",
        "Bar (optional)": "Barra (facoltativo)",
        "Length L (mm)": "Lunghezza L (mm)",
        "Diameter d (mm)": "Diametro d (mm)",
        "Calculate": "Calcola",
        "Results": "Risultati",
        "Thermal strain": "Deformazione termica",
        "Stress σ": "Tensione σ",
        "compression": "compressione",
        "tension": "trazione",
        "Free expansion ΔL": "Dilatazione libera ΔL",
        "Axial force F": "Forza assiale F",
        "Utilisation σ/fy": "Utilizzo σ/fy",
        "ΔT at first yield": "ΔT al primo snervamento",
        "Slenderness λ": "Snellezza λ",
        "Euler critical stress": "Tensione critica euleriana",
        "ΔT at buckling": "ΔT di instabilità",
        "Buckling factor": "Fattore di instabilità",
        "History": "Cronologia",
        "Nothing yet": "Ancora niente",
        "Error": "Errore",
        "Date": "Data",
        "Example": "Esempio",
        "Load example": "Carica esempio",
        "Yield exceeded: the elastic formula no longer applies.": "Snervamento superato: la formula elastica non è più valida.",
        "The bar buckles before reaching this temperature change.": "La barra si instabilizza prima di raggiungere questa variazione di temperatura.",
        "Stocky bar: Euler overestimates the buckling load (inelastic buckling).": "Barra tozza: Eulero sovrastima il carico critico (instabilità anelastica).",
    },
    "fr": {
        "Thermal Stress in a Restrained Bar": "Contrainte thermique dans une barre bridée",
        "Project": "Projet",
        "User level": "Niveau utilisateur",
        "Material": "Matériau",
        "Custom": "Personnalisé",
        "Temperature change ΔT (K)": "Variation de température ΔT (K)",
        "Degree of restraint (0–1)": "Degré de bridage (0–1)",
        "Young's modulus E (GPa)": "Module d'Young E (GPa)",
        "Expansion coefficient α (10⁻⁶/K)": "Coefficient de dilatation α (10⁻⁶/K)",
        "Yield strength fy (MPa)": "Limite élastique fy (MPa)",
        "Bar (optional)": "Barre (facultatif)",
        "Length L (mm)": "Longueur L (mm)",
        "Diameter d (mm)": "Diamètre d (mm)",
        "Calculate": "Calculer",
        "Results": "Résultats",
        "Thermal strain": "Déformation thermique",
        "Stress σ": "Contrainte σ",
        "compression": "compression",
        "tension": "traction",
        "Free expansion ΔL": "Dilatation libre ΔL",
        "Axial force F": "Effort axial F",
        "Utilisation σ/fy": "Taux de travail σ/fy",
        "ΔT at first yield": "ΔT de première plastification",
        "Slenderness λ": "Élancement λ",
        "Euler critical stress": "Contrainte critique d'Euler",
        "ΔT at buckling": "ΔT de flambement",
        "Buckling factor": "Coefficient de flambement",
        "History": "Historique",
        "Nothing yet": "Rien pour l'instant",
        "Error": "Erreur",
        "Date": "Date",
        "Example": "Exemple",
        "Load example": "Charger l'exemple",
        "Yield exceeded: the elastic formula no longer applies.": "Limite élastique dépassée : la formule élastique ne s'applique plus.",
        "The bar buckles before reaching this temperature change.": "La barre flambe avant d'atteindre cette variation de température.",
        "Stocky bar: Euler overestimates the buckling load (inelastic buckling).": "Barre trapue : Euler surestime la charge critique (flambement inélastique).",
    },
}


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="SIDEL ScriptsManager Script: thermal stress", allow_abbrev=False
    )
    parser.add_argument("--data-dir", required=True, help="Data directory path")
    parser.add_argument(
        "--user-level", required=True, choices=["admin", "developer", "operator", "viewer"]
    )
    parser.add_argument("--port", type=int, required=True, help="Flask port number")
    parser.add_argument("--project-id", required=True, help="Project identifier")
    parser.add_argument("--project-name", required=True, help="Project display name")
    parser.add_argument(
        "--theme", default="light", choices=["light", "dark"], help="Current user theme"
    )
    parser.add_argument(
        "--language", default="en", choices=["en", "es", "it", "fr"], help="Current user language"
    )
    parser.add_argument("--material", default="steel_s235", choices=sorted(MATERIALS))
    parser.add_argument("--delta_t", type=float, default=100.0)
    parser.add_argument("--restraint", type=float, default=1.0)
    # An argument this version does not know must not stop the interface.
    args, unknown = parser.parse_known_args()
    if unknown:
        print(
            f"warning: ignoring unknown arguments: {' '.join(unknown)}", file=sys.stderr, flush=True
        )
    return args


class ScriptDataManager:
    """JSON files in the project's data directory, written atomically."""

    def __init__(self, data_dir: str):
        self.data_dir = Path(data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def load(self, filename: str, default):
        try:
            with (self.data_dir / filename).open(encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return default
        except (OSError, ValueError) as exc:
            print(f"warning: cannot read {filename}: {exc}", file=sys.stderr, flush=True)
            return default

    def save(self, filename: str, data) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".tmp", dir=self.data_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.data_dir / filename)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def thermal_stress(
    E_gpa: float,
    alpha_per_k: float,
    fy_mpa: float,
    delta_t: float,
    restraint: float = 1.0,
    length_mm: float | None = None,
    diameter_mm: float | None = None,
) -> dict:
    """Axial thermal stress in a straight bar, linear elastic.

    ``alpha_per_k`` in 1/K (e.g. 12e-6). ``sigma_mpa`` is negative in
    compression (heating a restrained bar). Bar geometry, when given, adds the
    free expansion, the axial force and a pinned-pinned Euler buckling check of
    a solid round section.
    """
    if E_gpa <= 0 or alpha_per_k <= 0 or fy_mpa <= 0:
        raise ValueError("E, alpha and fy must be positive")
    if not 0.0 <= restraint <= 1.0:
        raise ValueError("the degree of restraint must be between 0 and 1")
    E = E_gpa * 1000.0  # MPa
    strain = alpha_per_k * delta_t
    sigma = -restraint * E * strain + 0.0  # + 0.0 turns -0.0 into 0.0 for display
    out = {
        "strain": strain,
        "sigma_mpa": sigma,
        "utilisation": abs(sigma) / fy_mpa,
        "delta_t_yield": fy_mpa / (restraint * E * alpha_per_k) if restraint > 0 else None,
    }
    if length_mm and length_mm > 0:
        out["free_expansion_mm"] = alpha_per_k * delta_t * length_mm
    if diameter_mm and diameter_mm > 0:
        area = math.pi * diameter_mm**2 / 4.0
        out["area_mm2"] = area
        out["force_kn"] = sigma * area / 1000.0
        if length_mm and length_mm > 0:
            slenderness = length_mm / (diameter_mm / 4.0)  # i = d/4 for a solid circle
            sigma_cr = math.pi**2 * E / slenderness**2
            out["slenderness"] = slenderness
            out["slenderness_limit"] = math.pi * math.sqrt(E / fy_mpa)
            out["sigma_cr_mpa"] = sigma_cr
            if restraint > 0:
                out["delta_t_buckling"] = sigma_cr / (restraint * E * alpha_per_k)
            if sigma < 0:
                out["buckling_factor"] = sigma_cr / abs(sigma)
    return out


def _float(form, key: str, default: float | None = None) -> float | None:
    raw = (form.get(key) or "").strip().replace(",", ".")
    if not raw:
        return default
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"{key}: not a finite number")
    return value


def inputs_from_form(form) -> dict:
    material = form.get("material", "steel_s235")
    if material == "custom":
        props = {"E": _float(form, "E"), "alpha": _float(form, "alpha"), "fy": _float(form, "fy")}
        if None in props.values():
            raise ValueError("custom material: E, alpha and fy are required")
        name = "Custom"
    elif material in MATERIALS:
        props, name = MATERIALS[material], MATERIALS[material]["name"]
    else:
        raise ValueError(f"unknown material {material!r}")
    return {
        "material": material,
        "material_name": name,
        "E": props["E"],
        "alpha": props["alpha"],
        "fy": props["fy"],
        "delta_t": _float(form, "delta_t", 0.0),
        "restraint": _float(form, "restraint", 1.0),
        "length_mm": _float(form, "length_mm"),
        "diameter_mm": _float(form, "diameter_mm"),
    }


def compute(inputs: dict) -> dict:
    return thermal_stress(
        inputs["E"],
        inputs["alpha"] * 1e-6,
        inputs["fy"],
        inputs["delta_t"],
        inputs["restraint"],
        inputs["length_mm"],
        inputs["diameter_mm"],
    )


PAGE = """<!doctype html>
<html lang="{{ language }}" data-theme="{{ theme }}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t("Thermal Stress in a Restrained Bar") }} - {{ project_name }}</title>
<link rel="icon" href="data:,">
<style>
:root{--bg:#f4f6fa;--fg:#1d2433;--muted:#5c6b80;--card:#fff;--border:#d7dde8;--brand:#003da5;--input:#fff;--err:#c0392b;--warn:#b26a00}
[data-theme="dark"]{--bg:#12161f;--fg:#dde3ec;--muted:#9aa7b8;--card:#1a2030;--border:#2c3650;--brand:#4d8dff;--input:#0f1420;--err:#ff6b6b;--warn:#f0b44c}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,"Segoe UI",Roboto,Arial,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;align-items:center;gap:1rem;padding:.6rem 1.25rem;color:#fff;background:linear-gradient(90deg,#002a73,#003da5)}
[data-theme="dark"] header{background:linear-gradient(90deg,#0b1220,#13223f)}
.logo{background:#fff;border-radius:.4rem;padding:.15rem .5rem;display:inline-flex}.logo img{height:26px}
.logo b{color:#003da5;letter-spacing:.12em}h1{font-size:1.15rem;margin:0}.project{margin-left:auto;font-size:.9rem;text-align:right}
main{max-width:1100px;margin:1.25rem auto;padding:0 1.25rem;display:flex;flex-wrap:wrap;gap:1rem}
.card{background:var(--card);border:1px solid var(--border);border-radius:.5rem;padding:1rem 1.25rem;flex:1 1 420px}
h2{font-size:1.05rem;margin:0 0 .75rem}label{display:block;font-size:.85rem;color:var(--muted);margin:.4rem 0 .15rem}
input,select{font:inherit;width:100%;padding:.35rem .5rem;border:1px solid var(--border);border-radius:.35rem;background:var(--input);color:var(--fg)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:0 .75rem}
button{font:inherit;margin-top:.8rem;padding:.4rem .9rem;border-radius:.35rem;border:1px solid var(--brand);background:var(--brand);color:#fff;cursor:pointer}
button.outline{background:transparent;color:var(--brand)}
table{width:100%;border-collapse:collapse;font-size:.9rem}td,th{padding:.3rem .5rem;border-bottom:1px solid var(--border);text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:var(--muted)}
.alert{border:1px solid var(--err);color:var(--err);border-radius:.35rem;padding:.5rem .75rem;margin:.5rem 0}
.warn{border-color:var(--warn);color:var(--warn)}
</style></head>
<body>
<header>
 <span class="logo">{% if has_logo %}<img src="_sidel/logo" alt="SIDEL">{% else %}<b>SIDEL</b>{% endif %}</span>
 <h1>{{ t("Thermal Stress in a Restrained Bar") }}</h1>
 <div class="project">{{ t("Project") }}: <b>{{ project_name }}</b><br><span style="opacity:.8">{{ t("User level") }}: {{ user_level }}</span></div>
</header>
<main>
<form class="card" method="post" action="calculate">
 <h2>{{ t("Material") }}</h2>
 <select name="material" id="material">
  {% for key, m in materials.items() %}<option value="{{ key }}" {{ "selected" if key == inputs.material }}
    data-e="{{ m.E }}" data-alpha="{{ m.alpha }}" data-fy="{{ m.fy }}">{{ m.name }}</option>{% endfor %}
  <option value="custom" {{ "selected" if inputs.material == "custom" }}>{{ t("Custom") }}</option>
 </select>
 <div class="grid">
  <div><label>{{ t("Young's modulus E (GPa)") }}</label><input name="E" id="E" type="number" step="any" value="{{ inputs.E }}"></div>
  <div><label>{{ t("Expansion coefficient α (10⁻⁶/K)") }}</label><input name="alpha" id="alpha" type="number" step="any" value="{{ inputs.alpha }}"></div>
  <div><label>{{ t("Yield strength fy (MPa)") }}</label><input name="fy" id="fy" type="number" step="any" value="{{ inputs.fy }}"></div>
 </div>
 <div class="grid">
  <div><label>{{ t("Temperature change ΔT (K)") }}</label><input name="delta_t" type="number" step="any" value="{{ inputs.delta_t }}" required></div>
  <div><label>{{ t("Degree of restraint (0–1)") }}</label><input name="restraint" type="number" step="any" min="0" max="1" value="{{ inputs.restraint }}"></div>
 </div>
 <h2 style="margin-top:1rem">{{ t("Bar (optional)") }}</h2>
 <div class="grid">
  <div><label>{{ t("Length L (mm)") }}</label><input name="length_mm" type="number" step="any" min="0" value="{{ inputs.length_mm or '' }}"></div>
  <div><label>{{ t("Diameter d (mm)") }}</label><input name="diameter_mm" type="number" step="any" min="0" value="{{ inputs.diameter_mm or '' }}"></div>
 </div>
 <button type="submit">{{ t("Calculate") }}</button>
 {% if example %}<button type="submit" class="outline" formaction="example" formmethod="get">{{ t("Load example") }}</button>{% endif %}
 {% if error %}<div class="alert">{{ t("Error") }}: {{ error }}</div>{% endif %}
</form>
<section class="card">
 <h2>{{ t("Results") }}</h2>
 {% if result %}
 <table>
  <tr><td>{{ t("Thermal strain") }} ε = αΔT</td><td class="num">{{ "%.4g"|format(result.strain * 1e6) }} µm/m</td></tr>
  <tr><td>{{ t("Stress σ") }} = −R·E·α·ΔT</td><td class="num"><b>{{ "%.1f"|format(result.sigma_mpa) }} MPa</b>
    {% if result.sigma_mpa < 0 %}({{ t("compression") }}){% elif result.sigma_mpa > 0 %}({{ t("tension") }}){% endif %}</td></tr>
  <tr><td>{{ t("Utilisation σ/fy") }}</td><td class="num">{{ "%.0f"|format(result.utilisation * 100) }} %</td></tr>
  {% if result.delta_t_yield %}<tr><td>{{ t("ΔT at first yield") }}</td><td class="num">{{ "%.1f"|format(result.delta_t_yield) }} K</td></tr>{% endif %}
  {% if result.free_expansion_mm is defined %}<tr><td>{{ t("Free expansion ΔL") }}</td><td class="num">{{ "%.3f"|format(result.free_expansion_mm) }} mm</td></tr>{% endif %}
  {% if result.force_kn is defined %}<tr><td>{{ t("Axial force F") }}</td><td class="num">{{ "%.2f"|format(result.force_kn) }} kN</td></tr>{% endif %}
  {% if result.slenderness is defined %}
  <tr><td>{{ t("Slenderness λ") }} = L/i</td><td class="num">{{ "%.1f"|format(result.slenderness) }}</td></tr>
  <tr><td>{{ t("Euler critical stress") }}</td><td class="num">{{ "%.1f"|format(result.sigma_cr_mpa) }} MPa</td></tr>
  {% if result.delta_t_buckling is defined %}<tr><td>{{ t("ΔT at buckling") }}</td><td class="num">{{ "%.1f"|format(result.delta_t_buckling) }} K</td></tr>{% endif %}
  {% if result.buckling_factor is defined %}<tr><td>{{ t("Buckling factor") }}</td><td class="num">{{ "%.2f"|format(result.buckling_factor) }}</td></tr>{% endif %}
  {% endif %}
 </table>
 {% if result.utilisation > 1 %}<div class="alert">{{ t("Yield exceeded: the elastic formula no longer applies.") }}</div>{% endif %}
 {% if result.buckling_factor is defined and result.buckling_factor < 1 %}<div class="alert">{{ t("The bar buckles before reaching this temperature change.") }}</div>{% endif %}
 {% if result.slenderness is defined and result.slenderness < result.slenderness_limit %}<div class="alert warn">{{ t("Stocky bar: Euler overestimates the buckling load (inelastic buckling).") }}</div>{% endif %}
 {% else %}<p class="muted">{{ t("Nothing yet") }}</p>{% endif %}
 <h2 style="margin-top:1.25rem">{{ t("History") }}</h2>
 {% if history %}<table>
  <tr><th>{{ t("Date") }}</th><th>{{ t("Material") }}</th><th>ΔT</th><th>σ (MPa)</th></tr>
  {% for h in history %}<tr><td>{{ h.created[:16]|replace("T", " ") }}</td><td>{{ h.inputs.material_name }}</td>
   <td class="num">{{ h.inputs.delta_t }}</td><td class="num">{{ "%.1f"|format(h.result.sigma_mpa) }}</td></tr>{% endfor %}
 </table>{% else %}<p class="muted">{{ t("Nothing yet") }}</p>{% endif %}
</section>
</main>
<script>
// Picking a listed material fills its properties; editing them switches to "custom".
const sel = document.getElementById("material");
sel.addEventListener("change", () => {
  const opt = sel.selectedOptions[0];
  if (opt.value !== "custom") for (const k of ["e", "alpha", "fy"]) document.getElementById(k === "e" ? "E" : k).value = opt.dataset[k];
});
for (const id of ["E", "alpha", "fy"]) document.getElementById(id).addEventListener("input", () => sel.value = "custom");
</script>
</body></html>
"""


def create_flask_app(args: argparse.Namespace) -> Flask:
    app = Flask(__name__)
    data = ScriptDataManager(args.data_dir)
    table = TEXT.get(args.language, {})

    def t(key: str) -> str:
        return table.get(key, key)

    def logo_path() -> Path | None:
        value = os.environ.get("SCRIPTSMANAGER_LOGO", "")
        return Path(value) if value and Path(value).is_file() else None

    material = args.material if args.material in MATERIALS else "steel_s235"
    defaults = {
        "material": material,
        "material_name": MATERIALS[material]["name"],
        **MATERIALS[material],
        "delta_t": args.delta_t,
        "restraint": min(max(args.restraint, 0.0), 1.0),
        "length_mm": None,
        "diameter_mm": None,
    }

    def render(
        inputs: dict, result: dict | None = None, error: str | None = None, status: int = 200
    ):
        history = data.load(HISTORY_FILE, [])
        html = render_template_string(
            PAGE,
            t=t,
            language=args.language,
            theme=args.theme,
            project_name=args.project_name,
            user_level=args.user_level,
            has_logo=logo_path() is not None,
            materials=MATERIALS,
            inputs=inputs,
            result=result,
            error=error,
            history=history,
            example=EXAMPLE_FILE.is_file(),
        )
        return html, status

    def record(inputs: dict, result: dict) -> None:
        entry = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "inputs": inputs,
            "result": result,
        }
        with data.lock:
            data.save(HISTORY_FILE, [entry, *data.load(HISTORY_FILE, [])][:HISTORY_SIZE])

    @app.get("/")
    def index():
        return render(defaults)

    @app.post("/calculate")
    def calculate():
        try:
            inputs = inputs_from_form(request.form)
            result = compute(inputs)
        except (ValueError, ZeroDivisionError) as exc:
            return render({**defaults, **request.form.to_dict()}, error=str(exc), status=400)
        record(inputs, result)
        return render(inputs, result)

    @app.get("/example")
    def example():
        try:
            case = json.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            case = {}
        inputs = {
            **defaults,
            **{k: v for k, v in case.get("inputs", {}).items() if k != "material"},
        }
        if case.get("inputs", {}).get("material") in MATERIALS:
            key = case["inputs"]["material"]
            inputs.update(material=key, material_name=MATERIALS[key]["name"], **MATERIALS[key])
        return render(inputs, compute(inputs))

    @app.post("/api/calculate")
    def api_calculate():
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            return {"error": "expected a JSON object"}, 400
        try:
            inputs = inputs_from_form({k: str(v) for k, v in body.items() if v is not None})
            result = compute(inputs)
        except (ValueError, ZeroDivisionError) as exc:
            return {"error": str(exc)}, 400
        record(inputs, result)
        return {"inputs": inputs, "result": result}

    @app.get("/api/project-info")
    def project_info():
        return {
            "project_id": args.project_id,
            "project_name": args.project_name,
            "user_level": args.user_level,
            "theme": args.theme,
            "language": args.language,
        }

    @app.get("/_sidel/logo")
    def sidel_logo():
        path = logo_path()
        return send_file(path, max_age=3600) if path else ("no logo configured", 404)

    return app


def _on_sigterm(signum, frame):
    print("SIGTERM received, shutting down", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    args = parse_arguments()
    app = create_flask_app(args)
    signal.signal(signal.SIGTERM, _on_sigterm)
    print(
        f"Starting SIDEL script for project: {args.project_name} (Theme: {args.theme}, Language: {args.language})"
    )
    print(f"Serving on 127.0.0.1:{args.port}", flush=True)
    app.run(host="127.0.0.1", port=args.port, debug=False, use_reloader=False)
