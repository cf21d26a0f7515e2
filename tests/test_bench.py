"""`dualhand bench` on the CPU path, tiny size: every figure is there and positive, the FLOPs agree with an independent
count, the bf16 default follows the CPU. Not a timed test."""
import argparse, json
import pytest
import torch
from unittest import mock
from dualhand.bench import add_bench_parser, bench_config, bench_table, cmd_bench, run_bench
from dualhand.model import model_cost

torch.set_num_threads(1)   # a shared CPU: one thread per process is the fastest and the least noisy


def test_bench_cpu_tiny_smoke(tmp_path):
    res = run_bench('tiny', 'cpu', path=tmp_path, iters=2, warmup=1)
    assert {'config', 'device_name', 'peak', 'pretrain', 'finetune', 'data', 'paper_schedule_hours'} <= set(res)
    assert res['peak']['measured'] > 0 and res['peak']['dtype'] == ('bfloat16' if res['config']['bf16'] else 'float32')
    for k in ('ours', 'naive'):
        r = res['pretrain'][k]
        assert {'samples_per_s', 'step_s', 'step_s_all', 'flops_per_sample', 'tflops', 'mfu', 'accum'} <= set(r)
        assert r['samples_per_s'] > 0 and r['flops_per_sample'] > 0 and r['tflops'] > 0 and 0 < r['mfu'] < 1
        assert len(r['step_s_all']) == 2 and all(s > 0 for s in r['step_s_all'])
    assert res['pretrain']['speedup'] > 0
    ft, d = res['finetune'], res['data']
    assert ft['samples_per_s'] > 0 and ft['flops_per_sample'] > 0
    assert min(d['images_per_s'], d['cache_per_s'], d['augment_per_s'], d['augment_naive_per_s']) > 0
    # FLOPs of a step against an independent count: forward + backward ~ 3 x the forward FLOPs of the same network
    # (backward = 2 x forward: a gradient for the inputs and one for the weights of each layer, less the first conv's input
    # gradient, which nothing needs); the forward counted on a meta-device model, the step by the benchmark itself
    _, fl = model_cost('resnet18', (32,), decoder_width=16)            # the 'tiny' configuration's network and size
    for k in ('ours', 'naive'):
        assert 2.6 < res['pretrain'][k]['flops_per_sample'] / fl[32][1] < 3.0, k
    # both paths compute the same arithmetic: their FLOPs per sample agree to 1 %
    assert res['pretrain']['naive']['flops_per_sample'] == pytest.approx(res['pretrain']['ours']['flops_per_sample'], rel=0.01)
    table = bench_table(res)
    assert 'pre-training ours / naive' in table and 'crop cache' in table
    json.dumps(res)                                           # what --out saves


def test_bench_command_parses_and_saves(tmp_path):
    ap = argparse.ArgumentParser('dualhand')
    add_bench_parser(ap.add_subparsers(dest='command'))
    out = tmp_path / 'b.json'
    a = ap.parse_args(['bench', '--device', 'cpu', '--config', 'tiny', '--iters', '1', '--no-naive', '--no-finetune',
                       '--no-data', '--bf16', '--out', str(out)])
    assert a.fn is cmd_bench and a.bf16 is True
    res = cmd_bench(a)
    saved = json.loads(out.read_text())
    assert saved['config']['bf16'] is True and saved['peak']['dtype'] == 'bfloat16'   # bf16 autocast on the CPU
    assert 'naive' not in saved['pretrain'] and 'finetune' not in saved and 'data' not in saved
    assert saved['pretrain']['ours']['samples_per_s'] == pytest.approx(res['pretrain']['ours']['samples_per_s'])


def test_bench_bad_settings():
    with pytest.raises(ValueError, match='must be one of'): bench_config('huge', 'cpu')
    with pytest.raises(ValueError, match='unknown benchmark settings'): bench_config('small', 'cpu', learning_rate=1)
    with pytest.raises(ValueError, match='micro-batches'): bench_config('small', 'cpu', bs=32, accum=3)
    with pytest.raises(ValueError, match='multiple of 32'): bench_config('small', 'cpu', size=50)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='no CUDA GPU'): bench_config('full', 'cuda')


@pytest.mark.parametrize('avx512_bf16, amx, want', [(False, False, False), (True, False, True), (False, True, True)])
def test_bench_bf16_default_follows_the_cpu(avx512_bf16, amx, want):
    "bf16 autocast and channels_last are on by default exactly when the CPU reports AVX512-BF16 or AMX (faked here)"
    with mock.patch.object(torch.cpu, '_is_avx512_bf16_supported', lambda: avx512_bf16, create=True), \
         mock.patch.object(torch.cpu, '_is_amx_tile_supported', lambda: amx, create=True):
        cfg = bench_config('small', 'cpu')
        assert (cfg['bf16'], cfg['channels_last']) == (want, want)
        assert bench_config('small', 'cpu', bf16=not want)['bf16'] is (not want)       # an explicit setting wins
