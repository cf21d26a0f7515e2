"""Readers of dualhand.datasets against tiny fixtures written here, independently of the library's own fake writers,
in each dataset's exact on-disk format (pickle / json / mat / png / jpg / npy), with known values."""
import json, pickle, random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.io import savemat
from scipy.spatial.transform import Rotation

from dualhand.datasets import RHD, FreiHAND, STB, H3D, MVHand, crop_box, crop_matrix, crop_sample

torch.set_num_threads(1)
S = 256

# ---------------------------------------------------------------- helpers (numpy only, independent of the library)

def hand_xyz(z=500., dx=0.):
    "A right-hand-like pose (21,3) mm in dualhand order: wrist, then thumb..pinky, base -> tip"
    xyz = np.zeros((21, 3))
    xyz[0] = (dx, 60., z)
    for f in range(5):
        for k in range(4):
            xyz[1 + 4 * f + k] = (dx - 40. + 20 * f + 3 * k, 20. - 22 * k - 4 * f, z + 4 * k + 2 * f)
    return xyz

def proj(xyz, K):
    p = xyz @ np.asarray(K, dtype=np.float64).T
    return p[:, :2] / p[:, 2:]

def expected_crop(uv):
    "Independent crop maths: centre of the joints' bbox, side 1.5 x the larger extent, u' = S/s (u - c) + S/2 - 1/2"
    lo, hi = uv.min(0), uv.max(0)
    c, s = (lo + hi) / 2, 1.5 * (hi - lo).max()
    return c, s, (uv - c) * S / s + S / 2 - 0.5

def src_coord(j, c, s):
    "Source image coordinate of crop pixel centre j"
    return c + (j + 0.5 - S / 2) * s / S

def save(a, path, **kw):
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(a)).save(path, **kw)

