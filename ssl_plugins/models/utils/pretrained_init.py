"""``init_cfg=dict(type='Pretrained', ..., strict=True)``: exact or an error.

mmengine's ``PretrainedInit`` loads with ``strict=False``: a checkpoint whose
shapes differ, or that lacks some (or all) of the module's parameters, only
produces a warning in the log, and the run goes on with randomly initialised
weights. For a linear evaluation that silently measures a random backbone.

In the ``ssl_plugins`` scope, ``type='Pretrained'`` is :class:`PretrainedInit`,
mmengine's class with one more argument, ``strict`` (default False: mmengine's
behaviour, unchanged). With ``strict=True`` the selected weights must fit the
module exactly, or :class:`CheckpointMismatchError` names the file, the prefix
and the offending keys, with both shapes for a size mismatch. The checkpoint
is read by mmengine's loader either way (local files with
``weights_only=True``, see :mod:`ssl_plugins.compat.safe_load`). Which keys
``prefix`` selects: :func:`.backbone_sources.select_prefix` (the module that
says where each backbone of a checkpoint lives).

Why not a new type name: mmengine (``BaseModule.init_weights`` applies
``'Pretrained'`` after every other initialiser) and mmpretrain (``ResNet``
skips ``zero_init_residual``, ``VisionTransformer`` keeps the loaded
``pos_embed``) test ``init_cfg['type'] == 'Pretrained'`` literally; under any
other name they would overwrite loaded weights after loading.
"""
import re
from typing import List, Mapping, Optional

import torch
from mmengine.model.weight_init import PretrainedInit as _MMEnginePretrained
from torch import nn

from ssl_plugins.registry import WEIGHT_INITIALIZERS
from .backbone_sources import (SOURCE_PREFIXES, select_prefix,
                               summarize_key_prefixes)

#: Listed keys per category in an error message.
_MAX_LISTED = 10


class CheckpointMismatchError(KeyError):
    """Pretrained weights do not fit the module they are loaded into.

    A ``KeyError`` (the keys differ) whose ``str()`` is the plain message.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def _listing(keys: List[str]) -> str:
    more = len(keys) - _MAX_LISTED
    return ', '.join(keys[:_MAX_LISTED]) + (f' ... (+{more})'
                                            if more > 0 else '')


def _size_mismatches(module: nn.Module,
                     state_dict: Mapping[str, torch.Tensor],
                     error: RuntimeError) -> List[str]:
    """``key: checkpoint (shape) vs model (shape)`` for each key torch refused
    (after the module's load hooks, which may have adapted other keys)."""
    own = module.state_dict()
    refused = re.findall(r'size mismatch for (\S+?): ', str(error))
    return [
        f'{key}: checkpoint {tuple(state_dict[key].shape)} vs model '
        f'{tuple(own[key].shape)}' for key in refused
        if key in own and key in state_dict
    ]


def load_state_dict_exactly(module: nn.Module,
                            state_dict: Mapping[str, torch.Tensor],
                            source: str) -> None:
    """``module.load_state_dict`` that accepts nothing but an exact fit.

    The module's own load hooks run (mmpretrain's ``VisionTransformer``
    resizes a ``pos_embed`` of another resolution), so only shapes that
    remain different after them count as a mismatch. Missing
    ``num_batches_tracked`` buffers are tolerated, as mmengine does (older
    checkpoints lack them); everything else must be present and expected.

    Args:
        module (nn.Module): Receives the weights.
        state_dict (Mapping[str, torch.Tensor]): Keys relative to ``module``.
        source (str): Where the weights come from (file name and prefix), for
            the message.

    Raises:
        CheckpointMismatchError: Some shape differs, or keys are missing or
            unexpected; the message lists them (shapes of both sides for a
            size mismatch). The module may be partially loaded then.
    """
    name = type(module).__name__
    own = list(module.state_dict())
    given = list(state_dict)
    if own and not set(own) & set(given):
        raise CheckpointMismatchError(
            f'{source} provides none of the parameters of {name} (expected '
            f'keys such as {_listing(own[:3])}); it holds: '
            f'{summarize_key_prefixes(given) or "nothing"}. Check the '
            f"checkpoint and the prefix ({SOURCE_PREFIXES['online'][0]!r} "
            'for the online network, '
            f"{SOURCE_PREFIXES['target'][0]!r} for the momentum target, "
            'None for a file written by tools/extract_backbone_weights.py).')
    try:
        result = module.load_state_dict(state_dict, strict=False)
        sizes: List[str] = []
        missing, unexpected = result.missing_keys, result.unexpected_keys
    except RuntimeError as err:
        # torch refuses size mismatches even with strict=False; describe
        # them (and the key differences) ourselves, torch's text as context
        sizes = _size_mismatches(module, state_dict, err) or [str(err)]
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in given if k not in set(own)]
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    if not (sizes or missing or unexpected):
        return
    problems = []
    if sizes:
        problems.append(f'size mismatch for {_listing(sizes)}')
    if missing:
        problems.append(f'missing from the checkpoint: {_listing(missing)}')
    if unexpected:
        problems.append(f'not in {name}: {_listing(unexpected)}')
    raise CheckpointMismatchError(
        f'{source} does not fit {name}: ' + '; '.join(problems) +
        '. Build the backbone exactly as in pretraining (strict=False for a '
        'deliberately partial load).')


