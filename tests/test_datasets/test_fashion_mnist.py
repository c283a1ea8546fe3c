"""FashionMNIST reading, labels and its error messages."""
import gzip
import os.path as osp
import shutil

import numpy as np
import pytest

from ssl_plugins.datasets import FashionMNIST

REAL = '/usr/share/datasets/fashion-mnist'


def test_reads_images_and_labels(fake_fmnist):
    ds = FashionMNIST(data_root=fake_fmnist, split='train')
    assert len(ds) == 64
    info = ds.get_data_info(3)
    assert info['img'].shape == (28, 28, 3) and info['img'].dtype == np.uint8
    assert info['gt_label'] == 3
    gray = FashionMNIST(data_root=fake_fmnist, split='test',
                        color_type='grayscale', with_label=False)
    assert len(gray) == 32
    sample = gray.get_data_info(0)
    assert sample['img'].shape == (28, 28, 1) and 'gt_label' not in sample


@pytest.mark.skipif(not osp.isdir(REAL), reason='dataset-fashion-mnist')
def test_real_data_set_sizes():
    assert len(FashionMNIST(split='train')) == 60000
    test = FashionMNIST(split='test')
    assert len(test) == 10000
    assert np.bincount(test.get_gt_labels()).tolist() == [1000] * 10


def test_missing_files_name_path_and_apt(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        FashionMNIST(data_root=str(tmp_path), split='train')
    msg = str(err.value)
    assert 'train-images-idx3-ubyte.gz' in msg and str(tmp_path) in msg
    assert 'apt-get install dataset-fashion-mnist' in msg


def test_truncated_file_is_a_clear_error(fake_fmnist, tmp_path):
    root = str(tmp_path / 'cut')
    shutil.copytree(fake_fmnist, root)
    path = osp.join(root, 'train-images-idx3-ubyte.gz')
    raw = gzip.open(path).read()
    with gzip.open(path, 'wb') as f:
        f.write(raw[:1000])
    with pytest.raises(ValueError, match='truncated or corrupt'):
        FashionMNIST(data_root=root, split='train')


def test_not_gzip_is_a_clear_error(fake_fmnist, tmp_path):
    root = str(tmp_path / 'bad')
    shutil.copytree(fake_fmnist, root)
    with open(osp.join(root, 'train-labels-idx1-ubyte.gz'), 'wb') as f:
        f.write(b'this is not gzip data at all')
    with pytest.raises(ValueError, match='train-labels-idx1-ubyte.gz'):
        FashionMNIST(data_root=root, split='train')


def test_swapped_files_are_detected(fake_fmnist, tmp_path):
    root = str(tmp_path / 'swap')
    shutil.copytree(fake_fmnist, root)
    shutil.copy(osp.join(root, 'train-labels-idx1-ubyte.gz'),
                osp.join(root, 'train-images-idx3-ubyte.gz'))
    with pytest.raises(ValueError, match='magic number 2049, expected 2051'):
        FashionMNIST(data_root=root, split='train')


def test_bad_arguments_are_named(fake_fmnist):
    with pytest.raises(ValueError, match="'val'"):
        FashionMNIST(data_root=fake_fmnist, split='val')
    with pytest.raises(ValueError, match="'rgb'"):
        FashionMNIST(data_root=fake_fmnist, color_type='rgb')
