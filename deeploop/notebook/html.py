"""Executed notebook -> one self-contained HTML file.

nbconvert's JupyterLab page embeds matplotlib's PNG outputs as data URIs but
loads require.js, MathJax and mermaid from CDNs. Our ``offline`` template
(``templates/offline/``) drops those scripts, and ``embed_images`` inlines
images that markdown cells reference, so the file opens anywhere, offline,
and can be mailed as is.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import require
from ..fileio import atomic_write_text

TEMPLATES = Path(__file__).with_name("templates")


def export_html(notebook: Path, html_path: Path, *, hide_code: bool = True,
                title: str | None = None) -> Path:
    """Write ``notebook`` as HTML; code cells hidden unless ``hide_code`` is False."""
    nbformat = require("nbformat", "notebook")
    nbconvert = require("nbconvert", "notebook")
    nb = nbformat.read(str(notebook), as_version=4)
    if title:
        nb.metadata["title"] = title
    if hide_code:  # a cell that showed nothing (a section for another run kind) leaves no gap
        nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.get("outputs")]
    exporter = nbconvert.HTMLExporter(
        template_name="offline", extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=hide_code, exclude_input_prompt=hide_code,
        exclude_output_prompt=True, embed_images=True)
    resources = {"metadata": {"path": str(Path(notebook).parent), "name": Path(notebook).stem}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    atomic_write_text(html_path, body)
    return Path(html_path)
