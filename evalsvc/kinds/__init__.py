"""The registry of questionnaire kinds, found through the ``evalsvc.kinds`` entry points."""
import functools
from importlib.metadata import entry_points

from evalsvc.kinds.base import Kind

ENTRY_POINT_GROUP = "evalsvc.kinds"


class UnknownKind(LookupError):
    """No kind of that name is registered."""


@functools.cache
def registry() -> dict[str, Kind]:
    """Every registered kind by name; built-in kinds register the same way as others."""
    kinds: dict[str, Kind] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        kind = entry_point.load()()
        if not isinstance(kind, Kind) or kind.name != entry_point.name:
            raise TypeError(f"entry point {entry_point.name!r} must name a Kind subclass "
                            f"whose name is {entry_point.name!r}")
        kinds[kind.name] = kind
    return kinds


def get_kind(name: str) -> Kind:
    """The kind registered under ``name``, or ``UnknownKind`` naming the known ones."""
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(sorted(registry()))
        raise UnknownKind(f"unknown questionnaire kind {name!r}; registered kinds: {known}") \
            from None
