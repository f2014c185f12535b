"""Services: the only code that combines the core, the database and the adapters.

Every function takes a ``Session`` (and, where it needs settings, blobs, the loader or
the clock, a ``ServiceContext``). Functions that change data commit their own unit of
work, so the web layer and the CLI call them the same way.
"""
