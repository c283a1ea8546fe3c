"""Loader side of the device input pipeline: read the bytes, decode nothing.

With the ``DeviceDecodeCropPreprocessor`` data preprocessor
(:mod:`ssl_plugins.models.data_preprocessors.device_decode_crop`) the
DataLoader workers only read each file's encoded bytes
(:class:`LoadImageBytes`); decoding, random-resized crops, flips and the
photometric augmentations run on the batch in the model's data preprocessor
(the GPU when training on one). :class:`PackEncodedImage` wraps the bytes in
an :class:`EncodedImage`, a ``BaseDataElement``, so that mmengine's
``default_collate`` (mmpretrain configs' collate function) keeps the
variable-length byte tensors as a list instead of trying to stack them::

    pipeline = [dict(type='LoadImageBytes'), dict(type='PackEncodedImage')]
    # collated: dict(inputs=[EncodedImage, ...], data_samples=[DataSample])

With ``collate_fn=dict(type='pseudo_collate')`` mmpretrain's ``PackInputs``
(``input_key='img_bytes'``) gives a list of plain byte tensors, which the
preprocessor accepts too (paths then come from the data samples).
"""
from typing import Optional, Sequence

import mmengine.fileio as fileio
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement
from mmpretrain.datasets.transforms import PackInputs

from ssl_plugins.registry import TRANSFORMS
from .loading import BadImageError

#: Leading bytes of the formats the preprocessor can decode (JPEG on the
#: device; PNG, GIF and WebP on the CPU, as a fallback).
_MAGIC = {
    'JPEG': (b'\xff\xd8\xff', ),
    'PNG': (b'\x89PNG\r\n\x1a\n', ),
    'GIF': (b'GIF87a', b'GIF89a'),
}


def image_format(data: bytes) -> Optional[str]:
    """The image format named by the first bytes of ``data``, if known.

    Args:
        data (bytes): the start of an encoded file (12 bytes suffice).

    Returns:
        str | None: 'JPEG', 'PNG', 'GIF' or 'WEBP'; None for anything else.
    """
    for name, magics in _MAGIC.items():
        if any(data.startswith(m) for m in magics):
            return name
    if data[:4] == b'RIFF' and data[8:12] == b'WEBP':
        return 'WEBP'
    return None


class EncodedImage(BaseDataElement):
    """The encoded bytes of one image file and its path.

    A ``BaseDataElement`` so that ``default_collate`` passes a batch of them
    through as a list (it stacks plain tensors, which fails for byte strings
    of different lengths).

    Args:
        encoded (Tensor, optional): 1-D uint8 tensor, the file's bytes.
        img_path (str, optional): the file, named in decoding errors.

    Attributes:
        encoded (Tensor): the bytes (a data field).
        img_path (str): the path (a metainfo field).
    """

    def __init__(self,
                 encoded: Optional[torch.Tensor] = None,
                 img_path: Optional[str] = None) -> None:
        # BaseDataElement.new() calls the class without arguments.
        super().__init__(metainfo=None if img_path is None else dict(
            img_path=img_path))
        if encoded is not None:
            self.encoded = encoded


@TRANSFORMS.register_module()
class LoadImageBytes(BaseTransform):
    """Read ``results['img_path']`` into ``results['img_bytes']``, undecoded.

    The bytes become a 1-D uint8 tensor; nothing is decoded, so no image
    size is known here (``img_shape`` is not set). Cheap checks run in the
    worker, where :class:`~ssl_plugins.datasets.SkipBadImages` can still
    skip the file: unreadable, empty, and (``check_format``) content whose
    first bytes are no JPEG, PNG, GIF or WebP signature. A file that passes
    them but does not decode fails later, in the data preprocessor, with
    the same :class:`~ssl_plugins.datasets.transforms.BadImageError`
    naming the file (``tools/check_images.py`` finds such files
    beforehand).

    Args:
        backend_args (dict, optional): file backend arguments of
            ``mmengine.fileio.get``. Defaults to None (local files).
        check_format (bool): refuse files without a known image signature
            (reason 'not an image'). Defaults to True.
        ignore_empty (bool): return None for a bad file instead of raising
            (mmengine's ``BaseDataset`` then draws another index), as mmcv's
            ``LoadImageFromFile``. Defaults to False.
    """

    def __init__(self,
                 backend_args: Optional[dict] = None,
                 check_format: bool = True,
                 ignore_empty: bool = False) -> None:
        self.backend_args = backend_args
        self.check_format = check_format
        self.ignore_empty = ignore_empty

    def _read(self, path: str) -> bytes:
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except Exception as err:
            raise BadImageError(
                f'Bad image {path}: unreadable ({type(err).__name__}: '
                f'{err})', path, 'unreadable', str(err)) from err
        if len(data) == 0:
            raise BadImageError(f'Bad image {path}: empty (file has 0 bytes)',
                                path, 'empty', 'file has 0 bytes')
        if self.check_format and image_format(data[:12]) is None:
            detail = 'content starts with no JPEG/PNG/GIF/WebP signature'
            raise BadImageError(f'Bad image {path}: not an image ({detail})',
                                path, 'not an image', detail)
        return data

    def transform(self, results: dict) -> Optional[dict]:
        """Read the file.

        Args:
            results (dict): must hold ``img_path``.

        Returns:
            dict | None: ``results`` with ``img_bytes`` (1-D uint8 tensor);
            None for a bad file with ``ignore_empty``.

        Raises:
            BadImageError: unreadable, empty or not an image.
        """
        path = results['img_path']
        try:
            data = self._read(path)
        except BadImageError:
            if self.ignore_empty:
                return None
            raise
        results['img_bytes'] = torch.from_numpy(
            np.frombuffer(data, dtype=np.uint8).copy())
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(backend_args={self.backend_args}, '
                f'check_format={self.check_format}, '
                f'ignore_empty={self.ignore_empty})')


@TRANSFORMS.register_module()
class PackEncodedImage(PackInputs):
    """mmpretrain's ``PackInputs`` for :class:`LoadImageBytes`' output.

    ``inputs`` becomes an :class:`EncodedImage` (the bytes and the path), so
    that ``default_collate`` gives a list of them per batch;
    ``data_samples`` is ``PackInputs``' ``DataSample`` (with ``img_path``
    and ``sample_idx`` in its metainfo).

    Args:
        algorithm_keys (Sequence[str]): as ``PackInputs``. Defaults to ().
        meta_keys (Sequence[str]): as ``PackInputs``. Defaults to
            ``PackInputs.DEFAULT_META_KEYS``.
    """

    def __init__(self,
                 algorithm_keys: Sequence[str] = (),
                 meta_keys: Sequence[str] = PackInputs.DEFAULT_META_KEYS
                 ) -> None:
        super().__init__(input_key='img_bytes', algorithm_keys=algorithm_keys,
                         meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack ``img_bytes`` and ``img_path``.

        Args:
            results (dict): with ``img_bytes`` (from :class:`LoadImageBytes`).

        Returns:
            dict: ``inputs`` (:class:`EncodedImage`) and ``data_samples``.
        """
        if 'img_bytes' not in results:
            raise KeyError('PackEncodedImage: results have no "img_bytes"; '
                           'put LoadImageBytes before it in the pipeline')
        packed = super().transform(results)
        packed['inputs'] = EncodedImage(packed['inputs'],
                                        results.get('img_path'))
        return packed
