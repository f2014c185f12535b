"""The pure core: no network, files, database, environment or clock.

Everything here takes its document loader, keys and ``now`` as arguments.
"""
