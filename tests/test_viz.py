"""dualhand.draw and dualhand.viz: the pictures draw exactly the data they are given (read back from the matplotlib artists), on
SynthHands samples and a small random DualHandNet; the explorer's drawing and widget wiring work without a browser."""
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dualhand.hand import BONES, ROOT, hand_scale, joint_color
from dualhand.losses import make_targets
from dualhand.metrics import keypoints_3d
from dualhand.model import DualHandNet
from dualhand.synth import SynthHands
from dualhand.draw import draw_pose, plot_skeleton_3d, show_batch_grid, show_hand, to_image
from dualhand.viz import (LAYER_NAMES, HandExplorer, pseudo_3d, sample_depth, show_attention, show_prediction,
                          upsampled_attention)

torch.set_num_threads(2)
S = 64


@pytest.fixture(scope='module')
def data():
    ds = SynthHands(6, domain='synthetic', seed=3, size=S)
    return ds, ds.render_batch(range(4))


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return DualHandNet('resnet18', decoder_width=16).eval()


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close('all')


def _bones_xy(lines):
    return np.stack([ln.get_xydata() for ln in lines])


def _expected_bones(uv):
    uv = np.asarray(uv, dtype=np.float64)
    return np.stack([uv[[a, b]] for a, b in BONES])


@pytest.mark.parametrize('form', ['uint8', 'float', 'hwc'])
def test_show_hand_draws_the_keypoints_on_the_image(data, form):
    ds, _ = data
    s = ds[1]
    img = {'uint8': s['rgb'], 'float': s['rgb'].float() / 255, 'hwc': s['rgb'].permute(1, 2, 0).numpy()}[form]
    vis = s['vis'].clone(); vis[[4, 8]] = False
    ax = show_hand(img, s['uv'], vis, title='t')
    np.testing.assert_allclose(ax.images[0].get_array(), s['rgb'].permute(1, 2, 0).numpy() / 255, atol=1e-6)
    np.testing.assert_allclose(_bones_xy(ax.lines), _expected_bones(s['uv']), atol=1e-5)
    assert [ln.get_color() for ln in ax.lines] == [joint_color(b) for _, b in BONES]
    # invisible joints: hollow markers; bones touching them dotted, the others solid
    v = vis.numpy()
    np.testing.assert_allclose(ax.collections[0].get_offsets(), s['uv'][v].numpy(), atol=1e-5)
    np.testing.assert_allclose(ax.collections[1].get_offsets(), s['uv'][~v].numpy(), atol=1e-5)
    assert len(ax.collections[1].get_facecolors()) == 0
    assert [ln.get_linestyle() for ln in ax.lines] == ['-' if v[a] and v[b] else ':' for a, b in BONES]
    assert ax.get_xlim() == (-0.5, S - 0.5) and ax.get_ylim() == (S - 0.5, -0.5)


def test_draw_pose_single_colour_and_style():
    fig, ax = plt.subplots()
    uv = torch.rand(21, 2) * 50
    out = draw_pose(ax, uv, color='w', ls='--')
    assert len(out['bones']) == 20
    assert all(ln.get_color() == 'w' and ln.get_linestyle() == '--' for ln in out['bones'])
    np.testing.assert_allclose(out['visible'].get_facecolors()[:, :3], 1.0)
    np.testing.assert_allclose(_bones_xy(out['bones']), _expected_bones(uv), atol=1e-5)


def test_to_image_bad_input():
    with pytest.raises(ValueError, match='divide'): to_image(torch.rand(3, 8, 8) * 255)
    with pytest.raises(ValueError, match='batch'): to_image(torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match='expected an image'): to_image(np.zeros((8, 8, 4)))


