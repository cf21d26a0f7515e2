"Cross-notebook checks of dualhand.metrics: accumulation paths, the real model's output, bad input"
import math
import pytest
import torch
from types import SimpleNamespace
from dualhand.hand import to_25d
from dualhand.losses import make_targets
from dualhand.metrics import (evaluate, hand_metrics, keypoints_3d, pa_epe_3d, epe_3d, procrustes_align, pck_2d,
                              auc_3d, EPE3D, PCK2D, AUC3D)

torch.set_num_threads(1)


def batch(B, seed, S=64, noise=1.):
    g = torch.Generator().manual_seed(seed)
    xyz = torch.randn(B, 21, 3, generator=g) * 30 + torch.tensor([0., 0, 400])
    K = torch.tensor([[150., 0, S / 2], [0, 150., S / 2], [0, 0, 1]]).expand(B, 3, 3).clone()
    uv, zr, _ = to_25d(xyz, K)
    t = make_targets(dict(uv=uv, xyz=xyz, K=K, vis=torch.rand(B, 21, generator=g) > 0.2), S // 4)
    y = dict(uv=uv + noise * torch.randn(B, 21, 2, generator=g) * 3, zr=zr + noise * torch.randn(B, 21, generator=g) * 0.3,
             heatmaps=torch.zeros(B, 21, S // 4, S // 4))
    return y, t


def run_metrics(metrics, pairs, learn_factory=lambda y, t: SimpleNamespace(pred=y, yb=(t,))):
    for m in metrics: m.reset()
    for y, t in pairs:
        learn = learn_factory(y, t)
        for m in metrics: m.accumulate(learn)
    return {m.name: m.value for m in metrics}


def test_list_and_concatenation_agree():
    pairs = [batch(4, 0), batch(2, 1), batch(3, 2)]
    a = evaluate([y for y, _ in pairs], [t for _, t in pairs])
    cat = lambda ds: {k: torch.cat([d[k] for d in ds]) for k in ds[0]}
    b = evaluate({'y_R': cat([y for y, _ in pairs])}, cat([t for _, t in pairs]))
    assert a == pytest.approx(b, rel=1e-5)
    assert a['n'] == 9


def test_padding_dropped_by_to_detach_is_respected():
    "fastai's distributed to_detach drops padding samples: the metrics must sum what it returns, not the raw batch"
    pairs = [batch(4, 0), batch(4, 1)]
    keep = [4, 2]                                            # the last batch was padded with 2 repeated samples
    it = iter(keep)
    def factory(y, t):
        n = next(it)
        return SimpleNamespace(pred=y, yb=(t,), to_detach=lambda s, cpu=True, gather=True: s[:n])
    acc = run_metrics(hand_metrics(), pairs, factory)
    ref = evaluate([{k: v[:n] for k, v in y.items()} for (y, _), n in zip(pairs, keep)],
                   [{k: v[:n] for k, v in t.items()} for (_, t), n in zip(pairs, keep)])
    for k in ('pck2d', 'epe3d', 'auc_20_50', 'auc_0_50', 'pa_epe3d'):
        assert acc[k] == pytest.approx(ref[k], rel=1e-4), k


def test_perfect_prediction():
    y, t = batch(3, 4, noise=0.)
    r = evaluate(y, t)
    assert r['pck2d'] == 1 and r['auc_0_50'] == pytest.approx(1, abs=1e-3) and r['auc_20_50'] == 1
    assert r['epe3d'] < 1e-3 and r['pa_epe3d'] < 1e-3


def test_pa_epe_is_invariant_to_a_similarity_of_the_prediction():
    y, t = batch(3, 5)
    p3, t3 = keypoints_3d(y, t)
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(0)))
    q = q * torch.sign(torch.linalg.det(q))                  # a rotation
    moved = 0.7 * p3 @ q.T + torch.tensor([1., 2, 3])
    assert pa_epe_3d(moved, t3, t['vis']) == pytest.approx(pa_epe_3d(p3, t3, t['vis']).item(), rel=1e-4)
    assert epe_3d(moved, t3, t['vis']) > pa_epe_3d(moved, t3, t['vis'])


def test_metrics_on_the_real_model():
    model_mod = pytest.importorskip('dualhand.model')
    torch.manual_seed(0)
    model = model_mod.DualHandNet('resnet18', decoder_width=32).eval()
    _, t = batch(2, 6)
    with torch.no_grad(): y = model(torch.rand(2, 3, 64, 64))
    r = evaluate(y, t)                                       # img_size inferred: 4 * 16 = 64
    assert all(math.isfinite(v) for v in r.values())
    assert 0 <= r['auc_0_50'] <= 1 and r['pa_epe3d'] <= r['epe3d'] + 1e-6
    # PCK by hand: visible joints within 5 % of the 64-pixel crop (3.2 px) of the truth, over the visible joints
    hits = [math.dist(y['uv'][i, j].tolist(), t['uv'][i, j].tolist()) <= 0.05 * 64
            for i in range(2) for j in range(21) if t['vis'][i, j]]
    assert r['pck2d'] == pytest.approx(sum(hits) / len(hits), abs=1e-6)
    acc = run_metrics(hand_metrics(), [(y, t)])
    for k in ('pck2d', 'epe3d', 'auc_20_50', 'auc_0_50', 'pa_epe3d'):
        assert acc[k] == pytest.approx(r[k], rel=1e-4, abs=1e-6), k


def test_bad_input_and_empty_sets():
    y, t = batch(2, 7)
    with pytest.raises(ValueError, match='img_size'):
        evaluate(dict(uv=y['uv'], zr=y['zr']), t)
    assert evaluate(dict(uv=y['uv'], zr=y['zr']), t, img_size=64)['pck2d'] == pytest.approx(evaluate(y, t)['pck2d'])
    with pytest.raises(ValueError, match='shapes differ'):
        pck_2d(torch.zeros(1, 21, 2), torch.zeros(1, 20, 2), None, 12.8)
    with pytest.raises(ValueError, match=r'\(B,J,3\)'):
        procrustes_align(torch.zeros(21, 3), torch.zeros(21, 3))
    assert math.isnan(auc_3d(torch.ones(2, 21), valid=torch.zeros(2, 21, dtype=torch.bool)).item())
    for m in (EPE3D(), PCK2D(), AUC3D()):
        m.reset(); assert m.value is None                    # nothing accumulated yet


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_metrics_accumulate_on_cuda():
    pairs = [tuple({k: v.cuda() for k, v in d.items()} for d in batch(4, s)) for s in (0, 1)]
    acc = run_metrics(hand_metrics(), pairs)
    ref = evaluate([tuple({k: v.cpu() for k, v in d.items()} for d in p)[0] for p in pairs],
                   [tuple({k: v.cpu() for k, v in d.items()} for d in p)[1] for p in pairs])
    for k in ('pck2d', 'epe3d', 'auc_20_50', 'auc_0_50', 'pa_epe3d'):
        assert acc[k] == pytest.approx(ref[k], rel=1e-4), k
