"""
ScriptsManager Metadata:
@display_name: Multi-layer Wall Heat Transfer
@display_name_es: Transferencia de calor en pared multicapa
@display_name_it: Trasmissione del calore in parete multistrato
@display_name_fr: Transfert thermique dans une paroi multicouche
@description: Steady one-dimensional conduction through a multi-layer wall: heat flux, U-value and interface temperatures
@description_es: Conducción estacionaria unidimensional a través de una pared multicapa: flujo de calor, valor U y temperaturas de interfaz
@description_it: Conduzione stazionaria monodimensionale attraverso una parete multistrato: flusso termico, trasmittanza U e temperature di interfaccia
@description_fr: Conduction stationnaire unidimensionnelle à travers une paroi multicouche : flux thermique, coefficient U et températures d'interface
@description_long: docs/heat_transfer.md
@description_long_es: docs/heat_transfer_es.md
@description_long_it: docs/heat_transfer_it.md
@description_long_fr: docs/heat_transfer_fr.md
@required_level: viewer
@category: thermal
@tags: thermal,conduction,insulation,heat-flux
@parameters: [
    {"name": "layers", "type": "int", "required": false, "default": 3, "min": 1, "max": 10,
     "description": {"en": "Number of layers shown for a new case",
                     "es": "Número de capas mostradas para un caso nuevo",
                     "it": "Numero di strati mostrati per un nuovo caso",
                     "fr": "Nombre de couches affichées pour un nouveau cas"}},
    {"name": "area", "type": "float", "required": false, "default": 1.0, "min": 0.0001,
     "description": {"en": "Default wall area in m² used for the total heat rate",
                     "es": "Área de pared por defecto en m² para la potencia total",
                     "it": "Area di parete predefinita in m² per la potenza totale",
                     "fr": "Surface de paroi par défaut en m² pour la puissance totale"}},
    {"name": "surface_films", "type": "bool", "required": false, "default": false,
     "description": {"en": "Start with convective film coefficients on both faces",
                     "es": "Empezar con coeficientes de película convectiva en ambas caras",
                     "it": "Iniziare con i coefficienti di film convettivo su entrambe le facce",
                     "fr": "Commencer avec des coefficients de film convectif sur les deux faces"}}
]
@execution_timeout: 3600
@interface: true
"""

from __future__ import annotations

import argparse
import math
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

from flask import abort, render_template_string

sys.dont_write_bytecode = True  # keep the script tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
import sidel_script as ss  # noqa: E402

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
CASES_FILE = "heat_transfer_cases.json"
MAX_LAYERS = 20
MAX_CASES = 200

# Thermal conductivity near room temperature, W/(m·K) (typical handbook values).
MATERIALS = {
    "Mineral wool": 0.040,
    "Polyurethane foam": 0.025,
    "Expanded polystyrene": 0.035,
    "Calcium silicate": 0.060,
    "Softwood": 0.13,
    "Gypsum board": 0.25,
    "PET": 0.20,
    "Glass": 1.0,
    "Brick": 0.72,
    "Concrete": 1.4,
    "Refractory fire brick": 1.1,
    "Stainless steel AISI 304": 16.2,
    "Carbon steel": 50.0,
    "Aluminium": 205.0,
    "Copper": 385.0,
    "Scale / fouling (CaCO3)": 2.2,
}


