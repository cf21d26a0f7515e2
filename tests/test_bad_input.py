"""Bad input and faults on the data, training and command-line paths: each case asserts the error type and that the
message names the file or the flag, or asserts the documented fallback. Grouped by what would otherwise go wrong:
1 impossible geometry, 2 image decoding, 3 run records, 4 lost work, 5 caches, 6 NaN, 7 one-line CLI errors."""
import contextlib, io, json, os, pickle, re, shutil, warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image

from dualhand.guards import DualHandError, check_output, check_config, read_checkpoint, check_device
from dualhand.datasets import RHD, FreiHAND, STB, H3D, MVHand, read_image, decode_pil, _save_png16
from dualhand.fixtures import write_fake_rhd, write_fake_freihand, write_fake_stb, write_fake_h3d, write_fake_mvhand
from dualhand.data import write_cache, CropCache, get_dataset
from dualhand.metrics import evaluate
from dualhand.cli import main

warnings.filterwarnings('ignore', message='.*torch.jit.script.*')
TINY = ['--n-train', '8', '--n-test', '4', '--bs', '8', '--decoder-width', '8', '--size', '32', '--test', 'synth',
        '--quiet', '--row', 'baseline']


def cli(*argv):
    "(exit code, the error line) of a dualhand command that must fail"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try: main([str(a) for a in argv])
        except SystemExit as e:
            return e.code if isinstance(e.code, int) else 1, (str(e.code) if not isinstance(e.code, int) else err.getvalue())
    raise AssertionError(f"dualhand {argv} did not fail")


def run_ok(*argv):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        main([str(a) for a in argv])
    return err.getvalue()


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A finished one-epoch pre-training run (8 SynthHands samples at 32 px)"
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp('runs') / 'pre'
    run_ok('pretrain', *TINY, '--epochs', '1', '--out', out)
    yield out
    shutil.rmtree(out.parent, ignore_errors=True)


@pytest.fixture(autouse=True)
def _free_disk(request):
    "Checkpoints are ~100 MB: remove each test's folder when it ends (pytest would keep three runs of them)"
    path = request.getfixturevalue('tmp_path') if 'tmp_path' in request.fixturenames else None
    yield
    if path is not None: shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- 1. geometry that cannot be right
def test_h3d_all_joints_off_image(tmp_path):
    write_fake_h3d(tmp_path, n=4)
    a = json.loads((tmp_path / 'annotation.json').read_text())
    a[1]['keypoint2d'] = [[u + 2000, v] for u, v in a[1]['keypoint2d']]
    (tmp_path / 'annotation.json').write_text(json.dumps(a))
    with pytest.raises(DualHandError, match=f"annotation.json: sample {a[1]['name']}: joint 0 projects to"):
        H3D(tmp_path, 'train', subset='all')
    with pytest.warns(UserWarning, match='skipped 1 of'):
        h = H3D(tmp_path, 'train', subset='all', bad='skip')          # the documented fallback: left out, counted
    assert [n for n, _ in h.skipped] == [a[1]['name']] and a[1]['name'] not in h.names


def test_freihand_in_mm_not_metres(tmp_path):
    write_fake_freihand(tmp_path, n=2)
    x = json.loads((tmp_path / 'training_xyz.json').read_text())
    (tmp_path / 'training_xyz.json').write_text(json.dumps((np.array(x) * 1000).tolist()))
    with pytest.raises(DualHandError, match='training_xyz.json.*must hold metres'): FreiHAND(tmp_path)


def test_freihand_hand_behind_camera(tmp_path):
    write_fake_freihand(tmp_path, n=2)
    x = np.array(json.loads((tmp_path / 'training_xyz.json').read_text())); x[0, :, 2] *= -1
    (tmp_path / 'training_xyz.json').write_text(json.dumps(x.tolist()))
    with pytest.raises(DualHandError, match='training_xyz.json: sample 0: joint 0 has depth z'): FreiHAND(tmp_path)
    assert len(FreiHAND(tmp_path, bad='skip')) == 4                     # hand 1 in its four versions


def test_rhd_in_mm_not_metres(tmp_path):
    root = write_fake_rhd(tmp_path / 'RHD', n=2)
    p = root / 'training' / 'anno_training.pickle'
    a = pickle.loads(p.read_bytes())
    for e in a.values(): e['xyz'] = e['xyz'] * 1000
    p.write_bytes(pickle.dumps(a))
    with pytest.raises(DualHandError, match='anno_training.pickle.*must hold metres'): RHD(root)


