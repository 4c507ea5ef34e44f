"""Execution logs as PDF (fpdf2), one log after another."""

import json
from pathlib import Path

from fpdf import FPDF

from logs.models import ExecutionLog

# DejaVu ships with Debian (fonts-dejavu-core) and covers far more than Latin-1.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
MAX_LINES_PER_STREAM = 5000


def _lines(text: str) -> tuple[list[str], bool]:
    lines = text.splitlines()
    return lines[:MAX_LINES_PER_STREAM], len(lines) > MAX_LINES_PER_STREAM


def logs_pdf(logs: list[ExecutionLog], documents: list[dict]) -> bytes:
    """A PDF with, per execution, its context, parameters and both outputs
    (at most MAX_LINES_PER_STREAM lines each; the files keep everything)."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    if FONT.is_file():
        pdf.add_font("mono", fname=str(FONT))
        family = "mono"

        def clean(text: str) -> str:
            return text
    else:  # a machine without DejaVu: the core font, Latin-1 only
        family = "Courier"

        def clean(text: str) -> str:
            return text.encode("latin-1", "replace").decode("latin-1")

    def write(text: str, height: float) -> None:
        pdf.multi_cell(0, height, new_x="LMARGIN", new_y="NEXT", text=clean(text) or " ")

    for document in documents:
        pdf.add_page()
        pdf.set_font(family, size=12)
        write(f"{document['script_name']}  ({document['status']})", 6)
        pdf.set_font(family, size=8)
        for key, value in document.items():
            if key not in ("output", "parameters"):
                write(f"{key}: {json.dumps(value, ensure_ascii=False, default=str)}", 4)
        pdf.ln(2)
        write("parameters: " + json.dumps(document["parameters"], ensure_ascii=False), 4)
        for title, key in (("STDOUT", "stdout"), ("STDERR", "stderr"), ("DEBUG", "debug")):
            pdf.ln(2)
            pdf.set_font(family, size=9)
            write(f"===== {title} =====", 5)
            pdf.set_font(family, size=7)
            lines, cut = _lines(document["output"][key] or "")
            for line in lines:
                write(line, 3.5)
            if cut:
                write(f"... (first {MAX_LINES_PER_STREAM} lines; download TXT for all)", 3.5)
    return bytes(pdf.output())
