"""Bad images: named errors, opt-in skipping with a cap, tools/check_images.py.

The folder holds 4 good images (PNG and JPEG) and 3 bad ones: a zero-byte
file, a JPEG cut in half and a text file named .jpg.
"""
import logging
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from ssl_plugins.datasets import (BadImageError, LoadImageFromFileChecked,
                                  SkipBadImages, TooManyBadImagesError)
from ssl_plugins.datasets.transforms import read_image
from ssl_plugins.registry import DATASETS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'check_images.py')
GOOD = ('a_good.png', 'b_good.jpg', 'f_good.png', 'h_good.jpeg')
BAD = {
    'c_empty.jpg': 'empty',
    'd_truncated.jpg': 'truncated',
    'e_text.jpg': 'not an image',
}
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


def _write_folder(root, bad=True):
    root.mkdir()
    rng = np.random.default_rng(0)
    for i, name in enumerate(GOOD):
        # the mean colour identifies each image in the dataset tests
        img = np.full((12, 16, 3), 40 * (i + 1), np.uint8)
        img[::2] = rng.integers(0, 255, (6, 16, 3), np.uint8)
        assert cv2.imwrite(str(root / name), img)
    if bad:
        (root / 'c_empty.jpg').write_bytes(b'')
        ok, jpg = cv2.imencode('.jpg',
                               rng.integers(0, 255, (32, 32, 3), np.uint8))
        (root / 'd_truncated.jpg').write_bytes(jpg.tobytes()[:len(jpg) // 2])
        (root / 'e_text.jpg').write_text('this is not an image\n')
    return root


@pytest.fixture(scope='module')
def bad_folder(tmp_path_factory):
    return _write_folder(tmp_path_factory.mktemp('bad') / 'images')


@pytest.fixture(scope='module')
def clean_folder(tmp_path_factory):
    return _write_folder(
        tmp_path_factory.mktemp('clean') / 'images', bad=False)


def _custom(folder, **kwargs):
    return dict(type='CustomDataset', data_root=str(folder), with_label=False,
                pipeline=PIPELINE, **kwargs)


def test_scope_loader_is_the_checked_one():
    assert isinstance(TRANSFORMS.build(dict(type='LoadImageFromFile')),
                      LoadImageFromFileChecked)
    assert not isinstance(
        TRANSFORMS.build(dict(type='mmcv.LoadImageFromFile')),
        LoadImageFromFileChecked)


def test_good_images_load_as_mmcv_loads_them(bad_folder):
    ours = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    mmcv_own = TRANSFORMS.build(dict(type='mmcv.LoadImageFromFile'))
    for name in GOOD:
        path = str(bad_folder / name)
        a = ours(dict(img_path=path))
        b = mmcv_own(dict(img_path=path))
        assert np.array_equal(a['img'], b['img'])
        assert a['img_shape'] == b['img_shape'] == (12, 16)


@pytest.mark.parametrize('name', sorted(BAD))
def test_loader_error_names_file_and_reason(bad_folder, name):
    path = str(bad_folder / name)
    loader = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    with pytest.raises(BadImageError) as err:
        loader(dict(img_path=path))
    assert path in str(err.value) and BAD[name] in str(err.value)
    assert err.value.path == path and err.value.reason == BAD[name]
    # the pillow backend gives the same reasons
    with pytest.raises(BadImageError, match=BAD[name]):
        read_image(path, backend='pillow')
    # mmcv's own loader: the defect we fix (no file name in the error)
    if name == 'c_empty.jpg':
        with pytest.raises(cv2.error) as raw:
            TRANSFORMS.build(dict(type='mmcv.LoadImageFromFile'))(
                dict(img_path=path))
        assert name not in str(raw.value)


def test_truncated_jpeg_refused_even_if_the_decoder_pads_it(
        bad_folder, monkeypatch):
    # older OpenCV returns a grey-padded array for a cut JPEG instead of None
    import mmcv
    monkeypatch.setattr(mmcv, 'imfrombytes',
                        lambda *a, **k: np.full((32, 32, 3), 128, np.uint8))
    with pytest.raises(BadImageError, match='truncated'):
        read_image(str(bad_folder / 'd_truncated.jpg'))
    assert read_image(str(bad_folder / 'b_good.jpg')).shape == (32, 32, 3)


def test_ignore_empty_returns_none_as_mmcv(bad_folder):
    loader = TRANSFORMS.build(dict(type='LoadImageFromFile',
                                   ignore_empty=True))
    for name in BAD:
        assert loader(dict(img_path=str(bad_folder / name))) is None
    assert loader(dict(img_path=str(bad_folder / 'a_good.png'))) is not None


def test_missing_file_is_unreadable(tmp_path):
    path = str(tmp_path / 'gone.png')
    with pytest.raises(BadImageError, match='unreadable') as err:
        read_image(path)
    assert path in str(err.value)


def test_jpeg_with_bytes_after_end_marker_is_good(bad_folder, tmp_path):
    data = (bad_folder / 'b_good.jpg').read_bytes() + b'trailing junk' * 5
    (tmp_path / 'tail.jpg').write_bytes(data)
    img = read_image(str(tmp_path / 'tail.jpg'))
    assert img.shape == (12, 16, 3)


class _OneFile:
    """A one-sample dataset that loads ``path`` with the scope's loader."""

    def __init__(self, path):
        self.path = path
        self.loader = TRANSFORMS.build(dict(type='LoadImageFromFile'))

    def __len__(self):
        return 1

    def __getitem__(self, idx):
        return self.loader(dict(img_path=self.path))


def test_error_survives_a_dataloader_worker(bad_folder):
    from torch.utils.data import DataLoader
    loader = DataLoader(_OneFile(str(bad_folder / 'c_empty.jpg')),
                        batch_size=1, num_workers=1, collate_fn=list)
    batches = iter(loader)
    try:
        with pytest.raises(BadImageError) as err:
            next(batches)
    finally:  # else a later gc waits 5 s for the worker to stop
        batches._shutdown_workers()
    assert 'c_empty.jpg' in str(err.value) and 'empty' in str(err.value)


def _mean(sample):
    return float(sample['inputs'].float().mean())


def test_skip_yields_only_good_samples_and_counts_files(bad_folder):
    plain = DATASETS.build(_custom(bad_folder))
    names = [osp.basename(plain.get_data_info(i)['img_path'])
             for i in range(len(plain))]
    assert sorted(names) == sorted(GOOD + tuple(BAD))
    good_means = {
        _mean(plain[i]) for i, n in enumerate(names) if n in GOOD}
    assert len(good_means) == len(GOOD)

    ds = DATASETS.build(
        dict(type='SkipBadImages', max_skips=3, dataset=_custom(bad_folder)))
    logged = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = logged.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        samples = [ds[i] for i in range(len(ds))]
    finally:
        logger.removeHandler(handler)
    assert len(samples) == len(names)
    assert {_mean(s) for s in samples} <= good_means
    # each bad index is replaced by the next good one, in dataset order
    for i, sample in enumerate(samples):
        j = i
        while names[j % len(names)] not in GOOD:
            j += 1
        assert _mean(sample) == _mean(plain[j % len(names)])
    assert {osp.basename(p): r for p, r in ds.bad_files.items()} == BAD
    assert len(ds.bad_files) == len(BAD)
    assert ds.num_skips > len(BAD)  # known bad indices skipped again
    warnings = [r.getMessage() for r in logged
                if 'SkipBadImages: skipped' in r.getMessage()]
    assert len(warnings) == len(BAD)
    for name in BAD:
        assert sum(str(bad_folder / name) in w for w in warnings) == 1
    # a second pass finds no new file and does not reach the cap
    [ds[i] for i in range(len(ds))]
    assert len(ds.bad_files) == len(BAD)


@pytest.mark.parametrize('cap', [dict(max_skips=2),
                                 dict(max_skips=100, max_skip_ratio=0.3)])
def test_skip_cap_raises(bad_folder, cap):
    ds = SkipBadImages(_custom(bad_folder), **cap)
    assert ds.max_bad_files == 2  # int(0.3 * 7) == 2
    with pytest.raises(TooManyBadImagesError) as err:
        [ds[i] for i in range(len(ds))]
    message = str(err.value)
    assert 'more than the cap of 2' in message
    assert sum(name in message for name in BAD) == 3


def test_skip_zero_stops_at_first_bad_file(bad_folder):
    ds = SkipBadImages(_custom(bad_folder), max_skips=0)
    ds[0]  # a good image
    with pytest.raises(TooManyBadImagesError, match='c_empty.jpg'):
        ds[2]
    with pytest.raises(ValueError, match='max_skips'):
        SkipBadImages(_custom(bad_folder), max_skips=-1)


def test_skip_passes_other_errors_through():
    from mmengine.dataset import BaseDataset

    class Broken(BaseDataset):

        def load_data_list(self):
            return [dict(x=0)]

        def prepare_data(self, idx):
            raise KeyError('not an image problem')

    ds = SkipBadImages(Broken(), max_skips=5)
    with pytest.raises(KeyError):
        ds[0]
    assert ds.bad_files == {} and ds.num_skips == 0


@pytest.fixture(scope='module')
def tool():
    """tools/check_images.py as a module: run in-process, a subprocess
    would spend most of the test importing torch and mmpretrain again."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('check_images', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('workers', [2, 1])
def test_tool_lists_exactly_the_bad_files(tool, bad_folder, workers, capsys):
    assert tool.main([str(bad_folder), '--workers', str(workers)]) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    # one line per bad file, 'PATH: REASON (DETAIL)', sorted by path
    assert len(lines) == len(BAD)
    for line, (name, reason) in zip(lines, sorted(BAD.items())):
        assert line.startswith(f'{bad_folder / name}: {reason} (')
    assert '3 bad of 7 images' in out.err


def test_tool_exit_codes_clean_and_empty(tool, clean_folder, tmp_path,
                                         capsys):
    assert tool.main([str(clean_folder), '--workers', '2']) == 0
    out = capsys.readouterr()
    assert out.out == '' and '0 bad of 4 images' in out.err
    (tmp_path / 'notes.txt').write_text('no images here')
    assert tool.main([str(tmp_path)]) == 2
    assert tool.main([str(tmp_path / 'missing')]) == 2
    with pytest.raises(SystemExit) as err:
        tool.parse_args(['--help'])
    assert err.value.code == 0
    assert '--workers' in capsys.readouterr().out
