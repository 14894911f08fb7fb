"""Shared fixtures for research sources: a private cache home and PDFs made
by real PDF writers (fpdf2, matplotlib, Chromium's print-to-PDF)."""
from __future__ import annotations

import shutil
import subprocess

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test gets caches under a temporary folder, never ~/.cache.
    One folder per session, so the stdlib sample is rendered once."""
    home = tmp_path_factory.getbasetemp() / "deeploop-cache"
    monkeypatch.setenv("DEEPLOOP_CACHE", str(home))
    return home


def fpdf_pages(pages: list[str], *, user_password: str | None = None,
               encryption: str = "AES_128") -> bytes:
    """A PDF written by fpdf2 with one page per text ('' gives a page with
    a drawn box and no text); optionally encrypted."""
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(w=120, text=text)
        else:
            pdf.rect(20, 20, 50, 50, style="F")
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password,
                           encryption_method=EncryptionMethod[encryption])
    return bytes(pdf.output())


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def chromium_print(html_path, pdf_path, timeout: float = 180.0) -> None:
    """Print a local HTML file to PDF with headless Chromium (bounded wait)."""
    browser = chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (make test installs Debian's chromium as root)")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
                    f"--user-data-dir={pdf_path.parent / 'chromium-profile'}",
                    f"--print-to-pdf={pdf_path}", html_path.as_uri()],
                   capture_output=True, timeout=timeout, check=True)


@pytest.fixture
def pdf_tools():
    """The PDF writers, as a namespace for tests."""
    class Tools:
        pass
    tools = Tools()
    tools.fpdf_pages = fpdf_pages
    return tools
