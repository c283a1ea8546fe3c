"""Which backbone: of a checkpoint's state dict, or of a live model.

Every algorithm keeps mmselfsup's layout: the network trained by gradient
(the *online* network; DINO calls it the *student*) is ``backbone``, and the
momentum copy of BYOL and DINO (the *target*; DINO's *teacher*) is
``target.backbone`` (:class:`~ssl_plugins.models.utils.MomentumTarget`).
Per algorithm:

* BYOL, DINO: online/student ``backbone``, target/teacher
  ``target.backbone``;
* SimSiam, Barlow Twins, SwAV: online/student ``backbone`` only (no
  momentum copy: asking for the target is an error).

:data:`SOURCE_PREFIXES` gives a source's candidate key prefixes in a state
dict (ours and other code bases' layouts, tried in order);
:data:`SOURCE_MODULES` gives its attribute path in a live model. Ours is
always among the candidates (the attribute path plus ``'.'``) and no model of
ours holds keys under the others, so :func:`backbone_state_dict` of
``model.state_dict()`` and
:func:`backbone_module` of ``model`` name the same weights
(``tests/test_models/test_backbone_sources.py`` checks every algorithm).

Users: ``tools/knn_eval.py``, ``tools/extract_backbone_weights.py``,
``tools/visualize_attention.py``, ``tools/analysis/visualize_tsne.py`` and
:mod:`ssl_plugins.evaluation.backbone_export` (checkpoints),
``KNNHook`` (live model) and ``init_cfg=dict(type='Pretrained', prefix=...)``
(:func:`select_prefix`, the linear-evaluation configs).

Pure functions of dicts and modules; nothing here reads a file.
"""
from collections import OrderedDict
from typing import Dict, Iterable, Mapping, Optional, Tuple

import torch
from torch import nn

#: source -> candidate key prefixes, tried in order. Ours is
#: ``SOURCE_MODULES[source] + '.'``; ``target_net.*`` is mmpretrain's BYOL
#: layout, ``teacher.*`` other DINO layouts (no model of ours has such keys).
SOURCE_PREFIXES: Dict[str, Tuple[str, ...]] = {
    'online': ('backbone.', ),
    'student': ('backbone.', ),
    'target': ('target.backbone.', 'target_net.module.0.', 'target_net.0.'),
    'teacher':
    ('teacher.backbone.', 'target.backbone.', 'teacher.module.backbone.'),
}

#: source -> attribute path of that backbone in a live model.
SOURCE_MODULES: Dict[str, str] = {
    'online': 'backbone',
    'student': 'backbone',
    'target': 'target.backbone',
    'teacher': 'target.backbone',
}

#: the sources that exist only in a model with a momentum copy
MOMENTUM_SOURCES = ('target', 'teacher')

#: Top-level prefixes a wrapper (DDP's ``module``) may add to every key.
_WRAPPER_PREFIXES = ('module.', )


def strip_wrapper(key: str) -> str:
    """``key`` without a DDP ``module.`` in front (mmengine strips it too).

    Args:
        key (str): A state-dict key.

    Returns:
        str: The key as the unwrapped model names it.
    """
    for wrapper in _WRAPPER_PREFIXES:
        if key.startswith(wrapper):
            return key[len(wrapper):]
    return key


def summarize_key_prefixes(keys: Iterable[str], limit: int = 20) -> str:
    """The distinct first two components of dotted keys, for messages.

    Args:
        keys (Iterable[str]): State-dict keys.
        limit (int): At most this many prefixes are listed.

    Returns:
        str: e.g. ``'backbone.conv1, backbone.layer1, neck.mlp'``.
    """
    seen: Dict[str, None] = OrderedDict()
    for key in keys:
        parts = key.split('.')
        seen['.'.join(parts[:2]) if len(parts) > 2 else parts[0]] = None
    return ', '.join(list(seen)[:limit])


def keys_under(state_dict: Mapping[str, torch.Tensor],
               prefix: str) -> 'OrderedDict[str, torch.Tensor]':
    """The entries whose key starts with ``prefix``, the prefix removed.

    Args:
        state_dict (Mapping[str, torch.Tensor]): A state dict.
        prefix (str): e.g. ``'target.backbone.'`` (matched literally).

    Returns:
        OrderedDict[str, torch.Tensor]: The same values (not copied), under
        the shortened keys; empty when no key matches.
    """
    return OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                       if k.startswith(prefix))


