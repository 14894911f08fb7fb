import json

from deeploop.experiment.results import RowStatus
from deeploop.strenum import StrEnum


class Colour(StrEnum):
    RED = "red"


def test_a_member_prints_compares_and_serialises_as_its_value():
    assert str(Colour.RED) == f"{Colour.RED}" == "{}".format(Colour.RED) == "red"
    assert Colour.RED == "red" and Colour("red") is Colour.RED
    assert json.dumps({"c": Colour.RED}) == '{"c": "red"}'
    assert "\t".join([RowStatus.KEEP, "x"]) == "keep\tx"
