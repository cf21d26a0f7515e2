"SynthHands through PyTorch DataLoaders: batched fetching, worker processes, bad input."
import pytest, torch
from torch.utils.data import DataLoader
from dualhand.synth import SynthHands, DOMAINS
from dualhand.hand import project

KEYS_EXACT = ('uv', 'xyz', 'K', 'vis', 'mask', 'depth')


@pytest.mark.parametrize('domain', DOMAINS)
def test_dataloader_batches_equal_items(domain):
    "A DataLoader with batch_size fetches through __getitems__ (one batched render) and gives the items of ds[i]"
    ds = SynthHands(8, domain, seed=1, size=32)
    batch = next(iter(DataLoader(ds, batch_size=8, shuffle=False)))
    assert set(batch) == {'rgb', 'depth', 'mask', 'uv', 'xyz', 'K', 'vis'}
    for i in (0, 5):
        item = ds[i]
        for k in KEYS_EXACT: assert torch.equal(batch[k][i], item[k]), k
        assert (batch['rgb'][i].float() - item['rgb'].float()).abs().mean() < 0.5
    torch.testing.assert_close(project(batch['xyz'], batch['K']), batch['uv'])


def test_workers_and_order_do_not_matter():
    "Two worker processes, reversed order: every sample is the one ds[i] renders in the main process"
    ds = SynthHands(6, 'real', seed=2, size=32)
    idx = [5, 4, 3, 2, 1, 0]
    dl = DataLoader(torch.utils.data.Subset(ds, idx), batch_size=None, num_workers=2)
    for i, s in zip(idx, dl):
        ref = ds[i]
        for k in ref: assert torch.equal(s[k], ref[k]), (i, k)


def test_negative_index_and_len():
    ds = SynthHands(4, size=32)
    assert len(ds) == 4
    assert torch.equal(ds[-1]['xyz'], ds[3]['xyz'])
    with pytest.raises(IndexError, match='out of range'): ds[4]


@pytest.mark.parametrize('kw, msg', [(dict(n=0), 'positive int'), (dict(n=2.5), 'positive int'),
                                     (dict(n=3, domain='RHD'), 'domain must be one of'),
                                     (dict(n=3, size=100.0), 'multiple of 4'), (dict(n=3, size=66), 'multiple of 4'),
                                     (dict(n=3, seed='a'), 'seed must be an int')])
def test_bad_arguments(kw, msg):
    with pytest.raises(ValueError, match=msg): SynthHands(**kw)
