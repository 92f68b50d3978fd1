import pytest

from carecheck import plugin_manager

import carecheck_medicines


@pytest.fixture
def medicines(monkeypatch):
    """carecheck's built-ins and this plugin only, whatever else is installed."""
    monkeypatch.setenv("CARECHECK_LOAD_PLUGINS", "")
    plugin_manager.reset()
    plugin_manager.get_plugin_manager().register(carecheck_medicines, name="medicines")
    yield
    plugin_manager.reset()
