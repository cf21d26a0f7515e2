"""What the second pass gets from the predicted depth d_R: experiments on a demo stage's checkpoint, on the valid splits.

1. Depth maps fed to E_D (eval only): d_R as fine-tuning makes it (bilinear), d_R nearest, d_R with the background set
   where the predicted mask says so, d_R inside the true mask, a flat hand inside the predicted mask, the true depth.
   3D EPE (mm) of the second pass p_F on each, next to the first pass p_R.
2. Can the depth head learn the hand's depth if Eq. 2's depth L1 weighed the hand? The decoder alone is trained from
   the stage's weights on 'synthetic' training images for `--steps` steps, once with Eq. 2 as it is (the control) and
   once with an extra L1 on the hand cells only (weight `--hand-weight`); the depth head's error on the hand (mm, at the
   decoder's resolution, against its Eq. 2 target; a flat hand is the reference) and p_R, p_F are measured before and
   after.

    python tools/second_pass_probe.py DEMO --stage ours --out runs/mechanisms/second_pass_seed0.json
"""
import argparse, copy, json, time
from pathlib import Path
import torch
import torch.nn.functional as F
from dualhand.demo import demo_net, demo_split
from dualhand.pretrain import float_batch
from dualhand.losses import make_targets, multimodal_loss
from dualhand.hand import normalize_depth
from dualhand.mechanisms import depth_errors
from dualhand.metrics import evaluate

def up(x, mode='bilinear'):
    return F.interpolate(x, size=(64, 64), mode=mode, **({} if mode == 'nearest' else dict(align_corners=False)))

def fused(net, rgb, d):
    return net.decode(net.encode_rgb(rgb, net.encode_depth(d)[1]))

@torch.no_grad()
def depth_inputs(net, b):
    "3D EPE (mm) of p_R and of p_F on each depth map given to E_D"
    t = make_targets(b, b['rgb'].shape[-1] // 4)
    y = net(b['rgb'])
    dR, mR = up(y['depth']), up(y['mask'])
    one = torch.ones_like(dR)
    maps = {'d_R (bilinear, as in fine-tuning)': dR, 'd_R nearest': up(y['depth'], 'nearest'),
            'd_R, background where the predicted mask is off': torch.where(mR > 0, dR, one),
            'd_R inside the true mask': torch.where(b['mask'] > 0, dR, one),
            'flat hand inside the predicted mask': torch.where(mR > 0, torch.zeros_like(dR), one),
            'true depth': normalize_depth(b['depth'], b['mask'], t['root_z'], t['scale'])}
    res = {'p_R': evaluate([y], [t], img_size=64)['epe3d']}
    res.update({f'p_F on {k}': evaluate([fused(net, b['rgb'], v)], [t], img_size=64)['epe3d'] for k, v in maps.items()})
    return res

@torch.no_grad()
def depth_head(net, b):
    t = make_targets(b, b['rgb'].shape[-1] // 4)
    y = net(b['rgb'])
    e = depth_errors(y['depth'], t['depth'], t['mask'], t['scale']).mean(0)   # against Eq. 2's target, at S/4
    err, flat = e[0].item(), e[3].item()
    return dict(p_R=evaluate([y], [t], img_size=64)['epe3d'], p_F=evaluate([fused(net, b['rgb'], up(y['depth']))], [t], img_size=64)['epe3d'],
                depth_hand_mm=err, flat_hand_mm=flat)

def train_decoder(net, train, steps, hand_weight, seed=0, bs=32, lr=1e-4):
    "A copy of `net` whose decoder was trained `steps` steps on `train` with Eq. 2 (+ hand_weight * L1 on the hand cells)"
    g = torch.Generator().manual_seed(seed)
    net = copy.deepcopy(net).train()
    net.enc_rgb.eval()                                     # frozen encoder, its statistics kept
    for p in net.parameters(): p.requires_grad_(False)
    opt = torch.optim.Adam([p.requires_grad_(True) for p in net.decoder.parameters()], lr=lr)
    n = len(train['rgb'])
    for _ in range(steps):
        i = torch.randint(0, n, (bs,), generator=g)
        b = {k: v[i] for k, v in train.items()}
        t = make_targets(b, b['rgb'].shape[-1] // 4)
        with torch.no_grad(): s = net.encode_rgb(b['rgb'])
        y = net.decode(s)
        loss = multimodal_loss(y, t)
        if hand_weight: loss = loss + hand_weight * ((y['depth'] - t['depth']).abs() * t['mask']).sum() / t['mask'].sum().clamp_min(1)
        opt.zero_grad(); loss.backward(); opt.step()
    return net.eval()

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('demo'); p.add_argument('--stage', default='ours'); p.add_argument('--out', required=True)
    p.add_argument('--n', type=int, default=512, help="samples of each valid split")
    p.add_argument('--steps', type=int, default=600); p.add_argument('--hand-weight', type=float, default=50.)
    p.add_argument('--threads', type=int, default=None)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    t0 = time.time()
    net = demo_net(a.stage, a.demo)
    valid = {k: float_batch(demo_split(n, 'valid', a.n).data) for k, n in (('real', 'synth-real'), ('synthetic', 'synth'))}
    res = dict(command=f"python tools/second_pass_probe.py {a.demo} --stage {a.stage} --n {a.n} --steps {a.steps} "
                       f"--hand-weight {a.hand_weight}", stage=a.stage,
               depth_inputs={k: depth_inputs(net, b) for k, b in valid.items()},
               depth_head={'before': {k: depth_head(net, b) for k, b in valid.items()}})
    train = float_batch(demo_split('synth', 'train', 2048).data)
    for name, w in (('Eq. 2 (control)', 0.), (f'Eq. 2 + {a.hand_weight:g} L1 on the hand', a.hand_weight)):
        tuned = train_decoder(net, train, a.steps, w)
        res['depth_head'][name] = {k: depth_head(tuned, b) for k, b in valid.items()}
    res['minutes'] = (time.time() - t0) / 60
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))

if __name__ == '__main__': main()
