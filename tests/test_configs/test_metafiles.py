"""Each method's metafile.yml lists exactly its configs, with sourced
results."""
import glob
import os.path as osp

import pytest
import yaml

from helpers import REPO

METHODS = ['byol', 'simsiam', 'barlow_twins', 'swav', 'dino']


@pytest.mark.parametrize('method', METHODS)
def test_metafile_lists_every_config(method):
    folder = osp.join(REPO, 'configs', method)
    with open(osp.join(folder, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    (collection, ) = meta['Collections']
    assert collection['Paper']['URL'].startswith('https://arxiv.org/abs/')
    assert osp.isfile(osp.join(REPO, collection['README']))
    listed = [m['Config'] for m in meta['Models']]
    shipped = sorted(f'configs/{method}/{osp.basename(p)}'
                     for p in glob.glob(osp.join(folder, '*.py')))
    assert sorted(listed) == shipped
    for model in meta['Models']:
        assert model['In Collection'] == collection['Name']
        assert model['Name'] == osp.basename(model['Config'])[:-3]
        assert model['Metadata']['Training Data']  # its data
        for result in model['Results'] or []:
            # a number without the command and machine behind it is not a
            # result
            assert result['Command'] and result['Machine'] and result['Date']
            knn = result['Metrics']['kNN Top 1 (k=20)']
            assert 0 < knn <= 100
