"End-to-end and cross-notebook checks of dualhand.finetune and the `dualhand finetune | demo | predict` commands"
import json, os, subprocess, sys, time
from pathlib import Path
import pytest
import torch
from dualhand.model import DualHandNet
from dualhand.synth import SynthHands
from dualhand.data import finetune_dls
from dualhand.pretrain import training_views
from dualhand.losses import multimodal_loss
from dualhand.finetune import (FinetuneStep, FinetuneLoss, SelfDistillFinetune, finetune_forward, model_from_checkpoint,
                               run_finetune, finetune_config)

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def batch():
    torch.manual_seed(0)
    net = DualHandNet('resnet18', decoder_width=16)
    dls = finetune_dls(SynthHands(8, 'synthetic', seed=0, size=64), SynthHands(8, 'real', seed=2, size=64),
                       SynthHands(4, 'real', seed=3, size=64), bs=4)
    b_s, b_r = dls.train.one_batch()
    (x_s, d_s), t_s = training_views(b_s, views=False, generator=torch.Generator().manual_seed(0))
    return net, x_s, d_s, b_r['rgb'].float() / 255, b_r['K'].float(), t_s


def test_demo_quick_end_to_end(tmp_path):
    "`dualhand demo --quick` from nothing to the table, in a fresh process; a second run skips every stage"
    cmd = [sys.executable, '-c', 'from dualhand.cli import main; main()', 'demo', '--quick', '--out', str(tmp_path),
           '--threads', '1']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    first = time.time() - t
    table = (tmp_path / 'results.md').read_text()
    rows = [l for l in table.splitlines() if l.startswith('| ') and not l.startswith('| row') and not l.startswith('| ---')]
    assert len(rows) == 5 and rows[0].startswith('| mean pose') and 'self-distillation' in rows[-1], table
    assert rows[1] in p.stdout                                        # the table is printed too
    res = json.loads((tmp_path / 'results.json').read_text())
    assert list(res) == ['mean pose', 'baseline', 'ours', '+L_l', '+L_d']
    for r in res.values():
        assert 0 <= r['synth-real']['pck2d'] <= 1 and 0 < r['synth-real']['epe3d'] < 1e4 and r['synth-real']['n'] == 16
    assert res['ours']['config']['init'] == str(tmp_path / 'pretrain-baseline' / 'last.pth')   # warm-started
    assert res['+L_l']['config']['use_ld'] is False and res['+L_d']['config']['use_ld'] is True
    for d in ('pretrain-baseline', 'pretrain-ours', 'finetune-L_l', 'finetune-L_d'): assert (tmp_path / d / 'last.pth').exists()
    t = time.time()
    p2 = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert p2.returncode == 0 and 'done before' in p2.stdout, p2.stderr[-3000:]
    assert json.loads((tmp_path / 'results.json').read_text()) == res
    assert time.time() - t < first


def test_state_dict_is_the_networks(batch):
    net = batch[0]
    assert list(FinetuneStep(net).state_dict()) == list(net.state_dict())
    other = DualHandNet('resnet18', decoder_width=16)
    FinetuneStep(other).load_state_dict(net.state_dict())
    assert torch.equal(other.enc_rgb.conv1.weight, net.enc_rgb.conv1.weight)


def test_pseudo_labels_train_all_three_streams_distillation_only_the_student(batch):
    "In train mode: L_l reaches E_D through y_D; L_d (teacher detached, attention stop-gradient on) does not"
    net, x_s, d_s, x_r, K, t_s = batch
    net.train()
    y = finetune_forward(net, x_s, d_s, x_r)['tgt']
    enc_d = list(net.enc_depth.parameters())
    l_l, r = FinetuneLoss(eps=1e9).pseudo(y, K)
    assert r['confident'].all() and l_l > 0
    g = torch.autograd.grad(l_l, enc_d, allow_unused=True, retain_graph=True)
    assert sum(x.abs().sum() for x in g if x is not None) > 0
    g = torch.autograd.grad(FinetuneLoss().distill(y), enc_d, allow_unused=True)
    assert all(x is None or x.abs().max() == 0 for x in g)


def test_real_half_is_skipped_without_ll_and_ld(batch):
    net, x_s, d_s, x_r, K, t_s = batch
    loss = FinetuneLoss(use_ll=False, use_ld=False)
    assert not loss.needs_real and loss.names() == ['M_R', 'M_D', 'M_F', 'L_s']
    out = FinetuneStep(net)(x_s, d_s)
    assert set(out) == {'src'}
    # without the real half the loss is L_s alone (Eq. 6): M of Eq. 5 summed over the three synthetic streams
    want = sum(multimodal_loss(out['src'][f'y_{k}'], t_s) for k in 'RDF')
    torch.testing.assert_close(loss(out, t_s), want)
    assert set(loss.terms) == {'M_R', 'M_D', 'M_F', 'L_s', 'total'}
    with pytest.raises(KeyError, match='need the real streams'): FinetuneLoss()(out, t_s, {'K': K})
    with pytest.raises(KeyError, match="intrinsics"): FinetuneLoss()(FinetuneStep(net)(x_s, d_s, x_r), t_s)


def test_bad_input(tmp_path, batch):
    with pytest.raises(FileNotFoundError, match='nope.pth: no such file'): model_from_checkpoint(tmp_path / 'nope.pth')
    torch.save({'weights': 1}, tmp_path / 'other.pth')
    with pytest.raises(ValueError, match='not a dualhand checkpoint'): model_from_checkpoint(tmp_path / 'other.pth')
    with pytest.raises(ValueError, match='unknown fine-tuning configuration keys'): finetune_config(lr_ft=1)
    cb = SelfDistillFinetune()
    class _L: training = True; xb = ({'rgb': torch.zeros(1)},); yb = ()
    cb.learn = _L()
    with pytest.raises(ValueError, match=r'\(synthetic dict, real dict\) pairs'): cb.before_batch()
    # a 64 px checkpoint with 128 px data
    net = batch[0]
    torch.save({'model': net.state_dict(), 'config': dict(arch='resnet18', decoder_width=16, size=64)}, tmp_path / 'c.pth')
    big = SynthHands(4, 'synthetic', seed=0, size=128)
    with pytest.raises(ValueError, match='trained at 64 px'):
        run_finetune(tmp_path / 'c.pth', big, SynthHands(4, 'real', seed=2, size=128), {'r': SynthHands(4, 'real', seed=3, size=128)},
                     path=tmp_path / 'ft')
