"""Benchmark for PDF text: pypdfium2 (what the package uses) against pypdf.

Both read the same PDFs, written by real writers: a 40-odd-page document
printed by headless Chromium (serif text, placed glyph by glyph), a
matplotlib page (kerned ``TJ`` arrays) and an fpdf2 file encrypted with AES
and an empty user password. For each reader it prints the CPU seconds to
read every page (best of 3), and how many of the expected words each file
yields intact (a word broken by a stray space, 'CancelledErr or', is
missed). pypdf comes with ``pip install -e '.[bench]'``; without Chromium the
printed document is left out and the bench says so.

Usage: python bench/pdf_text.py
Output: grep-able ``key: value`` lines, one block per ``--- reader`` line.
"""
from __future__ import annotations

import io
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("task cancellation coroutine await raises CancelledError TaskGroup nursery scope "
         "deadline Typography WAVE Tokyo AVAWAY kerning glyph").split()


def chromium_document(folder: Path) -> tuple[bytes, list[str]] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    rng = random.Random(1)
    sections = [" ".join(rng.choice(WORDS) for _ in range(180)) for _ in range(120)]
    html = folder / "long.html"
    html.write_text("<!doctype html><meta charset=utf-8><body style='font-family:serif'>"
                    + "".join(f"<h2>Section {i}</h2><p>{text}</p>"
                              for i, text in enumerate(sections)))
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-pdf-header-footer",
                    f"--user-data-dir={folder / 'profile'}",
                    f"--print-to-pdf={folder / 'long.pdf'}", html.as_uri()],
                   capture_output=True, timeout=300, check=True)
    return (folder / "long.pdf").read_bytes(), " ".join(sections).split()


def matplotlib_page() -> tuple[bytes, list[str]]:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    lines = ["Task cancellation raises CancelledError inside the coroutine.",
             "Typography: AVAWAY WAVE Tokyo Type"]
    figure = Figure(figsize=(8.5, 11))
    for row, line in enumerate(lines):
        figure.text(0.05, 0.9 - 0.05 * row, line, fontsize=14)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="pdf")
    return buffer.getvalue(), " ".join(lines).split()


def encrypted_page() -> tuple[bytes, list[str]]:
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod
    text = "Encrypted notes: the TaskGroup raises CancelledError in every child task."
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(w=150, text=text)
    pdf.set_encryption(owner_password="owner", user_password="",
                       encryption_method=EncryptionMethod.AES_128)
    return bytes(pdf.output()), text.split()


def read_pdfium(data: bytes) -> list[str]:
    from deeploop.research.sources.pdf import pdf_pages
    return pdf_pages(data)


def read_pypdf(data: bytes) -> list[str]:
    import pypdf
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def intact(expected: list[str], pages: list[str]) -> float:
    """Share of the expected words found whole in the text, in order of need."""
    found = re.findall(r"[\w/.:]+", " ".join(pages))
    bag = {}
    for word in found:
        bag[word.strip(".:")] = bag.get(word.strip(".:"), 0) + 1
    hits = 0
    for word in expected:
        word = word.strip(".:")
        if bag.get(word, 0) > 0:
            bag[word] -= 1
            hits += 1
    return hits / len(expected)


def best_cpu(read, data: bytes, repeats: int = 3) -> tuple[list[str], float]:
    best, pages = float("inf"), []
    for _ in range(repeats):
        start = time.process_time()
        pages = read(data)
        best = min(best, time.process_time() - start)
    return pages, best


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="deeploop-pdf-bench-") as tmp:
        files = {"matplotlib_kerned": matplotlib_page(), "fpdf2_aes_empty_password":
                 encrypted_page()}
        printed = chromium_document(Path(tmp))
        if printed is None:
            print("skipped: chromium_printed (Chromium is not installed)")
        else:
            files["chromium_printed"] = printed
    readers = {"pypdfium2": read_pdfium, "pypdf": read_pypdf}
    for name, read in readers.items():
        print(f"--- reader: {name}")
        try:
            read(files["matplotlib_kerned"][0])
        except ImportError as exc:
            print(f"skipped: {exc.name} is not installed (pip install -e '.[bench]')")
            continue
        for label, (data, expected) in files.items():
            try:
                pages, cpu = best_cpu(read, data)
            except Exception as exc:  # a reader that cannot open the file scores zero
                print(f"{label}_error: {type(exc).__name__}: {exc}")
                continue
            print(f"{label}_pages: {len(pages)}")
            print(f"{label}_cpu_s: {cpu:.4f}")
            print(f"{label}_words_intact: {intact(expected, pages):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
