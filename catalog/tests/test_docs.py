import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils.safestring import SafeString

from catalog.docs import (
    MAX_DOC_BYTES,
    DocPathError,
    doc_file,
    doc_read,
    doc_relpath,
    doc_template,
    doc_write,
    markdown_render,
)
from catalog.models import Script, ScriptGroup

PARAMETERS = [
    {
        "name": "wall_thickness",
        "type": "float",
        "required": True,
        "secret": False,
        "default": 0.02,
        "description": {"en": "Wall thickness in m", "it": "Spessore della parete in m"},
    },
    {
        "name": "material",
        "type": "select",
        "required": False,
        "secret": False,
        "options": ["steel", "copper"],
        "default": "steel",
        "description": "Material | alloy of the wall",
    },
    {"name": "api_key", "type": "password", "required": False, "secret": True, "default": "s3"},
]


@pytest.fixture
def groups_dir(settings, tmp_path):
    root = tmp_path / "script_groups"
    root.mkdir()
    settings.SCRIPT_GROUPS_DIR = root
    return root


@pytest.fixture
def group(db, groups_dir):
    (groups_dir / "thermal").mkdir()
    return ScriptGroup.objects.create(directory_name="thermal", name="Thermal")


@pytest.fixture
def script(group):
    return Script.objects.create(
        group=group,
        filename="heat_transfer.py",
        display_name="Heat transfer",
        display_name_it="Scambio termico",
        description="Conduction through a flat wall.",
        parameters=PARAMETERS,
    )


@pytest.fixture
def docs(group):
    folder = group.path / "docs"
    folder.mkdir()
    return folder


def tree(root):
    """Every path under root with its bytes (None for folders), to prove nothing changed."""
    return {
        path: None if path.is_dir() or path.is_symlink() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


# --- Rendering ---------------------------------------------------------------------


class Elements(HTMLParser):
    """The (tag, attributes) of every element in an HTML fragment, entities decoded."""

    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html):
    return Elements(html).found


def test_it_highlights_fenced_code_with_pygments():
    html = markdown_render("```python\ndef area(r):\n    return 3.14 * r ** 2\n```\n")
    assert '<div class="codehilite">' in html
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">area</span>' in html


def test_it_leaves_unlabelled_code_unguessed():
    html = markdown_render("```\nSELECT 1; def x\n```\n")
    assert '<div class="codehilite"><pre>' in html
    assert 'class="k"' not in html
    assert "SELECT 1; def x" in html


def test_it_renders_tables_with_alignment():
    html = markdown_render("| Name | Value |\n|:--|--:|\n| k | 0.5 |\n")
    assert "<table>" in html and "<thead>" in html and "<tbody>" in html
    assert '<th align="left">Name</th>' in html
    assert '<td align="right">0.5</td>' in html


def test_it_gives_headings_toc_anchors_without_permalinks():
    html = markdown_render("# Heat transfer\n\n## Limits and assumptions\n\n[TOC]\n")
    assert '<h1 id="heat-transfer">Heat transfer</h1>' in html
    assert '<h2 id="limits-and-assumptions">' in html
    assert '<a href="#limits-and-assumptions" rel="noopener noreferrer">' in html
    assert "headerlink" not in html and "¶" not in html


def test_it_keeps_math_exactly_as_written():
    html = markdown_render(
        "Inline $a_b * c_d$ and \\(x_1 * y_2\\), inline display $$E_k * m_0$$.\n\n"
        "$$\n\\frac{q_x * L}{k_w} < \\Delta T_{max}\n$$\n\n"
        "\\[\n\\sum_{i=0}^{n} a_i * b_i\n\\]\n"
    )
    assert "<em>" not in html and "<strong>" not in html
    assert '<span class="arithmatex">\\(a_b * c_d\\)</span>' in html
    assert '<span class="arithmatex">\\(x_1 * y_2\\)</span>' in html
    assert '<span class="arithmatex">\\[E_k * m_0\\]</span>' in html
    assert "\\frac{q_x * L}{k_w} &lt; \\Delta T_{max}" in html
    assert "\\sum_{i=0}^{n} a_i * b_i" in html
    assert html.count('<div class="arithmatex">') == 2


def test_it_leaves_dollars_in_code_alone():
    html = markdown_render("Run `echo $HOME_DIR` then\n\n```\ncost = $a_b$\n```\n")
    assert "<code>echo $HOME_DIR</code>" in html
    assert "cost = $a_b$" in html
    assert "arithmatex" not in html


