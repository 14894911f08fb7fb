"""LiveDisplay: a widget shown with a static view that is kept current and,
at the end, replaces the widget; updates go to the cell that displayed it."""
from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

import ipywidgets as widgets  # noqa: E402

from deeploop.notebook import live  # noqa: E402
from deeploop.notebook.live import WIDGET_MIME, LiveDisplay  # noqa: E402


class FakeKernel:
    def __init__(self):
        self.sent, self.parent = [], {"header": {"msg_id": "cell-1"}}
        self.session, self.iopub_socket = self, object()

    def get_parent(self):
        return self.parent

    def send(self, socket, kind, content, parent=None, ident=None):
        self.sent.append((kind, content, parent))


@pytest.fixture
def kernel(monkeypatch):
    fake = FakeKernel()
    monkeypatch.setattr(live, "_kernel", lambda: fake)
    shown = []
    monkeypatch.setattr("IPython.display.display",
                        lambda data, raw, display_id: shown.append((data, display_id)))
    fake.shown = shown
    return fake


def test_shows_the_widget_with_its_current_view_then_freezes_to_the_view(kernel):
    state = {"n": 0}
    box = widgets.VBox([widgets.Label("live")])
    display = LiveDisplay(box, lambda: (f"<b>{state['n']}</b>", f"n={state['n']}"))
    display.show()
    (data, display_id), = kernel.shown
    assert WIDGET_MIME in data and data["text/html"] == "<b>0</b>" and data["text/plain"] == "n=0"
    state["n"] = 7
    kernel.parent = {"header": {"msg_id": "cell-2"}}  # another cell runs now
    display.refresh()
    kind, content, parent = kernel.sent[-1]
    assert kind == "update_display_data" and content["transient"]["display_id"] == display_id
    assert content["data"]["text/plain"] == "n=7" and WIDGET_MIME in content["data"]
    assert parent["header"]["msg_id"] == "cell-1"  # to the cell that displayed it
    display.freeze()
    _, content, _ = kernel.sent[-1]
    assert WIDGET_MIME not in content["data"] and content["data"]["text/html"] == "<b>7</b>"
    sent = len(kernel.sent)
    display.refresh()
    display.freeze()
    assert len(kernel.sent) == sent  # frozen for good
    display.echo()  # the cell waiting now sends it too (papermill records only that cell)
    kind, content, parent = kernel.sent[-1]
    assert parent["header"]["msg_id"] == "cell-2" and WIDGET_MIME not in content["data"]
