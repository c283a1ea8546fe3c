"""Loading checkpoints without unpickling arbitrary code.

The rule: **every local checkpoint is loaded with** ``torch.load(...,
weights_only=True)``. A pure tensors file (an exported backbone) needs nothing
else. mmengine's own training checkpoints hold a few plain, data-only classes
besides tensors (the message hub's ``HistoryBuffer`` with numpy arrays, numpy
scalars and dtypes, and ``getattr(HistoryBuffer, 'mean')``-style references to
its statistics methods); exactly those are added to torch's allow-list for the
duration of the load (``getattr`` replaced by a version that allows only
those references), so resume and ``load_from`` work on torch >= 2.6.

Anything else (a global that is not allow-listed) is refused with
:class:`UnsafeCheckpointError` naming the file and the global: unpickling it
could run arbitrary code. A user who trusts such a file opts in explicitly by
listing it (or a folder above it) in the environment variable
``SSL_PLUGINS_TRUSTED_CHECKPOINTS`` (``os.pathsep``-separated); only then is
``weights_only=False`` used, with a warning. Nothing is unpickled silently.

Checkpoints written with ``PlainCheckpointHook`` (in our default runtime)
need no allow-list: the message hub's objects are stored as tagged plain dicts
(:mod:`ssl_plugins.compat.plain_checkpoint`), which :func:`safe_torch_load`
turns back into ``HistoryBuffer`` objects and numpy values, so mmengine's
resume receives what it wrote.
"""
import os
import os.path as osp
import pickle
import warnings
from typing import Any, List

import numpy as np
import torch

from .plain_checkpoint import from_plain

TRUST_ENV = 'SSL_PLUGINS_TRUSTED_CHECKPOINTS'


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs arbitrary unpickling and is not trusted."""


def _allowed_globals() -> List[Any]:
    """Data-only classes found in mmengine checkpoints (besides tensors)."""
    allowed: List[Any] = [np.ndarray, np.dtype]
    core = getattr(np, '_core', None) or np.core
    allowed += [core.multiarray._reconstruct, core.multiarray.scalar]
    # numpy 2 pickles dtypes by their class (np.dtypes.Float64DType, ...).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    try:
        from mmengine.logging.history_buffer import HistoryBuffer
    except ImportError:
        return allowed

    def restricted_getattr(obj, name):
        # HistoryBuffer pickles its statistics methods as
        # getattr(HistoryBuffer, 'mean'); nothing else may use getattr.
        if (obj is HistoryBuffer and isinstance(name, str)
                and not name.startswith('_')
                and callable(getattr(HistoryBuffer, name, None))):
            return getattr(obj, name)
        raise pickle.UnpicklingError(
            f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')

    allowed += [HistoryBuffer, (restricted_getattr, 'builtins.getattr')]
    return allowed


def _is_trusted(path: str) -> bool:
    trusted = [p for p in os.environ.get(TRUST_ENV, '').split(os.pathsep) if p]
    real = osp.realpath(path)
    for entry in trusted:
        entry = osp.realpath(osp.expanduser(entry))
        if real == entry or real.startswith(entry.rstrip(os.sep) + os.sep):
            return True
    return False


def safe_torch_load(path: str, map_location=None) -> Any:
    """Load ``path`` with ``weights_only=True`` (see the module's rule).

    Args:
        path (str): A local file.
        map_location: As for :func:`torch.load`.

    Returns:
        Any: What the file holds, with the tagged plain dicts of
        :func:`ssl_plugins.compat.plain_checkpoint.to_plain` restored to the
        objects they stand for.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafeCheckpointError: the file needs a global that is not
            allow-listed and is not trusted through
            ``SSL_PLUGINS_TRUSTED_CHECKPOINTS``.
        RuntimeError: the file is not a readable torch checkpoint (truncated,
            corrupt); the message names the file.
    """
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint {path} can not be found.')
    return from_plain(_load(path, map_location))


def _is_archive_or_pickle(path: str) -> bool:
    """Whether ``path`` is a zip archive (torch >= 1.6) or starts like a
    pickle (protocol 2+, torch's legacy format): random or overwritten bytes
    are neither, and are not reported as an unsafe pickle."""
    import zipfile
    if zipfile.is_zipfile(path):
        return True
    with open(path, 'rb') as f:
        return f.read(1) == b'\x80'


def _load(path: str, map_location) -> Any:
    """``torch.load`` with the allow-list; errors as in
    :func:`safe_torch_load`."""
    try:
        with torch.serialization.safe_globals(_allowed_globals()):
            return torch.load(path, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as err:
        if not _is_archive_or_pickle(path):
            raise RuntimeError(
                f'Checkpoint {path} is unreadable (corrupt or truncated?): '
                'neither a torch zip archive nor a pickle') from err
        if not _is_trusted(path):
            raise UnsafeCheckpointError(
                f'Refusing to load checkpoint {path}: it is not loadable with '
                f'weights_only=True ({str(err).splitlines()[0]}). Unpickling '
                'it could execute arbitrary code. If you trust this file, add '
                f'it (or its folder) to the environment variable {TRUST_ENV}; '
                'or export its weights with tools/extract_backbone_weights.py.'
            ) from err
        warnings.warn(f'Loading trusted checkpoint {path} with '
                      f'weights_only=False ({TRUST_ENV}).')
        return torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise RuntimeError(
            f'Checkpoint {path} is unreadable (corrupt or truncated?): '
            f'{err}') from err


def patch_mmengine_checkpoint_loader() -> None:
    """Make mmengine load local checkpoints through :func:`safe_torch_load`.

    Covers ``load_from``, ``--resume`` and
    ``init_cfg=dict(type='Pretrained')``, which all go through
    ``CheckpointLoader``'s local-path scheme.
    """
    from mmengine.runner import checkpoint as mm_ckpt

    def load_from_local(filename, map_location):
        return safe_torch_load(filename, map_location=map_location)

    mm_ckpt.CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
    mm_ckpt.load_from_local = load_from_local
