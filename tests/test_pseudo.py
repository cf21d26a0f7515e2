"Cross-notebook checks of dualhand.pseudo: the real model's two passes through Eqs. 8-9 and the study, bad input"
import math
import pytest
import torch
from dualhand.hand import to_25d, project
from dualhand.kinematics import template_pose
from dualhand.pseudo import (pseudo_label, pseudo_targets, pseudo_label_loss, confidence, two_pass, confidence_study,
                             pseudo_label_errors, rho_25d, root_depth_bones)

torch.set_num_threads(1)
K0 = torch.tensor([[300., 0, 31.5], [0, 300., 31.5], [0, 0, 1]])


def hand_batch(B=4, S=64, seed=0):
    "Collated real-data-like batch: rgb uint8, joints of a template hand seen from the front, the crop K"
    g = torch.Generator().manual_seed(seed)
    xyz = (template_pose() - torch.tensor([0., 60, 0]))[None] * torch.tensor([1., -1, -1]) + torch.tensor([0., 0, 700])
    xyz = xyz.expand(B, 21, 3) + torch.randn(B, 1, 3, generator=g) * 5
    K = K0.expand(B, 3, 3).clone()
    return dict(rgb=torch.randint(0, 256, (B, 3, S, S), generator=g, dtype=torch.uint8), xyz=xyz, K=K,
                uv=project(xyz, K), vis=torch.ones(B, 21, dtype=torch.bool))


@pytest.fixture(scope='module')
def model():
    model_mod = pytest.importorskip('dualhand.model')
    torch.manual_seed(0)
    return model_mod.DualHandNet('resnet18', decoder_width=32)


def test_finetune_step_on_the_real_model(model):
    b = hand_batch()
    model.train()
    out = two_pass(model, b['rgb'])
    assert set(out) == {'y_R', 'y_F', 'y_D'} and out['y_R']['uv'].requires_grad
    pt = pseudo_targets(out['y_R'], out['y_F'], b['K'])
    assert not pt['uv'].requires_grad
    # C by hand: the mean over the four poses (p_R, rho(p_R), p_F, rho(p_F)) and the 21 joints of |duv| / 4 + |dzr| to r
    r, poses = pseudo_label({k: v.detach() for k, v in out['y_R'].items()}, {k: v.detach() for k, v in out['y_F'].items()}, b['K'])
    C = [sum(math.dist(poses['uv'][q, i, j].tolist(), r['uv'][i, j].tolist()) / 4 + abs(poses['zr'][q, i, j] - r['zr'][i, j]).item()
             for q in range(4) for j in range(21)) / 84 for i in range(4)]
    torch.testing.assert_close(pt['C'], torch.tensor(C), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(pt['uv'], r['uv'])
    # everything confident: a positive loss that reaches the encoders through all three streams
    loss = pseudo_label_loss(out, pt, torch.ones(4, dtype=torch.bool))
    manual = sum(confidence(dict(uv=out[k]['uv'].detach()[None], zr=out[k]['zr'].detach()[None]), pt)
                 for k in ("y_R", "y_F", "y_D"))                 # l(p, r) per sample, summed over streams
    assert loss.item() == pytest.approx(21 * manual.mean().item(), rel=1e-4)   # confidence: per-joint mean; the loss: sum over 21 joints
    model.zero_grad(); loss.backward()
    gr = [p.grad for p in model.enc_rgb.parameters() if p.grad is not None]
    gd = [p.grad for p in model.enc_depth.parameters() if p.grad is not None]
    assert gr and gd and all(torch.isfinite(g).all() for g in gr + gd)
    assert sum(g.abs().sum() for g in gr) > 0
    # nothing confident: exactly 0 and zero gradients
    out = two_pass(model, b['rgb'])
    none = pseudo_label_loss(out, pt, torch.zeros(4, dtype=torch.bool))
    assert none.item() == 0.
    model.zero_grad(); none.backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.parameters())


