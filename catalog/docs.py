"""A script's Markdown documentation: where its files live, reading and writing
them, a starting template, and rendering to HTML that is safe to show.

Files live under `<group>/docs/`; `Script.doc_paths` names them per language
(`{"en": "docs/x.md", "es": "docs/x_es.md"}`) and missing languages follow the
convention `docs/<stem>.md` (English) or `docs/<stem>_<lang>.md`. Anything that
resolves outside `<group>/docs/` is refused, whatever the metadata says.

Math is left for the browser: Arithmatex wraps it as `\\(...\\)` / `\\[...\\]` in
`span`/`div.arithmatex`, untouched by Markdown, and static/js/docs.js hands it
to KaTeX.
"""

import json
import os
import posixpath
import re
import secrets
import stat
import threading
import xml.etree.ElementTree as etree
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import bleach
import markdown
from bleach.html5lib_shim import Filter, convert_entities
from django.urls import reverse
from django.utils.safestring import mark_safe
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString
from pygments.token import STANDARD_TYPES

LANGUAGES = ("en", "es", "it", "fr")
DOCS_DIR = "docs"
MAX_DOC_BYTES = 1024 * 1024

# --- Rendering --------------------------------------------------------------------

ALLOWED_TAGS = frozenset(
    {"h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "blockquote"}
    | {"pre", "code", "span", "div", "table", "thead", "tbody", "tr", "th", "td"}
    | {"a", "img", "em", "strong", "del", "sup", "sub"}
)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
CLASSED_TAGS = frozenset({"code", "span", "div", "pre"})
LINK_PROTOCOLS = frozenset({"http", "https", "mailto"})
# Images only from the group's docs/ folder, served by the manager with a fixed
# type: a remote one would be fetched by every viewer's browser (a tracking
# pixel), and SVG can carry script.
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
# Only the classes our own pipeline emits: free-form classes would let a doc
# borrow the page's Bootstrap utilities (a full-screen `position-fixed` overlay
# dressed as a login form, say).
ALLOWED_CLASSES = frozenset(
    {cls for cls in STANDARD_TYPES.values() if cls}
    | {"codehilite", "arithmatex", "toc", "hll", "filename", "linenos", "linenodiv"}
)
LANGUAGE_CLASS = re.compile(r"^language-[\w+#.-]{1,40}$")
HEADING_ID = re.compile(r"^[\w-]{1,120}$")
# Backtick, whitespace and control characters are dropped by browsers inside a
# URL scheme ("java\nscript:"); bleach normalises the same way.
URI_JUNK = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")
# Inline `$$...$$` inside a paragraph (Arithmatex only knows it as a block).
INLINE_DISPLAY_MATH = r"(?<!\\)\$\$((?:\\.|[^\\$\x02\x03])+?)\$\$"


def _uri_allowed(value: str, protocols: frozenset[str]) -> bool:
    normalised = URI_JUNK.sub("", convert_entities(value))
    normalised = re.sub(r"[^\x00-\x7f]", "", normalised).lower()
    try:
        scheme = urlsplit(normalised).scheme
    except ValueError:
        return False
    prefix = re.match(r"^([^/?#]*):", normalised)
    if not scheme and prefix:
        # "1x:..." is no valid scheme to urlsplit; refuse it rather than guess a browser's view.
        scheme = prefix.group(1) or ":"
    return not scheme or scheme in protocols


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    if tag == "a":
        return name == "title" or (name == "href" and _uri_allowed(value, LINK_PROTOCOLS))
    if tag == "img":
        # A relative path only; _DocFilter turns it into the docs-file URL.
        return name in ("alt", "title") or (
            name == "src"
            and _uri_allowed(value, frozenset())
            and not URI_JUNK.sub("", value).startswith(("/", "\\"))
        )
    if tag in HEADINGS and name == "id":
        return bool(HEADING_ID.match(value))
    if tag in CLASSED_TAGS and name == "class":
        return all(c in ALLOWED_CLASSES or LANGUAGE_CLASS.match(c) for c in value.split())
    if tag in ("th", "td") and name == "align":
        return value in ("left", "center", "right")
    if tag == "ol" and name == "start":
        return value.isdigit() and len(value) < 10
    return False


class _DocFilter(Filter):
    """After sanitising: give every link rel="noopener noreferrer", point each
    image at the manager's copy of a docs/ file or replace it by its alt text,
    and put each literal `$` of prose in its own span so that KaTeX's `$...$`
    delimiter cannot pair two prices ("$5 and $10") into a formula. Math that
    Markdown saw is already in `.arithmatex` elements; code is left alone."""

    def __iter__(self):
        image_url = getattr(_local, "image_url", None)
        # Each open element: does it hide its text from the dollar rewrite?
        stack: list[bool] = []
        for token in super().__iter__():
            kind = token["type"]
            if kind in ("StartTag", "EmptyTag") and token["name"] == "img":
                attrs = token["data"]
                source = attrs.get((None, "src"))
                url = image_url(source) if source and image_url else None
                if url is None:
                    alt = attrs.get((None, "alt"))
                    if alt:
                        yield {"type": "Characters", "data": alt}
                    continue
                attrs[(None, "src")] = url
            if kind in ("StartTag", "EmptyTag"):
                attrs = token["data"]
                if token["name"] == "a":
                    attrs[(None, "rel")] = "noopener noreferrer"
                if kind == "StartTag":
                    classes = (attrs.get((None, "class")) or "").split()
                    stack.append(token["name"] in ("pre", "code") or "arithmatex" in classes)
            elif kind == "EndTag" and stack:
                stack.pop()
            elif kind == "Characters" and "$" in token["data"] and not any(stack):
                yield from self._dollars_isolated(token["data"])
                continue
            yield token

    @staticmethod
    def _dollars_isolated(text: str):
        for position, piece in enumerate(text.split("$")):
            if position:
                yield {"type": "StartTag", "name": "span", "namespace": None, "data": {}}
                yield {"type": "Characters", "data": "$"}
                yield {"type": "EndTag", "name": "span", "namespace": None}
            if piece:
                yield {"type": "Characters", "data": piece}


class _InlineDisplayMath(InlineProcessor):
    def handleMatch(self, m, data):
        element = etree.Element("span", {"class": "arithmatex"})
        element.text = AtomicString(f"\\[{m.group(1)}\\]")
        return element, m.start(0), m.end(0)


class _InlineDisplayMathExtension(Extension):
    def extendMarkdown(self, md):
        # Between code spans (190, which must win) and Arithmatex's `$` (189.9).
        md.inlinePatterns.register(
            _InlineDisplayMath(INLINE_DISPLAY_MATH, md), "sm-inline-display-math", 189.95
        )


_local = threading.local()


def _cleaner() -> bleach.Cleaner:
    # A Cleaner holds parser state and is not thread-safe: one per thread.
    cleaner = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = _local.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=_attribute_allowed,
            protocols=LINK_PROTOCOLS,
            strip=True,
            strip_comments=True,
            filters=[_DocFilter],
        )
    return cleaner


