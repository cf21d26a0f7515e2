"Cross-module and bad-input checks of dualhand.augment (the maths is tested in nbs/04_augment.ipynb)"
import math
import pytest
import torch
from dualhand.augment import (affine_matrix, warp, warp_image, warp_points, random_affine, random_geometry,
                              texture_rgb, texture_depth, random_erasing, salt_and_pepper, color_jitter)
from dualhand.hand import project, normalize_depth, hand_scale

torch.set_num_threads(1)


def _batch(B=3, H=40, W=56, seed=0):
    g = torch.Generator().manual_seed(seed)
    K = torch.tensor([[90., 0, (W - 1) / 2], [0, 95., (H - 1) / 2], [0, 0, 1]]).expand(B, 3, 3).clone()
    xyz = torch.randn(B, 21, 3, generator=g) * 15 + torch.tensor([0., 0., 300.])
    return dict(rgb=torch.rand(B, 3, H, W, generator=g), depth=torch.rand(B, 1, H, W, generator=g) * 400,
                mask=(torch.rand(B, 1, H, W, generator=g) > .5).to(torch.uint8), uv=project(xyz, K), xyz=xyz, K=K,
                vis=torch.ones(B, 21, dtype=torch.bool), index=torch.arange(B))


def _blobs(uv, H, W, sigma=1.5):
    ys, xs = torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32)
    d2 = (xs - uv[..., 0, None])[..., None, :] ** 2 + (ys - uv[..., 1, None])[..., :, None] ** 2
    return torch.exp(-d2 / (2 * sigma ** 2))


def test_non_square_keypoints_follow_features():
    "On an H != W image the warped blob centroids sit on the warped points (x uses W, y uses H)"
    H, W = 60, 90
    g = torch.Generator().manual_seed(1)
    uv = torch.stack([30 + 30 * torch.rand(2, 8, generator=g), 22 + 16 * torch.rand(2, 8, generator=g)], -1)
    A = affine_matrix(torch.tensor([25., -140.]), torch.tensor([.9, .8]), torch.tensor([3., -4.]),
                      torch.tensor([-2., 1.5]), (H, W))
    img = warp_image(_blobs(uv, H, W), A)
    m = img.sum((-2, -1))
    cu = (img * torch.arange(W)).sum((-2, -1)) / m
    cv = (img * torch.arange(H)[:, None]).sum((-2, -1)) / m
    assert (torch.stack([cu, cv], -1) - warp_points(uv, A)).norm(dim=-1).max() < 0.03


def test_translation_scales_with_each_side():
    A = random_affine(3000, (64, 128), rot=(0, 0), scale=(1, 1), generator=torch.Generator().manual_seed(2))
    t = A[:, :2, 2]
    assert t[:, 0].abs().max() <= 10 + 1e-4 and t[:, 0].abs().max() > 9.8   # 20 px * 128 / 256
    assert t[:, 1].abs().max() <= 5 + 1e-4 and t[:, 1].abs().max() > 4.9    # 20 px * 64 / 256


def test_geometry_keeps_dtypes_labels_and_projection():
    b = _batch()
    out = random_geometry(b, generator=torch.Generator().manual_seed(3))
    for k in ('rgb', 'depth', 'mask', 'uv', 'K', 'vis'):
        assert out[k].dtype == b[k].dtype and out[k].shape == b[k].shape, k
    assert out['index'] is b['index'] and torch.equal(out['xyz'], b['xyz'])
    assert set(out['mask'].unique().tolist()) <= {0, 1}
    torch.testing.assert_close(project(out['xyz'], out['K']), out['uv'], atol=1e-3, rtol=0)
    # normalize_depth after G: the augmented depth feeds E_D unchanged in meaning
    nd = normalize_depth(out['depth'], out['mask'], out['xyz'][:, 0, 2], hand_scale(out['xyz']))
    assert nd.min() >= -1 and nd.max() <= 1


def test_geometry_without_depth_mask_or_labels():
    b = _batch()
    rgb_only = random_geometry(dict(rgb=b['rgb']), generator=torch.Generator().manual_seed(4))
    assert set(rgb_only) == {'rgb'}
    labelled = random_geometry(dict(rgb=b['rgb'], uv=b['uv'], vis=b['vis'], K=b['K']),
                               generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(labelled['rgb'], rgb_only['rgb'])       # same seed, same warp
    assert 'depth' not in labelled and 'mask' not in labelled


def test_depth_fill():
    b = _batch()
    A = affine_matrix(torch.zeros(3), torch.ones(3), torch.full((3,), 30.), torch.zeros(3), (40, 56))
    out = warp(b, A, depth_fill=-7.)
    assert (out['depth'][..., :29] == -7.).all() and (out['mask'][..., :29] == 0).all()
    assert (out['rgb'][..., :29] == 0).all()


def test_float64_and_batch_of_one():
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    y = texture_rgb(x, p_jitter=1., generator=torch.Generator().manual_seed(5))
    assert y.dtype == torch.float64 and y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    # the same seed draws the same augmentation in either precision: float64 equals float32 up to float32 rounding,
    # and it really changed the image
    y32 = texture_rgb(x.float(), p_jitter=1., generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(y, y32.double(), atol=1e-5, rtol=0)
    assert (y - x).abs().max() > 0.1
    d0 = torch.rand(1, 1, 16, 16, dtype=torch.float64)
    d = texture_depth(d0, generator=torch.Generator().manual_seed(5))
    assert d.dtype == torch.float64
    torch.testing.assert_close(d, texture_depth(d0.float(), generator=torch.Generator().manual_seed(5)).double(),
                               atol=1e-5, rtol=0)
    assert (d - d0).abs().max() > 0.1


def test_inputs_not_modified():
    b = _batch()
    keep = {k: v.clone() for k, v in b.items()}
    random_geometry(b, generator=torch.Generator().manual_seed(6))
    texture_rgb(b['rgb'], p_jitter=1., p_erase=1., generator=torch.Generator().manual_seed(6))
    texture_depth(b['depth'], p_erase=1., generator=torch.Generator().manual_seed(6))
    for k in keep: assert torch.equal(keep[k], b[k]), k


def test_without_generator_uses_global_rng():
    x = torch.rand(4, 3, 8, 8)
    torch.manual_seed(7); a = texture_rgb(x)
    torch.manual_seed(7); b = texture_rgb(x)
    assert torch.equal(a, b)


@pytest.mark.parametrize('call, match', [
    (lambda b: random_geometry({'uv': b['uv']}), 'none of the image keys'),
    (lambda b: random_geometry({'rgb': b['rgb'][0]}), r'\(B,C,H,W\)'),
    (lambda b: random_geometry({'rgb': b['rgb'], 'depth': b['depth'][:2]}), 'disagree'),
    (lambda b: random_geometry(b, scale=(1.0, 0.8)), '`scale`'),
    (lambda b: random_geometry(b, rot=(10,)), '`rot`'),
    (lambda b: warp(b, torch.eye(3).expand(2, 3, 3)), r'affines \(3,3,3\)'),
    (lambda b: texture_rgb(b['mask'].float()), '3 channels'),
    (lambda b: texture_rgb(b['mask']), 'float tensor'),
    (lambda b: texture_depth(b['mask']), 'float tensor'),
    (lambda b: color_jitter(b['rgb'], hue=0.7), '`hue`'),
    (lambda b: random_erasing(b['rgb'], value='noise'), "'random'"),
    (lambda b: random_erasing(b['rgb'], scale=(0.5, 0.1)), '`scale`'),
    (lambda b: salt_and_pepper(b['depth'], amount=2.), '`amount`'),
])
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(_batch())
