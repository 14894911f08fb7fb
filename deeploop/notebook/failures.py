"""Why a notebook stopped early, as one line a person understands.

papermill raises ``PapermillExecutionError`` when a cell raises, nbclient
raises ``CellTimeoutError`` when a cell outlives the time limit and
``DeadKernelError`` when the kernel process dies. We turn each into a
``SessionFailed`` subclass that names the cell (its position, tag and first
line), what happened, and where the partial notebook was kept.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import RunFailed

# Tags papermill itself puts on cells; they say nothing about the cell's job.
_PAPERMILL_TAGS = {"parameters", "injected-parameters", "papermill-error-cell-tag"}
# Cells papermill adds to the executed notebook; positions skip them so
# "cell 3 of 5" means the third cell of the notebook the user wrote.
_ADDED_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


class SessionFailed(RunFailed):
    """A notebook stopped before its end; the partial notebook is kept.

    Fields: ``output`` (the partial notebook), ``cell_index`` (0-based
    position in it, or None), ``state`` (the session status it leads to).
    """

    state = "failed"


class CellFailed(SessionFailed):
    """A cell raised an exception."""


class CellTimedOut(SessionFailed):
    state = "timed_out"


class KernelDied(SessionFailed):
    state = "kernel_died"


def explain(exc: BaseException, output: Path, timeout: int | None) -> SessionFailed | None:
    """The SessionFailed for a known execution failure, or None for anything else."""
    nb = _read_partial(output)
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        # exc.cell_index predates the marker cells papermill then inserted
        index = failed_cell(nb)
        evalue = (str(exc.evalue).strip().splitlines() or [""])[0][:200]
        what = f"{exc.ename}: {evalue}" if evalue else exc.ename
        return CellFailed(f"{describe_cell(nb, index)} raised {what}; partial notebook: {output}",
                          output=str(output), cell_index=source_index(nb, index),
                          ename=exc.ename, evalue=evalue)
    if name == "CellTimeoutError":
        index = last_started_cell(nb)
        return CellTimedOut(f"{describe_cell(nb, index)} timed out after {timeout} s; "
                            f"partial notebook: {output}",
                            output=str(output), cell_index=source_index(nb, index),
                            timeout=timeout)
    if name == "DeadKernelError":
        index = last_started_cell(nb)
        return KernelDied(f"the kernel died while running {describe_cell(nb, index)}; "
                          f"partial notebook: {output}", output=str(output),
                          cell_index=source_index(nb, index))
    return None


def describe_cell(nb, index: int | None) -> str:
    """E.g. ``cell 4 of 6 [explode] `raise ValueError("boom")```, counting
    the cells of the source notebook (1-based), not those papermill added."""
    position = source_index(nb, index)
    if position is None:
        return "a cell"
    cell = nb.cells[index]
    text = f"cell {position + 1} of {len(_source_positions(nb))}"
    tags = [t for t in cell.get("metadata", {}).get("tags", []) if t not in _PAPERMILL_TAGS]
    if tags:
        text += f" [{', '.join(tags)}]"
    line = first_line(cell.source)
    return f"{text} `{line}`" if line else text


def first_line(source) -> str:
    source = source if isinstance(source, str) else "".join(source)
    for line in source.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line if len(line) <= 60 else line[:57] + "..."
    return ""


def source_index(nb, index: int | None) -> int | None:
    """0-based position of executed-notebook cell ``index`` in the source notebook."""
    if nb is None or index is None:
        return None
    positions = _source_positions(nb)
    return positions.index(index) if index in positions else None


def _source_positions(nb) -> list[int]:
    return [i for i, cell in enumerate(nb.cells)
            if not _ADDED_TAGS & set(cell.get("metadata", {}).get("tags", []))]


def failed_cell(nb) -> int | None:
    """The first cell with an error output or papermill's exception mark."""
    if nb is None:
        return None
    for i, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])) \
                or (cell.get("metadata", {}).get("papermill") or {}).get("exception"):
            return i
    return None


def last_started_cell(nb) -> int | None:
    """The cell running when execution stopped: the last one papermill started.

    papermill stamps ``start_time`` when a cell starts; cells after the one
    that hung or killed the kernel were never started.
    """
    if nb is None:
        return None
    started = [i for i, cell in enumerate(nb.cells)
               if (cell.get("metadata", {}).get("papermill") or {}).get("start_time")]
    return started[-1] if started else None


def _read_partial(output: Path):
    import nbformat
    try:
        return nbformat.read(str(output), as_version=4)
    except (OSError, ValueError):
        return None  # papermill never got to write it: describe the cell less precisely
