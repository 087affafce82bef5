"""The registry of questionnaire kinds, found through the ``evalsvc.kinds`` entry points.

``register`` adds a kind to the same registry at run time (a test's kind, or an app that
assembles its kinds by hand); everything else reads the registry and never names a kind.
"""
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
        _check(kind, entry_point.name)
        kinds[kind.name] = kind
    return kinds


def _check(kind, name: str) -> None:
    if not isinstance(kind, Kind) or kind.name != name:
        raise TypeError(f"entry point {name!r} must name a Kind subclass "
                        f"whose name is {name!r}")


def register(kind: Kind) -> Kind:
    """Add a kind to the registry, as an entry point would; a taken name is an error.

    Register before ``create_app``: the app loads the kind's definitions when it starts.
    """
    _check(kind, kind.name)
    if kind.name in registry():
        raise ValueError(f"a kind named {kind.name!r} is already registered")
    registry()[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind added with ``register`` (tests clean up after themselves)."""
    registry().pop(name, None)


def get_kind(name: str) -> Kind:
    """The kind registered under ``name``, or ``UnknownKind`` naming the known ones."""
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(sorted(registry()))
        raise UnknownKind(f"unknown questionnaire kind {name!r}; registered kinds: {known}") \
            from None


def reported_rate_labels() -> list[str]:
    """The rate labels the dashboard and the weekly report give columns to (满意率, …),
    one per label, in registry order."""
    labels: list[str] = []
    for kind in registry().values():
        if kind.reports_rate and kind.rate_label not in labels:
            labels.append(kind.rate_label)
    return labels
