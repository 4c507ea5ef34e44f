"""Execution logs as PDF (fpdf2), one log after another."""

import json
from collections.abc import Iterable
from pathlib import Path

from fpdf import FPDF

# DejaVu ships with Debian (fonts-dejavu-core) and covers far more than Latin-1.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
MAX_LINES_PER_STREAM = 5000
# The whole document's bound, whatever the number of logs: fpdf2 keeps the
# document in memory until it is written out.
MAX_LINES_TOTAL = 3 * MAX_LINES_PER_STREAM
MAX_LINE_CHARS = 1000


def _lines(chunks: Iterable[str], limit: int) -> tuple[list[str], bool]:
    """The first `limit` lines of the text arriving in `chunks`, each cut to
    MAX_LINE_CHARS, and whether anything was left out. Reads no further than
    needed and holds at most one chunk and the lines kept, even for a file
    without any line break."""
    lines: list[str] = []
    current = ""
    cut = False
    for chunk in chunks:
        pieces = chunk.split("\n")
        for index, piece in enumerate(pieces):
            room = MAX_LINE_CHARS - len(current)
            if len(piece) > room:
                cut = True
            current += piece[:room]
            if index < len(pieces) - 1:  # a line break follows this piece
                if len(lines) >= limit:
                    return lines, True
                lines.append(current.rstrip("\r"))
                current = ""
    if current:
        if len(lines) >= limit:
            return lines, True
        lines.append(current.rstrip("\r"))
    return lines, cut


def logs_pdf(documents: list[dict]) -> bytes:
    """A PDF with, per execution, its context, parameters and both outputs.
    Each document's "output" holds stdout and stderr as iterables of text
    chunks, read only as far as shown: at most MAX_LINES_PER_STREAM lines of
    each and MAX_LINES_TOTAL in all (the files keep everything)."""
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

    budget = MAX_LINES_TOTAL
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
            text = document["output"][key] or ""
            lines, cut = _lines(
                [text] if isinstance(text, str) else text, min(MAX_LINES_PER_STREAM, budget)
            )
            budget -= len(lines)
            for line in lines:
                write(line, 3.5)
            if cut:
                write(f"... (first {MAX_LINES_PER_STREAM} lines; download TXT for all)", 3.5)
    return bytes(pdf.output())
