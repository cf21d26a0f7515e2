"End-to-end checks of the pose correction rho (dualhand.correction) with the hand and kinematics modules."
import math
import pytest
import torch
from dualhand.hand import to_25d, from_25d, hand_scale, bone_lengths, project
from dualhand.kinematics import (joint_angles, joint_limits, within_limits, forward_kinematics, TEMPLATE_PALM,
                                 TEMPLATE_BONES)
from dualhand.correction import correct_pose, correct_25d, template_lengths, clamp_angle

K = torch.tensor([[500., 0, 112], [0, 500, 112], [0, 0, 1]], dtype=torch.float64)


def _valid(n, g, dtype=torch.float64):
    fl, al = joint_limits(dtype=dtype)
    flex = fl[:, 0] + (fl[:, 1] - fl[:, 0]) * torch.rand(n, 15, generator=g, dtype=dtype)
    abd = al[:, 0] + (al[:, 1] - al[:, 0]) * torch.rand(n, 15, generator=g, dtype=dtype)
    palm = torch.tensor(TEMPLATE_PALM, dtype=dtype).expand(n, 6, 3)
    L = torch.tensor(TEMPLATE_BONES, dtype=dtype).flatten().expand(n, 15)
    R = torch.linalg.qr(torch.randn(n, 3, 3, generator=g, dtype=dtype))[0]
    R = R * torch.linalg.det(R).sign()[:, None, None]
    xyz = forward_kinematics(palm, L, flex, abd) @ R.mT
    return xyz + torch.tensor([0., 0., 600.], dtype=dtype), flex, abd


def test_eq8_pseudo_label_in_25d():
    "Eq. 8 on 2.5D poses with unknown root depth: rho of a valid pose is itself; of a broken one, a valid pose"
    g = torch.Generator().manual_seed(0)
    xyz, flex, abd = _valid(64, g)
    uv, zr, s = to_25d(xyz, K)
    uv_c, zr_c = correct_25d(uv, zr, K, None, s)                    # root depth from Iqbal's quadratic
    torch.testing.assert_close(uv_c, uv, atol=1e-6, rtol=0)
    torch.testing.assert_close(zr_c, zr, atol=1e-9, rtol=0)
    # a prediction with noisy depth: the pseudo-label r of Eq. 8 built from p and rho(p)
    zr_noisy = zr + 0.3 * torch.randn(zr.shape, generator=g, dtype=zr.dtype)
    uv_c, zr_c = correct_25d(uv, zr_noisy, K, xyz[:, 0, 2], s)
    back = from_25d(uv_c, zr_c, K, xyz[:, 0, 2], s)
    assert within_limits(back).all()
    torch.testing.assert_close(hand_scale(back), s)                 # same scale: zr stays in the unit of s
    torch.testing.assert_close(uv_c[:, 0], uv[:, 0])                # the wrist does not move
    torch.testing.assert_close(zr_c[:, 0], zr_noisy[:, 0])
    r_uv, r_zr = (uv + uv_c) / 2, (zr_noisy + zr_c) / 2
    assert torch.isfinite(r_uv).all() and torch.isfinite(r_zr).all()


def test_template_lengths_and_explicit_template():
    "A custom template (e.g. a person's own hand) is what comes out, scaled to the prediction"
    g = torch.Generator().manual_seed(1)
    xyz, _, _ = _valid(32, g)
    bones = torch.tensor(TEMPLATE_BONES, dtype=torch.float64) * 1.1
    bones[2, 0] = 44.
    c = correct_pose(xyz, template_bones=bones)
    pl, bl = template_lengths(bones, dtype=torch.float64)
    want = torch.cat([pl[:, None], bl], -1).flatten()
    torch.testing.assert_close(bone_lengths(c), want.expand(32, 20))
    assert within_limits(c).all()


def test_clamps_every_joint_to_the_nearest_limit():
    "Random angles in (-pi, pi) x (-pi/2, pi/2) with template lengths: rho gives exactly the clamped angles"
    g = torch.Generator().manual_seed(2)
    n = 500
    flex = (torch.rand(n, 15, generator=g, dtype=torch.float64) * 2 - 1) * 2.5
    abd = (torch.rand(n, 15, generator=g, dtype=torch.float64) * 2 - 1) * 1.2
    palm = torch.tensor(TEMPLATE_PALM, dtype=torch.float64).expand(n, 6, 3)
    L = torch.tensor(TEMPLATE_BONES, dtype=torch.float64).flatten().expand(n, 15)
    xyz = forward_kinematics(palm, L, flex, abd)
    fm, am = joint_angles(xyz)
    c = correct_pose(xyz, follow='angles')
    fl, al = joint_limits(dtype=torch.float64)
    cf, ca = joint_angles(c)
    torch.testing.assert_close(ca, am.clamp(al[:, 0], al[:, 1]), atol=1e-7, rtol=0)
    inside = (fm >= fl[:, 0]) & (fm <= fl[:, 1])
    torch.testing.assert_close(cf[inside], fm[inside], atol=1e-7, rtol=0)
    torch.testing.assert_close(cf, clamp_angle(fm, fl[:, 0], fl[:, 1]), atol=1e-7, rtol=0)
    assert (~inside).float().mean() > 0.3                           # many joints really were outside
    assert within_limits(c).all() and within_limits(correct_pose(xyz)).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_on_cuda_matches_cpu():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4096, 21, 3, generator=g) * 50 + torch.tensor([0., 0., 500.])
    c_cpu = correct_pose(x)
    c_gpu = correct_pose(x.cuda())
    assert c_gpu.is_cuda and torch.isfinite(c_gpu).all()
    assert within_limits(c_gpu, tol_deg=0.01).all()
    torch.testing.assert_close(c_gpu.cpu(), c_cpu, atol=1e-2, rtol=0)
