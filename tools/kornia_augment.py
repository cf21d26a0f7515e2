"""Would kornia.augmentation do the job of dualhand.augment (T_RGB, T_DM, G of Supp. B)?

Builds the kornia pipeline with dualhand's parameters, compares output statistics on SynthHands crops, checks that
keypoints follow the image warp, and times both paths side by side in one process.

    . /work/venv/bin/activate && pip install kornia && python tools/kornia_augment.py [--device cpu|cuda] [--reps 15]

Writes runs/kornia_augment.json (with --device cuda: runs/kornia_augment_cuda.json). Read-only with respect to dualhand. Kornia draws from the global RNG (seeded 1000+k), dualhand from its
generator (seeded k): independent draws, so the statistics compare distributions, not identical samples.
"""
from __future__ import annotations
import argparse, json, math, os, platform, statistics, time
from pathlib import Path
import torch
import kornia, kornia.augmentation as KA
from kornia.geometry.transform import warp_affine
from dualhand import augment as DA
from dualhand.synth import SynthHands
from dualhand.pretrain import float_batch
from dualhand.losses import make_targets
from dualhand.hand import normalize_depth

# ---------------------------------------------------------------- the kornia pipeline with dualhand's parameters
JITTER, P_JITTER, P_GRAY, P_ERASE = (0.4, 0.4, 0.4, 0.1), 0.8, 0.2, 0.5     # texture_rgb defaults
ERASE_SCALE, ERASE_RATIO = (0.02, 0.33), (0.3, 3.3)
DEPTH_FILL, NOISE = 1., 0.02                                                 # texture_depth defaults (salt 1, pepper -1)
ROT, SCALE, TRANS = 180., (0.8, 1.0), 20. / DA.REF_SIZE                      # random_geometry: +-20 px at 256 -> fraction


class KorniaAug:
    "T_RGB, T_DM and G built from kornia.augmentation modules, plus the glue kornia lacks (noise fill, -1 pepper, K, vis)"
    def __init__(self, noise_fill=True):
        self.jitter = KA.ColorJitter(*JITTER, p=P_JITTER, order=(0, 1, 2, 3))   # dualhand's fixed order, torchvision formulas
        self.gray = KA.RandomGrayscale(p=P_GRAY)
        self.erase = KA.RandomErasing(ERASE_SCALE, ERASE_RATIO, value=0., p=P_ERASE)
        self.erase_d = KA.RandomErasing(ERASE_SCALE, ERASE_RATIO, value=1., p=P_ERASE)   # in [0,1] space: 1 -> +1
        self.snp = KA.RandomSaltAndPepperNoise(amount=NOISE, salt_vs_pepper=0.5, p=1.)
        self.geom = KA.AugmentationSequential(
            KA.RandomAffine(degrees=ROT, translate=(TRANS, TRANS), scale=SCALE, p=1.),
            data_keys=['input', 'mask', 'mask', 'keypoints'])   # rgb bilinear; mask, depth nearest; uv
        self.noise_fill = noise_fill

    def texture_rgb(self, rgb):
        x = self.gray(self.jitter(rgb))
        y = self.erase(x)
        if not self.noise_fill: return y
        # kornia fills a constant in [0,1]; dualhand (value='random') fills uniform noise: rebuild the box from the params
        p, (H, W) = self.erase._params, rgb.shape[-2:]
        on = p['batch_prob'].to(rgb.device).bool()
        t, l, h, w = (p[k].to(rgb.device)[:, None, None] for k in ('ys', 'xs', 'heights', 'widths'))
        r, c = torch.arange(H, device=rgb.device)[None, :, None], torch.arange(W, device=rgb.device)[None, None, :]
        m = ((r >= t) & (r < t + h) & (c >= l) & (c < l + w))[:, None]
        m[~on] = False
        return torch.where(m, torch.rand_like(x), x)

    def texture_depth(self, d):
        # kornia's salt/pepper are the literals 1 and 0 and its erasing value must lie in [0,1]: work in (d+1)/2
        return self.snp(self.erase_d((d + 1) / 2)) * 2 - 1

    def geometry(self, b):
        out = dict(b)
        out['rgb'], mask, depth, out['uv'] = self.geom(b['rgb'], b['mask'], b['depth'], b['uv'])
        out['mask'], out['depth'] = mask.to(b['mask'].dtype), depth.to(b['depth'].dtype)
        A = self.geom.transform_matrix.to(b['K'].dtype)
        out['K'] = A @ b['K']                                                   # glue: kornia has no intrinsics key
        S = b['rgb'].shape[-1]
        inside = ((out['uv'] >= -0.5) & (out['uv'] < S - 0.5)).all(-1)
        out['vis'] = b['vis'] & inside
        return out, A


