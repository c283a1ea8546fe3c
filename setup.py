"""ssl_plugins: self-supervised pretraining as an OpenMMLab (mmpretrain)
plugin."""
import importlib.metadata
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    with open(osp.join(HERE, 'requirements', name)) as f:
        return [line.split('#')[0].strip() for line in f
                if line.split('#')[0].strip()]


def mmcv_requirement():
    # Full mmcv (compiled ops) and mmcv-lite install the same `mmcv` package:
    # keep whichever the user has, else take the lite one (no compilation).
    try:
        importlib.metadata.version('mmcv')
        return 'mmcv>=2.0.0,<2.4.0'
    except importlib.metadata.PackageNotFoundError:
        return 'mmcv-lite>=2.0.0,<2.4.0'


def version():
    scope = {}
    with open(osp.join(HERE, 'ssl_plugins', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='ssl_plugins',
    version=version(),
    description='SwAV, BYOL, SimSiam, Barlow Twins and DINO as an '
    'OpenMMLab/mmpretrain plugin',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.8',
    install_requires=read_requirements('runtime.txt') + [mmcv_requirement()],
    extras_require=dict(
        tests=read_requirements('tests.txt'),
        optional=read_requirements('optional.txt'),
        # benchmarks/ only: DINO against lightly (installed by .ci/run, so
        # the lightly parity tests run in CI)
        benchmark=read_requirements('benchmark.txt'),
        # logging backends (docs/custom_data.md): mmengine's
        # TensorboardVisBackend / WandbVisBackend need them
        tensorboard=['tensorboard'],
        wandb=['wandb']),
    license='Apache-2.0',
    zip_safe=False)
