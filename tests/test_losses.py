"Cross-notebook checks of dualhand.losses: the real model's outputs through Eq. 7, bad input, mixed precision"
import math
import pytest
import torch
import torch.nn.functional as F
from dualhand.hand import normalize_depth, project
from dualhand.losses import (make_targets, pose_distance, multimodal_loss, as_target, nt_xent, contrastive_loss,
                             supervised_loss, PretrainLoss, l1_feature_alignment)

torch.set_num_threads(1)


def hand_batch(B=3, S=64, seed=0):
    "A batch in the collated layout of CONTRACTS.md: float rgb, depth in mm, {0,1} mask, joints"
    g = torch.Generator().manual_seed(seed)
    xyz = torch.randn(B, 21, 3, generator=g) * 25 + torch.tensor([0., 0, 420])
    K = torch.tensor([[120., 0, S / 2], [0, 120., S / 2], [0, 0, 1]]).expand(B, 3, 3).clone()
    uv = project(xyz, K)
    ii, jj = torch.meshgrid(torch.arange(S), torch.arange(S), indexing='ij')
    r2 = ((ii - S / 2) ** 2 + (jj - S / 2) ** 2).float() / (S / 3) ** 2
    mask = (r2 < 1).float().expand(B, 1, S, S).clone()
    depth = torch.where(mask > 0, 420 - 20 * (1 - r2).clamp_min(0).sqrt(), torch.zeros(())).expand(B, 1, S, S).clone()
    return dict(rgb=torch.rand(B, 3, S, S, generator=g), depth=depth, mask=mask, uv=uv, xyz=xyz, K=K,
                vis=torch.rand(B, 21, generator=g) > 0.1)


def test_pretrain_loss_on_the_real_model():
    model_mod = pytest.importorskip('dualhand.model')
    torch.manual_seed(0)
    model = model_mod.DualHandNet('resnet18', decoder_width=32)
    b = hand_batch()
    t = make_targets(b, 16)
    d = normalize_depth(b['depth'], b['mask'], t['root_z'], t['scale'])
    out = model(b['rgb'], d, b['rgb'].flip(1), d)              # a texture change as the '+' view
    assert out['y_R']['mask'].shape == t['mask'].shape
    loss = PretrainLoss(supervise_plus=True)
    total = loss(out, t)
    assert torch.isfinite(total)
    terms = loss.terms
    expect = sum(terms[k] for k in ('M_R', 'M_D', 'M_F', 'M_R+', 'M_D+', 'M_F+')) + 0.1 * (
        terms['c_rgb'] + terms['c_dm'] + terms['c_fusion'])
    assert torch.allclose(total.detach(), expect, rtol=1e-5)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) > 0 and all(torch.isfinite(g).all() for g in grads)
    # the projection heads only feed L_c: their gradient shows the contrastive term is wired in
    for head in (model.proj_rgb, model.proj_depth):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())


def test_identical_teacher_gives_zero_distillation_loss():
    g = torch.Generator().manual_seed(1)
    y = dict(uv=torch.rand(2, 21, 2, generator=g) * 64, zr=torch.randn(2, 21, generator=g),
             mask=torch.randn(2, 1, 16, 16, generator=g), depth=torch.rand(2, 1, 16, 16, generator=g))
    assert multimodal_loss(y, as_target(y)).abs() < 1e-6
    y2 = {k: v + 0.5 for k, v in y.items()}              # uv +0.5 px on both axes, zr +0.5, depth +0.5
    m = multimodal_loss(y2, as_target(y), lambda_m=0., joints='mean')
    assert torch.allclose(m, torch.tensor(math.hypot(0.5, 0.5) / 4 + 0.5 + 50 * 0.5), atol=1e-4)


def test_weighted_pose_distance_is_eq9_indicator():
    "Eq. 9's indicator as a per-sample weight: unconfident samples contribute nothing, the batch size stays the divisor"
    y = dict(uv=torch.zeros(3, 21, 2), zr=torch.zeros(3, 21))
    r = dict(uv=torch.full((3, 21, 2), 4.), zr=torch.ones(3, 21))    # each joint: sqrt(32)/4 + 1
    per = math.sqrt(32) / 4 + 1
    w = torch.tensor([1., 0., 1.])
    assert torch.allclose(multimodal_loss(y, r, weight=w, joints='mean'), torch.tensor(2 * per / 3))
    assert torch.allclose(multimodal_loss(y, r, weight=w), torch.tensor(21 * 2 * per / 3))   # default: l summed over joints
    assert torch.allclose(pose_distance(y, r), torch.full((3,), per))