def test_rhd_both_hands_off_image(tmp_path):
    root = write_fake_rhd(tmp_path / 'RHD', n=2)
    p = root / 'training' / 'anno_training.pickle'
    a = pickle.loads(p.read_bytes())
    a[1]['uv_vis'][:, 0] += 5000
    p.write_bytes(pickle.dumps(a))
    with pytest.raises(DualHandError, match='anno_training.pickle: sample 1: joint'): RHD(root)


def test_rhd_colour_image_of_another_size(tmp_path):
    root = write_fake_rhd(tmp_path / 'RHD', n=2)
    Image.new('RGB', (300, 320)).save(root / 'training' / 'color' / '00000.png')
    with pytest.raises(DualHandError, match=r'color/00000.png is 320x300 \(HxW\), expected 320x320'): RHD(root)[0]


def test_rhd_mask_of_another_size(tmp_path):
    root = write_fake_rhd(tmp_path / 'RHD', n=2)
    Image.new('L', (320, 200)).save(root / 'training' / 'mask' / '00001.png')
    with pytest.raises(DualHandError, match='RHD mask .*mask/00001.png is 200x320'): RHD(root)[1]


def test_stb_hand_behind_camera(tmp_path):
    from scipy.io import loadmat, savemat
    root = write_fake_stb(tmp_path, n=1, sequences=('B1Counting',))
    p = root / 'labels' / 'B1Counting_BB.mat'
    hp = loadmat(p)['handPara']; hp[2] *= -1
    savemat(p, {'handPara': hp})
    with pytest.raises(DualHandError, match='B1Counting_BB.mat: sample 0: joint .* has depth z'):
        STB(root, 'test', camera='BB', sequences=('B1Counting',))


def test_mvhand_joints_off_image(tmp_path):
    root = write_fake_mvhand(tmp_path, n=1, sequences=('s1',))
    jp = root / 's1' / 'mlresults' / 's1-joints.npy'
    j = np.load(jp); j[..., 0, 0] += 3000                                # 3 m to the side: off every view
    np.save(jp, j)
    with pytest.raises(DualHandError, match='s1-joints.npy: sample frame 0 view 0'): MVHand(root, sequences=('s1',))


def test_mvhand_depth_of_another_size(tmp_path):
    root = write_fake_mvhand(tmp_path, n=1, sequences=('s1',))
    Image.new('RGB', (320, 240)).save(root / 's1' / 'depth' / '00000_0.png')
    with pytest.raises(DualHandError, match='MVHand depth image .*00000_0.png is 240x320'): MVHand(root, sequences=('s1',))[0]


# ---------------------------------------------------------------- 2. image decoding
def _c16(tmp_path):
    a = np.zeros((4, 5, 3), np.uint16); a[..., 0], a[..., 1], a[..., 2] = 257 * 10, 257 * 128, 65535
    _save_png16(a, tmp_path / 'c16.png')
    return tmp_path / 'c16.png'


def test_16bit_colour_png_is_scaled_not_white(tmp_path):
    assert read_image(_c16(tmp_path))[:, 0, 0].tolist() == [10, 128, 255]


def test_16bit_colour_png_in_a_reader(tmp_path):
    root = write_fake_rhd(tmp_path / 'RHD', n=2)
    f = root / 'training' / 'color' / '00000.png'
    ref = RHD(root)[0]['rgb']
    _save_png16(np.asarray(Image.open(f)).astype(np.uint16) * 257, f)   # the same picture in 16 bits
    assert torch.equal(RHD(root)[0]['rgb'], ref)


def test_16bit_grey_png_is_scaled(tmp_path):
    _save_png16(np.full((3, 4), 257 * 200, np.uint16), tmp_path / 'g16.png')
    assert read_image(tmp_path / 'g16.png').unique().tolist() == [200]
    assert read_image(tmp_path / 'g16.png', 'gray').shape == (1, 3, 4)


def test_16bit_depth_is_refused_not_scaled(tmp_path):
    with pytest.raises(DualHandError, match='RHD depth image .*c16.png has 16-bit pixels'):
        read_image(_c16(tmp_path), 'unchanged', 'RHD depth image', (3, 4))


