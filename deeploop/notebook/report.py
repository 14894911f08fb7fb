"""Executed reports: a template notebook run against a run folder or a results file.

``build_report`` passes the subject to the template as a parameter —
``run_dir`` (a run folder) or ``results`` (an autoresearch results.tsv),
both absolute paths — executes it with papermill on a private kernel, and
writes ``report.ipynb`` (executed, code kept) and ``report.html``
(self-contained: code hidden, images embedded, no network links).

A template is any notebook whose parameters cell declares the parameter for
its subject: ``run_dir: str = ""`` and/or ``results: str = ""``. The one not
used is passed as ``""``, so a template may default either to an example.
The built-in template is ``notebooks/report.ipynb`` (the package's
``templates/report.ipynb`` is a symbolic link to it).

The report is derived from the run's files, so it may be rebuilt at will,
but a failed rebuild never replaces a good one: the template runs into
``report.partial.ipynb``, which becomes ``report.ipynb`` on success and
``report.failed.ipynb`` (the partial notebook, kept) on failure.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, NotFound
from ..runs import resolve_run
from .failures import SessionFailed
from .html import export_html
from .kernel import check_kernel
from .parameters import load_notebook, read_parameters, validate
from .session import check_timeout, execute_notebook

TEMPLATE = Path(__file__).with_name("templates") / "report.ipynb"
REPORT_NOTEBOOK = "report.ipynb"
REPORT_HTML = "report.html"
DEFAULT_TIMEOUT = 300  # seconds per cell: an unattended report never hangs forever
SUBJECTS = ("run_dir", "results")


@dataclass
class Report:
    notebook: Path
    html: Path
    subject: Path
    seconds: float


def build_report(source, out_dir=None, *, template=None, results: bool | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT, progress: bool = False,
                 kernel_name: str | None = None) -> Report:
    """Execute the report template for ``source`` and write it into ``out_dir``.

    ``source`` is a run folder (or a run id under the runs root), or a
    results file; ``results`` forces the reading (default: a folder is a
    run, a file is results). ``out_dir`` defaults to the run folder; results
    need one.
    """
    clock = time.monotonic()
    param, subject = classify(source, results)
    out = _out_dir(out_dir, param, subject)
    template = Path(template) if template else TEMPLATE
    nb = load_notebook(template)
    declared = read_parameters(nb)
    given = {name: "" for name in SUBJECTS if name in declared}  # the other one's example off
    given[param] = str(subject)
    parameters = validate(declared, given, where=f"report template {template}")
    kernel = check_kernel(nb, kernel_name)
    timeout = check_timeout(timeout)
    out.mkdir(parents=True, exist_ok=True)  # only once every check has passed
    notebook = _execute(template, out, parameters, kernel, timeout, progress)
    html = export_html(notebook, out / REPORT_HTML, hide_code=True, title=f"Report: {subject.name}")
    return Report(notebook, html, subject, round(time.monotonic() - clock, 3))


def classify(source, results: bool | None = None) -> tuple[str, Path]:
    """("run_dir" | "results", absolute path), or a one-line error."""
    path = Path(source).expanduser()
    if results or (results is None and path.is_file()):
        check_results_file(path)
        return "results", path.resolve()
    return "run_dir", resolve_run(str(source)).resolve()


def check_results_file(path: Path) -> None:
    if not path.exists():
        raise NotFound(f"results file not found: {path}", path=str(path))
    if not path.is_file():
        raise InputError(f"results must be a file, not a folder: {path}", path=str(path))
    from ..experiment.results import read_header, read_results
    if "val_bpb" not in read_header(path):
        raise InputError(f"not an autoresearch results file (no tab-separated val_bpb "
                         f"column in its header): {path}", path=str(path))
    read_results(path)  # the reader every command uses: other problems are one line too


def _out_dir(out_dir, param: str, subject: Path) -> Path:
    if out_dir is None:
        if param == "results":
            raise InputError("a report on a results file needs an output folder (--out DIR)")
        out = subject
    else:
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise InputError(f"output must be a folder, not a file: {out}", path=str(out))
    return out


def _execute(template: Path, out: Path, parameters: dict, kernel: str,
             timeout: int | None, progress: bool) -> Path:
    partial = out / "report.partial.ipynb"
    try:
        execute_notebook(template, partial, parameters, kernel=kernel, timeout=timeout,
                         progress=progress)
    except SessionFailed as exc:
        failed = out / "report.failed.ipynb"
        os.replace(partial, failed)
        raise type(exc)(f"report template {template.name}: "
                        f"{str(exc).replace(str(partial), str(failed))}",
                        **{**exc.fields, "output": str(failed)}) from None
    final = out / REPORT_NOTEBOOK
    os.replace(partial, final)
    return final