def markdown_render(text: str, *, image_url: Callable[[str], str | None] | None = None) -> str:
    """Render Markdown to sanitised HTML, marked safe for templates.

    Returns an HTML fragment (a `SafeString`, so a `str`) to put inside an
    `.sm-doc` element: code highlighted by Pygments under `div.codehilite`,
    headings with `id` anchors, math as `\\(...\\)` in `span.arithmatex` or
    `\\[...\\]` in `div.arithmatex`, exactly as written. Only the allow-listed
    tags and attributes survive; links carry rel="noopener noreferrer"; link
    URLs are relative, http(s) or mailto. An image's relative source goes
    through `image_url` (see `doc_image_url_for`): the URL it returns, or, for
    None (and for every remote or absolute source, or without `image_url`),
    the image is replaced by its alt text. Returns "" for empty text.
    """
    if not text:
        return mark_safe("")  # noqa: S308 - constant
    md = markdown.Markdown(
        extensions=[
            "fenced_code",
            "codehilite",
            "tables",
            "toc",
            "sane_lists",
            "pymdownx.arithmatex",
            _InlineDisplayMathExtension(),
        ],
        extension_configs={
            "codehilite": {"css_class": "codehilite", "guess_lang": False, "use_pygments": True},
            "toc": {"permalink": False},
            "tables": {"use_align_attribute": True},
            "pymdownx.arithmatex": {"generic": True},
        },
        output_format="html",
    )
    html = md.convert(text)
    cleaner = _cleaner()
    # The filter runs inside clean(), on this thread, with this thread's cleaner.
    _local.image_url = image_url
    try:
        return mark_safe(cleaner.clean(html))  # noqa: S308 - bleach allow-list
    finally:
        _local.image_url = None