def solve_wall(
    layers: list[dict],
    t_hot: float,
    t_cold: float,
    h_hot: float = 0.0,
    h_cold: float = 0.0,
    area: float = 1.0,
) -> dict:
    """Steady 1-D conduction through plane layers in series.

    ``layers``: dicts with ``thickness_mm`` (> 0) and ``k`` (W/m·K, > 0).
    ``h_hot``/``h_cold``: film coefficients W/(m²·K); 0 means the given
    temperature is the surface temperature itself. Returns resistances
    (m²·K/W), ``q`` (W/m², positive from hot to cold side), ``Q`` (W), ``U``
    and the temperatures at every surface and interface, hot side first.
    """
    if not layers:
        raise ValueError("at least one layer is required")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"at most {MAX_LAYERS} layers")
    if area <= 0:
        raise ValueError("area must be positive")
    if h_hot < 0 or h_cold < 0:
        raise ValueError("film coefficients cannot be negative")
    rows = []
    x = 0.0
    for i, layer in enumerate(layers, start=1):
        thickness = float(layer["thickness_mm"]) / 1000.0
        k = float(layer["k"])
        if thickness <= 0 or k <= 0:
            raise ValueError(f"layer {i}: thickness and conductivity must be positive")
        rows.append(
            {
                "name": str(layer.get("name") or f"Layer {i}")[:80],
                "thickness_mm": thickness * 1000,
                "k": k,
                "R": thickness / k,
                "x_start_mm": x * 1000,
            }
        )
        x += thickness
    r_hot = 1.0 / h_hot if h_hot > 0 else 0.0
    r_cold = 1.0 / h_cold if h_cold > 0 else 0.0
    r_total = r_hot + r_cold + sum(row["R"] for row in rows)
    q = (t_hot - t_cold) / r_total
    temperatures = [t_hot - q * r_hot]
    for row in rows:
        row["dT"] = q * row["R"]
        row["share_pct"] = 100.0 * row["R"] / r_total
        temperatures.append(temperatures[-1] - row["dT"])
    return {
        "layers": rows,
        "R_hot_film": r_hot,
        "R_cold_film": r_cold,
        "R_total": r_total,
        "U": 1.0 / r_total,
        "q": q,
        "Q": q * area,
        "area": area,
        "total_thickness_mm": x * 1000,
        "temperatures": temperatures,
    }


def _number(value) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def inputs_from_json(data: dict) -> dict:
    """Validate the JSON body of the calculation form into ``solve_wall`` kwargs."""
    try:
        layers = [
            {
                "name": str(item.get("name", "")),
                "thickness_mm": _number(item["thickness_mm"]),
                "k": _number(item["k"]),
            }
            for item in data["layers"]
        ]
        return {
            "layers": layers,
            "t_hot": _number(data["t_hot"]),
            "t_cold": _number(data["t_cold"]),
            "h_hot": _number(data.get("h_hot") or 0),
            "h_cold": _number(data.get("h_cold") or 0),
            "area": _number(data.get("area") or 1.0),
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"invalid input: {exc}") from exc


def load_examples() -> list[dict]:
    examples = []
    for path in sorted(EXAMPLES_DIR.glob("*.json")):
        data = ss.json_load(path, None)
        if isinstance(data, dict) and data.get("script") == Path(__file__).name:
            examples.append(
                {
                    "id": path.stem,
                    "name": data.get("name", path.stem),
                    "inputs": data.get("inputs", {}),
                }
            )
    return examples


