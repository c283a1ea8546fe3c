import os
import sys

os.environ.setdefault('OMP_NUM_THREADS', '1')
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                '..')))
sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope='session', autouse=True)
def _ssl_plugins_scope():
    from ssl_plugins.utils import register_all_modules
    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session')
def fake_fmnist(tmp_path_factory):
    """Folder with a tiny Fashion-MNIST look-alike (64 train, 32 test)."""
    from helpers import make_fake_fashion_mnist
    return make_fake_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')))