def test_prices_in_prose_cannot_pair_into_a_formula():
    html = markdown_render("A pump costs $5 and a valve $10.")
    assert "arithmatex" not in html
    # Each dollar alone in its own element: KaTeX's `$...$` finds no pair.
    assert "costs <span>$</span>5 and a valve <span>$</span>10." in html


def test_it_adds_noopener_to_links_and_keeps_safe_urls():
    html = markdown_render(
        '[site](https://sidel.com/a?b=1 "Sidel") [mail](mailto:eng@sidel.com) '
        "[page](other.md) [top](#purpose) [fig](#fig:1) [query](calc.md?at=12:30) "
        "![plot](img/plot.png) ![logo](http://x.org/l.png) ![mail](mailto:x@y.org)"
    )
    found = elements(html)
    links = [attrs for tag, attrs in found if tag == "a"]
    assert [a["href"] for a in links] == [
        "https://sidel.com/a?b=1",
        "mailto:eng@sidel.com",
        "other.md",
        "#purpose",
        "#fig:1",
        "calc.md?at=12:30",
    ]
    assert all(a["rel"] == "noopener noreferrer" for a in links)
    assert links[0]["title"] == "Sidel"
    # With no docs folder to serve them from, images are their alt text
    # (catalog/tests/test_doc_images.py: served local ones, never remote ones).
    assert [tag for tag, attrs in found if tag == "img"] == []
    assert "plot logo mail" in html


def test_it_returns_a_safe_string_and_nothing_for_nothing():
    assert isinstance(markdown_render("*x*"), SafeString)
    assert markdown_render("") == ""


def test_it_drops_borrowed_classes_and_styles():
    html = markdown_render(
        '<div class="position-fixed top-0 w-100 h-100 bg-body">Log in again</div>\n\n'
        '<span class="k btn btn-danger" style="color:red">x</span> '
        '<p style="display:none" class="codehilite">y</p>'
    )
    assert "position-fixed" not in html and "btn" not in html
    assert "style" not in html
    assert "class" not in html
    assert "Log in again" in html


XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" ONERROR="alert(1)">',
    "<img src=javascript:alert(1)>",
    '<img src="jav&#x09;ascript:alert(1)">',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "<svg onload=alert(1)><circle r=5 /></svg>",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<iframe src=https://evil.example></iframe>",
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>x</details>",
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>',
    '<a href="java&#13;script:alert(1)">x</a>',
    '<a href=" &#14; javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="#" onclick="alert(1)">x</a>',
    '<a href="https://ok.example" onmouseover="alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "![x](javascript:alert(1))",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "<javascript:alert(1)>",
    '[x](https://ok.example "a" onmouseover="alert(1)")',
    "<style>body{display:none}</style>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<!--><script>alert(1)</script>-->",
    "<textarea><script>alert(1)</script></textarea>",
    '<div class="arithmatex" onclick="alert(1)">\\(x\\)</div>',
    "$<img src=x onerror=alert(1)>$",
    "$$\n</div><script>alert(1)</script>\n$$",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "<h2 id=x onmouseover=alert(1)>t</h2>",
]
DANGEROUS_TAGS = (
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "input",
    "button",
    "svg",
    "math",
    "link",
    "meta",
    "base",
    "textarea",
    "noscript",
    "details",
    "body",
)


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_it_neutralises_xss(vector):
    html = markdown_render(f"Before\n\n{vector}\n\nAfter {vector}")
    lowered = html.lower()
    for tag in DANGEROUS_TAGS:
        assert f"<{tag}" not in lowered
    for tag, attrs in elements(html):
        assert tag not in DANGEROUS_TAGS
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style"
            if name in ("href", "src"):
                squeezed = re.sub(r"[\x00-\x20\s]+", "", value or "").lower()
                assert not squeezed.startswith(("javascript:", "data:", "vbscript:")), value
    # Inside any real tag (text is escaped, so `<` only opens tags), no event handler.
    for inside in re.findall(r"<[a-z][^>]*>", re.sub(r'"[^"]*"', '""', lowered)):
        assert re.search(r"[\s/]on\w+\s*=", inside) is None, inside


# --- Paths --------------------------------------------------------------------------


def test_doc_relpath_follows_doc_paths_then_the_convention(script):
    script.doc_paths = {"en": "docs/heat.md", "es": "docs\\calor.md"}
    assert doc_relpath(script, "en") == "docs/heat.md"
    assert doc_relpath(script, "es") == "docs/calor.md"
    assert doc_relpath(script, "it") == "docs/heat_transfer_it.md"
    script.doc_paths = {}
    assert doc_relpath(script, "en") == "docs/heat_transfer.md"
    assert doc_relpath(script, "fr") == "docs/heat_transfer_fr.md"