TEXT = {
    "en": {"title": "Multi-layer Wall Heat Transfer"},
    "es": {
        "title": "Transferencia de calor en pared multicapa",
        "Wall layers": "Capas de la pared",
        "Material": "Material",
        "Thickness (mm)": "Espesor (mm)",
        "k (W/m·K)": "k (W/m·K)",
        "Add layer": "Añadir capa",
        "Boundary conditions": "Condiciones de contorno",
        "Hot side T (°C)": "T lado caliente (°C)",
        "Cold side T (°C)": "T lado frío (°C)",
        "Hot side h (W/m²·K)": "h lado caliente (W/m²·K)",
        "Cold side h (W/m²·K)": "h lado frío (W/m²·K)",
        "Area (m²)": "Área (m²)",
        "Film coefficients (0 = surface temperature given)": "Coeficientes de película (0 = temperatura superficial dada)",
        "Heat flux q": "Flujo de calor q",
        "Heat rate Q": "Potencia Q",
        "Total resistance": "Resistencia total",
        "Temperature profile": "Perfil de temperatura",
        "Position": "Posición",
        "Temperature drop": "Caída de temperatura",
        "Share of resistance": "Parte de la resistencia",
        "Saved cases": "Casos guardados",
        "Case name": "Nombre del caso",
        "Examples": "Ejemplos",
        "Hot surface": "Superficie caliente",
        "Cold surface": "Superficie fría",
        "Interface": "Interfaz",
        "Layer": "Capa",
        "Film": "Película",
    },
    "it": {
        "title": "Trasmissione del calore in parete multistrato",
        "Wall layers": "Strati della parete",
        "Material": "Materiale",
        "Thickness (mm)": "Spessore (mm)",
        "k (W/m·K)": "k (W/m·K)",
        "Add layer": "Aggiungi strato",
        "Boundary conditions": "Condizioni al contorno",
        "Hot side T (°C)": "T lato caldo (°C)",
        "Cold side T (°C)": "T lato freddo (°C)",
        "Hot side h (W/m²·K)": "h lato caldo (W/m²·K)",
        "Cold side h (W/m²·K)": "h lato freddo (W/m²·K)",
        "Area (m²)": "Area (m²)",
        "Film coefficients (0 = surface temperature given)": "Coefficienti di film (0 = temperatura superficiale data)",
        "Heat flux q": "Flusso termico q",
        "Heat rate Q": "Potenza Q",
        "Total resistance": "Resistenza totale",
        "Temperature profile": "Profilo di temperatura",
        "Position": "Posizione",
        "Temperature drop": "Salto termico",
        "Share of resistance": "Quota di resistenza",
        "Saved cases": "Casi salvati",
        "Case name": "Nome del caso",
        "Examples": "Esempi",
        "Hot surface": "Superficie calda",
        "Cold surface": "Superficie fredda",
        "Interface": "Interfaccia",
        "Layer": "Strato",
        "Film": "Film",
    },
    "fr": {
        "title": "Transfert thermique dans une paroi multicouche",
        "Wall layers": "Couches de la paroi",
        "Material": "Matériau",
        "Thickness (mm)": "Épaisseur (mm)",
        "k (W/m·K)": "k (W/m·K)",
        "Add layer": "Ajouter une couche",
        "Boundary conditions": "Conditions aux limites",
        "Hot side T (°C)": "T côté chaud (°C)",
        "Cold side T (°C)": "T côté froid (°C)",
        "Hot side h (W/m²·K)": "h côté chaud (W/m²·K)",
        "Cold side h (W/m²·K)": "h côté froid (W/m²·K)",
        "Area (m²)": "Surface (m²)",
        "Film coefficients (0 = surface temperature given)": "Coefficients de film (0 = température de surface imposée)",
        "Heat flux q": "Flux thermique q",
        "Heat rate Q": "Puissance Q",
        "Total resistance": "Résistance totale",
        "Temperature profile": "Profil de température",
        "Position": "Position",
        "Temperature drop": "Chute de température",
        "Share of resistance": "Part de la résistance",
        "Saved cases": "Cas enregistrés",
        "Case name": "Nom du cas",
        "Examples": "Exemples",
        "Hot surface": "Surface chaude",
        "Cold surface": "Surface froide",
        "Interface": "Interface",
        "Layer": "Couche",
        "Film": "Film",
    },
}

