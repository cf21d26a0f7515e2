"""Several processes (gloo on the CPU): N processes x B samples take exactly the step of 1 process x NB samples when
NT-Xent's negatives are gathered; fastai's distrib_ctx runs the real pre-training Learner."""
import pytest
import torch
import dualhand.distributed as D
import dualhand.training as T

torch.set_num_threads(1)   # a shared CPU: one thread per process is the fastest and the least noisy


def test_gathered_negatives_equal_one_process():
    r = D.check_equivalence(world_size=2, bs=8)
    assert r['global'] < 1e-4, r                        # gathered negatives: the single-process gradient
    assert r['local'] > 0.005, r                        # per-process negatives: a different loss, documented
    assert r['ranks_agree'] < 1e-6                      # DDP: every process holds the same averaged gradient
    assert r['L_c'][1] == pytest.approx(r['L_c'][0], rel=1e-4)      # the contrastive loss of the global batch
    assert r['M_R'][1] == pytest.approx(r['M_R'][0], rel=1e-4)


def test_fastai_distrib_ctx_pretrain_two_processes():
    fits = D.check_fastai_fit(world_size=2, n=16, bs=4)
    assert torch.equal(fits[0]['params'], fits[1]['params'])
    seen = torch.cat([f['seen'] for f in fits])
    assert len(seen) == 16 and len(seen.unique()) == 16     # each sample once per epoch, on one process
    assert all(f['wrapped'] for f in fits)
    assert all(torch.isfinite(torch.tensor(f['loss'])) for f in fits)


def test_single_process_is_unchanged():
    class Learn: loss_func = object()
    learn = Learn()
    with T.distributed(learn) as l: assert l is learn and l.loss_func is Learn.loss_func
    with pytest.raises(ValueError, match="'global' or 'local'"):
        with T.distributed(learn, negatives='all'): pass
    z = torch.randn(4, 3)
    assert T.gather_batch(z) is z and not T.is_distributed()