def ramp_rgb(h, w):
    "R encodes the column, G the row: an asymmetric image to check crops and flips"
    u, v = np.meshgrid(np.arange(w), np.arange(h))
    return np.stack([u * 255 // (w - 1), v * 255 // (h - 1), np.full_like(u, 77)], -1).astype(np.uint8)

def check_projection(s):
    K, xyz, uv = s['K'].double().numpy(), s['xyz'].double().numpy(), s['uv'].double().numpy()
    np.testing.assert_allclose(proj(xyz, K), uv, atol=1e-3)

def check_contract(s, extra=()):
    assert set(s) == {'rgb', 'uv', 'xyz', 'K', 'vis', *extra}
    assert s['rgb'].shape == (3, S, S) and s['rgb'].dtype == torch.uint8
    assert s['uv'].shape == (21, 2) and s['uv'].dtype == torch.float32
    assert s['xyz'].shape == (21, 3) and s['xyz'].dtype == torch.float32
    assert s['K'].shape == (3, 3) and s['K'].dtype == torch.float32
    assert s['vis'].shape == (21,) and s['vis'].dtype == torch.bool
    if 'depth' in extra: assert s['depth'].shape == (1, S, S) and s['depth'].dtype == torch.float32
    if 'mask' in extra: assert s['mask'].shape == (1, S, S) and s['mask'].dtype == torch.uint8

# ---------------------------------------------------------------- the crop

def test_crop_matrix_and_projection():
    K = np.array([[400., 0, 150], [0, 410, 120], [0, 0, 1]])
    xyz = hand_xyz()
    uv = proj(xyz, K)
    c, s, uv_exp = expected_crop(uv)
    box = crop_box(torch.tensor(uv))
    np.testing.assert_allclose(box.numpy(), [c[0], c[1], s], atol=1e-9)
    A = crop_matrix(box, S).numpy()
    np.testing.assert_allclose(proj(xyz, A @ K), uv_exp, atol=1e-6)

def test_crop_sample_zero_padding_and_nearest():
    rgb = torch.full((3, 40, 40), 200, dtype=torch.uint8)
    mask = torch.ones(1, 40, 40, dtype=torch.uint8)
    uv = torch.tensor([[0.2, 10], [20.2, 30]])       # box centre (10.2, 20), side 30: u from -4.8, scale 1
    out = crop_sample(dict(rgb=rgb, mask=mask, uv=uv, K=torch.eye(3)), size=30)
    # output column j samples u = j - 4.3: columns 0-3 lie outside (zeros), column 4 at u = -0.3 is bilinear
    # 0.7 * 200 = 140 (RGB) and nearest pixel 0 (mask), columns 5+ inside
    assert out['rgb'][:, :, :4].max() == 0 and (out['rgb'][:, :, 4] == 140).all() and out['rgb'][:, :, 5:].min() == 200
    assert out['mask'][0, :, :4].max() == 0 and out['mask'][0, :, 4:].min() == 1
    assert set(out['mask'].unique().tolist()) == {0, 1}

# ---------------------------------------------------------------- RHD

def rhd_order(j):
    "RHD's row (within a hand) of dualhand joint j: wrist, then per finger tip -> base"
    if j == 0: return 0
    f, k = (j - 1) // 4, (j - 1) % 4
    return 4 * f + 4 - k

RHD_K = np.array([[280., 0, 160], [0, 280, 160], [0, 0, 1]])

def write_rhd(root, split='training', n=2):
    d = Path(root) / 'RHD_published_v2' / split
    anno = {}
    for i in range(n):
        right = hand_xyz(z=450.)
        left = hand_xyz(z=600., dx=-90.) * [-1, 1, 1]          # mirrored: a left hand
        uv_vis, xyz = np.zeros((42, 3)), np.zeros((42, 3))
        for h, hand in enumerate((left, right)):
            for j in range(21):
                r = 21 * h + rhd_order(j)
                uv_vis[r, :2], uv_vis[r, 2], xyz[r] = proj(hand[j:j+1], RHD_K)[0], 1., hand[j] / 1000.
        uv_vis[21 + rhd_order(8), 2] = 0.                        # right index tip occluded
        anno[i] = {'uv_vis': uv_vis.astype(np.float32), 'xyz': xyz.astype(np.float32), 'K': RHD_K.astype(np.float32)}
        save(ramp_rgb(320, 320), d / 'color' / f'{i:05d}.png')
        depth_m = np.where(np.arange(320)[None, :] < 160, 0.6, 0.9) * np.ones((320, 1))
        q = np.round(depth_m / 5. * 65535).astype(np.int64)
        save(np.stack([q // 256, q % 256, np.full_like(q, 13)], -1).astype(np.uint8), d / 'depth' / f'{i:05d}.png')
        ids = np.zeros((320, 320), np.uint8)
        ids[250:300, 20:300] = 1                                   # person
        big, small = (slice(100, 140), slice(120, 160)), (slice(200, 220), slice(200, 220))
        ids[big], ids[small] = (20, 5) if i % 2 == 0 else (5, 20)  # even: right hand has more pixels
        save(ids, d / 'mask' / f'{i:05d}.png')
    (d / f'anno_{split}.pickle').write_bytes(pickle.dumps(anno))
    return Path(root) / 'RHD_published_v2', anno, ids

def test_rhd_right_hand(tmp_path):
    root, anno, _ = write_rhd(tmp_path)
    ds = RHD(root, 'train')
    assert len(ds) == 2
    s = ds[0]
    check_contract(s, ('depth', 'mask'))
    rows = [21 + rhd_order(j) for j in range(21)]
    uv = anno[0]['uv_vis'][rows, :2].astype(np.float64)
    c, side, uv_exp = expected_crop(uv)
    np.testing.assert_allclose(s['uv'].numpy(), uv_exp, atol=1e-3)
    np.testing.assert_allclose(s['xyz'].numpy(), anno[0]['xyz'][rows] * 1000, atol=1e-3)
    assert s['vis'].tolist() == [j != 8 for j in range(21)]
    check_projection(s)
    # depth: 600 mm left of column 160, 900 right (to the encoding's 0.08 mm step), zero outside the image
    u = src_coord(np.arange(S), c[0], side)
    v = src_coord(np.arange(S), c[1], side)
    rows_in = (v > 1) & (v < 318)
    for j in (5, 100, 200, 250):
        if 1 < u[j] < 159: exp = 600.
        elif 161 < u[j] < 318: exp = 900.
        else: continue
        np.testing.assert_allclose(s['depth'][0, rows_in, j].numpy(), exp, atol=0.05)
    # mask: exactly the right hand's ids (20 in rows 100-139, cols 120-159), by nearest sampling
    iu, iv = np.floor(u + 0.5).astype(int), np.floor(v + 0.5).astype(int)
    exp_mask = ((iv >= 100) & (iv < 140))[:, None] & ((iu >= 120) & (iu < 160))[None, :]
    assert exp_mask.sum() > 1000
    np.testing.assert_array_equal(s['mask'][0].numpy(), exp_mask.astype(np.uint8))
    # rgb: R encodes the source column
    R = s['rgb'][0].float().numpy()
    ok = (u > 1) & (u < 318)
    np.testing.assert_allclose(R[S // 2, ok], u[ok] * 255 / 319, atol=1.5)

def test_rhd_left_hand_is_mirrored(tmp_path):
    root, anno, _ = write_rhd(tmp_path)
    s = RHD(root, 'train')[1]                                      # odd: the left hand has more mask pixels
    rows = [rhd_order(j) for j in range(21)]
    uv = anno[1]['uv_vis'][rows, :2].astype(np.float64)
    c, side, uv_exp = expected_crop(uv)
    uv_exp[:, 0] = S - 1 - uv_exp[:, 0]
    np.testing.assert_allclose(s['uv'].numpy(), uv_exp, atol=1e-3)
    np.testing.assert_allclose(s['xyz'].numpy(), anno[1]['xyz'][rows] * 1000 * [-1, 1, 1], atol=1e-3)
    assert s['vis'].all()
    check_projection(s)
    u = src_coord(np.arange(S), c[0], side)[::-1]                  # the crop is flipped
    ok = (u > 1) & (u < 318)
    np.testing.assert_allclose(s['rgb'][0, S // 2].float().numpy()[ok], u[ok] * 255 / 319, atol=1.5)
    assert s['mask'].sum() > 0 and set(s['mask'].unique().tolist()) == {0, 1}

def test_rhd_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'): RHD(tmp_path / 'nowhere')
    with pytest.raises(ValueError, match="'train' or 'test'"): RHD(tmp_path, 'val')
    root, anno, _ = write_rhd(tmp_path)
    with pytest.raises(FileNotFoundError, match='anno_evaluation.pickle|evaluation'): RHD(root, 'test')
    d = root / 'training'
    (d / 'color' / '00000.png').write_bytes(b'\x89PNG\r\n\x1a\nnot an image')
    with pytest.raises(ValueError, match='00000.png'): RHD(root)[0]
    (d / 'color' / '00001.png').unlink()
    with pytest.raises(FileNotFoundError, match='00001.png'): RHD(root)[1]
    bad = dict(anno); bad[1] = dict(anno[1], uv_vis=anno[1]['uv_vis'][:21])
    (d / 'anno_training.pickle').write_bytes(pickle.dumps(bad))
    with pytest.raises(ValueError, match=r'anno_training.pickle.*\(42, 3\)'): RHD(root)
    bad[1] = dict(anno[1], xyz=np.full((42, 3), np.nan, np.float32))
    (d / 'anno_training.pickle').write_bytes(pickle.dumps(bad))
    with pytest.raises(ValueError, match='NaN'): RHD(root)
    (d / 'anno_training.pickle').write_bytes(pickle.dumps({0: {'xyz': anno[0]['xyz'], 'K': anno[0]['K']}}))
    with pytest.raises(ValueError, match='uv_vis'): RHD(root)

def test_rhd_bad_depth_and_mask(tmp_path):
    root, anno, _ = write_rhd(tmp_path, n=1)
    d = root / 'training'
    save(np.zeros((320, 320), np.uint8), d / 'depth' / '00000.png')      # one channel: not RHD's encoding
    with pytest.raises(ValueError, match='depth.*00000.png.*1 channels'): RHD(root)[0]
    root, anno, _ = write_rhd(tmp_path / 'b', n=1)
    save(np.zeros((100, 320), np.uint8), root / 'training' / 'mask' / '00000.png')
    with pytest.raises(ValueError, match='mask.*00000.png.*100x320'): RHD(root)[0]

# ---------------------------------------------------------------- FreiHAND

FREI_K = [[380., 0, 112], [0, 380, 112], [0, 0, 1]]
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]

def write_freihand(root, n=2):
    root = Path(root)
    for name, m in (('training', n), ('evaluation', 1)):
        xyzs = [hand_xyz(z=500. + 20 * i) / 1000. for i in range(m)]
        (root / f'{name}_xyz.json').write_text(json.dumps([x.tolist() for x in xyzs]))
        (root / f'{name}_K.json').write_text(json.dumps([FREI_K] * m))
        for v in range(4 if name == 'training' else 1):
            for i in range(m):
                save(np.full((224, 224, 3), COLOURS[v], np.uint8), root / name / 'rgb' / f'{i + v * m:08d}.jpg', quality=95)
        if name == 'training':
            for i in range(m):
                mk = np.zeros((224, 224), np.uint8); mk[60:160, 80:150] = 255
                save(mk, root / name / 'mask' / f'{i:08d}.jpg', quality=95)
    return root

def test_freihand(tmp_path):
    root = write_freihand(tmp_path)
    ds = FreiHAND(root, 'train')
    assert len(ds) == 8
    for i in (5, 6):                                               # image i shows hand i % 2 in version i // 2
        s = ds[i]
        check_contract(s, ('mask',))
        xyz = hand_xyz(z=500. + 20 * (i % 2))
        np.testing.assert_allclose(s['xyz'].numpy(), xyz, atol=1e-3)
        c, side, uv_exp = expected_crop(proj(xyz, FREI_K))
        np.testing.assert_allclose(s['uv'].numpy(), uv_exp, atol=1e-3)
        check_projection(s)
        u, v = src_coord(np.arange(S), c[0], side), src_coord(np.arange(S), c[1], side)
        inside = ((v > 2) & (v < 221))[:, None] & ((u > 2) & (u < 221))[None, :]
        rgb = s['rgb'].permute(1, 2, 0).numpy().astype(float)
        assert np.abs(rgb[inside] - COLOURS[i // 2]).max() <= 4           # the version's colour (JPEG)
        outside = ((v < -1) | (v > 224))[:, None] | ((u < -1) | (u > 224))[None, :]
        assert rgb[outside].max(initial=0) == 0                          # zero padding outside the image
        iu, iv = np.floor(u + 0.5), np.floor(v + 0.5)
        exp = ((iv >= 60) & (iv < 160))[:, None] & ((iu >= 80) & (iu < 150))[None, :]
        assert exp.sum() > 1000 and (s['mask'][0].numpy() == exp).mean() > 0.99   # JPEG edges may flip a few
    t = FreiHAND(root, 'test')
    assert len(t) == 1 and 'mask' not in t[0]
    np.testing.assert_allclose(t[0]['xyz'].numpy(), hand_xyz(z=500.), atol=1e-3)

def test_freihand_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='training_xyz.json'): FreiHAND(tmp_path)
    root = write_freihand(tmp_path)
    (root / 'training' / 'rgb' / '00000003.jpg').write_bytes(b'\xff\xd8\xff garbage')
    with pytest.raises(ValueError, match='00000003.jpg'): FreiHAND(root)[3]
    xyz = json.loads((root / 'training_xyz.json').read_text())
    xyz[1] = [p[:2] for p in xyz[1]]
    (root / 'training_xyz.json').write_text(json.dumps(xyz))
    with pytest.raises(ValueError, match=r'training_xyz.json.*sample 1.*\(21, 3\)'): FreiHAND(root)
    (root / 'training_xyz.json').write_text(json.dumps(xyz[:1]))
    with pytest.raises(ValueError, match='training_K.json'): FreiHAND(root)
    (root / 'training_xyz.json').write_text('{not json')
    with pytest.raises(ValueError, match='training_xyz.json'): FreiHAND(root)

# ---------------------------------------------------------------- STB

SK_K = np.array([[607.92271, 0, 314.78337], [0, 607.88192, 236.42484], [0, 0, 1]])
BB_K = np.array([[822.79041, 0, 318.47345], [0, 822.79041, 250.31296], [0, 0, 1]])
SEQS = [f'B{b}{m}' for b in range(1, 7) for m in ('Counting', 'Random')]

def stb_order(j):
    "STB's index of dualhand joint j: palm, then pinky, ring, middle, index, thumb, base -> tip"
    if j == 0: return 0
    f, k = (j - 1) // 4, (j - 1) % 4
    return 1 + 4 * (4 - f) + k

def stb_left(i):
    return hand_xyz(z=450. + 10 * i) * [-1, 1, 1]

def write_stb(root, n=2, images=('B2Counting', 'B1Counting')):
    root = Path(root)
    R = Rotation.from_rotvec([0.00531, -0.01196, 0.00301]).as_matrix()
    T = np.array([-24.0381, -0.4563, -1.2326])
    (root / 'labels').mkdir(parents=True)
    for seq in SEQS:
        for cam in ('SK', 'BB'):
            para = np.zeros((3, 21, n))
            for i in range(n):
                xyz = stb_left(i).copy()
                xyz[0] = (xyz[0] + xyz[9]) / 2                        # STB annotates the palm centre, not the wrist
                if cam == 'SK': xyz = xyz @ R.T + T                    # labels in the depth camera's frame
                for j in range(21): para[:, stb_order(j), i] = xyz[j]
            savemat(root / 'labels' / f'{seq}_{cam}.mat', {'handPara': para})
        if seq in images:
            for i in range(n):
                for name in ('SK_color', 'BB_left'):
                    save(ramp_rgb(480, 640), root / seq / f'{name}_{i}.png', compress_level=1)
    return root

@pytest.mark.parametrize('camera', ['SK', 'BB'])
def test_stb(tmp_path, camera):
    root = write_stb(tmp_path)
    ds = STB(root, 'train', camera=camera)
    assert len(ds) == 20 and len(STB(root, 'test', camera=camera)) == 4
    K = SK_K if camera == 'SK' else BB_K
    s = ds[1]                                                      # B2Counting frame 1
    check_contract(s)
    xyz = stb_left(1)                                              # colour frame, wrist recovered with f = 1
    c, side, uv_exp = expected_crop(proj(xyz, K))
    uv_exp[:, 0] = S - 1 - uv_exp[:, 0]                            # left hand: mirrored
    np.testing.assert_allclose(s['xyz'].numpy(), xyz * [-1, 1, 1], atol=1e-3)
    np.testing.assert_allclose(s['uv'].numpy(), uv_exp, atol=1e-3)
    check_projection(s)
    u = src_coord(np.arange(S), c[0], side)[::-1]
    ok = (u > 1) & (u < 638)
    np.testing.assert_allclose(s['rgb'][0, S // 2].float().numpy()[ok], u[ok] * 255 / 639, atol=1.5)

def test_stb_images_folder(tmp_path):
    "The layout of the unpacked download: the sequence folders in images/, beside labels/"
    root = write_stb(tmp_path)
    ref = STB(root, 'train')[1]
    (root / 'images').mkdir()
    for seq in ('B2Counting', 'B1Counting'): (root / seq).rename(root / 'images' / seq)
    ds = STB(root, 'train')
    assert ds.seq_dir('B2Counting') == root / 'images' / 'B2Counting' and ds.seq_dir('B2Random') is None
    s = ds[1]
    assert set(s) == set(ref) and all(torch.equal(s[k], ref[k]) for k in ref)
    np.testing.assert_allclose(s['xyz'].numpy(), stb_left(1) * [-1, 1, 1], atol=1e-3)
    assert len(STB(root, 'test')) == 4 and STB(root, 'test')[0]['rgb'].shape == (3, S, S)
    with pytest.raises(FileNotFoundError, match=r'B2Random.SK_color_0.png, nor .*images.B2Random.SK_color_0.png'): ds[2]

def test_stb_bad_input(tmp_path):
    root = write_stb(tmp_path, n=1)
    with pytest.raises(ValueError, match="'SK' or 'BB'"): STB(root, camera='XX')
    with pytest.raises(FileNotFoundError, match='SK_color_0.png'): STB(root, 'train', sequences=['B3Random'])[0]
    (root / 'labels' / 'B4Random_SK.mat').unlink()
    with pytest.raises(FileNotFoundError, match='B4Random_SK.mat'): STB(root)
    savemat(root / 'labels' / 'B4Random_SK.mat', {'handPara': np.zeros((3, 20, 5))})
    with pytest.raises(ValueError, match=r'B4Random_SK.mat.*\(3, 21, N\)'): STB(root)
    savemat(root / 'labels' / 'B4Random_SK.mat', {'other': np.zeros((3, 21, 5))})
    with pytest.raises(ValueError, match='handPara'): STB(root)
    (root / 'labels' / 'B4Random_SK.mat').write_bytes(b'garbage')
    with pytest.raises(ValueError, match='B4Random_SK.mat'): STB(root)

# ---------------------------------------------------------------- H3D

H3D_K = [[700., 0, 200], [0, 700, 200], [0, 0, 1]]

def write_h3d(root, n=10, unit=1., split_field=False):
    root, anno = Path(root), []
    for i in range(n):
        xyz = hand_xyz(z=500. + i)
        name = f'part{i % 5 + 1}/{i:06d}.jpg'
        save(np.full((400, 400, 3), 90 + i, np.uint8), root / name, quality=95)
        e = {'name': name, 'keypoint2d': proj(xyz, H3D_K).tolist(), 'keypoint3d': (xyz / unit).tolist(),
             'intrinsic_matrix': H3D_K, 'without_object': 1 - i % 2}
        if split_field: e['split'] = 'test' if i < 4 else 'train'
        anno.append(e)
    (root / 'annotation.json').write_text(json.dumps(anno))
    return root, anno

def test_h3d_split_units_and_values(tmp_path):
    root, anno = write_h3d(tmp_path, n=20, unit=1000.)                  # keypoint3d in metres
    train, test = H3D(root, 'train'), H3D(root, 'test')
    noobj = [e for e in anno if e['without_object'] == 1]             # 10 one-handed entries
    random.seed(42); random.shuffle(noobj)                             # Transfer-Learning-Library's rule
    assert test.names == [e['name'] for e in noobj[:2]]
    assert train.names == [e['name'] for e in noobj[2:]]
    assert len(H3D(root, 'train', subset='all')) + len(H3D(root, 'test', subset='all')) == 20
    s, i = test[0], int(test.names[0][-10:-4])
    check_contract(s)
    np.testing.assert_allclose(s['xyz'].numpy(), hand_xyz(z=500. + i), atol=1e-3)   # metres -> mm
    c, side, uv_exp = expected_crop(np.array(anno[i]['keypoint2d']))
    np.testing.assert_allclose(s['uv'].numpy(), uv_exp, atol=1e-3)
    check_projection(s)
    assert abs(s['rgb'][:, 128, 128].float() - (90 + i)).max() <= 2
    np.testing.assert_allclose(H3D(root, 'test', unit='m')[0]['xyz'].numpy(), s['xyz'].numpy())

def test_h3d_split_field(tmp_path):
    root, anno = write_h3d(tmp_path, split_field=True)
    assert sorted(H3D(root, 'test', subset='all').names) == [e['name'] for e in anno[:4]]
    assert sorted(H3D(root, 'test').names) == [anno[0]['name'], anno[2]['name']]

def test_h3d_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='annotation.json'): H3D(tmp_path)
    root, anno = write_h3d(tmp_path, n=4)
    ds = H3D(root, 'train', subset='all')
    i = ds.names.index('part2/000001.jpg')
    (root / 'part2' / '000001.jpg').unlink()
    with pytest.raises(FileNotFoundError, match='part2/000001.jpg'): ds[i]
    (root / 'part2' / '000001.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='part2/000001.jpg'): ds[i]
    anno[3]['keypoint2d'] = anno[3]['keypoint2d'][:20]
    (root / 'annotation.json').write_text(json.dumps(anno))
    with pytest.raises(ValueError, match=r'annotation.json.*part4/000003.jpg.*\(21, 2\)'): H3D(root, subset='all')
    anno[3]['keypoint2d'] = anno[2]['keypoint2d']
    for e in anno: e['keypoint3d'] = (np.array(e['keypoint3d']) * 1e4).tolist()   # not a hand in mm, cm or m
    (root / 'annotation.json').write_text(json.dumps(anno))
    with pytest.raises(ValueError, match='unit='): H3D(root, subset='all')
    del anno[0]['name']
    (root / 'annotation.json').write_text(json.dumps(anno))
    with pytest.raises(ValueError, match="'name'"): H3D(root, subset='all')

# ---------------------------------------------------------------- MVHand

CAMS = {'840412062035': (619.598, 619.116, 325.345, 245.441), '840412062037': (615.85, 615.477, 316.062, 247.156),
        '840412062038': (619.475, 619.189, 313.715, 223.921), '840412062076': (615.665, 615.09, 306.514, 240.344)}

def mv_order(j):
    "MVHand's index of dualhand joint j: wrist, then index, middle, ring, pinky, thumb, base -> tip"
    if j == 0: return 0
    f, k = (j - 1) // 4, (j - 1) % 4
    return 1 + 4 * ((f - 1) % 5) + k

def mv_pose(angle):
    "Camera-to-world pose: turned by `angle` about the vertical axis through (0, 0, 500)"
    R = Rotation.from_euler('y', angle).as_matrix()
    P = np.eye(4); P[:3, :3], P[:3, 3] = R, np.array([0, 0, 500.]) - R @ [0, 0, 500.]
    return P

def write_mvhand(root, seqs=('7-14-1-2', '9-10-1-2'), n=2):
    root = Path(root)
    for q, seq in enumerate(seqs):
        d = root / seq
        poses = {c: mv_pose(a) for c, a in zip(sorted(CAMS), (0., -0.4, 0.3, 0.6))}
        (d / 'mlresults').mkdir(parents=True)
        (d / 'calib.pkl').write_bytes(pickle.dumps(poses))
        world = np.ones((n, 21, 4, 1))
        for i in range(n):
            for j in range(21): world[i, mv_order(j), :3, 0] = hand_xyz(z=480. + 10 * i + 30 * q)[j]
            for v in range(4):
                save(np.full((480, 640, 3), 40 * v + 20, np.uint8), d / 'rgb' / f'{i:05d}_{v}.jpg', quality=95)
                dep = np.zeros((480, 640, 3), np.uint8)
                dep[..., 0], dep[..., 1], dep[..., 2] = 99, 700 // 256, 700 % 256   # R ignored; 700 = 188 + 256 * 2
                save(dep, d / 'depth' / f'{i:05d}_{v}.png')
                mk = np.zeros((480, 640), np.uint8); mk[200:300, 250:400] = 255
                save(mk, d / 'mask' / f'{i:05d}_{v}.jpg', quality=95)
        np.save(d / 'mlresults' / f'{seq}-joints.npy', world)
    return root

def test_mvhand(tmp_path):
    root = write_mvhand(tmp_path)
    ds = MVHand(root, 'train')
    assert ds.sequences == ('7-14-1-2',) and MVHand(root, 'test').sequences == ('9-10-1-2',)
    assert len(ds) == 8
    world = np.load(root / '7-14-1-2' / 'mlresults' / '7-14-1-2-joints.npy')[..., 0]
    poses = pickle.loads((root / '7-14-1-2' / 'calib.pkl').read_bytes())
    for i in (0, 6):                                                # (frame 0, view 0) and (frame 1, view 2)
        f, v = divmod(i, 4)
        cam = sorted(CAMS)[v]
        fx, fy, cx, cy = CAMS[cam]
        K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
        xyz = (np.linalg.inv(poses[cam]) @ world[f].T).T[:, :3][[mv_order(j) for j in range(21)]]
        s = ds[i]
        check_contract(s, ('depth', 'mask'))
        np.testing.assert_allclose(s['xyz'].numpy(), xyz, atol=1e-3)
        c, side, uv_exp = expected_crop(proj(xyz, K))
        np.testing.assert_allclose(s['uv'].numpy(), uv_exp, atol=1e-3)
        check_projection(s)
        u, vv = src_coord(np.arange(S), c[0], side), src_coord(np.arange(S), c[1], side)
        inside = ((vv > 1) & (vv < 478))[:, None] & ((u > 1) & (u < 638))[None, :]
        np.testing.assert_array_equal(s['depth'][0].numpy()[inside], 700.)       # mm = B + 256 G
        outside = ((vv < -1) | (vv > 480))[:, None] | ((u < -1) | (u > 640))[None, :]
        assert s['depth'][0].numpy()[outside].max(initial=0) == 0                 # 0 = no surface outside the image
        assert abs(s['rgb'][:, inside].float().mean() - (40 * v + 20)) < 2
        iu, iv = np.floor(u + 0.5), np.floor(vv + 0.5)
        exp = ((iv >= 200) & (iv < 300))[:, None] & ((iu >= 250) & (iu < 400))[None, :]
        assert exp.sum() > 500 and (s['mask'][0].numpy() == exp).mean() > 0.99
    np.testing.assert_allclose(ds.full(0)['xyz'].numpy(), world[0, [mv_order(j) for j in range(21)], :3], atol=1e-9)

def test_mvhand_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='no MVHand sequence'): MVHand(tmp_path)
    root = write_mvhand(tmp_path)
    d = root / '7-14-1-2'
    save(np.zeros((240, 320, 3), np.uint8), d / 'depth' / '00000_1.png')
    with pytest.raises(ValueError, match='00000_1.png.*240x320'): MVHand(root)[1]
    (d / 'rgb' / '00001_0.jpg').unlink()
    with pytest.raises(FileNotFoundError, match='00001_0.jpg'): MVHand(root)[4]
    np.save(d / 'mlresults' / '7-14-1-2-joints.npy', np.ones((2, 20, 4)))
    with pytest.raises(ValueError, match=r'7-14-1-2-joints.npy.*\(N, 21, 4\)'): MVHand(root)
    (d / 'mlresults' / '7-14-1-2-joints.npy').unlink()
    with pytest.raises(FileNotFoundError, match='7-14-1-2-joints.npy'): MVHand(root)
    poses = pickle.loads((d / 'calib.pkl').read_bytes())
    del poses['840412062038']
    (d / 'calib.pkl').write_bytes(pickle.dumps(poses))
    with pytest.raises(ValueError, match='calib.pkl.*840412062038'): MVHand(root)