PAGE = """{% extends "sidel_base.html" %}
{% block content %}
<div class="row">
 <div class="col" style="flex:2 1 520px">
  <div class="card">
   <h2>{{ t("Wall layers") }} <span class="muted">({{ t("Hot surface") }} &rarr; {{ t("Cold surface") }})</span></h2>
   <table id="layers"><thead><tr><th>#</th><th>{{ t("Material") }}</th><th class="num">{{ t("Thickness (mm)") }}</th>
     <th class="num">{{ t("k (W/m·K)") }}</th><th></th></tr></thead><tbody></tbody></table>
   <p><button class="btn btn-outline btn-sm" type="button" id="add">+ {{ t("Add layer") }}</button></p>
   <datalist id="materials">{% for name, k in materials.items() %}<option value="{{ name }}">{{ k }} W/m·K</option>{% endfor %}</datalist>
  </div>
  <div class="card">
   <h2>{{ t("Boundary conditions") }}</h2>
   <div class="inline">
    <div><label for="t_hot">{{ t("Hot side T (°C)") }}</label><input id="t_hot" type="number" step="any" value="80"></div>
    <div><label for="t_cold">{{ t("Cold side T (°C)") }}</label><input id="t_cold" type="number" step="any" value="20"></div>
    <div><label for="area">{{ t("Area (m²)") }}</label><input id="area" type="number" step="any" min="0" value="{{ area }}"></div>
   </div>
   <p class="muted" style="margin:.6rem 0 .2rem">{{ t("Film coefficients (0 = surface temperature given)") }}</p>
   <div class="inline">
    <div><label for="h_hot">{{ t("Hot side h (W/m²·K)") }}</label><input id="h_hot" type="number" step="any" min="0" value="{{ 10 if films else 0 }}"></div>
    <div><label for="h_cold">{{ t("Cold side h (W/m²·K)") }}</label><input id="h_cold" type="number" step="any" min="0" value="{{ 25 if films else 0 }}"></div>
   </div>
   <p><button class="btn" type="button" id="calc">{{ t("Calculate") }}</button></p>
   <div id="error" class="alert alert-err hidden"></div>
  </div>
  <div class="card hidden" id="results">
   <h2>{{ t("Results") }}</h2>
   <div class="inline" id="summary"></div>
   <table><thead><tr><th>{{ t("Layer") }}</th><th class="num">R (m²·K/W)</th><th class="num">{{ t("Temperature drop") }} (K)</th>
     <th>{{ t("Share of resistance") }}</th></tr></thead><tbody id="rtable"></tbody></table>
   <h2 style="margin-top:1rem">{{ t("Temperature profile") }}</h2>
   <svg id="profile" viewBox="0 0 600 240" style="width:100%;max-height:260px"></svg>
   <table><thead><tr><th>{{ t("Position") }}</th><th class="num">x (mm)</th><th class="num">T (°C)</th></tr></thead><tbody id="ttable"></tbody></table>
   <div class="inline" style="margin-top:.8rem">
    <div><label for="case_name">{{ t("Case name") }}</label><input id="case_name" maxlength="80"></div>
    <div style="flex:0 0 auto"><button class="btn" type="button" id="save">{{ t("Save") }}</button></div>
   </div>
   <div id="saved" class="alert alert-ok hidden">{{ t("Saved") }}</div>
  </div>
 </div>
 <div class="col">
  <div class="card"><h2>{{ t("Saved cases") }}</h2><table><tbody id="cases"></tbody></table></div>
  {% if examples %}<div class="card"><h2>{{ t("Examples") }}</h2>
   {% for ex in examples %}<p><button class="btn btn-outline btn-sm" type="button" data-example="{{ loop.index0 }}">{{ ex.name }}</button></p>{% endfor %}
  </div>{% endif %}
 </div>
</div>
{% endblock %}
{% block scripts %}
<script>
const EXAMPLES = {{ examples|tojson }};
const MATERIALS = {{ materials|tojson }};
const TXT = {{ {"Remove": t("Delete"), "Load": t("Load"), "nothing": t("Nothing yet"), "Hot surface": t("Hot surface"),
  "Cold surface": t("Cold surface"), "Interface": t("Interface"), "flux": t("Heat flux q"), "rate": t("Heat rate Q"),
  "rtot": t("Total resistance"), "Film": t("Film"), "Error": t("Error")}|tojson }};
const nf = new Intl.NumberFormat(document.documentElement.lang, {maximumSignificantDigits: 4});
const $ = (id) => document.getElementById(id);
const tbody = document.querySelector("#layers tbody");

function addLayer(layer = {}) {
  const tr = document.createElement("tr");
  tr.innerHTML = `<td></td><td><input list="materials" class="name"></td>
    <td><input type="number" step="any" min="0" class="th"></td><td><input type="number" step="any" min="0" class="k"></td>
    <td><button class="btn btn-outline btn-sm" type="button">&times;</button></td>`;
  tr.querySelector(".name").value = layer.name || "";
  tr.querySelector(".th").value = layer.thickness_mm ?? "";
  tr.querySelector(".k").value = layer.k ?? "";
  tr.querySelector(".name").addEventListener("change", (e) => {
    if (e.target.value in MATERIALS) tr.querySelector(".k").value = MATERIALS[e.target.value];
  });
  tr.querySelector("button").title = TXT.Remove;
  tr.querySelector("button").addEventListener("click", () => { tr.remove(); renumber(); });
  tbody.appendChild(tr);
  renumber();
}
function renumber() { [...tbody.rows].forEach((r, i) => r.cells[0].textContent = i + 1); }
function readInputs() {
  return {
    layers: [...tbody.rows].map((r) => ({name: r.querySelector(".name").value,
      thickness_mm: r.querySelector(".th").value, k: r.querySelector(".k").value})),
    t_hot: $("t_hot").value, t_cold: $("t_cold").value, h_hot: $("h_hot").value,
    h_cold: $("h_cold").value, area: $("area").value,
  };
}
function fillInputs(inp) {
  tbody.innerHTML = "";
  (inp.layers || []).forEach(addLayer);
  for (const key of ["t_hot", "t_cold", "h_hot", "h_cold", "area"]) if (key in inp) $(key).value = inp[key];
}
async function post(url, body, method = "POST") {
  const resp = await fetch(url, {method, headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await resp.json();
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
}
function cell(tr, text, cls) { const td = tr.insertCell(); td.textContent = text; if (cls) td.className = cls; return td; }

function showResults(r) {
  $("results").classList.remove("hidden");
  $("saved").classList.add("hidden");
  $("summary").innerHTML = "";
  for (const [label, value] of [[TXT.flux, nf.format(r.q) + " W/m²"], [TXT.rate, nf.format(r.Q) + " W"],
      ["U", nf.format(r.U) + " W/m²·K"], [TXT.rtot, nf.format(r.R_total) + " m²·K/W"]]) {
    const div = document.createElement("div");
    div.innerHTML = `<label></label><b style="font-size:1.1rem"></b>`;
    div.querySelector("label").textContent = label; div.querySelector("b").textContent = value;
    $("summary").appendChild(div);
  }
  const rt = $("rtable"); rt.innerHTML = "";
  const films = [[TXT.Film + " (" + TXT["Hot surface"] + ")", r.R_hot_film], [TXT.Film + " (" + TXT["Cold surface"] + ")", r.R_cold_film]];
  const rows = r.layers.map((l) => [l.name, l.R]);
  if (films[0][1] > 0) rows.unshift(films[0]);
  if (films[1][1] > 0) rows.push(films[1]);
  for (const [name, R] of rows) {
    const tr = rt.insertRow();
    cell(tr, name); cell(tr, nf.format(R), "num"); cell(tr, nf.format(R * r.q), "num");
    const pct = 100 * R / r.R_total;
    cell(tr, "").innerHTML = `<div class="bar" title="${pct.toFixed(1)} %"><span style="width:${pct}%"></span></div>`;
  }
  const tt = $("ttable"); tt.innerHTML = "";
  const xs = [0, ...r.layers.map((l) => l.x_start_mm + l.thickness_mm)];
  r.temperatures.forEach((T, i) => {
    const tr = tt.insertRow();
    const name = i === 0 ? TXT["Hot surface"] : i === r.temperatures.length - 1 ? TXT["Cold surface"] : `${TXT.Interface} ${i}/${i + 1}`;
    cell(tr, name); cell(tr, nf.format(xs[i]), "num"); cell(tr, nf.format(T), "num");
  });
  drawProfile(xs, r.temperatures);
}
function drawProfile(xs, ts) {
  const svg = $("profile"), W = 600, H = 240, m = 40;
  const xmax = xs[xs.length - 1] || 1, tmin = Math.min(...ts), tmax = Math.max(...ts), span = (tmax - tmin) || 1;
  const px = (x) => m + (W - 2 * m) * x / xmax, py = (T) => H - m + (-(H - 2 * m) * (T - tmin) / span);
  let out = `<rect x="${m}" y="${m}" width="${W - 2 * m}" height="${H - 2 * m}" fill="none" stroke="currentColor" stroke-opacity=".25"/>`;
  xs.forEach((x) => out += `<line x1="${px(x)}" x2="${px(x)}" y1="${m}" y2="${H - m}" stroke="currentColor" stroke-opacity=".2"/>`);
  out += `<polyline fill="none" stroke="#00a3e0" stroke-width="3" points="${xs.map((x, i) => px(x) + "," + py(ts[i])).join(" ")}"/>`;
  xs.forEach((x, i) => out += `<circle cx="${px(x)}" cy="${py(ts[i])}" r="4" fill="#003da5"/>`);
  out += `<text x="4" y="${m + 4}" font-size="12" fill="currentColor">${nf.format(tmax)} °C</text>`;
  out += `<text x="4" y="${H - m + 4}" font-size="12" fill="currentColor">${nf.format(tmin)} °C</text>`;
  out += `<text x="${W - m}" y="${H - 12}" font-size="12" text-anchor="end" fill="currentColor">${nf.format(xmax)} mm</text>`;
  svg.innerHTML = out;
}
async function calculate() {
  $("error").classList.add("hidden");
  try { showResults(await post("api/calculate", readInputs())); }
  catch (e) { $("error").textContent = TXT.Error + ": " + e.message; $("error").classList.remove("hidden"); }
}
async function refreshCases() {
  const data = await (await fetch("api/cases")).json();
  const tb = $("cases"); tb.innerHTML = "";
  if (!data.cases.length) { cell(tb.insertRow(), TXT.nothing, "muted"); return; }
  for (const c of data.cases) {
    const tr = tb.insertRow();
    const td = cell(tr, c.name);
    td.insertAdjacentHTML("beforeend", `<br><span class="muted"></span>`);
    td.querySelector("span").textContent = `${c.created.slice(0, 16).replace("T", " ")} · q = ${nf.format(c.results.q)} W/m²`;
    const act = cell(tr, "", "num");
    const load = document.createElement("button"); load.className = "btn btn-outline btn-sm"; load.textContent = TXT.Load;
    load.onclick = () => { fillInputs(c.inputs); $("case_name").value = c.name; showResults(c.results); };
    const del = document.createElement("button"); del.className = "btn btn-danger btn-sm"; del.textContent = "×"; del.title = TXT.Remove;
    del.onclick = async () => { await fetch("api/cases/" + encodeURIComponent(c.id), {method: "DELETE"}); refreshCases(); };
    act.append(load, " ", del);
  }
}
$("add").onclick = () => addLayer();
$("calc").onclick = calculate;
$("save").onclick = async () => {
  try {
    await post("api/cases", {name: $("case_name").value, inputs: readInputs()});
    $("saved").classList.remove("hidden"); refreshCases();
  } catch (e) { $("error").textContent = TXT.Error + ": " + e.message; $("error").classList.remove("hidden"); }
};
document.querySelectorAll("[data-example]").forEach((b) => b.onclick = () => {
  const ex = EXAMPLES[b.dataset.example]; fillInputs(ex.inputs); $("case_name").value = ex.name; calculate();
});
const DEFAULT_LAYERS = [{name: "Gypsum board", thickness_mm: 12.5, k: 0.25}, {name: "Mineral wool", thickness_mm: 100, k: 0.04},
  {name: "Brick", thickness_mm: 115, k: 0.72}, {name: "Concrete", thickness_mm: 150, k: 1.4}];
for (let i = 0; i < {{ layers }}; i++) addLayer(DEFAULT_LAYERS[i] || {});
refreshCases();
</script>
{% endblock %}
"""


