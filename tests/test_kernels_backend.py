"""Array helpers shared by the kernels."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kernels.backend import scatter_add, unique_inverse


@settings(max_examples=80, deadline=None)
@given(arrays(np.int64, st.integers(0, 300), elements=st.integers(0, 2**40)))
def test_unique_inverse_is_numpy_unique(keys):
    unique, inverse = unique_inverse(np, keys)
    want_unique, want_inverse = np.unique(keys, return_inverse=True)
    np.testing.assert_array_equal(unique, want_unique)
    np.testing.assert_array_equal(inverse, want_inverse.reshape(-1))


def test_unique_inverse_falls_back_for_keys_too_wide_to_pack():
    keys = np.array([2**62, 3, 2**62, 0], dtype=np.int64)
    unique, inverse = unique_inverse(np, keys)
    np.testing.assert_array_equal(unique, [0, 3, 2**62])
    np.testing.assert_array_equal(unique[inverse], keys)


def test_scatter_add_sums_repeated_indices():
    target = np.zeros(4)
    scatter_add(np, target, np.array([1, 3, 1, 1]), np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(target, [0.0, 8.0, 0.0, 2.0])


def test_repeat_each_gives_groups_and_offsets():
    import numpy as np

    from kernels.backend import repeat_each

    group, offset = repeat_each(np, np.array([2, 0, 3, 1]))
    assert group.tolist() == [0, 0, 2, 2, 2, 3] and offset.tolist() == [0, 1, 0, 1, 2, 0]
    group, offset = repeat_each(np, np.array([], dtype=np.int64))
    assert group.size == 0 and offset.size == 0
