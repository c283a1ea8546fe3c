"""Checkpoint contents that plain ``torch.load(weights_only=True)`` reads.

torch >= 2.6 loads with ``weights_only=True`` by default: only tensors,
``dict`` / ``OrderedDict`` / ``list`` / ``tuple`` / ``set``, ``str``,
``bytes``, numbers, ``bool``, ``None`` and a few torch types (``dtype``,
``device``, ``Size``) unpickle. mmengine writes more than that into a training
checkpoint: the message hub's ``HistoryBuffer`` objects (numpy arrays inside)
and numpy scalars in its runtime information (``eta``). A tool that never
imports ``ssl_plugins`` (mmpretrain's ``tools/train.py`` with a shipped
linear-evaluation config, a plain ``torch.load``) then fails on our files.

:func:`to_plain` rewrites those objects into tagged plain dicts, and
:func:`from_plain` restores them exactly (same class, same numpy dtype, same
bits). A tagged dict is a ``dict`` with the key :data:`TYPE_KEY`:

* ``mmengine.HistoryBuffer``: ``log_history`` and ``count_history`` (numpy
  arrays, stored as below) and ``max_length`` (int);
* ``numpy.ndarray``: ``dtype`` (numpy's ``dtype.str``, e.g. ``'<f8'``) and
  ``data``, a tensor for numeric and boolean arrays (unsigned integers wider
  than 8 bits as int64 when they fit), or for string arrays a flat list with
  ``shape``;
* ``numpy.generic`` (a numpy scalar): ``dtype`` and ``value`` (its Python
  number, which holds the scalar's value exactly);
* ``numpy.dtype``: ``dtype``.

Anything else is left as it is; :func:`non_plain_paths` names what a plain
``torch.load(weights_only=True)`` would refuse.
"""
from collections import Counter, OrderedDict
from typing import Any, Callable, List, Optional

import numpy as np
import torch

#: Key that marks a dict written by :func:`to_plain`; its value names the
#: class the dict stands for.
TYPE_KEY = '__ssl_plugins_type__'

_HISTORY_BUFFER = 'mmengine.HistoryBuffer'
_NDARRAY = 'numpy.ndarray'
_NUMPY_SCALAR = 'numpy.generic'
_NUMPY_DTYPE = 'numpy.dtype'

#: Leaf types torch's weights-only unpickler accepts.
_PLAIN_LEAVES = (str, bytes, bytearray, int, float, bool, complex,
                 type(None), torch.dtype, torch.device, torch.layout,
                 torch.Size)
#: Container types it accepts (exact types: subclasses pickle by class name).
_MAPPINGS = (dict, OrderedDict, Counter)
_SEQUENCES = (list, tuple)


def _history_buffer_class() -> Optional[type]:
    """mmengine's ``HistoryBuffer`` class, or None without mmengine."""
    try:
        from mmengine.logging import HistoryBuffer
    except ImportError:  # pragma: no cover - mmengine is a dependency
        return None
    return HistoryBuffer


def _is_tagged(obj: Any) -> bool:
    """Whether ``obj`` is a dict written by :func:`to_plain`."""
    return type(obj) is dict and TYPE_KEY in obj


def _map_leaves(obj: Any, leaf: Callable[[Any], Any]) -> Any:
    """Apply ``leaf`` to everything below the dicts, lists and tuples of
    ``obj``; a tagged dict counts as a leaf.

    Containers whose items all come back unchanged are returned as they are
    (the same object), so a model ``state_dict`` keeps its ``_metadata``.
    """
    kind = type(obj)
    if kind in _MAPPINGS and not _is_tagged(obj):
        new = {key: _map_leaves(value, leaf) for key, value in obj.items()}
        if all(new[key] is value for key, value in obj.items()):
            return obj
        out = kind(new)
        metadata = getattr(obj, '_metadata', None)
        if metadata is not None:
            out._metadata = metadata
        return out
    if kind in _SEQUENCES:
        new_items = [_map_leaves(item, leaf) for item in obj]
        if all(a is b for a, b in zip(new_items, obj)):
            return obj
        return kind(new_items)
    return leaf(obj)


def _array_to_plain(array: np.ndarray) -> Optional[dict]:
    """A tagged dict for ``array``, or None for dtypes kept as they are."""
    dtype = array.dtype
    if dtype.kind in 'biufc':
        native = array.astype(dtype.newbyteorder('='), copy=False)
        if (dtype.kind == 'u' and dtype.itemsize > 1
                and (native.size == 0
                     or int(native.max()) <= np.iinfo(np.int64).max)):
            # uint16/32/64 tensors are recent in torch: int64 is read by all
            native = native.astype(np.int64)
        try:
            # a C-ordered copy (ascontiguousarray would make 0-d arrays 1-d)
            data = torch.from_numpy(native.copy(order='C'))
        except TypeError:  # a dtype torch has no tensor for (float128, ...)
            return None
        return {TYPE_KEY: _NDARRAY, 'dtype': dtype.str, 'data': data}
    if dtype.kind in 'US':
        return {TYPE_KEY: _NDARRAY, 'dtype': dtype.str,
                'shape': list(array.shape), 'data': array.ravel().tolist()}
    return None  # object, structured, datetime arrays: left as they are