def test_palette_png(tmp_path):
    im = Image.new('P', (3, 2)); im.putpalette([0, 0, 0, 200, 10, 20] + [0] * 762); im.putpixel((1, 0), 1)
    im.save(tmp_path / 'p.png')
    assert read_image(tmp_path / 'p.png')[:, 0, 1].tolist() == [200, 10, 20]
    assert read_image(tmp_path / 'p.png', 'unchanged')[0, 0, 1].item() == 1           # ids stay ids


def test_alpha_is_dropped(tmp_path):
    Image.new('RGBA', (3, 2), (10, 20, 30, 0)).save(tmp_path / 'a.png')
    Image.new('LA', (3, 2), (70, 0)).save(tmp_path / 'la.png')
    assert read_image(tmp_path / 'a.png')[:, 1, 2].tolist() == [10, 20, 30]
    assert read_image(tmp_path / 'la.png')[:, 1, 2].tolist() == [70, 70, 70]


def test_1bit_and_cmyk(tmp_path):
    Image.new('1', (3, 2), 1).save(tmp_path / 'b.png')
    Image.new('CMYK', (3, 2), (0, 0, 0, 0)).save(tmp_path / 'c.jpg')
    assert read_image(tmp_path / 'b.png').unique().tolist() == [255]
    assert read_image(tmp_path / 'c.jpg').shape == (3, 2, 3) and read_image(tmp_path / 'c.jpg').min() > 240


def test_exif_orientation_is_applied(tmp_path):
    im = Image.new('RGB', (3, 2)); im.putpixel((2, 0), (255, 255, 255))
    ex = im.getexif(); ex[0x0112] = 6                                     # stored sideways: rotate 90 deg clockwise
    im.save(tmp_path / 'e.png', exif=ex)
    x = read_image(tmp_path / 'e.png')
    assert x.shape == (3, 3, 2) and x[:, 2, 1].tolist() == [255] * 3


def test_float_image_is_refused(tmp_path):
    Image.fromarray(np.ones((2, 3), np.float32)).save(tmp_path / 'f.tif')
    with pytest.raises(DualHandError, match='f.tif has floating-point pixels'): read_image(tmp_path / 'f.tif')


def test_truncated_png_names_the_file(tmp_path):
    Image.new('RGB', (64, 64), (1, 2, 3)).save(tmp_path / 't.png')
    (tmp_path / 't.png').write_bytes((tmp_path / 't.png').read_bytes()[:60])
    with pytest.raises(DualHandError, match='t.png could not be decoded'): read_image(tmp_path / 't.png')


def test_decode_pil_for_open_images():
    x = decode_pil(Image.new('I;16', (2, 2), 65535), what='--image x.png')
    assert x.shape == (3, 2, 2) and x.unique().tolist() == [255]
    with pytest.raises(DualHandError, match=r'--image x.png has 4 channels'):
        decode_pil(Image.new('RGBA', (2, 2)), 'unchanged', '--image x.png', channels=(3,))


# ---------------------------------------------------------------- 3. run records
@pytest.mark.parametrize('args, flag', [(['--epochs', '0'], '--epochs'), (['--epochs', '-2'], '--epochs'),
                                        (['--lr', 'nan'], '--lr'), (['--lr', '-1'], '--lr'), (['--bs', '0'], '--bs'),
                                        (['--n-train', '0'], '--n-train'), (['--severity', '2'], '--severity'),
                                        (['--workers', '-1'], '--workers'), (['--size', '100'], '--size')])
def test_numbers_checked_at_parse_time(args, flag):
    code, msg = cli('pretrain', *args)
    assert code == 2 and f'argument {flag}:' in msg


def test_finetune_eps_checked_at_parse_time(run):
    code, msg = cli('finetune', '--checkpoint', run / 'last.pth', '--eps', '0')
    assert code == 2 and 'argument --eps:' in msg


def test_resume_with_another_row_or_lr_is_refused(run):
    stamp = (run / 'last.pth').stat().st_mtime_ns
    code, msg = cli('pretrain', *TINY[:-1], 'ours', '--epochs', '2', '--lr', '1e-3', '--out', run, '--resume')
    assert code == 1 and 'another configuration' in msg and 'row:' in msg and 'lr:' in msg and 'last.pth' in msg
    assert (run / 'last.pth').stat().st_mtime_ns == stamp


def test_resume_without_checkpoint_says_it_starts_fresh(tmp_path):
    err = run_ok('pretrain', *TINY, '--epochs', '1', '--out', tmp_path / 'r', '--resume')
    assert 'no checkpoint in' in err and 'starting a fresh run' in err


