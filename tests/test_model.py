"""End-to-end checks of dualhand.model with dualhand.hand's depth normalisation: the network trains, bad input fails clearly."""
import pytest
import torch
import torch.nn.functional as F
from dualhand.hand import normalize_depth
from dualhand.model import DualHandNet, imagenet_checkpoint, load_resnet

torch.set_num_threads(2)


def _batch(B=2, S=64, seed=0):
    "Float rgb in [0,1], depth in mm with a disc-shaped hand mask, and 2.5D targets"
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(float(S)), torch.arange(float(S)), indexing='ij')
    mask = (((xx - S/2)**2 + (yy - S/2)**2) < (S/3)**2).float()[None, None].repeat(B, 1, 1, 1)
    depth_mm = (500 + 20*torch.rand(B, 1, S, S, generator=g)) * mask
    depth = normalize_depth(depth_mm, mask, torch.full((B,), 505.), torch.full((B,), 40.))
    rgb = torch.rand(B, 3, S, S, generator=g)
    uv = S/4 + S/2*torch.rand(B, 21, 2, generator=g)
    zr = torch.randn(B, 21, generator=g)
    return rgb, depth, uv, zr


def test_normalised_depth_input_and_training_step_reduces_loss():
    torch.manual_seed(0)
    model = DualHandNet('resnet18', decoder_width=32).train()
    rgb, depth, uv, zr = _batch(S=32)
    assert depth.min() >= -1 and depth.max() <= 1
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def loss_fn(out):
        pose = sum(F.l1_loss(out[k]['uv'], uv) / 4 + F.l1_loss(out[k]['zr'], zr) for k in ('y_R', 'y_D', 'y_F'))
        return pose - (out['z_R'] * out['z_F']).sum(-1).mean() - (out['z_D'] * out['z_D+']).sum(-1).mean()

    losses = []
    for step in range(8):
        out = model(rgb, depth, rgb.flip(-1), depth.flip(-1))
        loss = loss_fn(out)
        assert torch.isfinite(loss)
        opt.zero_grad(); loss.backward()
        if step == 0:   # every parameter is on a path from the loss (E_D through y_D and z_D)
            dead = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
            assert not dead, dead
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5, losses


def test_eval_inference_ignores_depth_and_views():
    torch.manual_seed(1)
    model = DualHandNet('resnet18', decoder_width=16).eval()
    rgb, depth, _, _ = _batch(B=3)
    with torch.no_grad():
        y = model(rgb)
        out = model(rgb, depth, rgb.flip(-1), depth.flip(-1))
    torch.testing.assert_close(y['uv'], out['y_R']['uv'], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out['z_R'], out['z_R'] / out['z_R'].norm(dim=-1, keepdim=True))


def test_stop_grad_switch_reaches_all_attention_modules():
    model = DualHandNet('resnet18', decoder_width=16, stop_grad=False)
    assert not model.stop_grad and not any(a.stop_grad for a in model.attention)
    model.stop_grad = True
    assert all(a.stop_grad for a in model.attention)
    # what the switch does: the weights E_D lends to E_R (the only path from y_F into E_D) carry no gradient when on
    _, depth, _, _ = _batch(B=1, S=32)
    model.eval()
    _, ws = model.encode_depth(depth)
    assert len(ws) == 5 and not any(w.requires_grad for w in ws)
    model.stop_grad = False
    _, ws = model.encode_depth(depth)
    assert all(w.requires_grad for w in ws)
    f = torch.rand(1, 4, 3, 3, requires_grad=True)                      # and a gradient really flows back through them
    model.attention[2](f)[1].square().sum().backward()
    assert f.grad.abs().sum() > 0


def test_pretrained_true_never_downloads(tmp_path):
    hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path))
    try:
        with pytest.raises(FileNotFoundError, match='never downloads') as e:
            load_resnet('resnet50', pretrained=True)
        assert str(imagenet_checkpoint('resnet50')) in str(e.value)
        assert not any(tmp_path.rglob('*.pth'))
    finally:
        torch.hub.set_dir(hub)


def test_bad_inputs():
    model = DualHandNet('resnet18', decoder_width=16).eval()
    rgb, depth, _, _ = _batch()
    with pytest.raises(ValueError, match='rgb'):
        model(rgb[:, :2])
    with pytest.raises(ValueError, match='depth'):
        model(rgb, depth[:1])
    with pytest.raises(ValueError, match='multiples of 32'):
        model(torch.rand(1, 3, 48, 48))
    with pytest.raises(ValueError, match='need depth'):
        model(rgb, rgb_plus=rgb)
    with pytest.raises(FileNotFoundError, match='no such file'):
        DualHandNet('resnet18', pretrained='/nonexistent/resnet18.pth')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_bf16_channels_last():
    model = DualHandNet('resnet18', decoder_width=32).cuda().to(memory_format=torch.channels_last).train()
    rgb, depth, _, _ = _batch(B=4)
    rgb, depth = (t.cuda().contiguous(memory_format=torch.channels_last) for t in (rgb, depth))
    with torch.autocast('cuda', dtype=torch.bfloat16):
        out = model(rgb, depth, rgb, depth)
        loss = sum(out[k]['uv'].float().mean() for k in ('y_R', 'y_D', 'y_F'))
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(out[k]).all() for k in out if k.startswith('z'))