def add_parameters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--area", type=float, default=1.0)
    parser.add_argument("--surface_films", action="store_true")


def create_app(args: argparse.Namespace):
    title = TEXT.get(args.language, TEXT["en"]).get("title", TEXT["en"]["title"])
    app = ss.create_app(args, title, translations=TEXT)
    cases_path = args.data_dir / CASES_FILE
    examples = load_examples()
    initial_layers = min(max(args.layers, 1), 10)
    default_area = args.area if args.area > 0 else 1.0

    @app.get("/")
    def index():
        return render_template_string(
            PAGE,
            materials=MATERIALS,
            examples=examples,
            layers=initial_layers,
            area=default_area,
            films=args.surface_films,
        )

    @app.post("/api/calculate")
    def calculate():
        try:
            return solve_wall(**inputs_from_json(ss.json_object()))
        except (ValueError, ZeroDivisionError) as exc:
            return {"error": str(exc)}, 400

    @app.get("/api/cases")
    def list_cases():
        return {"cases": ss.json_load(cases_path, {"cases": []}).get("cases", [])}

    @app.post("/api/cases")
    def save_case():
        body = ss.json_object()
        try:
            inputs = inputs_from_json(body.get("inputs") or {})
            results = solve_wall(**inputs)
        except (ValueError, ZeroDivisionError) as exc:
            return {"error": str(exc)}, 400
        case = {
            "id": uuid.uuid4().hex[:12],
            "name": (str(body.get("name") or "").strip() or "Case")[:80],
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "project_id": args.project_id,
            "inputs": inputs,
            "results": results,
        }
        with ss.data_lock:
            data = ss.json_load(cases_path, {"cases": []})
            data["cases"] = [case, *data.get("cases", [])][:MAX_CASES]
            ss.json_save_atomic(cases_path, data)
        return {"status": "saved", "case": case}, 201

    @app.delete("/api/cases/<case_id>")
    def delete_case(case_id: str):
        with ss.data_lock:
            data = ss.json_load(cases_path, {"cases": []})
            kept = [c for c in data.get("cases", []) if c.get("id") != case_id]
            if len(kept) == len(data.get("cases", [])):
                abort(404)
            data["cases"] = kept
            ss.json_save_atomic(cases_path, data)
        return {"status": "deleted"}

    return app


def main() -> None:
    args = ss.parse_args(add_parameters, description="Multi-layer wall heat transfer")
    ss.run(create_app(args), args)


if __name__ == "__main__":
    main()
