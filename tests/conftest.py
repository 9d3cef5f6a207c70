from pathlib import Path

import pytest

from judgeflow.core.config_checks import load_config

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def default_config() -> dict:
    return load_config(REPO / "config" / "config.yaml")


@pytest.fixture(scope="session")
def test_config() -> dict:
    return load_config(REPO / "config" / "config.yaml", REPO / "config" / "test.yaml")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, test_config) -> str:
    """The test config's tiny model, built once per session through the real prepare step."""
    from judgeflow.models.sources import prepare_model

    out = tmp_path_factory.mktemp("models") / "tiny"
    prepare_model(test_config["models"]["tiny-judge"], out, test_config)
    return str(out)
