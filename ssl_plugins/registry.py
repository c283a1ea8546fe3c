"""Registries of the ``ssl_plugins`` scope.

Each one is a child of mmpretrain's registry of the same kind, so with
``default_scope='ssl_plugins'`` a config finds our classes first and still
reaches mmpretrain's and mmengine's (``ResNet``, ``LARS``, ``CustomDataset``).
``type='mmpretrain.BYOL'`` builds mmpretrain's class explicitly.

mmengine imports ``<scope>.registry`` by itself when it switches to a default
scope; ``locations`` then imports the modules that register into each node.
"""
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS',
    'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS'
]

_SCOPE = 'ssl_plugins'


def _child(name: str, parent: Registry, location: str) -> Registry:
    return Registry(name, parent=parent, scope=_SCOPE,
                    locations=[f'ssl_plugins.{location}'])


_r = mmpretrain_registry
RUNNERS = _child('runner', _r.RUNNERS, 'engine')
RUNNER_CONSTRUCTORS = _child('runner constructor', _r.RUNNER_CONSTRUCTORS,
                             'engine')
LOOPS = _child('loop', _r.LOOPS, 'engine')
HOOKS = _child('hook', _r.HOOKS, 'engine')
LOG_PROCESSORS = _child('log processor', _r.LOG_PROCESSORS, 'engine')
OPTIMIZERS = _child('optimizer', _r.OPTIMIZERS, 'engine')
OPTIM_WRAPPERS = _child('optimizer_wrapper', _r.OPTIM_WRAPPERS, 'engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    _r.OPTIM_WRAPPER_CONSTRUCTORS, 'engine')
PARAM_SCHEDULERS = _child('parameter scheduler', _r.PARAM_SCHEDULERS,
                          'engine')
DATASETS = _child('dataset', _r.DATASETS, 'datasets')
DATA_SAMPLERS = _child('data sampler', _r.DATA_SAMPLERS, 'datasets')
TRANSFORMS = _child('transform', _r.TRANSFORMS, 'datasets')
MODELS = _child('model', _r.MODELS, 'models')
MODEL_WRAPPERS = _child('model_wrapper', _r.MODEL_WRAPPERS, 'models')
WEIGHT_INITIALIZERS = _child('weight initializer', _r.WEIGHT_INITIALIZERS,
                             'models')
TASK_UTILS = _child('task util', _r.TASK_UTILS, 'models')
METRICS = _child('metric', _r.METRICS, 'evaluation')
EVALUATORS = _child('evaluator', _r.EVALUATORS, 'evaluation')
VISUALIZERS = _child('visualizer', _r.VISUALIZERS, 'evaluation')
VISBACKENDS = _child('vis_backend', _r.VISBACKENDS, 'evaluation')