def test_results_record_what_ran(run):
    res = json.loads((run / 'results.json').read_text())
    assert res['config']['epochs'] == 1 and len(res['history']) == 1 and res['resumed_from_epoch'] == 0
    assert res['config']['size'] == 32 and res['config']['row'] == 'baseline'


# ---------------------------------------------------------------- 4. work lost or overwritten
def test_out_is_an_existing_file_refused_before_training(tmp_path):
    (tmp_path / 'f').write_text('x')
    code, msg = cli('pretrain', *TINY, '--epochs', '1', '--out', tmp_path / 'f')
    assert code == 1 and f"--out {tmp_path / 'f'} is a file" in msg and (tmp_path / 'f').read_text() == 'x'


def test_existing_run_is_not_replaced(run):
    stamp = (run / 'last.pth').stat().st_mtime_ns
    code, msg = cli('pretrain', *TINY, '--epochs', '1', '--out', run)
    assert code == 1 and 'already holds last.pth' in msg and '--resume' in msg and '--overwrite' in msg
    assert (run / 'last.pth').stat().st_mtime_ns == stamp


def test_overwrite_replaces_a_run(run, tmp_path):
    shutil.copytree(run, tmp_path / 'r')
    (tmp_path / 'r' / 'history.jsonl').write_text('{"epoch": 0, "stale": 1}\n{"epoch": 5, "stale": 1}\n')
    run_ok('pretrain', *TINY, '--epochs', '1', '--out', tmp_path / 'r', '--overwrite')
    assert 'stale' not in (tmp_path / 'r' / 'history.jsonl').read_text()


def test_resume_and_overwrite_together(tmp_path):
    code, msg = cli('pretrain', *TINY, '--out', tmp_path / 'r', '--resume', '--overwrite')
    assert code == 1 and '--resume and --overwrite' in msg


def test_finetune_into_the_checkpoints_folder(run):
    code, msg = cli('finetune', '--checkpoint', run / 'last.pth', '--out', run, '--overwrite')
    assert code == 1 and 'would overwrite the input' in msg and str(run / 'last.pth') in msg


def test_finetune_resume_into_another_runs_folder(run, tmp_path):
    shutil.copy(run / 'last.pth', tmp_path / 'pre.pth')                 # start from a copy; --out: the pre-training run
    stamp = (run / 'results.json').read_text(), (run / 'last.pth').stat().st_mtime_ns
    code, msg = cli('finetune', '--checkpoint', tmp_path / 'pre.pth', '--out', run, '--resume',
                    '--n-source', '8', '--n-target', '8', '--n-test', '4', '--epochs', '1', '--bs', '4', '--quiet',
                    '--test', 'synth-real')
    assert code == 1 and 'another configuration' in msg and 'pretrain_row' in msg
    assert ((run / 'results.json').read_text(), (run / 'last.pth').stat().st_mtime_ns) == stamp


def test_evaluate_out_is_the_checkpoint_or_exists(run, tmp_path):
    code, msg = cli('evaluate', run / 'last.pth', '--out', run / 'last.pth', '--overwrite')
    assert code == 1 and 'would overwrite the input' in msg
    (tmp_path / 'm.json').write_text('{}')
    code, msg = cli('evaluate', run / 'last.pth', '--out', tmp_path / 'm.json')
    assert code == 1 and f"--out {tmp_path / 'm.json'} exists" in msg


def test_samples_out_exists(tmp_path):
    (tmp_path / 's_synthetic.png').write_bytes(b'x')
    code, msg = cli('samples', '--out', tmp_path / 's.png', '--n', '1', '--size', '32')
    assert code == 1 and 's_synthetic.png exists' in msg


def test_output_below_a_file(tmp_path):
    (tmp_path / 'f').write_text('x')
    with pytest.raises(DualHandError, match='--json .* is a file, not a folder'):
        check_output(tmp_path / 'f' / 'out.json', what='--json')


def test_output_through_a_symlink_to_the_input(tmp_path):
    (tmp_path / 'in.png').write_bytes(b'x'); (tmp_path / 'l.png').symlink_to(tmp_path / 'in.png')
    with pytest.raises(DualHandError, match='would overwrite the input'):
        check_output(tmp_path / 'l.png', [tmp_path / 'in.png'], overwrite=True)


