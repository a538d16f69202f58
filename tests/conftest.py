"""Shared fixtures. Unit tests use scripted fakes; integration tests use SmolLM2-135M on CPU."""

from __future__ import annotations

import os

import pytest

# Torch tests share two cores with nothing else; more threads only thrash.
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.pop("LANGSMITH_TRACING", None)
os.environ.pop("LANGCHAIN_TRACING_V2", None)


@pytest.fixture
def fake_models():
    """Factory: role → script mapping to a dict of ScriptedChatModel per role."""
    from oyster_agents.backends.fake import scripted_models

    return scripted_models


@pytest.fixture(scope="session")
def smollm_dir():
    """The converted default model folder (SmolLM2-135M-Instruct)."""
    from oyster_agents.backends.default_model import default_model_path

    return default_model_path()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (``tests/_browser.py``) shared by one module's page tests."""
    from ._browser import launch

    driver, chromium = launch()
    yield chromium
    chromium.close()
    driver.stop()
