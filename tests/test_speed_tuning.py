"""The twin's MT/MST speed tuning (semvideo.data.synthetic.brain): log-Gaussian tuning around preferred speeds,
separable from direction tuning, so that a motion's speed is carried by *which* vertices respond."""

import numpy as np
import pytest

from semvideo.config import TwinConfig
from semvideo.data.synthetic.brain import DIRECTIONS, _tuning, motion_features, speed_tuning


def test_speed_tuning_is_log_gaussian_around_the_preferred_speed():
    preferred = np.array([0.1, 0.4])
    g = speed_tuning(np.array([0.1, 0.2, 0.05, 0.1 * np.e, 0.0]), preferred, sigma=1.0)
    assert g.shape == (5, 2)
    assert g[0, 0] == pytest.approx(1.0)
    assert g[1, 0] == pytest.approx(g[2, 0])  # symmetric in log speed: an octave up = an octave down
    assert g[3, 0] == pytest.approx(np.exp(-0.5))  # one σ (natural log) away
    assert g[1, 1] == pytest.approx(np.exp(-np.log(2) ** 2 / 2))
    assert (g[4] == 0).all()  # no motion, no response


def test_motion_features_code_direction_and_speed_separably():
    twin = TwinConfig()
    speeds = np.asarray(twin.preferred_speeds)
    left = np.array([[-0.06, 0.0], [-0.14, 0.0], [0.0, 0.0]])
    zeros = np.zeros(3)
    f = motion_features(left, zeros, zeros, twin).reshape(3, 11, len(speeds))
    assert f.shape == (3, 11, len(speeds))
    left_channel = int(np.argmin(np.abs(DIRECTIONS - np.pi)))
    assert (f[:2].sum(2).argmax(1) == left_channel).all()  # direction: the leftward channel
    assert (f[2] == 0).all()  # static: silent
    assert (f[:2, len(DIRECTIONS):] == 0).all()  # no expansion / rotation
    # speed: the slow motion drives slower-preferring units more than the fast one, and the other way round
    profile = f[:2, left_channel]  # (2 speeds, S)
    assert profile[0, 0] > profile[1, 0] and profile[1, -1] > profile[0, -1]
    assert speeds[profile[0].argmax()] < speeds[profile[1].argmax()]
    # fast motion 45° off a unit's preferred direction is no longer the same response pattern as slow motion in
    # it (the linear energy model made them differ only in amplitude across all units)
    diagonal = np.array([[-0.14 * np.cos(np.pi / 4), -0.14 * np.sin(np.pi / 4)]])
    g = motion_features(diagonal, np.zeros(1), np.zeros(1), twin).reshape(11, len(speeds))
    assert np.argmax(g.sum(0)) == np.argmax(profile[1]) != np.argmax(profile[0])


def test_flow_channels_read_local_speed_at_the_flow_radius():
    twin = TwinConfig(flow_radius=0.2)
    expansion, rotation = np.array([0.5, -0.5, 0.0]), np.array([0.0, 0.0, 90.0])
    f = motion_features(np.zeros((3, 2)), expansion, rotation, twin).reshape(3, 11, -1)
    tune = speed_tuning(np.array([0.1, np.pi / 2 * 0.2]), np.asarray(twin.preferred_speeds), twin.speed_tuning_sigma)
    np.testing.assert_allclose(f[0, 8], tune[0])
    np.testing.assert_allclose(f[1, 9], tune[0])
    np.testing.assert_allclose(f[2, 10], tune[1])
    assert f[0, 9:].sum() == 0 and f[1, [8, 10]].sum() == 0 and f[2, :10].sum() == 0


def test_each_motion_vertex_reads_one_speed_channel():
    twin = TwinConfig()
    params, w = _tuning("motion", np.random.default_rng(0), 200, 12, 8, twin)
    s = len(twin.preferred_speeds)
    assert w.shape == (11 * s, 200)
    per_channel = np.abs(w).reshape(11, s, 200).sum(0)  # (S, n)
    assert ((per_channel > 0).sum(0) == 1).all()
    np.testing.assert_allclose(np.asarray(twin.preferred_speeds)[per_channel.argmax(0)], params["preferred_speed"])
    assert len(set(params["preferred_speed"])) == s  # the population covers every preferred speed
