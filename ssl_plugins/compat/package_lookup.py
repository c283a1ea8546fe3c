"""Package lookups of mmengine without ``pkg_resources`` (setuptools >= 81).

``_base_ = 'mmpretrain::byol/byol_resnet50_16xb256-coslr-200e_in1k.py'`` makes
``Config.fromfile`` call ``mmengine.utils.is_installed('mmpretrain')`` and
``get_installed_path('mmpretrain')`` (then reads
``<package>/.mim/configs/...``). mmengine 0.10.7 implements both, and
``package2module``, with ``pkg_resources``, which setuptools 81 removed: the
config fails with ``ModuleNotFoundError: No module named 'pkg_resources'``.

When ``pkg_resources`` cannot be imported, :func:`patch_package_lookups`
installs the versions below, built on :mod:`importlib.metadata` (the
distribution: ``mmcv-lite`` provides module ``mmcv``) and
:func:`importlib.util.find_spec` (where Python imports the module from).
Where ``pkg_resources`` exists, mmengine's functions stay.
"""
import importlib.util
import os.path as osp
import sys
from importlib import metadata
from typing import Optional

#: mmengine modules holding their own references to the functions.
_USERS = ('mmengine.utils.package_utils', 'mmengine.utils',
          'mmengine.config.config', 'mmengine.hub.hub')


def _distribution(package: str) -> Optional[metadata.Distribution]:
    try:
        return metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None


def _module_spec(name: str):
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):  # a dotted name whose parent is absent
        return None


def is_installed(package: str) -> bool:
    """Whether ``package`` is an installed distribution or importable.

    Args:
        package (str): Distribution name (``'mmpretrain'``, ``'mmcv-lite'``)
            or module name.

    Returns:
        bool: True for an installed distribution, or a module with a file
        (as mmengine: namespace packages do not count).
    """
    if _distribution(package) is not None:
        return True
    spec = _module_spec(package)
    return spec is not None and spec.origin is not None


def package2module(package: str) -> str:
    """The top-level module a distribution provides.

    Args:
        package (str): Distribution name, e.g. ``'mmcv-lite'``.

    Returns:
        str: e.g. ``'mmcv'``: the first line of ``top_level.txt``, or, for a
        distribution without that file, the module that
        :func:`importlib.metadata.packages_distributions` maps to it.

    Raises:
        importlib.metadata.PackageNotFoundError: Not installed.
        ValueError: The module name cannot be inferred.
    """
    dist = metadata.distribution(package)
    top_level = (dist.read_text('top_level.txt') or '').split()
    if top_level:
        return top_level[0]
    name = dist.metadata['Name']
    for module, dists in metadata.packages_distributions().items():
        if name in dists and not module.startswith('_'):
            return module
    raise ValueError(f'can not infer the module name of {package}')


def get_installed_path(package: str) -> str:
    """Folder of the module a distribution (or module name) provides.

    Args:
        package (str): Distribution or module name.

    Returns:
        str: e.g. ``.../site-packages/mmpretrain``; the folder Python imports
        the module from (right for editable installs too).

    Raises:
        importlib.metadata.PackageNotFoundError: Neither installed nor
            importable.
        RuntimeError: A namespace package (no single folder), as mmengine.
    """
    dist = _distribution(package)
    module = package
    if dist is not None and _module_spec(package) is None:
        module = package2module(package)
    spec = _module_spec(module)
    if spec is None:
        if dist is not None:
            return str(dist.locate_file(module))
        raise metadata.PackageNotFoundError(package)
    if spec.origin is None:
        raise RuntimeError(f'{package} is a namespace package, which is '
                           'invalid for `get_install_path`')
    return osp.dirname(spec.origin)


def _has_pkg_resources() -> bool:
    try:
        return importlib.util.find_spec('pkg_resources') is not None
    except (ImportError, ValueError):
        return False


def patch_package_lookups(force: bool = False) -> None:
    """Replace mmengine's ``pkg_resources`` lookups when it is missing.

    Rebinds ``is_installed``, ``get_installed_path`` and ``package2module``
    in ``mmengine.utils.package_utils`` and in the mmengine modules that
    imported them by name (``mmengine.utils``, ``mmengine.config.config``,
    ``mmengine.hub.hub`` if loaded; it imports them from ``mmengine.utils``
    otherwise). Idempotent.

    Args:
        force (bool): Patch even though ``pkg_resources`` is importable.
    """
    if _has_pkg_resources() and not force:
        return
    import mmengine.config.config  # noqa: F401  (holds its own references)
    import mmengine.utils.package_utils  # noqa: F401
    ours = dict(is_installed=is_installed,
                get_installed_path=get_installed_path,
                package2module=package2module)
    for name in _USERS:
        module = sys.modules.get(name)
        if module is None:
            continue
        for attr, func in ours.items():
            if hasattr(module, attr):
                setattr(module, attr, func)