@WEIGHT_INITIALIZERS.register_module(name='Pretrained')
class PretrainedInit(_MMEnginePretrained):
    """mmengine's ``PretrainedInit`` with a ``strict`` option.

    Registered as ``'Pretrained'`` in the ``ssl_plugins`` scope, so the type
    name every OpenMMLab model checks for is kept (see the module docstring).

    Example:
        >>> backbone = dict(type='ResNet', depth=50, init_cfg=dict(
        ...     type='Pretrained', checkpoint='epoch_200.pth',
        ...     prefix='backbone.', strict=True))

    Args:
        checkpoint (str): File (or URL) of the pretrained weights: a full
            training checkpoint (``state_dict`` inside) or a bare state dict.
        prefix (str, optional): Keys under this prefix, with it removed, are
            loaded (``'backbone.'``); None loads the whole state dict.
        map_location (str): As for ``torch.load``. Defaults to ``'cpu'``.
        strict (bool): Raise :class:`CheckpointMismatchError` unless the
            weights fit exactly (:func:`load_state_dict_exactly`). Defaults to
            False: mmengine's warning-only load.
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu',
                 strict: bool = False):
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.strict = strict

    def __call__(self, module: nn.Module) -> None:
        """Load the weights into ``module`` (see the class docstring)."""
        if not self.strict:
            super().__call__(module)
            return
        from mmengine.logging import print_log
        from mmengine.model.weight_init import update_init_info
        from mmengine.runner.checkpoint import CheckpointLoader

        if not self.checkpoint:
            raise ValueError(
                'Pretrained(strict=True): no checkpoint given (set '
                'model.backbone.init_cfg.checkpoint=PATH)')
        where = (f'checkpoint {self.checkpoint}' +
                 (f' (prefix {self.prefix!r})' if self.prefix else ''))
        print_log(f'load {self.prefix or "model"} strictly from: '
                  f'{self.checkpoint}', logger='current')
        loaded = CheckpointLoader.load_checkpoint(
            self.checkpoint, map_location=self.map_location, logger='current')
        if not isinstance(loaded, Mapping):
            raise CheckpointMismatchError(
                f'{where}: expected a dict of tensors, got '
                f'{type(loaded).__name__}')
        state = loaded.get('state_dict', loaded)
        load_state_dict_exactly(module, select_prefix(state, self.prefix),
                                where)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        strict = ' (strict)' if self.strict else ''
        return (f'{type(self).__name__}: load from {self.checkpoint}'
                f'{strict}')
