"""The victims' tanh (``algos.common.Tanh``, numpy's kernel on the CPU) against torch's."""

import pytest
import torch
from torch import nn

from marl_attacks.algos.common import Tanh, mlp


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tanh_matches_torch_to_float_precision(dtype):
    torch.manual_seed(0)
    x = torch.cat([torch.randn(4000, dtype=dtype) * 3, torch.tensor([0.0, -0.0, 1e-30, -20.0, 20.0, 1e4], dtype=dtype)])
    y = Tanh()(x)
    assert y.dtype == dtype and y.shape == x.shape
    assert torch.allclose(y, torch.tanh(x), rtol=0, atol=2 * torch.finfo(dtype).eps)
    assert y[-3:].tolist() == [-1.0, 1.0, 1.0]  # saturates exactly, as torch's


def test_tanh_takes_strided_inputs():
    x = torch.randn(7, 5).t()  # not contiguous
    assert torch.allclose(Tanh()(x), torch.tanh(x), rtol=0, atol=2e-7)


def test_tanh_backward_is_torch_rule_and_twice_differentiable():
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(Tanh(), (x,))
    assert torch.autograd.gradgradcheck(Tanh(), (x,))
    x32 = torch.randn(300, 64, requires_grad=True)
    g = torch.randn(300, 64)
    y = Tanh()(x32)
    (ours,) = torch.autograd.grad(y, x32, g)
    assert torch.equal(ours, g * (1 - y.detach() * y.detach()))
    (theirs,) = torch.autograd.grad(torch.tanh(x32), x32, g)
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-6)


def test_tanh_outside_float_cpu_is_torch_tanh():
    x = torch.randn(64, dtype=torch.bfloat16)
    assert torch.equal(Tanh()(x), torch.tanh(x))


def test_tanh_under_no_grad_and_inference_mode():
    x = torch.randn(3, 2)
    with torch.no_grad():
        assert not Tanh()(x).requires_grad
    with torch.inference_mode():
        assert torch.allclose(Tanh()(x), torch.tanh(x), rtol=0, atol=2e-7)


def test_mlp_state_dict_is_the_same_as_with_nn_tanh():
    """Victims shipped before the kernel changed load into the new MLP: same keys and shapes."""
    torch.manual_seed(0)
    ours = mlp([10, 16, 16, 3])
    torch.manual_seed(0)
    theirs = mlp([10, 16, 16, 3], activation=nn.Tanh)
    assert any(isinstance(m, Tanh) for m in ours)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(32, 10)
    assert torch.allclose(ours(x), theirs(x), rtol=0, atol=1e-6)