def dual_geometry(b, generator=None):
    "dualhand's G, also returning its affines (random_geometry draws them the same way)"
    B, size, dev = DA._batch_geometry(b)
    A = DA.random_affine(B, size, generator=generator, device=dev)
    return DA.warp(b, A), A


# ---------------------------------------------------------------- data
def make_batch(n, size, device, seed=0):
    b = float_batch(SynthHands(n, 'synthetic', seed=seed, size=size).render_batch(range(n)))
    b = {k: v.to(device) for k, v in b.items()}
    t = make_targets(b, size // 4)
    b['dn'] = normalize_depth(b['depth'], b['mask'], t['root_z'], t['scale'])   # what texture_depth sees in training
    return b


def q(x, qs=(0.05, 0.5, 0.95)):
    x = x.flatten().double().cpu()
    return [round(float(torch.quantile(x, v)), 4) for v in qs]


def chan_stats(x):
    return dict(mean=[round(float(v), 4) for v in x.mean((0, 2, 3))], std=[round(float(v), 4) for v in x.std((0, 2, 3))])


# ---------------------------------------------------------------- statistics
def statistics_check(device, seeds=4, n=256, size=64):
    b = make_batch(n, size, device)
    ka = KorniaAug()
    res = {}
    d_out, k_out, d_kout = [], [], []
    for s in range(seeds):
        g = torch.Generator().manual_seed(100 + s); torch.manual_seed(1000 + 100 + s)
        d_out.append(DA.texture_rgb(b['rgb'], generator=g)); k_out.append(ka.texture_rgb(b['rgb']))
    res['input_rgb'] = chan_stats(b['rgb'])
    res['T_RGB'] = dict(dualhand=chan_stats(torch.cat(d_out)), kornia=chan_stats(torch.cat(k_out)))
    # jitter + grey only (no erasing): the colour part alone
    dj, kj = [], []
    for s in range(seeds):
        g = torch.Generator().manual_seed(200 + s); torch.manual_seed(1000 + 200 + s)
        dj.append(DA.random_grayscale(DA.color_jitter(b['rgb'], *JITTER, p=P_JITTER, generator=g), P_GRAY, g))
        kj.append(ka.gray(ka.jitter(b['rgb'])))
    res['jitter_gray'] = dict(dualhand=chan_stats(torch.cat(dj)), kornia=chan_stats(torch.cat(kj)))
    # same factors through both implementations: formula equivalence of the four colour steps
    torch.manual_seed(1)
    kjit = KA.ColorJitter(*JITTER, p=1., order=(0, 1, 2, 3))
    yk = kjit(b['rgb']); p = kjit._params
    yd = DA.adjust_hue(DA.adjust_saturation(DA.adjust_contrast(DA.adjust_brightness(
        b['rgb'], p['brightness_factor']), p['contrast_factor']), p['saturation_factor']), p['hue_factor'])
    res['jitter_same_factors_max_abs_diff'] = float((yk - yd).abs().max())

    # erasing: fraction of the image erased (ones image, erase to 0), over many draws
    N, ones = 4096, torch.ones(4096, 1, size, size, device=device)
    g = torch.Generator().manual_seed(3); torch.manual_seed(1000 + 3)
    fd = 1 - DA.random_erasing(ones, P_ERASE, ERASE_SCALE, ERASE_RATIO, 0., generator=g).mean((1, 2, 3))
    fk = 1 - ka.erase(ones).mean((1, 2, 3))
    def erased(f):
        on = f > 0
        return dict(p_erased=round(float(on.float().mean()), 4), area_mean_given_erased=round(float(f[on].mean()), 4),
                    area_q05_50_95=q(f[on]), area_mean_all=round(float(f.mean()), 4))
    res['erasing'] = dict(dualhand=erased(fd), kornia=erased(fk), target_scale=ERASE_SCALE)
    bd = DA.erase_boxes(N, (size, size), 1., ERASE_SCALE, ERASE_RATIO, generator=g, device=device)[0]
    torch.manual_seed(1004); ka.erase(ones[:, :, :, :]); pk = ka.erase._params
    res['erasing']['aspect_h_over_w_q05_50_95'] = dict(
        dualhand=q(bd[:, 2] / bd[:, 3]), kornia=q(pk['heights'].float() / pk['widths'].float()))
    res['erasing']['fill'] = dict(dualhand="uniform noise (value='random')",
                                  kornia='constant in [0,1] only: noise needs glue from _params (done here)')

    # T_DM on normalised depth
    dd, kd = [], []
    for s in range(seeds):
        g = torch.Generator().manual_seed(300 + s); torch.manual_seed(1000 + 300 + s)
        dd.append(DA.texture_depth(b['dn'], generator=g)); kd.append(ka.texture_depth(b['dn']))
    dd, kd = torch.cat(dd), torch.cat(kd)
    res['T_DM'] = dict(input=chan_stats(b['dn']), dualhand=chan_stats(dd), kornia=chan_stats(kd))
    z = torch.zeros(N, 1, size, size, device=device)
    g = torch.Generator().manual_seed(5); torch.manual_seed(1000 + 5)
    sd = DA.salt_and_pepper(z, NOISE, generator=g); sk = ka.snp(z + 0.5) * 2 - 1
    res['salt_pepper'] = dict(dualhand=dict(salt=round(float((sd == 1).float().mean()), 5), pepper=round(float((sd == -1).float().mean()), 5)),
                              kornia=dict(salt=round(float((sk == 1).float().mean()), 5), pepper=round(float((sk == -1).float().mean()), 5)),
                              target_each=NOISE / 2,
                              kornia_raw_pepper_value=0.0, note='kornia pepper is the literal 0: -1 needs the (d+1)/2 shift')

    # G: parameter distributions read from the affines
    g = torch.Generator().manual_seed(6); torch.manual_seed(1000 + 6)
    Ad = DA.random_affine(N, (size, size), generator=g, device=device)
    bb = {'rgb': torch.zeros(N, 1, size, size, device=device), 'mask': torch.zeros(N, 1, size, size, device=device),
          'depth': torch.zeros(N, 1, size, size, device=device), 'uv': torch.zeros(N, 21, 2, device=device)}
    ka.geom(bb['rgb'], bb['mask'], bb['depth'], bb['uv']); Ak = ka.geom.transform_matrix
    def geo(A):
        c = torch.tensor([(size - 1) / 2] * 2, device=A.device, dtype=A.dtype)
        t = A[:, :2, :2] @ c + A[:, :2, 2] - c
        sc = torch.linalg.det(A[:, :2, :2]).sqrt()
        ang = torch.rad2deg(torch.atan2(A[:, 0, 1], A[:, 0, 0]))
        return dict(tx_q=q(t[:, 0], (0, .25, .5, .75, 1)), ty_q=q(t[:, 1], (0, .25, .5, .75, 1)),
                    tx_std=round(float(t[:, 0].std()), 4), scale_q=q(sc, (0, .5, 1)), angle_q=q(ang, (0, .25, .5, .75, 1)))
    res['G_params'] = dict(dualhand=geo(Ad), kornia=geo(Ak), trans_px_bound=20 * size / DA.REF_SIZE,
                           uniform_std=round(20 * size / DA.REF_SIZE / math.sqrt(3), 4))

    # G: the same affine through both warpers (convention check)
    A = Ad[:n]
    wd = DA.warp_image(b['rgb'], A)
    wk = warp_affine(b['rgb'], A[:, :2].to(b['rgb'].dtype), (size, size), mode='bilinear', align_corners=False)
    res['G_same_affine_image_max_abs_diff'] = float((wd - wk).abs().max())

    # G: keypoints follow the warp: one Gaussian blob per joint, warp image and uv, compare blob centroid to warped uv
    sig = 1.5
    uv = b['uv']
    yy, xx = torch.meshgrid(torch.arange(size, device=device, dtype=torch.float32), torch.arange(size, device=device, dtype=torch.float32), indexing='ij')
    blobs = torch.exp(-((xx - uv[..., 0, None, None]) ** 2 + (yy - uv[..., 1, None, None]) ** 2) / (2 * sig ** 2))  # (B,21,H,W)
    def centroid(img):
        w = img.clamp_min(0); s = w.sum((-2, -1))
        return torch.stack([(w * xx).sum((-2, -1)) / s, (w * yy).sum((-2, -1)) / s], -1)
    def err(img_w, uv_w):
        ok = ((uv_w > 4 * sig) & (uv_w < size - 1 - 4 * sig)).all(-1) & ((uv > 4 * sig) & (uv < size - 1 - 4 * sig)).all(-1)
        e = (centroid(img_w) - uv_w).norm(dim=-1)[ok]
        return dict(joints=int(ok.sum()), mean_px=round(float(e.mean()), 4), max_px=round(float(e.max()), 4))
    g = torch.Generator().manual_seed(7)
    bd_ = {'rgb': blobs, 'uv': uv}
    od, _ = dual_geometry(bd_, g)
    torch.manual_seed(1007)
    kseq = KA.AugmentationSequential(KA.RandomAffine(degrees=ROT, translate=(TRANS, TRANS), scale=SCALE, p=1.),
                                     data_keys=['input', 'keypoints'])
    ok_img, ok_uv = kseq(blobs, uv)
    res['G_keypoint_vs_blob'] = dict(dualhand=err(od['rgb'], od['uv']), kornia=err(ok_img, ok_uv),
                                     unwarped_reference=err(blobs, uv))

    # G on a real batch: masks binary, depth values kept (nearest), K consistent with uv
    torch.manual_seed(1008); g = torch.Generator().manual_seed(8)
    ok_, Ak8 = ka.geometry(b)
    od_, Ad8 = dual_geometry(b, g)
    def k_uv_err(o):   # project xyz with the new K and compare to the warped uv
        p = o['xyz'] @ o['K'].transpose(-1, -2); p = p[..., :2] / p[..., 2:]
        return round(float((p - o['uv']).norm(dim=-1).max()), 5)
    def depth_kept(o):
        vals = torch.cat([b['depth'].flatten(), torch.zeros(1, device=device)]).unique()
        return bool(torch.isin(o['depth'], vals).all())
    res['G_batch'] = {name: dict(mask_values=[float(v) for v in o['mask'].unique()], depth_values_from_input=depth_kept(o),
                                 K_vs_uv_max_px=k_uv_err(o), vis_fraction=round(float(o['vis'].float().mean()), 4),
                                 hand_pixels_kept=round(float(o['mask'].sum() / b['mask'].sum()), 4))
                      for name, o in (('dualhand', od_), ('kornia', ok_))}
    return res


# ---------------------------------------------------------------- speed
def sync(device):
    if torch.device(device).type == 'cuda': torch.cuda.synchronize()


def speed(device, reps=15, bs=32, sizes=(64, 128)):
    ka = KorniaAug()
    out = {}
    for size in sizes:
        b = make_batch(bs, size, device)
        g = torch.Generator().manual_seed(0)
        paths = {
            ('dualhand', 'T_RGB'): lambda: DA.texture_rgb(b['rgb'], generator=g),
            ('kornia', 'T_RGB'): lambda: ka.texture_rgb(b['rgb']),
            ('dualhand', 'T_DM'): lambda: DA.texture_depth(b['dn'], generator=g),
            ('kornia', 'T_DM'): lambda: ka.texture_depth(b['dn']),
            ('dualhand', 'G'): lambda: DA.random_geometry(b, generator=g),
            ('kornia', 'G'): lambda: ka.geometry(b),
        }
        times = {k: [] for k in paths}
        for f in paths.values(): f(); f()          # warm-up
        sync(device)
        for _ in range(reps):                      # interleaved: each rep runs every path once
            for k, f in paths.items():
                sync(device); t = time.perf_counter(); f(); sync(device)
                times[k].append(time.perf_counter() - t)
        for lib in ('dualhand', 'kornia'):
            times[(lib, 'all')] = [sum(times[(lib, p)][i] for p in ('T_RGB', 'T_DM', 'G')) for i in range(reps)]
        r = {}
        for part in ('T_RGB', 'T_DM', 'G', 'all'):
            td, tk = times[('dualhand', part)], times[('kornia', part)]
            md, mk = statistics.median(td), statistics.median(tk)
            paired = sorted(d / k for d, k in zip(td, tk))   # same rep, adjacent in time: robust to load drift
            qs = statistics.quantiles(paired, n=4)
            r[part] = dict(dualhand_sps=round(bs / md, 1), kornia_sps=round(bs / mk, 1), kornia_over_dualhand=round(md / mk, 3),
                           paired_ratio_median=round(statistics.median(paired), 3),
                           paired_ratio_iqr=[round(qs[0], 3), round(qs[2], 3)])
        out[f'{size}px'] = r
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--reps', type=int, default=31)
    ap.add_argument('--out', default=None)
    a = ap.parse_args()
    st = statistics_check(a.device)
    sp = speed(a.device, a.reps)
    res = dict(kornia=kornia.__version__, torch=torch.__version__, device=a.device, threads=torch.get_num_threads(),
               machine=platform.processor() or platform.machine(), batch=32, reps=a.reps,
               note='speed: samples/s from the median time over interleaved reps of one batch of 32; ratios are dualhand time / kornia time (>1: kornia faster); paired = per-rep ratio, adjacent in time', load_avg_1_5_15min=[round(v, 2) for v in os.getloadavg()],
               statistics=st, speed=sp)
    out = Path(a.out or ('runs/kornia_augment.json' if a.device == 'cpu' else f'runs/kornia_augment_{a.device}.json'))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))

    print(f"kornia {kornia.__version__}, torch {torch.__version__}, device {a.device}, {torch.get_num_threads()} threads")
    print(f"\n{'size':>6} {'part':>6} {'dualhand/s':>11} {'kornia/s':>9} {'k/d':>6} {'paired k/d [IQR]':>20}")
    for s, r in sp.items():
        for p, v in r.items():
            iq = v['paired_ratio_iqr']
            print(f"{s:>6} {p:>6} {v['dualhand_sps']:>11.0f} {v['kornia_sps']:>9.0f} {v['kornia_over_dualhand']:>6.2f}"
                  f" {v['paired_ratio_median']:>6.2f} [{iq[0]:.2f}, {iq[1]:.2f}]")
    print('\nstatistics (dualhand | kornia)')
    for k in ('T_RGB', 'jitter_gray', 'T_DM'):
        d, kk = st[k]['dualhand'], st[k]['kornia']
        print(f"  {k:12} mean {d['mean']} | {kk['mean']}   std {d['std']} | {kk['std']}")
    print(f"  jitter, same factors, max |diff|: {st['jitter_same_factors_max_abs_diff']:.2e}")
    e = st['erasing']
    for lib in ('dualhand', 'kornia'):
        print(f"  erasing {lib:8} {e[lib]}  aspect q {e['aspect_h_over_w_q05_50_95'][lib]}")
    print(f"  salt/pepper {st['salt_pepper']['dualhand']} | {st['salt_pepper']['kornia']}")
    for lib in ('dualhand', 'kornia'): print(f"  G params {lib:8} {st['G_params'][lib]}")
    print(f"  G same affine, image max |diff|: {st['G_same_affine_image_max_abs_diff']:.2e}")
    print(f"  G keypoint vs blob centroid: {st['G_keypoint_vs_blob']}")
    for lib in ('dualhand', 'kornia'): print(f"  G batch {lib:8} {st['G_batch'][lib]}")
    print(f"\nwrote {out}")


if __name__ == '__main__':
    main()