# ---------------------------------------------------------------- 5. caches
@pytest.fixture
def cache(tmp_path):
    run_ok('prepare', '--data', 'synth', '--n', '4', '--size', '32', '--out', tmp_path / 'c')
    return tmp_path / 'c'


def test_cache_of_another_n_is_refused_then_rebuilt(cache):
    code, msg = cli('prepare', '--data', 'synth', '--n', '6', '--size', '32', '--out', cache)
    assert code == 1 and f'--out {cache} holds a crop cache of something else' in msg and 'n: 4 in the cache, 6' in msg
    run_ok('prepare', '--data', 'synth', '--n', '6', '--size', '32', '--out', cache, '--overwrite')
    assert len(CropCache(cache)) == 6


def test_cache_of_another_size_is_refused(cache):
    code, msg = cli('prepare', '--data', 'synth', '--n', '4', '--size', '64', '--out', cache)
    assert code == 1 and 'size: 32 in the cache, 64' in msg


def test_same_cache_is_reused(cache):
    stamp = (cache / 'rgb.npy').stat().st_mtime_ns
    with contextlib.redirect_stdout(io.StringIO()) as out:
        main(['prepare', '--data', 'synth', '--n', '4', '--size', '32', '--out', str(cache)])
    assert 'reused' in out.getvalue() and (cache / 'rgb.npy').stat().st_mtime_ns == stamp


def test_leftover_temporary_folder_is_removed(cache):
    left = cache.with_name('c.tmp999999'); left.mkdir()
    run_ok('prepare', '--data', 'synth', '--n', '4', '--size', '32', '--out', cache)
    assert not left.exists()


def test_truncated_cache_is_refused(cache):
    np.save(cache / 'rgb.npy', np.zeros((2, 3, 32, 32), np.uint8))
    with pytest.raises(DualHandError, match=f'crop cache {cache} is damaged'): CropCache(cache)


def test_cache_never_replaces_another_folder(tmp_path):
    (tmp_path / 'keep').mkdir(); (tmp_path / 'keep' / 'notes.txt').write_text('mine')
    code, msg = cli('prepare', '--data', 'synth', '--n', '4', '--size', '32', '--out', tmp_path / 'keep', '--overwrite')
    assert code == 1 and 'not a crop cache' in msg and (tmp_path / 'keep' / 'notes.txt').read_text() == 'mine'


def test_cache_into_the_dataset_folder(tmp_path):
    root = write_fake_h3d(tmp_path / 'H3D', n=4)
    code, msg = cli('prepare', '--data', 'h3d', '--data-root', root, '--size', '32', '--out', root, '--overwrite')
    assert code == 1 and 'would overwrite the input' in msg


# ---------------------------------------------------------------- 6. NaN
def test_diverged_run_fails_and_writes_no_results(tmp_path):
    code, msg = cli('pretrain', *TINY, '--epochs', '2', '--lr', '1e6', '--out', tmp_path / 'r')
    assert code == 1 and 'training diverged' in msg and '--lr' in msg
    assert not (tmp_path / 'r' / 'results.json').exists()
    assert not torch.is_autocast_enabled('cpu')                        # the stop left no bf16 region open


def test_nan_loss_keeps_the_last_good_checkpoint(tmp_path):
    from fastai.callback.core import Callback
    from dualhand.data import source_dls
    from dualhand.pretrain import pretrain_learner, fit_pretrain
    from dualhand.synth import SynthHands

    class PoisonEpoch1(Callback):
        order = -5
        def after_loss(self):
            if self.training and self.epoch == 1: self.learn.loss_grad = self.learn.loss = self.loss * float('nan')

    ds = SynthHands(8, 'synthetic', size=32)
    learn = pretrain_learner(source_dls(ds, ds, bs=8), 'cpu', 'baseline', path=tmp_path, decoder_width=8, size=32)
    learn.add_cb(PoisonEpoch1())
    with pytest.raises(DualHandError, match=f"training loss was nan at epoch 1.*{re.escape(str(tmp_path / 'last.pth'))} keeps epoch 0"):
        with learn.no_bar(), learn.no_logging(): fit_pretrain(learn, epochs=3)
    state = read_checkpoint(tmp_path / 'last.pth')
    assert state['epoch'] == 0 and all(torch.isfinite(v).all() for v in state['model'].values() if v.is_floating_point())