def test_plot_skeleton_3d_lines_equal_joints_and_axes_are_equal(data):
    ds, _ = data
    xyz = ds[2]['xyz'].double()
    other = xyz + torch.tensor([30., -10, 5], dtype=torch.float64)
    ax = plot_skeleton_3d(xyz, other=other, title='x')
    assert len(ax.lines) == 40
    for pose, lines in ((xyz, ax.lines[:20]), (other, ax.lines[20:])):
        q = pose.numpy()[:, [0, 2, 1]] * np.array([1, 1, -1])        # plotted as (x, z, -y)
        for (a, b), ln in zip(BONES, lines):
            np.testing.assert_allclose(np.stack(ln.get_data_3d(), -1), q[[a, b]], atol=1e-9)
    assert {ln.get_linestyle() for ln in ax.lines[20:]} == {'--'}
    spans = [np.diff(lim)[0] for lim in (ax.get_xlim(), ax.get_ylim(), ax.get_zlim())]
    np.testing.assert_allclose(spans, spans[0])


def test_show_prediction_3d_panel_is_the_metrics_protocol(data, model):
    _, batch = data
    rgb = batch['rgb'].float() / 255
    with torch.no_grad(): y = model(rgb)
    target = make_targets(batch, S // 4)
    fig = show_prediction(rgb, y, target=target, idx=2)
    assert len(fig.axes) == 4
    np.testing.assert_allclose(_bones_xy(fig.axes[0].lines[:20]), _expected_bones(y['uv'][2]), atol=1e-4)
    np.testing.assert_allclose(_bones_xy(fig.axes[0].lines[20:]), _expected_bones(batch['uv'][2]), atol=1e-5)
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), y['depth'][2, 0].numpy(), atol=1e-6)
    p, t = keypoints_3d(y, target)                                    # independent path: the metrics' 3D
    for pose, lines in ((p[2], fig.axes[3].lines[:20]), (t[2], fig.axes[3].lines[20:])):
        q = pose.numpy()[:, [0, 2, 1]] * np.array([1, 1, -1])
        for (a, b), ln in zip(BONES, lines):
            np.testing.assert_allclose(np.stack(ln.get_data_3d(), -1), q[[a, b]], atol=1e-2)
    # same figure from the batch dict itself (scale and root depth computed from xyz)
    fig2 = show_prediction(rgb, y, target=batch, idx=2)
    for l1, l2 in zip(fig.axes[3].lines, fig2.axes[3].lines):
        np.testing.assert_allclose(np.stack(l1.get_data_3d()), np.stack(l2.get_data_3d()), atol=1e-2)


def test_pseudo_3d_scale_in_pixels():
    uv = torch.rand(21, 2) * 100
    zr = torch.randn(21)
    q = pseudo_3d(uv, zr)
    np.testing.assert_allclose(q[:, :2], uv.numpy(), atol=1e-5)
    ratio = q[:, 2] / zr.numpy()
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)          # one pixel scale for every joint
    q2 = pseudo_3d(uv * 3, zr)                                       # the image 3x larger: the scale 3x too
    np.testing.assert_allclose(q2[:, 2], 3 * q[:, 2], rtol=1e-5)


def test_show_attention_overlays_are_the_models_maps(data, model):
    _, batch = data
    depth = sample_depth(batch)
    model.train()
    bn = model.enc_depth.bn1.running_mean.clone()
    fig = show_attention(model, batch['rgb'], depth, idx=1)
    assert model.training                                            # mode restored, running statistics untouched
    assert torch.equal(bn, model.enc_depth.bn1.running_mean)
    model.eval()
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[1:]] == [f'{n} (depth)' for n in LAYER_NAMES]
    with torch.no_grad(): ws = model.attention_maps(depth[1:2])
    for w, ax in zip(ws, fig.axes[1:]):
        up = F.interpolate(w, size=(S, S), mode='bilinear', align_corners=False)[0, 0].numpy()
        np.testing.assert_allclose(ax.images[1].get_array(), up, atol=1e-5)
        np.testing.assert_allclose(ax.images[0].get_array(), batch['rgb'][1].permute(1, 2, 0).numpy() / 255, atol=1e-6)
    fig = show_attention(model, batch['rgb'], depth, idx=1, rgb_attention=True)
    assert len(fig.axes) == 12


def test_show_attention_bad_depth(data, model):
    _, batch = data
    with pytest.raises(ValueError, match='normalize_depth'):
        show_attention(model, batch['rgb'], batch['depth'])         # millimetres, not normalised


