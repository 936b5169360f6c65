"""Shared test fixtures."""

from __future__ import annotations

import pytest
import torch
from hypothesis import settings

# property tests draw the same examples on every run, so a failure is reproducible and CI is not flaky
settings.register_profile("deterministic", derandomize=True)
settings.load_profile("deterministic")


@pytest.fixture(autouse=True)
def _single_thread():
    """Small models run fastest, and reproducibly, on one thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