def test_confidence_study_on_the_real_model(model):
    model.train()
    dl = [hand_batch(seed=0), hand_batch(seed=1)]
    t = confidence_study(model, dl, eps_grid=(0., 1e9))
    assert model.training                                        # restored after the eval-mode study
    assert list(t['eps']) == [0., 1e9] and t['n'].tolist() == [0, 8] and t['confident'].iloc[1] == 1.
    assert math.isnan(t['err3d'].iloc[0])                        # nothing confident: no error to report
    assert t['err3d'].iloc[1] == pytest.approx(t['err3d_all'].iloc[1]) and t['err3d_all'].iloc[1] > 0
    e = pseudo_label_errors(model, dl)
    assert model.training
    # reference: the eval-mode two passes batch by batch, C from pseudo_targets, the 2D errors by a loop over joints
    model.eval()
    C, e2, e2R = [], [], []
    with torch.no_grad():
        for b in dl:
            out = two_pass(model, b['rgb'])
            pt = pseudo_targets(out['y_R'], out['y_F'], b['K'])
            C += pt['C'].tolist()
            for i in range(len(b['uv'])):                       # every joint visible: the plain mean of 21 distances
                e2.append(sum(math.dist(pt['uv'][i, j].tolist(), b['uv'][i, j].tolist()) for j in range(21)) / 21)
                e2R.append(sum(math.dist(out['y_R']['uv'][i, j].tolist(), b['uv'][i, j].tolist()) for j in range(21)) / 21)
    model.train()
    torch.testing.assert_close(e['C'], torch.tensor(C), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(e['err2d'], torch.tensor(e2), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(e['err2d_R'], torch.tensor(e2R), atol=1e-4, rtol=1e-4)


def test_exact_prediction_is_its_own_label():
    b = hand_batch()
    uv, zr, _ = to_25d(b['xyz'], b['K'])
    pt = pseudo_targets(dict(uv=uv, zr=zr), dict(uv=uv, zr=zr), b['K'][0])     # one K for the batch
    assert torch.allclose(pt['uv'], uv, atol=5e-3) and pt['confident'].all() and (pt['C'] < 1e-3).all()
    assert pseudo_label_loss(dict(uv=uv, zr=zr), pt).item() < 1e-3


def test_half_precision_and_bad_input():
    b = hand_batch()
    uv, zr, _ = to_25d(b['xyz'], b['K'])
    r, poses = pseudo_label(dict(uv=uv.bfloat16(), zr=zr.bfloat16()), dict(uv=uv, zr=zr), b['K'])
    assert r['uv'].dtype == torch.float32
    # bf16 input is computed in float32: the same labels as the float32 copy of the rounded input
    r32, _ = pseudo_label(dict(uv=uv.bfloat16().float(), zr=zr.bfloat16().float()), dict(uv=uv, zr=zr), b['K'])
    torch.testing.assert_close(r['uv'], r32['uv']); torch.testing.assert_close(r['zr'], r32['zr'])
    with pytest.raises(ValueError, match='p_R'): pseudo_label(dict(uv=uv[:, :20], zr=zr[:, :20]), dict(uv=uv, zr=zr), b['K'])
    with pytest.raises(KeyError, match='p_F'): pseudo_label(dict(uv=uv, zr=zr), dict(uv=uv), b['K'])
    with pytest.raises(ValueError, match='K'): pseudo_label(dict(uv=uv, zr=zr), dict(uv=uv, zr=zr), torch.eye(4))
    with pytest.raises(ValueError, match='root'): rho_25d(uv, zr, b['K'], root='guess')
    with pytest.raises(TypeError, match='preds'): pseudo_label_loss(uv, dict(uv=uv, zr=zr), torch.ones(4, dtype=torch.bool))


def test_wild_predictions_are_finite_and_never_confident():
    "Garbage predictions: the fitted root keeps every lifted joint in front of the camera; the labels stay finite"
    g = torch.Generator().manual_seed(0)
    uv = torch.rand(200, 21, 2, generator=g) * 64
    zr = torch.randn(200, 21, generator=g) * 2
    Z = root_depth_bones(uv, zr, K0, 44.)
    assert torch.isfinite(Z).all() and ((Z[:, None] + 44. * zr) > 0).all()
    uvc, zrc = rho_25d(uv, zr, K0.expand(200, 3, 3))
    assert torch.isfinite(uvc).all() and torch.isfinite(zrc).all()
    pt = pseudo_targets(dict(uv=uv, zr=zr), dict(uv=uv.flip(0), zr=zr.flip(0)), K0)
    assert torch.isfinite(pt['C']).all() and not pt['confident'].any()
