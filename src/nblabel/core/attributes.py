"""Per-label attributes (occluded, truncated, iscrowd, or the user's own), declared per class.

A declaration maps attribute names to kinds, for every class or per class::

    {"occluded": "bool", "quality": ["good", "blurry"]}           # every class
    {"person": {"occluded": "bool", "pose": ["standing", "sitting"]},
     "*": {"truncated": "bool"}}                                    # per class; "*": all

Kinds: ``"bool"``, ``"number"``, ``"text"``, or a list of the allowed values (one of). A value
set on a label is checked against its class's declaration here, once (the widget, the session
and the stored labels agree); a wrong one is refused naming the class, the attribute and the
value. The values live on the label's decision (journaled, undone like any decision) and land
as FiftyOne label attributes, which FiftyOne's COCO and CVAT exporters write out.

With no declaration, the dataset's own FiftyOne label schema is read where one is set (the
schema of FiftyOne's in-App annotation, ``dataset.label_schemas``, FiftyOne 1.13+): its label
field's ``attributes`` become attributes of every class (:func:`from_label_schema`), so a team
that set up its schema in the FiftyOne App labels with the same attributes here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nblabel.core.labels import InvalidLabelError

__all__ = ["KINDS", "RESERVED", "AttributeSpec", "Attributes", "from_label_schema",
           "parse_attributes"]

#: The kinds an attribute can be (besides a list of allowed values).
KINDS = ("bool", "number", "text")
#: Names a label already uses: an attribute may not take them.
RESERVED = frozenset({
    "label", "bounding_box", "confidence", "mask", "index", "id", "_id", "_cls", "tags",
    "attributes", "review", "reviewer", "reviewed_at", "proposal_id", "proposal_confidence",
    "seconds_on_image", "points", "closed", "filled", "source", "scores",
})


@dataclass(frozen=True)
class AttributeSpec:
    """One attribute: its name, kind (``bool``, ``number``, ``text``, ``choice``) and, for a
    choice, the allowed values."""

    name: str
    kind: str
    options: tuple[str, ...] = ()

    def check(self, value: Any, label: str) -> Any:
        """``value`` as stored (None clears it), or :class:`InvalidLabelError` naming it."""
        if value is None:
            return None
        where = f"attribute {self.name!r} of class {label!r}"
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise InvalidLabelError(f"{where} is true or false, not {value!r}")
        if self.kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(float(value)):
                raise InvalidLabelError(f"{where} is a finite number, not {value!r}")
            return float(value)
        if self.kind == "text":
            if not isinstance(value, str):
                raise InvalidLabelError(f"{where} is text, not {value!r}")
            return value
        if value not in self.options:
            raise InvalidLabelError(f"{where} is one of {list(self.options)}, not {value!r}")
        return value

    def to_dict(self) -> dict[str, Any]:
        """As the widget shows it (``attributes`` trait)."""
        return {"name": self.name, "kind": self.kind, "options": list(self.options)}


def _spec(name: str, kind: Any, where: str) -> AttributeSpec:
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidLabelError(f"{where}: attribute name {name!r} is not a plain name")
    if name in RESERVED or name.startswith("nblabel_"):
        raise InvalidLabelError(f"{where}: {name!r} is a name labels already use; choose another")
    if isinstance(kind, list | tuple):
        options = tuple(str(o) for o in kind)
        if not options:
            raise InvalidLabelError(f"{where}: attribute {name!r} lists no values")
        return AttributeSpec(name, "choice", options)
    if kind not in KINDS:
        raise InvalidLabelError(f"{where}: attribute {name!r} has kind {kind!r}; use one of "
                                f"{list(KINDS)} or a list of values")
    return AttributeSpec(name, str(kind))


class Attributes:
    """A parsed declaration: the attributes of each class (see the module doc)."""

    def __init__(self, by_class: Mapping[str, tuple[AttributeSpec, ...]]) -> None:
        self.by_class = dict(by_class)

    def __bool__(self) -> bool:
        return any(self.by_class.values())

    def of(self, label: str) -> tuple[AttributeSpec, ...]:
        """The attributes of ``label``: its own, then those of every class."""
        own = self.by_class.get(label, ())
        names = {s.name for s in own}
        return own + tuple(s for s in self.by_class.get("*", ()) if s.name not in names)

    def check(self, label: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` checked for a label of ``label`` (an undeclared name is refused)."""
        specs = {s.name: s for s in self.of(label)}
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name not in specs:
                known = ", ".join(specs) or "none"
                raise InvalidLabelError(f"class {label!r} has no attribute {name!r} "
                                        f"(declared: {known})")
            out[name] = specs[name].check(value, label)
        return out

    def all_specs(self) -> dict[str, AttributeSpec]:
        """Every attribute by name (for the stored schema); one name, one kind."""
        out: dict[str, AttributeSpec] = {}
        for cls, specs in self.by_class.items():
            for s in specs:
                if s.name in out and out[s.name].kind != s.kind:
                    raise InvalidLabelError(f"attribute {s.name!r} is {out[s.name].kind} for "
                                            f"one class and {s.kind} for {cls!r}: one name, "
                                            "one kind")
                out[s.name] = s
        return out

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        """By class, as the widget shows them."""
        return {cls: [s.to_dict() for s in specs] for cls, specs in self.by_class.items()}


#: FiftyOne label-schema attribute types nblabel can set, as its kinds (str with values: choice).
_SCHEMA_KINDS = {"bool": "bool", "float": "number", "int": "number", "str": "text"}


def from_label_schema(entry: Mapping[str, Any] | None) -> dict[str, Any]:
    """A declaration (for every class) from one field's FiftyOne label schema (``{"type",
    "attributes": [{"name", "type", "component", "values"?, "read_only"?}]}``): its editable
    attributes of a simple type; the names labels already use, read-only ones and other types
    (lists, dicts, dates) are left to FiftyOne's App."""
    out: dict[str, Any] = {}
    for a in (entry or {}).get("attributes") or []:
        name, kind = a.get("name"), _SCHEMA_KINDS.get(str(a.get("type")))
        if not isinstance(name, str) or kind is None or a.get("read_only") \
                or name in RESERVED or name.startswith("nblabel_") or not name.isidentifier():
            continue
        values = a.get("values")
        out[name] = [str(v) for v in values] if kind == "text" and values else kind
    return out


def parse_attributes(declared: Mapping[str, Any] | None) -> Attributes:
    """Parse a declaration (see the module doc); errors name what is wrong."""
    if not declared:
        return Attributes({})
    per_class = all(isinstance(v, Mapping) for v in declared.values())
    if not per_class:
        return Attributes({"*": tuple(_spec(n, k, "attributes") for n, k in declared.items())})
    by_class = {str(cls): tuple(_spec(n, k, f"attributes of {cls!r}") for n, k in spec.items())
                for cls, spec in declared.items()}
    parsed = Attributes(by_class)
    parsed.all_specs()  # one name, one kind
    return parsed