def _leaf_to_plain(obj: Any) -> Any:
    """A tagged dict for a HistoryBuffer / numpy object, else ``obj``."""
    if isinstance(obj, np.ndarray):
        plain = _array_to_plain(obj)
        return obj if plain is None else plain
    if isinstance(obj, np.generic):
        value = obj.item()
        if type(value) not in _PLAIN_LEAVES:  # longdouble, datetime64, ...
            return obj
        return {TYPE_KEY: _NUMPY_SCALAR, 'dtype': obj.dtype.str,
                'value': value}
    if isinstance(obj, np.dtype):
        return {TYPE_KEY: _NUMPY_DTYPE, 'dtype': obj.str}
    history_buffer = _history_buffer_class()
    if history_buffer is not None and type(obj) is history_buffer:
        log_history, count_history = obj.data
        log = _array_to_plain(np.asarray(log_history))
        count = _array_to_plain(np.asarray(count_history))
        if log is None or count is None:
            return obj
        return {TYPE_KEY: _HISTORY_BUFFER, 'log_history': log,
                'count_history': count, 'max_length': int(obj.max_length)}
    return obj


def to_plain(obj: Any) -> Any:
    """``obj`` with message-hub and numpy objects replaced by tagged dicts.

    Args:
        obj (Any): A checkpoint or any part of it.

    Returns:
        Any: The same structure in which every ``HistoryBuffer``, numpy
        array, numpy scalar and numpy dtype (at any depth inside dicts,
        lists and tuples) is a tagged plain dict (see the module). Unchanged
        containers are the original objects; nothing is modified in place.
    """
    return _map_leaves(obj, _leaf_to_plain)


def _array_from_plain(tagged: dict) -> np.ndarray:
    """The numpy array a tagged ``numpy.ndarray`` dict stands for."""
    dtype = np.dtype(tagged['dtype'])
    data = tagged['data']
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy().astype(dtype)
    return np.array(data, dtype=dtype).reshape(tagged['shape'])


def _leaf_from_plain(obj: Any) -> Any:
    """The object a tagged dict stands for; anything else unchanged."""
    if not _is_tagged(obj):
        return obj
    kind = obj[TYPE_KEY]
    if kind == _NDARRAY:
        return _array_from_plain(obj)
    if kind == _NUMPY_SCALAR:
        return np.dtype(obj['dtype']).type(obj['value'])
    if kind == _NUMPY_DTYPE:
        return np.dtype(obj['dtype'])
    if kind == _HISTORY_BUFFER:
        history_buffer = _history_buffer_class()
        if history_buffer is None:
            return obj
        return history_buffer(_array_from_plain(obj['log_history']),
                              _array_from_plain(obj['count_history']),
                              max_length=int(obj['max_length']))
    return obj  # written by a newer version: left for the caller


def from_plain(obj: Any) -> Any:
    """Undo :func:`to_plain`.

    Args:
        obj (Any): A loaded checkpoint or any part of it.

    Returns:
        Any: The same structure with every tagged dict replaced by the object
        it stands for (``HistoryBuffer``, numpy array / scalar / dtype, with
        their original dtypes and values). Anything else, and containers
        without tagged dicts inside, are returned unchanged; calling it twice
        is harmless.
    """
    return _map_leaves(obj, _leaf_from_plain)


def non_plain_paths(obj: Any, limit: int = 10, _path: str = 'checkpoint',
                    _found: Optional[List[str]] = None) -> List[str]:
    """Where ``obj`` holds something ``torch.load(weights_only=True)``
    refuses.

    Args:
        obj (Any): A checkpoint (or a part of it) about to be saved.
        limit (int): Report at most this many. Defaults to 10.

    Returns:
        list[str]: Entries like ``"checkpoint['meta']['x'] (Foo)"``; empty if
        everything is tensors, plain containers and plain leaves.
    """
    found = [] if _found is None else _found
    if len(found) >= limit:
        return found
    kind = type(obj)
    if isinstance(obj, torch.Tensor) or kind in _PLAIN_LEAVES:
        return found
    if kind in _MAPPINGS:
        for key, value in obj.items():
            if type(key) not in _PLAIN_LEAVES:
                found.append(f'{_path} key {key!r} ({type(key).__name__})')
            non_plain_paths(value, limit, f'{_path}[{key!r}]', found)
    elif kind in _SEQUENCES or kind is set:
        for i, item in enumerate(obj):
            non_plain_paths(item, limit, f'{_path}[{i}]', found)
    else:
        found.append(f'{_path} ({kind.__module__}.{kind.__qualname__})')
    return found[:limit]