def test_nt_xent_bf16_autocast_matches_float32():
    g = torch.Generator().manual_seed(2)
    z, zp = torch.randn(8, 128, generator=g), torch.randn(8, 128, generator=g)
    ref = nt_xent(z, zp)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        val = nt_xent(z.bfloat16(), zp.bfloat16())
    assert val.dtype == torch.float32
    assert torch.allclose(val, nt_xent(z.bfloat16().float(), zp.bfloat16().float()), atol=1e-4)
    assert torch.allclose(val, ref, atol=0.05)


def test_nt_xent_is_not_symmetric_and_not_simclr():
    g = torch.Generator().manual_seed(3)
    z, zp = torch.randn(5, 16, generator=g), torch.randn(5, 16, generator=g)
    assert not torch.allclose(nt_xent(z, zp), nt_xent(zp, z))
    # SimCLR (positive in the denominator) would be -sum log(e^p / (e^p + den)) > Eq. 3's value
    zn, zpn = F.normalize(z, dim=1), F.normalize(zp, dim=1)
    pos = (zn * zpn).sum(1) / 0.5
    eye = torch.eye(5, dtype=torch.bool)
    den = torch.cat([(zn @ zn.T / 0.5).masked_fill(eye, -1e9), (zn @ zpn.T / 0.5).masked_fill(eye, -1e9)], 1)
    simclr = (torch.logsumexp(torch.cat([den, pos[:, None]], 1), 1) - pos).sum()
    assert torch.allclose(nt_xent(z, zp), (torch.logsumexp(den, 1) - pos).sum(), atol=1e-5)
    assert simclr > nt_xent(z, zp)


@pytest.mark.parametrize('fn, match', [
    (lambda: nt_xent(torch.randn(1, 8), torch.randn(1, 8)), 'at least 2'),
    (lambda: nt_xent(torch.randn(4, 8), torch.randn(4, 8), reduction='max'), "'sum' or 'mean'"),
    (lambda: make_targets(dict(uv=torch.zeros(2, 21, 2), K=torch.eye(3).expand(2, 3, 3)), 16), "'xyz'"),
    (lambda: make_targets(dict(uv=torch.zeros(2, 21, 2), K=torch.eye(3).expand(2, 3, 3),
                               xyz=torch.zeros(2, 20, 3)), 16), r'\(B,21,3\)'),
    (lambda: contrastive_loss({'z_R': torch.randn(4, 8)}), 'z_R\\+'),
    (lambda: supervised_loss({'y_R': {}}, {}, streams=('R', 'F')), 'y_F'),
    (lambda: PretrainLoss(contrastive='l1_align')({'y_R': dict(uv=torch.zeros(2, 21, 2), zr=torch.zeros(2, 21)),
                                                    'y_D': dict(uv=torch.zeros(2, 21, 2), zr=torch.zeros(2, 21)),
                                                    'y_F': dict(uv=torch.zeros(2, 21, 2), zr=torch.zeros(2, 21))},
                                                   dict(uv=torch.zeros(2, 21, 2), zr=torch.zeros(2, 21))), "'f_R'"),
    (lambda: l1_feature_alignment(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 2, 2)), 'shapes differ'),
])
def test_bad_input_has_clear_errors(fn, match):
    with pytest.raises((ValueError, KeyError), match=match):
        fn()


def test_make_targets_without_depth_or_mask():
    b = hand_batch()
    t = make_targets({k: v for k, v in b.items() if k != 'depth'}, 16)
    assert 'mask' in t and 'depth' not in t
    t = make_targets({k: v for k, v in b.items() if k not in ('depth', 'mask')}, (16, 16))
    assert 'mask' not in t and 'depth' not in t
    # losses skip the absent terms: only l remains
    y = dict(uv=t['uv'] + 4, zr=t['zr'], mask=torch.zeros(3, 1, 16, 16), depth=torch.zeros(3, 1, 16, 16))
    assert torch.allclose(multimodal_loss(y, t, joints='mean'), torch.tensor(math.sqrt(32) / 4), atol=1e-5)
