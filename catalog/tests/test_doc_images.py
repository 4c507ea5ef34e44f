"""Images in script documentation: only files of the group's own docs/ folder,
served by the manager; a remote image (a tracking pixel every viewer's browser
would request) is never put in the page, only its alt text."""

import json
import struct
import zlib
from html.parser import HTMLParser

import pytest
from django.test import Client

from catalog.discovery import discovery_run
from catalog.models import Script, ScriptGroup


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x00\x3d\xa5" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs).get("src"))


def image_sources(html: str) -> list[str | None]:
    parser = _Images()
    parser.feed(html)
    return parser.sources


@pytest.fixture
def script(tree, personas, tmp_path):
    group = tree.group("lab")
    tree.script("lab", "calc.py", "@description: Calc\n")
    (group / "docs" / "img").mkdir(parents=True)
    (group / "docs" / "img" / "plot.png").write_bytes(png_bytes())
    discovery_run()
    return Script.objects.get()


def doc_saved(client, script, markdown: str, language: str = "en") -> dict:
    response = client.put(
        f"/api/scripts/{script.pk}/description-long",
        json.dumps({"markdown": markdown, "language": language}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_a_remote_tracking_pixel_is_shown_as_its_alt_text_and_never_requested(script, client_for):
    client = client_for("dev_dora")
    doc = doc_saved(
        client,
        script,
        "# Notes\n\n![pixel](https://tracker.example/p.gif?u=42) "
        "![proto](//tracker.example/q.gif)\n\n"
        '<img src="https://tracker.example/r.gif" alt="raw"> '
        '<img src="HTTP://TRACKER.example/s.gif">\n\n'
        "![root](/static/images/SIDEL.png)\n",
    )
    html = client_for("vic_viewer").get(f"/api/scripts/{script.pk}/description-long").json()["html"]
    assert "tracker.example" not in html.lower()
    assert image_sources(html) == []
    assert "pixel" in html and "raw" in html and "root" in html
    assert doc["html"] == html


def test_a_local_image_is_rendered_and_served_as_an_image(script, client_for):
    doc_saved(client_for("dev_dora"), script, "![plot](img/plot.png)\n")
    viewer = client_for("vic_viewer")
    html = viewer.get(f"/api/scripts/{script.pk}/description-long").json()["html"]
    (source,) = image_sources(html)
    assert source == f"/groups/{script.group_id}/docs/img/plot.png"
    response = viewer.get(source)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == png_bytes()


def test_a_doc_in_a_sub_folder_finds_images_relative_to_itself(script, client_for):
    script.doc_paths = {"fr": "docs/fr/calc.md"}
    script.save()
    doc = doc_saved(client_for("dev_dora"), script, "![courbe](../img/plot.png)\n", "fr")
    assert image_sources(doc["html"]) == [f"/groups/{script.group_id}/docs/img/plot.png"]


def test_the_preview_resolves_images_like_the_saved_doc(script, client_for):
    response = client_for("dev_dora").post(
        f"/api/scripts/{script.pk}/description-long/preview",
        json.dumps({"markdown": "![plot](img/plot.png) ![x](https://tracker.example/p)"}),
        content_type="application/json",
    )
    assert image_sources(response.json()["html"]) == [
        f"/groups/{script.group_id}/docs/img/plot.png"
    ]


@pytest.mark.parametrize(
    "path",
    [
        "../calc.py",
        "img/../../calc.py",
        "%2e%2e/calc.py",
        "img/%2e%2e/%2e%2e/calc.py",
        "..%2fcalc.py",
        "outside.png",  # a symlink out of docs/
        "img/drawing.svg",  # SVG can carry script
        "img/page.html",
        "img/missing.png",
        "img",
    ],
)
def test_anything_but_an_image_file_inside_docs_is_refused(script, client_for, tmp_path, path):
    group = script.group.path
    (group / "docs" / "img" / "drawing.svg").write_text('<svg onload="alert(1)"/>')
    (group / "docs" / "img" / "page.html").write_text("<script>alert(1)</script>")
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes())
    (group / "docs" / "outside.png").symlink_to(secret)
    response = client_for("dev_dora").get(f"/groups/{script.group_id}/docs/{path}")
    assert response.status_code == 404
    assert b"alert" not in response.content and b"import" not in response.content


def test_a_refused_image_renders_as_its_alt_text(script, client_for, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes())
    (script.group.path / "docs" / "outside.png").symlink_to(secret)
    (script.group.path / "docs" / "img" / "drawing.svg").write_text("<svg/>")
    doc = doc_saved(
        client_for("dev_dora"),
        script,
        "![out](outside.png) ![up](../calc.py) ![svg](img/drawing.svg) ![gone](img/no.png)",
    )
    assert image_sources(doc["html"]) == []
    assert all(alt in doc["html"] for alt in ("out", "up", "svg", "gone"))


def test_images_of_a_group_one_may_not_see_are_not_served(tree, script, client_for):
    hidden = tree.group("secret", {"required_level": "admin"})
    (hidden / "docs").mkdir()
    (hidden / "docs" / "chart.png").write_bytes(png_bytes())
    tree.script("secret", "s.py", "@description: S\n")
    discovery_run()
    group = ScriptGroup.objects.get(directory_name="secret")
    assert client_for("op_otto").get(f"/groups/{group.pk}/docs/chart.png").status_code == 404
    assert client_for("ada_admin").get(f"/groups/{group.pk}/docs/chart.png").status_code == 200
    anonymous = Client().get(f"/groups/{group.pk}/docs/chart.png")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
