"""Fashion-MNIST (Xiao et al., 2017) from local gzipped IDX files."""
import gzip
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from ssl_plugins.registry import DATASETS

DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist'
_FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


def read_idx(path: str, expected_magic: int) -> np.ndarray:
    """Read a (gzipped) IDX file of unsigned bytes into an array.

    Raises:
        FileNotFoundError: the file is missing (message names the path and
            the Debian package that provides it).
        ValueError: the file is not a valid IDX file of that kind, or is
            truncated/corrupt (message names the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Fashion-MNIST file {path} not found. Install the data with '
            '`sudo apt-get install dataset-fashion-mnist` (files under '
            f'{DEFAULT_ROOT}) or set data_root to a folder holding '
            f'{osp.basename(path)}.')
    try:
        opener = gzip.open if path.endswith('.gz') else open
        with opener(path, 'rb') as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f'{path} is corrupt or truncated ({err}).') from err
    if len(raw) < 8:
        raise ValueError(f'{path} is too short ({len(raw)} bytes) to be an '
                         'IDX file.')
    magic = int.from_bytes(raw[:4], 'big')
    if magic != expected_magic:
        raise ValueError(f'{path}: IDX magic number {magic}, expected '
                         f'{expected_magic} (wrong or corrupt file).')
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    size = int(np.prod(shape))
    if len(raw) != header + size:
        raise ValueError(f'{path} is truncated or corrupt: header says '
                         f'{shape} = {size} bytes of data, file has '
                         f'{len(raw) - header}.')
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@DATASETS.register_module()
class FashionMNIST(BaseDataset):
    """Fashion-MNIST: 60,000 train / 10,000 test 28x28 greyscale images.

    Reads the gzipped IDX files of the Debian package ``dataset-fashion-mnist``
    (nothing is downloaded). Images are handed to the pipeline as uint8 arrays
    of shape (28, 28, 3) (the grey channel repeated, ``color_type='color'``,
    so every RGB augmentation works) or (28, 28, 1) (``'grayscale'``).

    The name is also that of mmpretrain's own ``FashionMNIST`` (downloads,
    no ``with_label`` / ``color_type``). ``type='FashionMNIST'`` builds this
    class in the ``ssl_plugins`` scope, which a config with
    ``default_scope='ssl_plugins'`` gives its datasets also in mmpretrain's
    tools that force their own scope (``_scope_``, see
    :mod:`ssl_plugins.compat.config_scope`); from any other scope write
    ``type='ssl_plugins.FashionMNIST'``.

    Args:
        data_root (str): Folder of the IDX files.
            Defaults to ``/usr/share/datasets/fashion-mnist``.
        split (str): ``'train'`` or ``'test'``.
        with_label (bool): Put ``gt_label`` in each sample. Defaults to True.
        color_type (str): ``'color'`` or ``'grayscale'``.
        pipeline (list): mmpretrain/mmcv transforms.
        indices (int | Sequence[int], optional): a subset (mmengine).
        **kwargs: other arguments of :class:`mmengine.dataset.BaseDataset`.
    """
    METAINFO = dict(classes=('T-shirt/top', 'Trouser', 'Pullover', 'Dress',
                             'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
                             'Ankle boot'))

    def __init__(self,
                 data_root: str = DEFAULT_ROOT,
                 split: str = 'train',
                 with_label: bool = True,
                 color_type: str = 'color',
                 pipeline: Sequence = (),
                 indices: Optional[Sequence[int]] = None,
                 **kwargs):
        if split not in _FILES:
            raise ValueError(f'FashionMNIST: split must be one of '
                             f'{list(_FILES)}, got {split!r}')
        if color_type not in ('color', 'grayscale'):
            raise ValueError("FashionMNIST: color_type must be 'color' or "
                             f"'grayscale', got {color_type!r}")
        self.split = split
        self.with_label = with_label
        self.color_type = color_type
        kwargs.setdefault('serialize_data', False)
        super().__init__(
            data_root=data_root,
            pipeline=list(pipeline),
            indices=indices,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        image_file, label_file = _FILES[self.split]
        self.images = read_idx(
            osp.join(self.data_root, image_file), _IMAGES_MAGIC)
        labels = read_idx(osp.join(self.data_root, label_file), _LABELS_MAGIC)
        if len(labels) != len(self.images):
            raise ValueError(f'{self.data_root}: {len(self.images)} images '
                             f'but {len(labels)} labels in split '
                             f'{self.split!r}.')
        self.labels = labels.astype(np.int64)
        return [dict(img_index=i) for i in range(len(self.images))]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        img = self.images[info['img_index']][..., None]
        if self.color_type == 'color':
            img = np.repeat(img, 3, axis=2)
        info.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        if self.with_label:
            info['gt_label'] = int(self.labels[info['img_index']])
        return info

    def get_gt_labels(self) -> np.ndarray:
        """Labels of the (sub)set, in dataset order."""
        return np.array([self.labels[d['img_index']] for d in self.data_list],
                        dtype=np.int64)
