"""
ScriptsManager Metadata:
@display_name: Engineering Unit Converter
@display_name_es: Conversor de unidades de ingeniería
@display_name_it: Convertitore di unità ingegneristiche
@display_name_fr: Convertisseur d'unités d'ingénierie
@description: Convert a value between engineering units (length, pressure, temperature, force, energy, power, flow, torque...) and print the result
@description_es: Convierte un valor entre unidades de ingeniería (longitud, presión, temperatura, fuerza, energía, potencia, caudal, par...) e imprime el resultado
@description_it: Converte un valore tra unità ingegneristiche (lunghezza, pressione, temperatura, forza, energia, potenza, portata, coppia...) e stampa il risultato
@description_fr: Convertit une valeur entre unités d'ingénierie (longueur, pression, température, force, énergie, puissance, débit, couple...) et affiche le résultat
@description_long: docs/unit_converter.md
@description_long_es: docs/unit_converter_es.md
@description_long_it: docs/unit_converter_it.md
@description_long_fr: docs/unit_converter_fr.md
@required_level: viewer
@category: data
@tags: units,conversion,cli
@parameters: [
    {"name": "value", "type": "float", "required": true,
     "description": {"en": "Value to convert", "es": "Valor a convertir",
                     "it": "Valore da convertire", "fr": "Valeur à convertir"}},
    {"name": "from-unit", "type": "select", "required": true, "default": "bar",
     "options": ["m", "mm", "cm", "km", "um", "in", "ft", "yd", "mi",
                 "m2", "cm2", "mm2", "in2", "ft2",
                 "m3", "L", "mL", "ft3", "gal",
                 "kg", "g", "mg", "t", "lb", "oz",
                 "Pa", "kPa", "MPa", "bar", "mbar", "psi", "atm", "mmHg", "mmH2O",
                 "degC", "degF", "K",
                 "N", "kN", "kgf", "lbf",
                 "J", "kJ", "MJ", "Wh", "kWh", "cal", "kcal", "BTU",
                 "W", "kW", "MW", "hp", "PS", "BTU/h",
                 "m3/h", "m3/s", "L/min", "L/s", "gpm",
                 "Nm", "kNm", "lbf_ft", "lbf_in",
                 "m/s", "km/h", "mph", "ft/min",
                 "kg/m3", "g/cm3", "lb/ft3"],
     "description": {"en": "Unit of the value", "es": "Unidad del valor",
                     "it": "Unità del valore", "fr": "Unité de la valeur"}},
    {"name": "to-unit", "type": "select", "required": true, "default": "psi",
     "options": ["m", "mm", "cm", "km", "um", "in", "ft", "yd", "mi",
                 "m2", "cm2", "mm2", "in2", "ft2",
                 "m3", "L", "mL", "ft3", "gal",
                 "kg", "g", "mg", "t", "lb", "oz",
                 "Pa", "kPa", "MPa", "bar", "mbar", "psi", "atm", "mmHg", "mmH2O",
                 "degC", "degF", "K",
                 "N", "kN", "kgf", "lbf",
                 "J", "kJ", "MJ", "Wh", "kWh", "cal", "kcal", "BTU",
                 "W", "kW", "MW", "hp", "PS", "BTU/h",
                 "m3/h", "m3/s", "L/min", "L/s", "gpm",
                 "Nm", "kNm", "lbf_ft", "lbf_in",
                 "m/s", "km/h", "mph", "ft/min",
                 "kg/m3", "g/cm3", "lb/ft3"],
     "description": {"en": "Unit to convert to", "es": "Unidad de destino",
                     "it": "Unità di destinazione", "fr": "Unité cible"}},
    {"name": "precision", "type": "int", "required": false, "default": 6, "min": 1, "max": 15,
     "description": {"en": "Significant digits in the result", "es": "Cifras significativas del resultado",
                     "it": "Cifre significative del risultato", "fr": "Chiffres significatifs du résultat"}},
    {"name": "all-units", "type": "bool", "required": false, "default": false,
     "description": {"en": "Also list the value in every unit of the same quantity",
                     "es": "Listar también el valor en todas las unidades de la misma magnitud",
                     "it": "Elencare il valore anche in tutte le unità della stessa grandezza",
                     "fr": "Lister aussi la valeur dans toutes les unités de la même grandeur"}}
]
@execution_timeout: 60
@interface: false
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # keep the script tree free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_shared"))
import sidel_script as ss  # noqa: E402

EXIT_USAGE = 2

# unit -> (quantity, factor, offset): value_SI = value * factor + offset.
# Exact by definition where a definition exists (inch, pound, calorie-IT, psi...).
INCH = 0.0254
FOOT = 0.3048
POUND = 0.45359237
G0 = 9.80665
LBF = POUND * G0
US_GALLON = 3.785411784e-3
BTU = 1055.05585262
UNITS: dict[str, tuple[str, float, float]] = {
    "m": ("length", 1.0, 0.0),
    "mm": ("length", 1e-3, 0.0),
    "cm": ("length", 1e-2, 0.0),
    "km": ("length", 1e3, 0.0),
    "um": ("length", 1e-6, 0.0),
    "in": ("length", INCH, 0.0),
    "ft": ("length", FOOT, 0.0),
    "yd": ("length", 0.9144, 0.0),
    "mi": ("length", 1609.344, 0.0),
    "m2": ("area", 1.0, 0.0),
    "cm2": ("area", 1e-4, 0.0),
    "mm2": ("area", 1e-6, 0.0),
    "in2": ("area", INCH**2, 0.0),
    "ft2": ("area", FOOT**2, 0.0),
    "m3": ("volume", 1.0, 0.0),
    "L": ("volume", 1e-3, 0.0),
    "mL": ("volume", 1e-6, 0.0),
    "ft3": ("volume", FOOT**3, 0.0),
    "gal": ("volume", US_GALLON, 0.0),
    "kg": ("mass", 1.0, 0.0),
    "g": ("mass", 1e-3, 0.0),
    "mg": ("mass", 1e-6, 0.0),
    "t": ("mass", 1e3, 0.0),
    "lb": ("mass", POUND, 0.0),
    "oz": ("mass", POUND / 16, 0.0),
    "Pa": ("pressure", 1.0, 0.0),
    "kPa": ("pressure", 1e3, 0.0),
    "MPa": ("pressure", 1e6, 0.0),
    "bar": ("pressure", 1e5, 0.0),
    "mbar": ("pressure", 100.0, 0.0),
    "psi": ("pressure", LBF / INCH**2, 0.0),
    "atm": ("pressure", 101325.0, 0.0),
    "mmHg": ("pressure", 133.322387415, 0.0),
    "mmH2O": ("pressure", G0, 0.0),
    "degC": ("temperature", 1.0, 273.15),
    "degF": ("temperature", 5 / 9, 273.15 - 32 * 5 / 9),
    "K": ("temperature", 1.0, 0.0),
    "N": ("force", 1.0, 0.0),
    "kN": ("force", 1e3, 0.0),
    "kgf": ("force", G0, 0.0),
    "lbf": ("force", LBF, 0.0),
    "J": ("energy", 1.0, 0.0),
    "kJ": ("energy", 1e3, 0.0),
    "MJ": ("energy", 1e6, 0.0),
    "Wh": ("energy", 3600.0, 0.0),
    "kWh": ("energy", 3.6e6, 0.0),
    "cal": ("energy", 4.1868, 0.0),
    "kcal": ("energy", 4186.8, 0.0),
    "BTU": ("energy", BTU, 0.0),
    "W": ("power", 1.0, 0.0),
    "kW": ("power", 1e3, 0.0),
    "MW": ("power", 1e6, 0.0),
    "hp": ("power", 550 * FOOT * LBF, 0.0),
    "PS": ("power", 75 * G0, 0.0),
    "BTU/h": ("power", BTU / 3600, 0.0),
    "m3/h": ("volume flow", 1 / 3600, 0.0),
    "m3/s": ("volume flow", 1.0, 0.0),
    "L/min": ("volume flow", 1e-3 / 60, 0.0),
    "L/s": ("volume flow", 1e-3, 0.0),
    "gpm": ("volume flow", US_GALLON / 60, 0.0),
    "Nm": ("torque", 1.0, 0.0),
    "kNm": ("torque", 1e3, 0.0),
    "lbf_ft": ("torque", LBF * FOOT, 0.0),
    "lbf_in": ("torque", LBF * INCH, 0.0),
    "m/s": ("speed", 1.0, 0.0),
    "km/h": ("speed", 1 / 3.6, 0.0),
    "mph": ("speed", 1609.344 / 3600, 0.0),
    "ft/min": ("speed", FOOT / 60, 0.0),
    "kg/m3": ("density", 1.0, 0.0),
    "g/cm3": ("density", 1e3, 0.0),
    "lb/ft3": ("density", POUND / FOOT**3, 0.0),
}
ALIASES = {
    "°C": "degC",
    "C": "degC",
    "°F": "degF",
    "F": "degF",
    "µm": "um",
    "l": "L",
    "ml": "mL",
    "N·m": "Nm",
    "N.m": "Nm",
    "lbf·ft": "lbf_ft",
    "ft·lbf": "lbf_ft",
    "lbf·in": "lbf_in",
    "m³": "m3",
    "m³/h": "m3/h",
    "m²": "m2",
    "mm²": "mm2",
    "kg/m³": "kg/m3",
}

MESSAGES = {
    "en": {
        "unknown": "unknown unit {unit!r}; known units: {known}",
        "incompatible": "cannot convert {src} ({qs}) to {dst} ({qd}): different quantities",
        "value": "the value must be a finite number",
        "below_zero": "{value} {unit} is below absolute zero",
    },
    "es": {
        "unknown": "unidad desconocida {unit!r}; unidades conocidas: {known}",
        "incompatible": "no se puede convertir {src} ({qs}) a {dst} ({qd}): magnitudes distintas",
        "value": "el valor debe ser un número finito",
        "below_zero": "{value} {unit} está por debajo del cero absoluto",
    },
    "it": {
        "unknown": "unità sconosciuta {unit!r}; unità note: {known}",
        "incompatible": "impossibile convertire {src} ({qs}) in {dst} ({qd}): grandezze diverse",
        "value": "il valore deve essere un numero finito",
        "below_zero": "{value} {unit} è sotto lo zero assoluto",
    },
    "fr": {
        "unknown": "unité inconnue {unit!r} ; unités connues : {known}",
        "incompatible": "impossible de convertir {src} ({qs}) en {dst} ({qd}) : grandeurs différentes",
        "value": "la valeur doit être un nombre fini",
        "below_zero": "{value} {unit} est en dessous du zéro absolu",
    },
}


class ConversionError(ValueError):
    """A conversion that cannot be done; ``str()`` is the user-facing message."""


def normalise_unit(unit: str, language: str = "en") -> str:
    unit = unit.strip()
    if unit in UNITS:
        return unit
    if unit in ALIASES:
        return ALIASES[unit]
    folded = [u for u in UNITS if u.lower() == unit.lower()]
    if len(folded) == 1:
        return folded[0]
    raise ConversionError(MESSAGES[language]["unknown"].format(unit=unit, known=", ".join(UNITS)))


def convert(value: float, src: str, dst: str, language: str = "en") -> float:
    """Convert ``value`` from unit ``src`` to unit ``dst``; raises ConversionError."""
    msg = MESSAGES[language]
    if not math.isfinite(value):
        raise ConversionError(msg["value"])
    src, dst = normalise_unit(src, language), normalise_unit(dst, language)
    (q_src, f_src, o_src), (q_dst, f_dst, o_dst) = UNITS[src], UNITS[dst]
    if q_src != q_dst:
        raise ConversionError(msg["incompatible"].format(src=src, qs=q_src, dst=dst, qd=q_dst))
    si = value * f_src + o_src
    if q_src == "temperature" and si < 0:
        raise ConversionError(msg["below_zero"].format(value=value, unit=src))
    return (si - o_dst) / f_dst


def fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}g}"


def add_parameters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--value", type=float, required=True)
    parser.add_argument("--from-unit", required=True)
    parser.add_argument("--to-unit", required=True)
    parser.add_argument("--precision", type=int, default=6)
    parser.add_argument("--all-units", action="store_true")


def main() -> int:
    args = ss.parse_args(add_parameters, description="Engineering unit converter", interface=False)
    digits = min(max(args.precision, 1), 15)
    try:
        result = convert(args.value, args.from_unit, args.to_unit, args.language)
    except ConversionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    src, dst = normalise_unit(args.from_unit), normalise_unit(args.to_unit)
    print(f"{fmt(args.value, digits)} {src} = {fmt(result, digits)} {dst}")
    if args.all_units:
        quantity = UNITS[src][0]
        print(f"\n{quantity}:")
        for unit, (q, _, _) in UNITS.items():
            if q == quantity:
                print(f"  {fmt(convert(args.value, src, unit), digits):>16} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
