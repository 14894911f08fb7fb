"""A widget shown under a display id, with a static HTML view that is always current.

A live widget renders only where a kernel holds its model. Everywhere else
(papermill output, nbconvert HTML, GitHub, a notebook reopened without its
kernel) a reader sees the output's other representations. So each widget
here is displayed through a ``LiveDisplay``: one output carrying the widget
view *and* an HTML/plain-text snapshot of what the widget shows. The
snapshot is refreshed as the view changes (``refresh``), and when the work
ends ``freeze`` replaces the output with the snapshot alone, so the saved
notebook shows the end state with no widget model and nothing to fetch.

Updates are sent with the header of the cell that displayed the widget, so
they reach that cell's output even when they come from a worker thread or
a button click while another cell runs (JupyterLab routes messages by
their parent; papermill only records the executing cell's).
"""
from __future__ import annotations

import uuid
from typing import Callable

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _kernel():
    """The ipykernel kernel running this code, or None (a script, a test)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


class LiveDisplay:
    """``LiveDisplay(widget, snapshot)``: ``snapshot()`` returns (html, text)."""

    def __init__(self, widget, snapshot: Callable[[], tuple[str, str]]):
        self.widget = widget
        self.snapshot = snapshot
        self.display_id = f"deeploop-{uuid.uuid4().hex}"
        self.parent: dict | None = None  # the displaying cell's request
        self.shown = False
        self.frozen = False

    def bundle(self, live: bool = True) -> dict:
        """The output's representations: the widget view (``live``), HTML and text."""
        html, text = self.snapshot()
        data = {"text/plain": text, "text/html": html}
        if live and not self.frozen:
            view = self.widget._repr_mimebundle_()
            view = view[0] if isinstance(view, tuple) else view
            if WIDGET_MIME in view:
                data[WIDGET_MIME] = view[WIDGET_MIME]
        return data

    def show(self) -> None:
        """Display the widget (in a kernel) under this object's display id."""
        from IPython.display import display
        display(self.bundle(), raw=True, display_id=self.display_id)
        kernel = _kernel()
        if kernel is not None:
            self.parent = kernel.get_parent()
        self.shown = True

    def refresh(self) -> None:
        """Bring the output's static view up to date (the widget view stays)."""
        if self.shown and not self.frozen:
            self._update(self.bundle())

    def freeze(self) -> None:
        """Replace the output by its static snapshot: the end state, for good."""
        if self.frozen:
            return
        self.frozen = True
        if self.shown:
            self._update(self.bundle(live=False))

    def echo(self) -> None:
        """Send the frozen view again as the cell running now (call it from the
        main thread): papermill records only the executing cell's messages, and
        updates the displaying cell's output from them (by display id)."""
        kernel = _kernel()
        if not (self.frozen and self.shown) or kernel is None:
            return
        current = kernel.get_parent()
        if current and current != self.parent:
            self._update(self.bundle(live=False), current)

    def _update(self, data: dict, parent: dict | None = None) -> None:
        kernel = _kernel()
        parent = parent or self.parent
        if kernel is None or not parent:
            from IPython.display import update_display
            update_display(data, raw=True, display_id=self.display_id)
            return
        content = {"data": data, "metadata": {}, "transient": {"display_id": self.display_id}}
        kernel.session.send(kernel.iopub_socket, "update_display_data", content,
                            parent=parent, ident=b"update_display_data")


class SnapshotReprs:
    """The reprs of a widget that keeps a static view of itself: ``snapshot()``
    gives (html, text) of what it shows now, and ``box`` is its ipywidgets
    container. Front ends with a live kernel get the widget; everything else
    (nbconvert, GitHub, a reopened notebook) gets the snapshot. Each time it
    is displayed its ``LiveDisplay`` joins ``_displays`` (the subclass sets
    the list), which ``_refresh_displays`` and ``_freeze`` bring up to date."""

    def _show(self, frozen: bool = False) -> None:
        """Display it under a new LiveDisplay; ``frozen`` (shown after the end):
        the snapshot alone."""
        display = LiveDisplay(self.box, self.snapshot)
        self._displays.append(display)
        display.frozen = frozen
        display.show()

    def _refresh_displays(self) -> None:
        for display in self._displays:
            display.refresh()

    def _freeze(self) -> None:
        for display in self._displays:
            display.freeze()

    def _repr_mimebundle_(self, **kwargs):
        html, text = self.snapshot()
        bundle = self.box._repr_mimebundle_(**kwargs)
        bundle = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        bundle.update({"text/html": html, "text/plain": text})
        return bundle

    def _repr_html_(self) -> str:
        return self.snapshot()[0]

    def __repr__(self) -> str:
        return self.snapshot()[1]