def test_it_refuses_an_unknown_language(script):
    with pytest.raises(ValueError, match="de"):
        doc_relpath(script, "de")
    with pytest.raises(ValueError):
        doc_read(script, "../en")


def test_doc_file_is_absolute_and_inside_docs(script, group):
    script.doc_paths = {"en": "docs/sub/../heat.md"}
    with pytest.raises(DocPathError):
        doc_file(script, "en")
    script.doc_paths = {"en": "docs/sub/heat.md"}
    path = doc_file(script, "en")
    assert path.is_absolute()
    assert path == (group.path / "docs" / "sub" / "heat.md").resolve()


ESCAPES = [
    "../heat.md",
    "docs/../../heat.md",
    "docs/../heat_transfer.py",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "docs\\..\\..\\heat.md",
    "README.md",
    "docs",
    "docs/",
    "./docs/./../x.md",
]


@pytest.mark.parametrize("relpath", ESCAPES)
def test_it_refuses_paths_outside_docs_and_writes_nothing(script, docs, tmp_path, relpath):
    script.doc_paths = {"en": relpath}
    before = tree(tmp_path)
    with pytest.raises(DocPathError) as caught:
        doc_file(script, "en")
    assert relpath.replace("\\", "/").rstrip("/") in str(caught.value).replace("\\\\", "/")
    with pytest.raises(DocPathError):
        doc_write(script, "en", "# pwned\n")
    with pytest.raises(DocPathError):
        doc_read(script, "en")
    assert tree(tmp_path) == before


def test_it_refuses_an_absolute_path_even_into_docs(script, docs):
    script.doc_paths = {"en": str(docs / "heat.md")}
    with pytest.raises(DocPathError, match=re.escape(str(docs / "heat.md"))):
        doc_write(script, "en", "x")
    assert list(docs.iterdir()) == []


