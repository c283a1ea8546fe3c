"""DINOTeacherCenteringHook: the official centre update (loss with the old
centre, then the EMA of the teacher mean), exact with 3 + 5 samples on two
gloo processes, the error without the hook, the logged statistics."""
import math
import types

import pytest
import torch
from mmengine.logging import MessageHub

from helpers import run_distributed
from ssl_plugins.functional.dino import dino_loss
from ssl_plugins.registry import HOOKS
from test_models.test_dino_model import K, tiny_vit_dino, views


def runner_of(model, it=0, max_iters=10):
    return types.SimpleNamespace(
        model=model, iter=it, max_iters=max_iters,
        message_hub=MessageHub.get_instance('dino_centering_test'))


def outputs(model, v):
    with torch.no_grad():
        t_out = model.teacher.neck(
            torch.cat([model.teacher.backbone(x)[-1] for x in v[:2]]))
        s_out = model.neck(torch.cat([model.backbone(torch.cat(v[:2]))[-1],
                                      model.backbone(torch.cat(v[2:]))[-1]]))
    return s_out, t_out


def test_hook_driven_centre_is_the_official_update_over_iterations():
    torch.manual_seed(0)
    model = tiny_vit_dino()
    model.init_weights()
    model.train()
    model.set_teacher_temp(0.05)
    hook = HOOKS.build(dict(type='DINOTeacherCenteringHook', momentum=0.8))
    ref_center = torch.zeros(1, K)
    for it in range(4):
        v = views(seed=it)
        s_out, t_out = outputs(model, v)
        loss = model.loss(v)['loss']
        # the loss of iteration `it` uses the centre of the previous ones
        torch.testing.assert_close(
            loss, dino_loss(s_out, t_out, ref_center, teacher_temp=0.05),
            rtol=1e-4, atol=1e-5)
        runner = runner_of(model, it)
        hook.after_train_iter(runner, it)
        ref_center = 0.8 * ref_center + 0.2 * t_out.mean(0, keepdim=True)
        torch.testing.assert_close(model.head.loss_module.center,
                                   ref_center, rtol=1e-5, atol=1e-6)
    hub = runner.message_hub
    assert hub.get_scalar('train/center_momentum').current() == 0.8
    assert hub.get_scalar('train/center_norm').current() == pytest.approx(
        float(ref_center.norm()), rel=1e-5)
    entropy = hub.get_scalar('train/teacher_entropy').current()
    assert 0 < entropy < math.log(K)
    assert hub.get_scalar('train/kl_teacher_student').current() \
        == pytest.approx(float(loss) - entropy, abs=1e-4)


def test_scheduled_momentum_follows_the_cosine():
    hook = HOOKS.build(dict(type='DINOTeacherCenteringHook', momentum=0.9,
                            end_momentum=1.0))
    model = tiny_vit_dino()
    model.train()
    seen = []
    model.update_center = lambda m: (seen.append(m), {})[1]
    for it in (0, 5, 10):
        hook.after_train_iter(runner_of(model, it, 10), it)
    assert seen == pytest.approx([0.9, 0.95, 1.0])
    with pytest.raises(ValueError,
                       match=r'momentum=1.5; expected a number >= 0 and <= 1'):
        HOOKS.build(dict(type='DINOTeacherCenteringHook', momentum=1.5))


def test_training_without_the_hook_fails_naming_it():
    model = tiny_vit_dino()
    model.train()
    model.loss(views())
    with pytest.raises(RuntimeError, match='DINOTeacherCenteringHook'):
        model.loss(views())
    model.update_center()  # a plain loop's call instead of the hook
    model.loss(views())
    # no statistics are recorded outside training
    model.update_center()
    model.eval()
    model.loss(views())
    with pytest.raises(RuntimeError, match='no teacher statistics'):
        model.update_center()


def _student_grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters()
            if p.grad is not None}


def _rank_center(rank, world_size, state, splits):
    from torch.nn.parallel import DistributedDataParallel

    from ssl_plugins.utils import register_all_modules
    register_all_modules()
    model = tiny_vit_dino()
    model.load_state_dict(state)
    model.train()
    bounds = [0, splits[0], sum(splits)]
    rows = slice(bounds[rank], bounds[rank + 1])
    ddp = DistributedDataParallel(model)
    loss = ddp([x[rows] for x in views(batch=8)], mode='loss')['loss']
    loss.backward()
    model.update_center(0.7)
    loss = loss.detach().clone()
    torch.distributed.all_reduce(loss)
    # numpy: see tests/test_functional/test_dino.py
    return (model.head.loss_module.center.numpy().copy(),
            (loss / world_size).numpy(),
            {k: v.numpy() for k, v in _student_grads(model).items()})


@pytest.mark.parametrize('splits', [(4, 4), (3, 5)])
def test_two_processes_give_the_one_process_centre_loss_and_gradients(
        splits):
    """3 + 5 samples too: the centre from all-reduced sums and counts, the
    loss and gradients from rank means weighted by their share."""
    torch.manual_seed(0)
    model = tiny_vit_dino()
    model.init_weights()
    model.head.loss_module.center.normal_(0, 0.1)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    loss = model.loss(views(batch=8))['loss']
    loss.backward()
    model.update_center(0.7)
    want = model.head.loss_module.center
    grads = _student_grads(model)
    assert len(grads) > 10
    for center, rank_loss, rank_grads in run_distributed(
            _rank_center, 2, (state, splits)):
        torch.testing.assert_close(torch.from_numpy(center), want,
                                   rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(torch.from_numpy(rank_loss),
                                   loss.detach(), rtol=1e-5, atol=1e-6)
        assert rank_grads.keys() == grads.keys()
        for name, g in grads.items():
            torch.testing.assert_close(torch.from_numpy(rank_grads[name]), g,
                                       rtol=1e-4, atol=1e-6, msg=name)
