"""The checkpoint-loading rule of ssl_plugins.compat.safe_load."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from ssl_plugins.compat.safe_load import (TRUST_ENV, UnsafeCheckpointError,
                                          safe_torch_load)


class _SideEffect:
    """Unpickling this writes a file (stands for arbitrary code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_tensor_only_file_loads_with_weights_only(tmp_path):
    path = str(tmp_path / 'backbone.pth')
    torch.save({'conv.weight': torch.randn(2, 3)}, path)
    assert set(safe_torch_load(path)) == {'conv.weight'}


def test_mmengine_checkpoint_contents_load(tmp_path):
    # what mmengine writes: numpy arrays/scalars and HistoryBuffers
    buf = HistoryBuffer()
    buf.update(1.5)
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict={'w': torch.ones(1)},
                    message_hub=dict(log_scalars={'train/loss': buf},
                                     runtime_info={'x': np.float64(2.0)}),
                    meta=dict(arr=np.arange(3))), path)
    ckpt = safe_torch_load(path)
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == 1.5
    assert ckpt['meta']['arr'].tolist() == [0, 1, 2]


def test_pickle_with_side_effect_is_not_executed(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': _SideEffect(marker)}, path)
    # the pretrained-weights path (init_cfg Pretrained / load_from) too
    for load in (safe_torch_load,
                 lambda p: _load_checkpoint(p, map_location='cpu')):
        with pytest.raises(UnsafeCheckpointError, match='evil.pth'):
            load(path)
        assert not osp.exists(marker)


def test_pretrained_init_refuses_unsafe_file(tmp_path):
    from ssl_plugins.registry import MODELS
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': _SideEffect(marker)}, path)
    backbone = MODELS.build(dict(
        type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8,
        init_cfg=dict(type='Pretrained', checkpoint=path)))
    with pytest.raises(UnsafeCheckpointError):
        backbone.init_weights()
    assert not osp.exists(marker)


def test_trusted_path_is_an_explicit_opt_in(tmp_path, monkeypatch):
    path = str(tmp_path / 'custom.pth')
    torch.save({'obj': _SideEffect(str(tmp_path / 'made'))}, path)
    monkeypatch.setenv(TRUST_ENV, str(tmp_path))
    with pytest.warns(UserWarning, match='trusted'):
        safe_torch_load(path)
    assert osp.exists(str(tmp_path / 'made'))


def test_truncated_checkpoint_error_names_file(tmp_path):
    path = str(tmp_path / 'cut.pth')
    torch.save({'w': torch.randn(100)}, path)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises((RuntimeError, UnsafeCheckpointError), match='cut.pth'):
        safe_torch_load(path)


def test_garbage_file_is_unreadable_not_unsafe(tmp_path, monkeypatch):
    """Random bytes are reported as a corrupt file, not as an untrusted
    pickle to opt in to (which would then fail to unpickle anyway)."""
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path = str(tmp_path / 'garbage.pth')
    with open(path, 'wb') as f:
        f.write(b'\x00' + np.random.default_rng(0).bytes(4095))
    with pytest.raises(RuntimeError, match='garbage.pth is unreadable'):
        safe_torch_load(path)
    # a legacy (non-zip) torch file is still a pickle, loaded as before
    legacy = str(tmp_path / 'legacy.pth')
    torch.save({'w': torch.ones(2)}, legacy,
               _use_new_zipfile_serialization=False)
    assert torch.equal(safe_torch_load(legacy)['w'], torch.ones(2))


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_torch_load(str(tmp_path / 'nope.pth'))
