"""Which keys and tensor shapes two state dicts do not share.

One comparison for every place that checks weights against a model before
loading them: resuming a run (``engine/checkpoint_io.check_resumed_state``)
and exporting a backbone in torchvision's layout
(``evaluation/backbone_export``). Each caller words its own message; this
module only finds the differences.
"""
from typing import Any, Iterable, List, Mapping, NamedTuple, Optional, Tuple

Shape = Optional[Tuple[int, ...]]


def _shape(value: Any) -> Shape:
    """A tensor's shape, a shape given as a tuple of ints, or None (no
    tensor)."""
    if hasattr(value, 'shape'):
        return tuple(value.shape)
    if isinstance(value, tuple) and all(isinstance(d, int) for d in value):
        return value
    return None


class StateDictDiff(NamedTuple):
    """The differences of ``given`` from ``expected``.

    Attributes:
        missing (list[str]): Keys of ``expected`` that ``given`` lacks.
        unexpected (list[str]): Keys of ``given`` that ``expected`` lacks.
        reshaped (list[tuple]): ``(key, given shape, expected shape)`` for
            every shared key whose shapes differ.
    """
    missing: List[str]
    unexpected: List[str]
    reshaped: List[Tuple[str, Shape, Shape]]

    def __bool__(self) -> bool:
        """True when the two differ in anything."""
        return bool(self.missing or self.unexpected or self.reshaped)


def state_dict_differences(expected: Mapping[str, Any],
                           given: Mapping[str, Any],
                           skip_shapes: Iterable[str] = ()) -> StateDictDiff:
    """Compare the keys and shapes of two state dicts.

    Args:
        expected (Mapping[str, Any]): What the receiver holds: tensors or
            shape tuples by key.
        given (Mapping[str, Any]): What is offered: tensors or shape tuples.
        skip_shapes (Iterable[str]): Keys whose shapes are not compared
            (present on both sides is enough).

    Returns:
        StateDictDiff: ``missing`` in ``expected``'s order, ``unexpected``
        and ``reshaped`` in ``given``'s; false when nothing differs.
    """
    skip = set(skip_shapes)
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    reshaped = [(k, _shape(v), _shape(expected[k])) for k, v in given.items()
                if k in expected and k not in skip
                and _shape(v) != _shape(expected[k])]
    return StateDictDiff(missing, unexpected, reshaped)
