"""Kinds are plugins found through the evalsvc.kinds entry-point group."""
from importlib.metadata import entry_points

import pytest

from evalsvc.kinds import ENTRY_POINT_GROUP, UnknownKind, get_kind, registry
from evalsvc.kinds.base import Kind

BUILT_IN = {"opinion", "member_review", "satisfaction", "stage_review"}


def test_every_registered_kind_loads_and_implements_the_interface():
    kinds = registry()
    assert BUILT_IN <= set(kinds)
    for name, kind in kinds.items():
        assert isinstance(kind, Kind)
        assert kind.name == name and kind.label
        for method in ("layout", "validate", "tally", "propose"):
            assert callable(getattr(kind, method))


def test_built_in_kinds_register_through_entry_points_like_any_plugin():
    names = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert BUILT_IN <= names


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(UnknownKind, match="unknown questionnaire kind 'ballet'.*satisfaction"):
        get_kind("ballet")
