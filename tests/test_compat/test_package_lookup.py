"""_base_ = 'mmpretrain::...' without pkg_resources (ssl_plugins.compat)."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import textwrap
from importlib import metadata

import mmcv
import mmpretrain
import pytest
from mmengine.config import Config

from ssl_plugins.compat import package_lookup

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMPRETRAIN_BYOL = 'byol/byol_resnet50_16xb256-coslr-200e_in1k.py'
NO_PKG_RESOURCES = importlib.util.find_spec('pkg_resources') is None


def child_config(folder):
    path = osp.join(str(folder), 'byol_from_mmpretrain.py')
    with open(path, 'w') as f:
        f.write(textwrap.dedent(f"""\
            _base_ = 'mmpretrain::{MMPRETRAIN_BYOL}'
            train_dataloader = dict(batch_size=8)
            model = dict(neck=dict(hidden_channels=1024))
        """))
    return path


def test_lookups_without_pkg_resources():
    mmcv_dir = osp.dirname(mmcv.__file__)
    mmpretrain_dir = osp.dirname(mmpretrain.__file__)
    # distribution name == module name
    assert package_lookup.is_installed('mmpretrain')
    assert package_lookup.get_installed_path('mmpretrain') == mmpretrain_dir
    # distribution mmcv-lite provides module mmcv
    assert package_lookup.package2module('mmcv-lite') == 'mmcv'
    assert package_lookup.is_installed('mmcv-lite')
    assert package_lookup.get_installed_path('mmcv-lite') == mmcv_dir
    # the folder Python imports from, also for an editable install
    import ssl_plugins
    assert package_lookup.get_installed_path('ssl_plugins') == osp.dirname(
        ssl_plugins.__file__)
    assert not package_lookup.is_installed('no_such_package_4f1e')
    with pytest.raises(metadata.PackageNotFoundError):
        package_lookup.get_installed_path('no_such_package_4f1e')


@pytest.mark.skipif(not NO_PKG_RESOURCES,
                    reason='mmengine uses pkg_resources where it exists')
def test_mmengine_uses_them_once_ssl_plugins_is_imported():
    import mmengine.config.config as mm_config
    import mmengine.utils as mm_utils
    assert mm_config.is_installed is package_lookup.is_installed
    assert mm_config.get_installed_path is package_lookup.get_installed_path
    assert mm_utils.get_installed_path is package_lookup.get_installed_path


def test_config_inherits_an_installed_mmpretrain_config(tmp_path):
    cfg = Config.fromfile(child_config(tmp_path))
    upstream = Config.fromfile(
        osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                 MMPRETRAIN_BYOL))
    # everything from mmpretrain's file (and its own _base_ chain) ...
    assert cfg.model.type == 'BYOL' and cfg.model.backbone.depth == 50
    assert cfg.optim_wrapper.optimizer == upstream.optim_wrapper.optimizer
    assert cfg.train_dataloader.dataset.pipeline == \
        upstream.train_dataloader.dataset.pipeline
    # ... with the child's overrides merged in, in mmpretrain's scope
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.model.neck.hidden_channels == 1024
    assert cfg.model.neck.in_channels == upstream.model.neck.in_channels
    assert cfg.model._scope_ == 'mmpretrain'


def test_tools_apply_the_fix_before_parsing(tmp_path):
    """A fresh interpreter through tools/train.py: ssl_plugins is imported
    (and the lookups fixed) before the config is read."""
    config = child_config(tmp_path)
    code = textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {osp.join(ROOT, 'tools')!r})
        import train
        cfg = train.merge_args(train.Config.fromfile({config!r}),
                               train.parse_args([{config!r}]))
        print(cfg.model.type, cfg.train_dataloader.batch_size)
    """)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, env=env, cwd=str(tmp_path), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-2:] == ['BYOL', '8']


@pytest.mark.skipif(not NO_PKG_RESOURCES,
                    reason='only without pkg_resources does mmengine fail')
def test_plain_mmengine_fails_without_the_fix(tmp_path):
    code = ('from mmengine.config import Config; '
            f'Config.fromfile({child_config(tmp_path)!r})')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode != 0 and 'pkg_resources' in out.stderr
