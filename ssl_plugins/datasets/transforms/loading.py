"""Image loading that names the file and the reason when an image is bad.

mmcv's ``LoadImageFromFile`` fails on a zero-byte file with a bare OpenCV
assertion (``!buf.empty()``) and on a text file or a truncated JPEG with
``failed to load image`` at best; a DataLoader worker then reports neither the
file nor why. :func:`read_image` reads and decodes exactly as mmcv does but
raises :class:`BadImageError` carrying the path and one of
:data:`BAD_IMAGE_REASONS`; :class:`LoadImageFromFileChecked` is the pipeline
transform built on it and :func:`find_image_problem` is what
``tools/check_images.py`` runs on every file.
"""
import io
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadImageFromFile

from ssl_plugins.registry import TRANSFORMS

#: The reasons an image is bad, as stored in :attr:`BadImageError.reason`.
BAD_IMAGE_REASONS = ('unreadable', 'empty', 'not an image', 'truncated',
                     'corrupt')

_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_IEND = b'IEND\xaeB`\x82'


class BadImageError(OSError):
    """An image file that cannot be read or decoded.

    The message always holds the path and the reason, also after a DataLoader
    worker re-raises it in the main process (PyTorch rebuilds the exception
    from its message alone, hence the message-first signature).

    Args:
        message (str): full message, naming the file.
        path (str, optional): the image file. Defaults to None.
        reason (str, optional): one of :data:`BAD_IMAGE_REASONS`.
            Defaults to None.
        detail (str, optional): what exactly failed. Defaults to None.
    """

    def __init__(self,
                 message: str,
                 path: Optional[str] = None,
                 reason: Optional[str] = None,
                 detail: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason
        self.detail = detail


def _bad(path: str, reason: str, detail: str) -> BadImageError:
    return BadImageError(f'Bad image {path}: {reason} ({detail})', path,
                         reason, detail)


def _missing_end_marker(data: bytes) -> Optional[str]:
    """Name the missing end marker of a JPEG or PNG stream, if any."""
    if data.startswith(_JPEG_SOI) and not data.rstrip(b'\x00').endswith(
            _JPEG_EOI):
        return 'JPEG without its end-of-image marker'
    if data.startswith(_PNG_SIGNATURE) and _PNG_IEND not in data[-64:]:
        return 'PNG without its IEND chunk'
    return None


def _pillow_problem(data: bytes) -> Optional[BaseException]:
    """Decode ``data`` fully with Pillow; return its error, None if fine."""
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except Exception as err:  # Pillow raises many types for bad data
        return err
    return None


def _diagnose(path: str, data: bytes, backend: str,
              cause: Optional[BaseException]) -> BadImageError:
    """Classify non-empty bytes that the configured decoder refused."""
    from PIL import UnidentifiedImageError
    pil_err = _pillow_problem(data)
    if isinstance(pil_err, UnidentifiedImageError):
        return _bad(path, 'not an image', 'content is no known image format')
    if pil_err is not None and 'truncated' in str(pil_err):
        return _bad(path, 'truncated', str(pil_err))
    marker = _missing_end_marker(data)
    if marker is not None:
        return _bad(path, 'truncated', marker)
    detail = f'{backend} could not decode it'
    if cause is not None:
        detail += f': {type(cause).__name__}: {cause}'.splitlines()[0]
    elif pil_err is not None:
        detail += f'; Pillow: {pil_err}'
    return _bad(path, 'corrupt', detail)


def read_image(path: str,
               color_type: str = 'color',
               backend: str = 'cv2',
               backend_args: Optional[dict] = None,
               file_client_args: Optional[dict] = None) -> np.ndarray:
    """Read and decode an image as mmcv's ``LoadImageFromFile`` does, but
    raise :class:`BadImageError` naming the file and the reason.

    The bytes come from ``mmengine.fileio`` and are decoded by
    ``mmcv.imfrombytes`` with ``color_type`` and ``backend``, so a good image
    gives the very array mmcv would. Reasons:

    - ``unreadable``: the file cannot be read (missing, no permission, ...);
    - ``empty``: zero bytes;
    - ``not an image``: the content is no image format (text, HTML, ...);
    - ``truncated``: the stream stops early; a JPEG without its end marker
      that the decoder accepted anyway (older OpenCV pads the missing rows
      with grey) is checked with a full Pillow decode, so files with extra
      bytes after the end marker stay valid (with Pillow's
      ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` that check accepts what
      Pillow accepts);
    - ``corrupt``: any other decoding failure.

    Args:
        path (str): the image file (any ``mmengine.fileio`` location).
        color_type (str): flag of ``mmcv.imfrombytes``. Defaults to 'color'.
        backend (str): decoding backend of ``mmcv.imfrombytes``.
            Defaults to 'cv2'.
        backend_args (dict, optional): file backend arguments of
            ``mmengine.fileio.get``. Defaults to None.
        file_client_args (dict, optional): deprecated mmcv file client
            arguments; used instead of ``backend_args`` if given.
            Defaults to None.

    Returns:
        np.ndarray: the decoded image.

    Raises:
        BadImageError: the file is unreadable, empty, not an image,
            truncated or corrupt.
    """
    try:
        if file_client_args is not None:
            client = fileio.FileClient.infer_client(file_client_args, path)
            data = client.get(path)
        else:
            data = fileio.get(path, backend_args=backend_args)
    except Exception as err:
        raise _bad(path, 'unreadable', f'{type(err).__name__}: {err}') from err
    if len(data) == 0:
        raise _bad(path, 'empty', 'file has 0 bytes')
    try:
        img = mmcv.imfrombytes(data, flag=color_type, backend=backend)
    except Exception as err:
        raise _diagnose(path, data, backend, err) from err
    if img is None or img.size == 0:
        raise _diagnose(path, data, backend, None)
    if _missing_end_marker(data) is not None:
        pil_err = _pillow_problem(data)
        if pil_err is not None and 'truncated' in str(pil_err):
            raise _bad(path, 'truncated', str(pil_err))
    return img


def find_image_problem(path: str,
                       color_type: str = 'color',
                       backend: str = 'cv2') -> Optional[str]:
    """What :func:`read_image` finds wrong with a local file.

    Args:
        path (str): the image file.
        color_type (str): flag of ``mmcv.imfrombytes``. Defaults to 'color'.
        backend (str): decoding backend. Defaults to 'cv2'.

    Returns:
        str | None: ``'<reason> (<detail>)'`` for a bad image, None for a
        good one.
    """
    try:
        read_image(path, color_type=color_type, backend=backend)
    except BadImageError as err:
        return f'{err.reason} ({err.detail})'
    return None


@TRANSFORMS.register_module(
    name=['LoadImageFromFileChecked', 'LoadImageFromFile'])
class LoadImageFromFileChecked(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` whose errors name the file and reason.

    Same arguments, same output keys (``img``, ``img_shape``, ``ori_shape``)
    and the same decoded array for a good image; a bad one raises
    :class:`BadImageError` (see :func:`read_image` for the reasons), which
    :class:`~ssl_plugins.datasets.SkipBadImages` can turn into a skip.
    With ``ignore_empty=True`` it returns None instead, as mmcv does
    (mmengine's ``BaseDataset`` then draws a random other index, silently).

    It is registered in the ``ssl_plugins`` scope under its own name *and*
    as ``LoadImageFromFile``. We chose to shadow the name because the
    defect is in every pipeline that loads files, including mmpretrain base
    configs that a user's config inherits: under
    ``default_scope='ssl_plugins'`` all of them get named errors without an
    edit, and the behaviour on good images is mmcv's own (subclass, same
    decoder). The only difference besides the error type: a JPEG that
    Pillow finds truncated is refused even if the decoder would pad it.
    ``type='mmcv.LoadImageFromFile'`` still builds mmcv's original.

    Args:
        to_float32 (bool): return float32 instead of uint8.
            Defaults to False.
        color_type (str): flag of ``mmcv.imfrombytes``. Defaults to 'color'.
        imdecode_backend (str): backend of ``mmcv.imfrombytes``.
            Defaults to 'cv2'.
        file_client_args (dict, optional): deprecated, as in mmcv.
            Defaults to None.
        ignore_empty (bool): return None for a bad image instead of raising.
            Defaults to False.
        backend_args (dict, optional): file backend arguments.
            Defaults to None.
    """

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``.

        Args:
            results (dict): must hold ``img_path``.

        Returns:
            dict | None: ``results`` with ``img``, ``img_shape`` and
            ``ori_shape``; None for a bad image with ``ignore_empty``.

        Raises:
            BadImageError: the image is bad (``ignore_empty=False``).
        """
        path = results['img_path']
        try:
            img = read_image(path, self.color_type, self.imdecode_backend,
                             self.backend_args, self.file_client_args)
        except BadImageError:
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
