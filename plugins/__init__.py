"""carecheck's built-in domain plugins, registered through the same hooks a third party uses."""
