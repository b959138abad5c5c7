"""The Keras-like Conv2D layer: lazy build, seed examples, and weights copied from both frameworks."""

import numpy as np
import pytest

import convlib


@pytest.mark.parametrize(
    "kwargs, sizes, expected",
    [
        (dict(padding="valid"), (8, 10, 5), (6, 8, 3)),
        (dict(padding="same"), (8, 10, 5), (8, 10, 5)),
        (dict(strides=2, padding="valid"), (10, 11, 12), (4, 5, 5)),
    ],
)
def test_seed_examples(kwargs, sizes, expected):
    layer = convlib.Conv2D(filters=32, kernel_size=3, activation="relu", seed=0, **kwargs)
    for n, m in zip(sizes, expected):
        y = layer(np.random.default_rng(n).standard_normal((1, n, n, 3)).astype(np.float32))
        assert y.shape == (1, m, m, 32) == layer.output_shape((1, n, n, 3))
        assert y.min() >= 0  # relu
    assert layer.kernel.shape == (3, 3, 3, 32) and layer.bias.shape == (32,)


def test_lazy_build_and_glorot_limit():
    layer = convlib.Conv2D(16, (3, 5), seed=1)
    assert not layer.built
    layer(np.zeros((2, 9, 9, 4), np.float32))
    limit = np.sqrt(6 / (3 * 5 * 4 + 3 * 5 * 16))
    assert layer.kernel.shape == (3, 5, 4, 16)
    assert np.abs(layer.kernel).max() <= limit and np.abs(layer.kernel).max() > 0.8 * limit
    again = convlib.Conv2D(16, (3, 5), seed=1)
    again.build(4)
    np.testing.assert_array_equal(layer.kernel, again.kernel)


@pytest.mark.parametrize("padding, strides, dilation", [("same", 2, 1), ("valid", 1, 2), ("same", 1, 1)])
def test_from_keras_matches_keras(tf, padding, strides, dilation):
    keras = tf.keras.layers.Conv2D(
        8, 3, strides=strides, padding=padding, dilation_rate=dilation, activation="relu"
    )
    x = np.random.default_rng(0).standard_normal((2, 11, 9, 3)).astype(np.float32)
    expected = keras(x).numpy()
    ours = convlib.Conv2D.from_keras(keras)
    np.testing.assert_allclose(ours(x), expected, rtol=1e-5, atol=1e-5)  # float32 framework tolerance


@pytest.mark.parametrize("padding, groups", [(1, 1), ((2, 0), 2), ("same", 1)])
def test_from_torch_matches_torch(torch, padding, groups):
    torch.manual_seed(0)
    module = torch.nn.Conv2d(4, 6, 3, padding=padding, groups=groups)
    x = np.random.default_rng(0).standard_normal((2, 7, 8, 4)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(convlib.Conv2D.from_torch(module)(x), expected, rtol=1e-5, atol=1e-5)


def test_layer_errors():
    with pytest.raises(ValueError, match="filters must be a positive integer, got 0"):
        convlib.Conv2D(0, 3)
    with pytest.raises(ValueError, match="activation must be one of"):
        convlib.Conv2D(4, 3, activation="gelu")
    with pytest.raises(ValueError, match="got the word 'half'"):
        convlib.Conv2D(4, 3, padding="half")
    with pytest.raises(ValueError, match="groups=2 must divide filters=5"):
        convlib.Conv2D(5, 3, groups=2)
    layer = convlib.Conv2D(4, 3)
    with pytest.raises(
        ValueError, match=r"input x must be 4-D \(N, H, W, C\) or 3-D .*got 2-D shape \(5, 5\)"
    ):
        layer(np.zeros((5, 5), np.float32))
    assert not layer.built  # refused before the kernel was made
    with pytest.raises(ValueError, match=r"kernel must have shape \(3, 3, C/groups, 4\), got \(3, 3, 2, 5\)"):
        layer.set_weights(np.zeros((3, 3, 2, 5)), np.zeros(4))
    with pytest.raises(ValueError, match="larger than the padded input height 2"):
        convlib.Conv2D(4, 3)(np.zeros((1, 2, 2, 1), np.float32))