# --- Files --------------------------------------------------------------------------


class DocPathError(ValueError):
    """A documentation path that would lead outside the group's docs/ folder."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"Documentation path {path!r} is outside the group's docs/ folder.")


def _language_checked(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"Unknown documentation language {language!r}; use one of {LANGUAGES}.")
    return language


def doc_relpath(script, language: str) -> str:
    """The documentation path for `language`, relative to the group folder.

    Returns `script.doc_paths[language]` when set (backslashes turned into
    slashes), else `docs/<stem>.md` for English and `docs/<stem>_<lang>.md`
    for the others. Not checked: `doc_file` does that. Raises ValueError for
    a language outside en/es/it/fr.
    """
    _language_checked(language)
    declared = (script.doc_paths or {}).get(language)
    if isinstance(declared, str) and declared.strip():
        return declared.strip().replace("\\", "/")
    suffix = "" if language == "en" else f"_{language}"
    return f"{DOCS_DIR}/{script.stem}{suffix}.md"


def doc_file(script, language: str) -> Path:
    """The absolute, symlink-resolved path of the documentation for `language`.

    The file need not exist. The result always lies strictly inside
    `<group>/docs/` (the group folder resolved, its docs/ not followed if it is
    a symlink). Raises DocPathError, naming the path, when the relative path
    is absolute, holds `..`, or resolves (through symlinks) anywhere else.
    """
    relpath = doc_relpath(script, language)
    pure = PurePosixPath(relpath)
    if (
        "\x00" in relpath
        or pure.is_absolute()
        or re.match(r"^[A-Za-z]:", relpath)
        or ".." in pure.parts
    ):
        raise DocPathError(relpath)
    docs_dir = Path(script.group.path).resolve() / DOCS_DIR
    target = (docs_dir.parent / pure).resolve()
    if not target.is_relative_to(docs_dir) or target == docs_dir:
        raise DocPathError(relpath)
    return target


def doc_image_file(group, path: str) -> tuple[Path, str]:
    """The image at `path` (relative to the group's docs/ folder, "/"-separated)
    and the Content-Type to serve it with.

    Raises DocPathError when the path is absolute, holds `..` or resolves
    (through symlinks) outside docs/; ValueError for a type that is not a
    plain image (SVG included); FileNotFoundError when there is no such file.
    """
    pure = PurePosixPath(path)
    if "\x00" in path or "\\" in path or pure.is_absolute() or ".." in pure.parts:
        raise DocPathError(path)
    content_type = IMAGE_TYPES.get(pure.suffix.lower())
    if content_type is None:
        raise ValueError(f"{path!r} is not a PNG, JPEG, GIF or WebP image.")
    docs_dir = Path(group.path).resolve() / DOCS_DIR
    target = (docs_dir / pure).resolve()
    if not target.is_relative_to(docs_dir):
        raise DocPathError(path)
    if not target.is_file():
        raise FileNotFoundError(path)
    return target, content_type


def doc_image_url_for(script, language: str) -> Callable[[str], str | None]:
    """For `markdown_render`: maps an image source written in the doc of
    `language` (relative to that file's folder, as any Markdown viewer reads
    it) to the URL that serves it, or None when it is not a servable image
    inside the group's docs/ folder."""
    folder = posixpath.dirname(doc_relpath(script, language))

    def image_url(source: str) -> str | None:
        try:
            parts = urlsplit(source.strip())
        except ValueError:
            return None
        if parts.scheme or parts.netloc or not parts.path:
            return None
        relative = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
        if not relative.startswith(f"{DOCS_DIR}/"):
            return None
        inside = relative[len(DOCS_DIR) + 1 :]
        try:
            doc_image_file(script.group, inside)
        except (ValueError, OSError):
            return None
        return reverse("catalog:doc_image", args=[script.group_id, inside])

    return image_url


def _text_decoded(data: bytes) -> str:
    text = data.decode("utf-8-sig", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def doc_read(script, language: str) -> tuple[str | None, str | None]:
    """Read the documentation in `language`, falling back to English.

    Returns (text, language actually read): the requested language's file when
    it exists, else the English one, else (None, None). Text has a leading BOM
    dropped, line endings as "\\n", and invalid UTF-8 replaced by U+FFFD.
    Raises DocPathError when a path it tries leads outside docs/.
    """
    for candidate in dict.fromkeys((_language_checked(language), "en")):
        try:
            data = doc_file(script, candidate).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
        return _text_decoded(data), candidate
    return None, None


def doc_write(script, language: str, text: str) -> Path:
    """Replace the documentation for `language` with `text`, atomically.

    Line endings become "\\n"; the file is UTF-8. The text goes to a temporary
    file beside the target, is fsynced, then `os.replace`d over it, so a reader
    sees the old file or the new one, never a mix, and a failure leaves no
    temporary file behind. Creates docs/ (and sub-folders of it) as needed,
    never the group folder, each with its parent's permissions; a new file gets
    its folder's read and write bits, an existing one keeps its mode, whatever
    the umask. Returns the path written. Raises DocPathError for a
    path outside docs/ and ValueError for text over 1 MB; nothing is written then.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"The documentation is not valid Unicode text: {error.reason}.") from None
    if len(data) > MAX_DOC_BYTES:
        raise ValueError(
            f"The documentation is {len(data):,} bytes; "
            f"the limit is 1 MB ({MAX_DOC_BYTES:,} bytes)."
        )
    target = doc_file(script, language)
    # Not the group folder itself: a group folder that is gone is an error.
    _folders_make_like_parent(Path(script.group.path).resolve() / DOCS_DIR, target.parent)
    # A symlink could have appeared while the folders were made: check again.
    if doc_file(script, language) != target:
        raise DocPathError(doc_relpath(script, language))
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        # The group folder belongs to the people who maintain it, while the
        # manager runs with umask 077: a new doc may be read and written by
        # whoever may in its folder (0775 -> 0664), never more.
        mode = target.parent.stat().st_mode & 0o666
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _directory_synced(target.parent)
    return target


def _folders_make_like_parent(top: Path, leaf: Path) -> None:
    """Create `top` (whose parent must exist) and the folders from it down to
    `leaf`, each with its parent's permissions whatever the process's umask."""
    parts = leaf.relative_to(top).parts
    for folder in [top, *(top.joinpath(*parts[: i + 1]) for i in range(len(parts)))]:
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        os.chmod(folder, stat.S_IMODE(folder.parent.stat().st_mode))


def _directory_synced(directory: Path) -> None:
    # Makes the rename itself durable; Windows cannot open a folder for this.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Template -------------------------------------------------------------------------

TEMPLATE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "parameters": "Parameters",
        "name": "Name",
        "type": "Type",
        "required": "Required",
        "default": "Default",
        "description": "Description",
        "yes": "yes",
        "no": "no",
        "hidden": "(hidden)",
        "no_parameters": "This script takes no parameters.",
        "summary": "_One or two sentences on what this script does._",
        "purpose": "Purpose",
        "purpose_prompt": "_What problem does it solve, and for whom?_",
        "method": "Method",
        "method_prompt": "_How it works: steps, formulas (`$...$` inline, `$$...$$` on "
        "their own lines), references._",
        "example": "Example",
        "example_prompt": "_A typical run: the values entered and the result obtained._",
        "limits": "Limits and assumptions",
        "limits_prompt": "_Ranges of validity, simplifications, known limitations._",
    },
    "es": {
        "parameters": "Parámetros",
        "name": "Nombre",
        "type": "Tipo",
        "required": "Obligatorio",
        "default": "Valor por defecto",
        "description": "Descripción",
        "yes": "sí",
        "no": "no",
        "hidden": "(oculto)",
        "no_parameters": "Este script no tiene parámetros.",
        "summary": "_Una o dos frases sobre lo que hace este script._",
        "purpose": "Objetivo",
        "purpose_prompt": "_¿Qué problema resuelve y para quién?_",
        "method": "Método",
        "method_prompt": "_Cómo funciona: pasos, fórmulas (`$...$` en línea, `$$...$$` en "
        "líneas propias), referencias._",
        "example": "Ejemplo",
        "example_prompt": "_Una ejecución típica: los valores introducidos y el resultado._",
        "limits": "Límites e hipótesis",
        "limits_prompt": "_Rangos de validez, simplificaciones, limitaciones conocidas._",
    },
    "it": {
        "parameters": "Parametri",
        "name": "Nome",
        "type": "Tipo",
        "required": "Obbligatorio",
        "default": "Predefinito",
        "description": "Descrizione",
        "yes": "sì",
        "no": "no",
        "hidden": "(nascosto)",
        "no_parameters": "Questo script non ha parametri.",
        "summary": "_Una o due frasi su cosa fa questo script._",
        "purpose": "Scopo",
        "purpose_prompt": "_Quale problema risolve, e per chi?_",
        "method": "Metodo",
        "method_prompt": "_Come funziona: passi, formule (`$...$` in linea, `$$...$$` su "
        "righe proprie), riferimenti._",
        "example": "Esempio",
        "example_prompt": "_Un'esecuzione tipica: i valori inseriti e il risultato ottenuto._",
        "limits": "Limiti e ipotesi",
        "limits_prompt": "_Campi di validità, semplificazioni, limiti noti._",
    },
    "fr": {
        "parameters": "Paramètres",
        "name": "Nom",
        "type": "Type",
        "required": "Obligatoire",
        "default": "Valeur par défaut",
        "description": "Description",
        "yes": "oui",
        "no": "non",
        "hidden": "(masqué)",
        "no_parameters": "Ce script n'a pas de paramètres.",
        "summary": "_Une ou deux phrases sur ce que fait ce script._",
        "purpose": "Objectif",
        "purpose_prompt": "_Quel problème résout-il, et pour qui ?_",
        "method": "Méthode",
        "method_prompt": "_Fonctionnement : étapes, formules (`$...$` en ligne, `$$...$$` "
        "sur leurs propres lignes), références._",
        "example": "Exemple",
        "example_prompt": "_Une exécution typique : les valeurs saisies et le résultat obtenu._",
        "limits": "Limites et hypothèses",
        "limits_prompt": "_Domaines de validité, simplifications, limites connues._",
    },
}


def _translated(value: Any, language: str) -> str:
    if isinstance(value, dict):
        value = value.get(language) or value.get("en") or ""
    return value if isinstance(value, str) else ""


def _cell(text: str) -> str:
    """Text made safe for one Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _default_shown(parameter: dict, words: dict[str, str]) -> str:
    if "default" not in parameter or parameter["default"] is None:
        return ""
    if parameter.get("secret") or parameter.get("type") == "password":
        return words["hidden"]
    default = parameter["default"]
    return _code(default if isinstance(default, str) else json.dumps(default))


def doc_template(script, language: str) -> str:
    """A Markdown starting point for a script that has no documentation yet.

    Returns, with headings and prompts in `language`: a `#` title (the display
    name in that language), a short description (the script's own, or a
    prompt), a Parameters table (name, type, required, default, description in
    that language or English; secret defaults hidden) built from
    `script.parameters`, then Purpose, Method, Example and Limits and
    assumptions sections holding italic placeholder prompts. Ends with "\\n".
    """
    words = TEMPLATE_TEXT[_language_checked(language)]
    title = getattr(script, f"display_name_{language}", None) or script.display_name
    summary = getattr(script, f"description_{language}", None) or script.description
    lines = [f"# {title or script.stem}", "", summary.strip() if summary else words["summary"]]
    lines += ["", f"## {words['parameters']}", ""]
    parameters = [p for p in script.parameters or [] if isinstance(p, dict) and p.get("name")]
    if parameters:
        headers = [words[key] for key in ("name", "type", "required", "default", "description")]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "---|" * len(headers))
        for parameter in parameters:
            cells = [
                _code(str(parameter["name"])),
                _code(str(parameter.get("type", "string"))),
                words["yes"] if parameter.get("required") else words["no"],
                _default_shown(parameter, words),
                _translated(parameter.get("description"), language),
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    else:
        lines.append(words["no_parameters"])
    for section in ("purpose", "method", "example", "limits"):
        lines += ["", f"## {words[section]}", "", words[f"{section}_prompt"]]
    return "\n".join(lines) + "\n"