def test_metrics_count_nan_predictions_as_failures():
    from dualhand.hand import to_25d
    from dualhand.losses import make_targets
    xyz = torch.randn(3, 21, 3) * 30 + torch.tensor([0., 0, 400])
    K = torch.tensor([[150., 0, 16], [0, 150., 16], [0, 0, 1]]).expand(3, 3, 3).clone()
    uv, zr, _ = to_25d(xyz, K)
    t = make_targets(dict(uv=uv, xyz=xyz, K=K, vis=torch.ones(3, 21, dtype=torch.bool)), 8)
    y = dict(uv=uv.clone(), zr=zr.clone()); y['uv'][1] = float('nan')
    r = evaluate(y, t, img_size=32)
    keep = [0, 2]
    ref = evaluate({k: v[keep] for k, v in y.items()}, {k: v[keep] for k, v in t.items()}, img_size=32)
    assert r['n_failed'] == 1 and ref['n_failed'] == 0 and abs(r['pck2d'] - 2 / 3 * ref['pck2d']) < 1e-6
    assert abs(r['epe3d'] - ref['epe3d']) < 1e-4 and abs(r['pa_epe3d'] - ref['pa_epe3d']) < 1e-4


def test_evaluate_a_nan_model(run, tmp_path):
    state = read_checkpoint(run / 'last.pth')
    state['model'] = {k: v * float('nan') if v.is_floating_point() else v for k, v in state['model'].items()}
    torch.save(state, tmp_path / 'nan.pth')
    err = run_ok('evaluate', tmp_path / 'nan.pth', '--test', 'synth', '--n-test', '4', '--out', tmp_path / 'm.json')
    assert '4 of 4 predictions are not finite' in err
    assert json.loads((tmp_path / 'm.json').read_text().replace('NaN', 'null'))['synth']['n_failed'] == 4


# ---------------------------------------------------------------- 7. one-line errors
def test_truncated_checkpoint(run, tmp_path):
    (tmp_path / 'cut.pth').write_bytes((run / 'last.pth').read_bytes()[:2000])
    code, msg = cli('evaluate', tmp_path / 'cut.pth')
    assert code == 1 and msg.startswith('dualhand evaluate: error: checkpoint') and 'cut.pth' in msg and '\n' not in msg


def test_checkpoint_of_another_architecture(run, tmp_path):
    state = read_checkpoint(run / 'last.pth'); state['config']['arch'] = 'resnet34'
    torch.save(state, tmp_path / 'other.pth')
    code, msg = cli('evaluate', tmp_path / 'other.pth')
    assert code == 1 and 'other.pth: its weights do not fit the network' in msg and 'resnet34' in msg


def test_not_a_checkpoint(tmp_path):
    torch.save([1, 2], tmp_path / 'list.pth')
    code, msg = cli('finetune', '--checkpoint', tmp_path / 'list.pth', '--out', tmp_path / 'ft')
    assert code == 1 and '--checkpoint' in msg and 'is not a dualhand checkpoint' in msg


def test_unknown_device(run):
    code, msg = cli('evaluate', run / 'last.pth', '--device', 'tpu:0')
    assert code == 1 and "--device 'tpu:0'" in msg
    if not torch.cuda.is_available():
        code, msg = cli('pretrain', *TINY, '--device', 'cuda')
        assert code == 1 and "--device 'cuda': CUDA is not available" in msg


def test_missing_init_file(tmp_path):
    code, msg = cli('pretrain', *TINY, '--init', tmp_path / 'nope.pth', '--out', tmp_path / 'r')
    assert code == 1 and f"--init {tmp_path / 'nope.pth'}: no such file" in msg


def test_bad_test_spec(run):
    code, msg = cli('evaluate', run / 'last.pth', '--test', '=synth')
    assert code == 1 and "--test '=synth'" in msg


def test_unwritable_output(run, tmp_path):
    (tmp_path / 'f').write_text('x')
    code, msg = cli('evaluate', run / 'last.pth', '--out', tmp_path / 'f' / 'm.json')
    assert code == 1 and 'is a file, not a folder' in msg
    if os.geteuid() != 0:                                                 # root may write anywhere
        (tmp_path / 'ro').mkdir(); os.chmod(tmp_path / 'ro', 0o500)
        with pytest.raises(DualHandError, match='is not writable'): check_output(tmp_path / 'ro' / 'm.json')


def test_debug_shows_the_exception(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        main(['--debug', 'evaluate', str(tmp_path / 'nope.pth')])
    with pytest.raises(FileNotFoundError):
        main(['evaluate', str(tmp_path / 'nope.pth'), '--debug'])