def test_upsampled_attention_from_predicted_depth(model):
    d = torch.rand(2, 1, S // 4, S // 4) * 2 - 1                       # decoder-resolution depth
    maps = upsampled_attention(model, d, size=(S, S))
    assert [tuple(m.shape) for m in maps] == [(2, 1, S, S)] * 5
    with torch.no_grad(): ws = model.attention_maps(F.interpolate(d, size=(S, S), mode='bilinear'))
    for m, w in zip(maps, ws):
        assert m.min() >= w.min() - 1e-5 and m.max() <= w.max() + 1e-5   # bilinear: no new extremes
        # each map: Eq. 1's map of the depth brought to S x S, itself bilinearly upsampled from its stage's resolution
        torch.testing.assert_close(m, F.interpolate(w, size=(S, S), mode='bilinear', align_corners=False), atol=1e-5, rtol=0)
    for i in range(2):                                                 # batched equals separate (eval mode: no batch statistics)
        for m, m1 in zip(maps, upsampled_attention(model, d[i:i + 1], size=(S, S))):
            torch.testing.assert_close(m[i:i + 1], m1, atol=1e-5, rtol=1e-4)


def test_show_batch_grid(data):
    _, batch = data
    fig = show_batch_grid(batch, n=3, ncols=2)
    assert len(fig.axes) == 3
    for i, ax in enumerate(fig.axes):
        np.testing.assert_allclose(_bones_xy(ax.lines), _expected_bones(batch['uv'][i]), atol=1e-5)
        assert len(ax.child_axes) == 2
        np.testing.assert_array_equal(ax.child_axes[1].images[0].get_array(), batch['mask'][i, 0].numpy())
    assert fig.axes[2].get_subplotspec().rowspan.start == 1          # 2 columns: third sample on row 2
    fig = show_batch_grid({'rgb': batch['rgb'].float() / 255}, n=10)
    assert len(fig.axes) == 4 and all(len(ax.lines) == 0 and not ax.child_axes for ax in fig.axes)
    with pytest.raises(KeyError, match='rgb'): show_batch_grid({'uv': batch['uv']})


def test_explorer_draw_every_view(data, model):
    ds, batch = data
    ex = HandExplorer(ds, model)
    assert ex.views[:4] == ['rgb + skeleton', 'depth', 'mask', '3D skeleton'] and len(ex.views) == 10
    for v in ex.views:
        fig = ex.draw(2, v)
        assert isinstance(fig, plt.Figure) and len(fig.axes) >= 1
        plt.close(fig)
    fig = ex.draw(2, 'attention conv3_x')
    w = upsampled_attention(model, sample_depth(ds[2]))[2][0, 0]
    np.testing.assert_allclose(fig.axes[0].images[1].get_array(), w.numpy(), atol=1e-6)
    plain = HandExplorer(batch)                                      # a batch dict, no model
    assert plain.n == 4 and len(plain.views) == 4
    fig = plain.draw(3, 'rgb + skeleton')
    np.testing.assert_allclose(_bones_xy(fig.axes[0].lines), _expected_bones(batch['uv'][3]), atol=1e-5)
    with pytest.raises(ValueError, match='need a model'): plain.draw(0, 'prediction')
    with pytest.raises(IndexError, match='out of range'): plain.draw(4, 'depth')
    with pytest.raises(ValueError, match='no .depth. and there is no model'):
        HandExplorer({k: batch[k] for k in ('rgb', 'uv')}).draw(0, 'depth')


def test_explorer_widget_wiring(data, model):
    ds, _ = data
    ex = HandExplorer(ds, model)
    calls = []
    draw = ex.draw
    ex.draw = lambda i, v: (calls.append((i, v)), draw(i, v))[1]
    box = ex.widget
    slider, view = box.children[0].children
    assert (slider.min, slider.max) == (0, len(ds) - 1) and list(view.options) == ex.views
    slider.value = 4
    view.value = 'attention conv1'
    assert calls == [(0, 'rgb + skeleton'), (4, 'rgb + skeleton'), (4, 'attention conv1')]
