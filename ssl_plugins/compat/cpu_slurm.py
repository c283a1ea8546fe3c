"""``--launcher slurm`` on nodes without GPUs (gloo on the CPU).

mmengine 0.10.7's ``mmengine.dist.utils._init_dist_slurm`` takes the local
rank as ``SLURM_PROCID % torch.cuda.device_count()`` when ``SLURM_LOCALID`` is
unset (a ``ZeroDivisionError`` without GPUs), then calls
``torch.cuda.set_device`` and initialises the configured backend (``nccl``).
Without CUDA we set the same environment variables (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) and
initialise gloo; with CUDA mmengine's function runs unchanged.
"""
import os
import shutil
import subprocess

import torch

_DEFAULT_PORT = '29500'  # torch.distributed's (and mmengine's) default


def _local_rank(proc_id: int) -> int:
    """This task's rank on its node, from Slurm's variables."""
    if 'SLURM_LOCALID' in os.environ:
        return int(os.environ['SLURM_LOCALID'])
    per_node = os.environ.get('SLURM_NTASKS_PER_NODE', '')
    if per_node.isdigit() and int(per_node) > 0:
        return proc_id % int(per_node)
    return 0


def _master_addr(node_list: str) -> str:
    """First host of ``SLURM_NODELIST`` (``scontrol``, as mmengine does)."""
    if shutil.which('scontrol'):
        out = subprocess.run(['scontrol', 'show', 'hostnames', node_list],
                             capture_output=True, text=True, check=False)
        hosts = out.stdout.split()
        if out.returncode == 0 and hosts:
            return hosts[0]
    if node_list and not any(c in node_list for c in '[],'):
        return node_list  # a single plain host name needs no scontrol
    raise RuntimeError(
        f'--launcher slurm: cannot find the first host of SLURM_NODELIST='
        f'{node_list!r} (scontrol is not available); set MASTER_ADDR.')


def init_dist_slurm_cpu(backend: str = 'gloo', port=None,
                        init_backend: str = 'torch', **kwargs) -> None:
    """Initialise a gloo process group from Slurm's environment.

    Args:
        backend (str): The configured backend; ignored, gloo is the CPU
            backend (``tools/train.py`` logs ``gloo`` in the config).
        port (int, optional): Master port; ``MASTER_PORT`` or 29500 if None.
        init_backend (str): Only ``'torch'`` is supported on the CPU.
        **kwargs: Passed to ``torch.distributed.init_process_group``
            (``timeout``).

    Raises:
        ValueError: ``init_backend`` is not ``'torch'``.
        RuntimeError: ``MASTER_ADDR`` is unset and cannot be derived.
    """
    if init_backend != 'torch':
        raise ValueError(f'--launcher slurm without CUDA: init_backend='
                         f'{init_backend!r} is not supported, only "torch"')
    proc_id = int(os.environ['SLURM_PROCID'])
    ntasks = int(os.environ['SLURM_NTASKS'])
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', _DEFAULT_PORT)
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = _master_addr(
            os.environ.get('SLURM_NODELIST', ''))
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['LOCAL_RANK'] = str(_local_rank(proc_id))
    os.environ['RANK'] = str(proc_id)
    import torch.distributed as dist
    dist.init_process_group(backend='gloo', rank=proc_id, world_size=ntasks,
                            **kwargs)


def patch_cpu_slurm() -> None:
    """Route mmengine's Slurm initialisation to gloo without CUDA.

    Idempotent; with CUDA the original function is called.
    """
    from mmengine.dist import utils as dist_utils

    if getattr(dist_utils._init_dist_slurm, '_ssl_plugins', False):
        return
    original = dist_utils._init_dist_slurm

    def _init_dist_slurm(backend, port=None, init_backend='torch',
                         **kwargs) -> None:
        if torch.cuda.is_available():
            return original(backend, port=port, init_backend=init_backend,
                            **kwargs)
        return init_dist_slurm_cpu(backend, port=port,
                                   init_backend=init_backend, **kwargs)

    _init_dist_slurm._ssl_plugins = True
    dist_utils._init_dist_slurm = _init_dist_slurm
