"""carecheck's built-in adapters: CSV, JSON Lines and JSON, Excel workbooks and SQLite databases.

Each module is a plugin registered through ``carecheck_register_adapters``, exactly as a vendor's
adapter would be.
"""
