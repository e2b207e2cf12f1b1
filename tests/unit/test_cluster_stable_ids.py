"""Persistent cluster ids follow the faces: relabelling, splits, merges, departures, fresh starts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from imgsearch.faces.clustering.stable_ids import assign_stable_ids


def counter(start: int = 100) -> Callable[[], int]:
    ids: Iterator[int] = iter(range(start, 10_000))
    return lambda: next(ids)


def faces(n: int) -> list[str]:
    return [f"f{i}" for i in range(n)]


def test_empty_previous_gives_every_cluster_a_new_id() -> None:
    ids = assign_stable_ids(np.array([1, 1, 0, 0, -1, 2]), faces(6), {}, counter())
    assert ids == {0: 100, 1: 101, 2: 102}


def test_relabelled_permutation_keeps_ids() -> None:
    previous = {"f0": 7, "f1": 7, "f2": 9, "f3": 9, "f4": 4, "f5": 4}
    ids = assign_stable_ids(np.array([2, 2, 0, 0, 1, 1]), faces(6), previous, counter())
    assert ids == {2: 7, 0: 9, 1: 4}


def test_split_keeps_id_on_largest_part() -> None:
    previous = {f: 7 for f in faces(10)}
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    ids = assign_stable_ids(labels, faces(10), previous, counter())
    assert ids == {1: 7, 0: 100}


def test_merge_keeps_id_of_larger_contributor() -> None:
    previous = {f"f{i}": (7 if i < 3 else 9) for i in range(10)}
    ids = assign_stable_ids(np.zeros(10, dtype=int), faces(10), previous, counter())
    assert ids == {0: 9}


def test_faces_that_left_do_not_count() -> None:
    """Old cluster 7 had 10 faces; 8 were named as a person meanwhile and are no longer clustered. Its two
    survivors, together in a new cluster of 3, still carry the id."""
    previous = {f"f{i}": 7 for i in range(10)}
    survivors = ["f8", "f9", "new"]
    assert assign_stable_ids(np.array([0, 0, 0]), survivors, previous, counter()) == {0: 7}


def test_small_overlap_does_not_carry_an_id() -> None:
    """One face of a 10-face cluster ends up in a new 10-face cluster: not a real share either way."""
    previous = {f"f{i}": 7 for i in range(10)}
    names = [f"f{i}" for i in range(10)] + [f"g{i}" for i in range(9)]
    labels = np.array([-1] * 9 + [0] + [0] * 9)
    assert assign_stable_ids(labels, names, previous, counter()) == {0: 100}


def test_noise_gets_no_id_and_old_noise_faces_are_ignored() -> None:
    ids = assign_stable_ids(np.array([-1, -1, 0, 0]), faces(4), {"f0": 3, "f1": 3}, counter())
    assert ids == {0: 100}


def test_each_old_id_is_used_once() -> None:
    """Two new clusters that are each entirely old cluster 7's faces: the larger keeps 7."""
    previous = {f: 7 for f in faces(8)}
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    ids = assign_stable_ids(labels, faces(8), previous, counter())
    assert ids == {0: 7, 1: 100}
    assert len(set(ids.values())) == len(ids)


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        assign_stable_ids(np.array([0, 0]), faces(3), {}, counter())