def select_prefix(state_dict: Mapping[str, torch.Tensor],
                  prefix: Optional[str]) -> 'OrderedDict[str, torch.Tensor]':
    """Strip a DDP ``module.`` and keep (and strip) the keys under ``prefix``.

    What ``init_cfg=dict(type='Pretrained', prefix=...)`` loads
    (:class:`~ssl_plugins.models.utils.PretrainedInit`).

    Args:
        state_dict (Mapping[str, torch.Tensor]): A checkpoint's state dict.
        prefix (str, optional): e.g. ``'backbone.'``; a missing trailing dot
            is added. None keeps every key.

    Returns:
        OrderedDict[str, torch.Tensor]: The selected entries (may be empty).
    """
    plain = OrderedDict((strip_wrapper(k), v) for k, v in state_dict.items())
    if not prefix:
        return plain
    if not prefix.endswith('.'):
        prefix += '.'
    return keys_under(plain, prefix)


def model_state_dict(checkpoint: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    """The model's state dict of a checkpoint, without a DDP ``module.``.

    Args:
        checkpoint (Mapping): Either an mmengine checkpoint (with a
            ``state_dict`` key) or a bare state dict.

    Returns:
        OrderedDict[str, torch.Tensor]: Tensor entries only.
    """
    if not isinstance(checkpoint, Mapping):
        raise TypeError('expected a checkpoint dict, got '
                        f'{type(checkpoint).__name__}')
    state = checkpoint.get('state_dict', checkpoint)
    return OrderedDict((strip_wrapper(k), v) for k, v in state.items()
                       if isinstance(v, torch.Tensor))


def _table(prefixes: Optional[Dict[str, Tuple[str, ...]]],
           source: str) -> Dict[str, Tuple[str, ...]]:
    table = SOURCE_PREFIXES if prefixes is None else prefixes
    if source not in table:
        raise KeyError(f'unknown source {source!r}; choose one of '
                       f'{sorted(table)}')
    return table


def source_prefix(state_dict: Mapping[str, torch.Tensor],
                  source: str = 'online',
                  prefixes: Optional[Dict[str, Tuple[str, ...]]] = None
                  ) -> str:
    """The key prefix under which ``source``'s backbone lives here.

    Args:
        state_dict (Mapping[str, torch.Tensor]): Full model state dict
            (see :func:`model_state_dict`).
        source (str): ``'online'``, ``'student'``, ``'target'`` or
            ``'teacher'`` (see :data:`SOURCE_PREFIXES`).
        prefixes (dict, optional): Replaces :data:`SOURCE_PREFIXES`.

    Returns:
        str: The first of the source's candidate prefixes that some key
        starts with.

    Raises:
        KeyError: Unknown source, or none of its prefixes is present (the
            message lists what the state dict holds).
    """
    table = _table(prefixes, source)
    for prefix in table[source]:
        if any(k.startswith(prefix) for k in state_dict):
            return prefix
    raise KeyError(
        f'no {source!r} backbone in this checkpoint: none of the prefixes '
        f'{list(table[source])} is present. It holds: '
        f'{summarize_key_prefixes(state_dict)}')


def backbone_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    source: str = 'online',
    prefixes: Optional[Dict[str, Tuple[str, ...]]] = None
) -> 'OrderedDict[str, torch.Tensor]':
    """Keys of one backbone, with their prefix removed.

    Args:
        state_dict (Mapping[str, torch.Tensor]): Full model state dict
            (see :func:`model_state_dict`).
        source (str): ``'online'``, ``'student'``, ``'target'`` or
            ``'teacher'`` (see :data:`SOURCE_PREFIXES`).
        prefixes (dict, optional): Replaces :data:`SOURCE_PREFIXES`.

    Returns:
        OrderedDict[str, torch.Tensor]: Backbone-relative keys
        (``conv1.weight`` ...), tensors cloned and contiguous so that saving
        them writes only the backbone.

    Raises:
        KeyError: As :func:`source_prefix`.
    """
    prefix = source_prefix(state_dict, source, prefixes)
    return OrderedDict((k, v.detach().clone().contiguous())
                       for k, v in keys_under(state_dict, prefix).items())


def backbone_module(model: nn.Module, source: str = 'online') -> nn.Module:
    """The backbone of a live (unwrapped) model that ``source`` names.

    Args:
        model (nn.Module): An algorithm (``model.backbone``, and for BYOL and
            DINO ``model.target.backbone``).
        source (str): See :data:`SOURCE_MODULES`.

    Returns:
        nn.Module: That backbone (the module itself, not a copy).

    Raises:
        KeyError: Unknown source.
        AttributeError: The model has no such backbone (e.g. ``'target'`` of
            SimSiam, which has no momentum copy).
    """
    if source not in SOURCE_MODULES:
        raise KeyError(f'unknown source {source!r}; choose one of '
                       f'{sorted(SOURCE_MODULES)}')
    path = SOURCE_MODULES[source]
    module = model
    for name in path.split('.'):
        module = getattr(module, name, None)
        if not isinstance(module, nn.Module):
            hint = (' (no momentum target)'
                    if source in MOMENTUM_SOURCES else '')
            raise AttributeError(f'{type(model).__name__} has no {path}'
                                 f'{hint}')
    return module
