"""The one spec-string registry (deeploop/registry.py) and the registries built on it."""
from __future__ import annotations

import pytest

from deeploop.errors import InputError
from deeploop.registry import Registry


def test_a_registry_builds_by_name_and_lists_the_known_ones_when_asked_for_another():
    kinds = Registry("widget", lambda name: name if name == "plain" else f"{name}:<size>")
    kinds.register("plain", lambda arg: ("plain", arg))
    kinds.register("big", lambda arg: ("big", arg))
    kinds.register("odd", lambda arg: ("odd", arg), usage="odd:<n>|<m>")
    assert kinds.get("big", "big:3")("3") == ("big", "3")
    assert kinds.known() == ["big", "odd", "plain"] and "odd" in kinds and "x" not in kinds
    with pytest.raises(InputError) as err:
        kinds.get("huge", "huge:9")
    assert str(err.value) == "unknown widget 'huge:9': use one of big:<size>, odd:<n>|<m>, plain"
    assert err.value.spec == "huge:9"


@pytest.mark.parametrize("build, message", [
    (lambda: __import__("deeploop.models", fromlist=["get_model"]).get_model("nope:x"),
     "unknown model spec 'nope:x': use one of anthropic:<...>, command:<...>, mock:<...>, "
     "scripted:<...>"),
    (lambda: __import__("deeploop.experiment.proposers", fromlist=["x"]).get_proposer("nope"),
     "unknown proposer 'nope': use one of anthropic:<...>, command:<...>, offline"),
    (lambda: __import__("deeploop.meta.analysts", fromlist=["x"]).get_analyst("nope"),
     "unknown analyst 'nope': use one of anthropic:<model>, offline"),
    (lambda: __import__("deeploop.research.synthesizer", fromlist=["x"]).get_synthesizer(
        "nope", None), "unknown synthesizer 'nope': use one of anthropic:<model>, offline"),
    (lambda: __import__("deeploop.research.sources", fromlist=["x"]).get_source("nope:x"),
     "unknown source spec 'nope:x': use one of local:<folder>, sample:stdlib"),
    (lambda: __import__("deeploop.research.sources", fromlist=["x"]).get_source("local:"),
     "source spec 'local:' is incomplete: use local:<folder>"),
    (lambda: __import__("deeploop.models.mock", fromlist=["x"]).get_mock("nope"),
     "unknown mock model 'mock:nope': known mocks are mock:"),
])
def test_every_registry_refuses_an_unknown_name_with_the_known_ones(build, message):
    with pytest.raises(InputError) as err:
        build()
    assert str(err.value).startswith(message)


def test_the_questioner_registry_lists_its_kinds_and_the_model_schemes():
    from deeploop.drill.questioner import get_questioner
    with pytest.raises(InputError, match=r"unknown questioner 'oracle': use one of .*model, "
                                         r"offline.*anthropic:<\.\.\.>, command:<\.\.\.>"):
        get_questioner("oracle", None)


def test_a_copy_is_private():
    kinds = Registry("widget")
    kinds.register("a", lambda arg: arg)
    twin = kinds.copy()
    twin.register("b", lambda arg: arg)
    assert kinds.known() == ["a"] and twin.known() == ["a", "b"]
