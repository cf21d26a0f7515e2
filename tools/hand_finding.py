"""How well the predictor finds hands: SynthHands 'real' hands pasted into cluttered 256 px frames.

    python tools/hand_finding.py [--n 200] [--split test] [--seed 0] [--checkpoint models/synthhands-64.pth]

Prints a table and writes runs/hand_finding/<split>-seed<seed>.json: detection rate (found, IoU >= 0.5 with the true
crop box), false positives on as many hand-free frames, 2D errors (% of the true box side, PCK at 5%) of the found
pose, of the pose from the true box and of the mean pose in the true box; 'auto' side accuracy on right hands and
their mirror images, and the mirrored hands' error with hand='left' and with hand='right'; time per frame of the full search, of a given box, and of tracking a 24-frame clip.
"""
import argparse, json, time
from pathlib import Path
import torch
from dualhand.predict import HandPoseEstimator, hand_finding_benchmark, paste_hands, cluttered_backgrounds, CROP_PAD
from dualhand.datasets import crop_box
from dualhand.datasets import mirror_sample
from dualhand.data import get_dataset
from dualhand.demo import DEMO_SYNTH

def sides(est, n, split):
    "'auto' side accuracy on right hands and their mirror images; 2D error of the mirrored hands with hand='left' / 'right'"
    ds = get_dataset('synth-real', split, size=96, n=n, **DEMO_SYNTH)
    rs = [ds[i] for i in range(n)]
    ls = [mirror_sample(s) for s in rs]
    right = est.predict([s['rgb'] for s in rs], hand='auto')
    left = est.predict([s['rgb'] for s in ls], hand='auto')
    boxes = [crop_box(s['uv'], CROP_PAD) for s in ls]
    err = lambda h: 100 * float(torch.stack([(p.uv - s['uv']).norm(dim=-1).mean() / b[2] for p, s, b in zip(
        est.predict([s['rgb'] for s in ls], boxes=boxes, hand=h), ls, boxes)]).median())
    return dict(auto_side_accuracy=(sum(p.hand == 'right' for p in right) + sum(p.hand == 'left' for p in left)) / (2 * n),
                left_hands_error_pct_hand_left=err('left'), left_hands_error_pct_hand_right=err('right'))

def tracking_speed(est, T=24):
    "ms per frame of `track` (search from the last box) and of an independent search on every frame, same clip"
    hand = get_dataset('synth-real', 'test', size=128, n=4, **DEMO_SYNTH).render_batch([2], extras=True)
    path = torch.stack([torch.linspace(70, 180, T), 128 + 40 * torch.sin(torch.linspace(0, 3, T)), torch.linspace(60, 90, T)], -1)
    clip = paste_hands({k: v.expand(T, *v.shape[1:]) for k, v in hand.items()},
                       cluttered_backgrounds(1, 256, seed=9).expand(T, -1, -1, -1), where=path)['rgb']
    t0 = time.perf_counter(); tracked = list(est.track(list(clip)))
    t1 = time.perf_counter(); searched = [est.predict(f) for f in clip]
    t2 = time.perf_counter()
    return dict(ms_per_frame_track=1000 * (t1 - t0) / T, ms_per_frame_search_each=1000 * (t2 - t1) / T,
                found_track=sum(p.found for _, p in tracked) / T, found_search_each=sum(p.found for p in searched) / T)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=200); p.add_argument('--split', default='test')
    p.add_argument('--seed', type=int, default=0); p.add_argument('--checkpoint', default='models/synthhands-64.pth')
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    est = HandPoseEstimator.from_checkpoint(a.checkpoint, device='cpu')
    res = dict(checkpoint=a.checkpoint, seed=a.seed, **hand_finding_benchmark(est, a.n, a.split, seed=a.seed, **DEMO_SYNTH))
    res.update(sides(est, min(a.n, 100), a.split))
    res.update(tracking_speed(est))
    out = Path('runs/hand_finding'); out.mkdir(parents=True, exist_ok=True)
    (out / f'{a.split}-seed{a.seed}.json').write_text(json.dumps(res, indent=1))
    for k, v in res.items(): print(f"{k:28s} {v:.3f}" if isinstance(v, float) else f"{k:28s} {v}")
