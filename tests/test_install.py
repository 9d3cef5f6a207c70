"""tools/install.py: pip's configured package sources become uv options."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("install", Path(__file__).parents[1] / "tools" / "install.py")
install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install)

LISTING = """:env:.find-links='/opt/wheels'
global.cert='/etc/ssl/certs/ca-certificates.crt'
global.constraint='/etc/xdg/pip/constraints.txt'
global.extra-index-url='file:///opt/a/simple file:///opt/b/simple'
global.find-links='/srv/other'
"""


def test_environment_entries_win_over_files_and_lists_are_split():
    settings = install.pip_settings(LISTING)
    assert settings["find-links"] == "/opt/wheels"
    assert install.uv_options(settings) == [
        "--extra-index-url", "file:///opt/a/simple", "--extra-index-url", "file:///opt/b/simple",
        "--find-links", "/opt/wheels", "--constraint", "/etc/xdg/pip/constraints.txt",
        "--index-strategy", "unsafe-best-match"]


def test_no_configuration_means_uv_defaults():
    assert install.uv_options(install.pip_settings("")) == []