def test_it_refuses_a_symlink_in_docs_leading_out(script, docs, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("keep me")
    (docs / "heat_transfer.md").symlink_to(outside)
    before = tree(tmp_path)
    with pytest.raises(DocPathError, match="docs/heat_transfer.md"):
        doc_write(script, "en", "# overwritten\n")
    with pytest.raises(DocPathError):
        doc_read(script, "en")
    assert tree(tmp_path) == before
    assert outside.read_text() == "keep me"


def test_it_refuses_a_docs_folder_that_is_a_symlink_leading_out(script, group, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (group.path / "docs").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(DocPathError):
        doc_write(script, "en", "# x\n")
    assert list(elsewhere.iterdir()) == []


def test_it_follows_a_symlink_that_stays_inside_docs(script, docs):
    (docs / "shared.md").write_text("# Shared\n")
    (docs / "heat_transfer.md").symlink_to("shared.md")
    assert doc_read(script, "en") == ("# Shared\n", "en")
    doc_write(script, "en", "# Updated\n")
    assert (docs / "heat_transfer.md").is_symlink()
    assert (docs / "shared.md").read_text() == "# Updated\n"


# --- Reading --------------------------------------------------------------------------


def test_it_reads_the_requested_language(script, docs):
    (docs / "heat_transfer.md").write_text("# Heat\n")
    (docs / "heat_transfer_es.md").write_text("# Calor\n")
    assert doc_read(script, "es") == ("# Calor\n", "es")
    assert doc_read(script, "en") == ("# Heat\n", "en")


def test_it_reads_the_files_named_in_doc_paths(script, docs):
    script.doc_paths = {"es": "docs/calor.md"}
    (docs / "calor.md").write_text("# Calor\n")
    assert doc_read(script, "es") == ("# Calor\n", "es")


def test_it_falls_back_to_english(script, docs):
    (docs / "heat_transfer.md").write_text("# Heat\n")
    assert doc_read(script, "fr") == ("# Heat\n", "en")


def test_a_missing_doc_reads_as_none(script, group):
    assert doc_read(script, "it") == (None, None)
    assert doc_read(script, "en") == (None, None)
    assert not (group.path / "docs").exists()


def test_invalid_utf8_is_read_with_replacement_characters(script, docs):
    (docs / "heat_transfer.md").write_bytes(b"\xef\xbb\xbf# Caf\xe9\r\nline\rend\xff\n")
    text, language = doc_read(script, "en")
    assert language == "en"
    assert text == "# Caf\ufffd\nline\nend\ufffd\n"


# --- Writing ----------------------------------------------------------------------------


def test_it_writes_exactly_creating_docs_and_leaving_no_temporary_file(script, group):
    text = "# Scambio termico\n\nÈ $q = -k \\nabla T$.\n"
    path = doc_write(script, "it", text)
    assert path == (group.path / "docs" / "heat_transfer_it.md").resolve()
    assert path.read_bytes() == text.encode("utf-8")
    assert os.listdir(path.parent) == ["heat_transfer_it.md"]
    assert doc_read(script, "it") == (text, "it")


def test_it_normalises_line_endings(script):
    path = doc_write(script, "en", "a\r\nb\rc\n")
    assert path.read_bytes() == b"a\nb\nc\n"


def test_a_new_file_is_readable_like_any_other_new_file(script, docs):
    previous = os.umask(0o022)
    try:
        path = doc_write(script, "en", "# x\n")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644


def test_under_the_managers_private_umask_a_new_doc_is_shared_like_its_folder(script, group):
    # The manager runs with umask 077 (its data is private), but a group folder
    # belongs to the people who maintain it: what the editor saves stays theirs.
    group.path.chmod(0o2775)
    previous = os.umask(0o077)
    try:
        script.doc_paths = {"fr": "docs/fr/chaleur.md"}
        path = doc_write(script, "fr", "# x\n")
    finally:
        os.umask(previous)
    assert (group.path / "docs").stat().st_mode & 0o7777 == 0o2775
    assert path.parent.stat().st_mode & 0o7777 == 0o2775
    assert path.stat().st_mode & 0o777 == 0o664


def test_it_overwrites_and_keeps_the_file_mode(script, docs):
    target = docs / "heat_transfer.md"
    target.write_text("old")
    target.chmod(0o640)
    doc_write(script, "en", "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_it_creates_sub_folders_of_docs(script, group):
    script.doc_paths = {"fr": "docs/fr/chaleur.md"}
    path = doc_write(script, "fr", "# Chaleur\n")
    assert path == (group.path / "docs" / "fr" / "chaleur.md").resolve()
    assert path.read_text() == "# Chaleur\n"


def test_it_refuses_text_over_one_megabyte_and_writes_nothing(script, docs):
    doc_write(script, "en", "x" * MAX_DOC_BYTES)
    assert (docs / "heat_transfer.md").stat().st_size == MAX_DOC_BYTES
    with pytest.raises(ValueError, match="1 MB"):
        doc_write(script, "en", "y" * (MAX_DOC_BYTES + 1))
    # Counted in UTF-8 bytes, not characters.
    with pytest.raises(ValueError, match="1 MB"):
        doc_write(script, "es", "é" * (MAX_DOC_BYTES // 2 + 1))
    assert os.listdir(docs) == ["heat_transfer.md"]
    assert (docs / "heat_transfer.md").read_bytes() == b"x" * MAX_DOC_BYTES


def test_a_failed_write_leaves_no_temporary_file(script, docs):
    # A folder where the file should be: os.replace fails after the temporary is written.
    (docs / "heat_transfer.md").mkdir()
    with pytest.raises(OSError):
        doc_write(script, "en", "# x\n")
    assert os.listdir(docs) == ["heat_transfer.md"]
    assert (docs / "heat_transfer.md").is_dir()


def test_it_will_not_create_a_missing_group_folder(db, groups_dir):
    group = ScriptGroup.objects.create(directory_name="gone", name="Gone")
    script = Script.objects.create(group=group, filename="x.py", display_name="X")
    with pytest.raises(FileNotFoundError):
        doc_write(script, "en", "# x\n")
    assert not (groups_dir / "gone").exists()


def test_concurrent_writers_never_leave_a_torn_file(script, docs):
    versions = [
        f"# Version {n}\n\n" + (chr(ord("a") + n) * 80 + "\n") * 4000 + f"end {n}\n"
        for n in range(6)
    ]
    doc_write(script, "en", versions[0])
    script.group  # noqa: B018 - load the group here: the threads must not query the database
    done = threading.Event()
    seen: set[str] = set()

    def writer(n):
        for _ in range(15):
            doc_write(script, "en", versions[n])

    def reader():
        reads = 0
        while not done.is_set() or reads < 50:
            text, language = doc_read(script, "en")
            assert language == "en"
            assert text in versions, f"torn read of {len(text or '')} characters"
            seen.add(text)
            reads += 1
        return reads

    with ThreadPoolExecutor(max_workers=8) as pool:
        readers = [pool.submit(reader) for _ in range(2)]
        writers = [pool.submit(writer, n) for n in range(6)]
        for future in writers:
            future.result()
        done.set()
        assert all(future.result() >= 50 for future in readers)
    assert len(seen) > 1
    assert os.listdir(docs) == ["heat_transfer.md"]
    assert (docs / "heat_transfer.md").read_text() in versions


# --- Template ------------------------------------------------------------------------------


def test_the_italian_template_names_the_parameters(script):
    text = doc_template(script, "it")
    assert text.startswith("# Scambio termico\n")
    for heading in ("## Parametri", "## Scopo", "## Metodo", "## Esempio", "## Limiti e ipotesi"):
        assert f"\n{heading}\n" in text
    assert "| Nome | Tipo | Obbligatorio | Predefinito | Descrizione |" in text
    assert "| `wall_thickness` | `float` | sì | `0.02` | Spessore della parete in m |" in text
    # No Italian description: the English one, its pipe escaped for the table.
    assert "| `material` | `select` | no | `steel` | Material \\| alloy of the wall |" in text
    assert "| `api_key` | `password` | no | (nascosto) |  |" in text
    assert "s3" not in text


def test_the_template_renders_as_a_table(script):
    html = markdown_render(doc_template(script, "en"))
    assert '<h1 id="heat-transfer">Heat transfer</h1>' in html
    assert "<p>Conduction through a flat wall.</p>" in html
    assert html.count("<tr>") == 4
    assert "<code>wall_thickness</code>" in html and "<code>material</code>" in html
    for heading in ("Parameters", "Purpose", "Method", "Example", "Limits and assumptions"):
        assert f">{heading}</h2>" in html


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "## Purpose"), ("es", "## Objetivo"), ("it", "## Scopo"), ("fr", "## Objectif")],
)
def test_the_template_speaks_each_language(group, language, heading):
    script = Script.objects.create(group=group, filename="bare.py", display_name="Bare")
    text = doc_template(script, language)
    assert text.startswith("# Bare\n")
    assert f"\n{heading}\n" in text
    assert "|" not in text


# --- In the browser ----------------------------------------------------------------------------


def doc_page(tmp_path, theme, body):
    """A page holding `body` in .sm-doc with the real static files, as a file:// URL."""
    static = (Path(django_settings.BASE_DIR) / "static").as_uri()
    page = tmp_path / f"doc-{theme}.html"
    page.write_text(
        f"""<!doctype html><html data-bs-theme="{theme}"><head><meta charset="utf-8">
<link rel="stylesheet" href="{static}/vendor/bootstrap/css/bootstrap.min.css">
<link rel="stylesheet" href="{static}/vendor/katex/katex.min.css">
<link rel="stylesheet" href="{static}/css/docs.css"></head>
<body><div class="sm-doc" id="doc">{body}</div><div class="sm-doc" id="preview"></div>
<script src="{static}/vendor/katex/katex.min.js"></script>
<script src="{static}/vendor/katex/contrib/auto-render.min.js"></script>
<script src="{static}/js/docs.js"></script></body></html>""",
        encoding="utf-8",
    )
    return page.as_uri()


@pytest.mark.parametrize(
    ("theme", "code_background"), [("light", "rgb(248, 248, 248)"), ("dark", "rgb(39, 40, 34)")]
)
def test_katex_typesets_the_rendered_math_in_both_themes(page, tmp_path, theme, code_background):
    body = markdown_render(
        "Flux $q_x = -k \\frac{dT}{dx}$ costs $5 and $10.\n\n"
        '$$\n\\sum_{i=0}^{n} a_i * b_i\n$$\n\n```python\nx = "$a_b$"\n```\n'
    )
    problems = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(doc_page(tmp_path, theme, body))
    page.wait_for_function("document.querySelectorAll('#doc .katex').length === 2")
    assert page.locator("#doc .katex-display").count() == 1
    assert "costs $5 and $10." in page.locator("#doc p").first.inner_text()
    # Code is never typeset, and keeps the Pygments colours of the theme.
    assert page.locator("#doc .codehilite .katex").count() == 0
    background = page.evaluate(
        "getComputedStyle(document.querySelector('#doc .codehilite')).backgroundColor"
    )
    assert background == code_background

    preview = markdown_render("Now $E_k = m v^2 / 2$.")
    page.evaluate(
        """html => {
            const el = document.getElementById("preview");
            el.innerHTML = html;
            window.smRenderMath(el);
        }""",
        str(preview),
    )
    assert page.locator("#preview .katex").count() == 1
    assert page.locator("#doc .katex").count() == 2
    assert problems == []
