"""The agents' one client of the hall server: it imports the public contract and nothing else
of the server, so a kiosk PC or an LED agent loads no Flask, SQLAlchemy or models.

- ``hall``: ``HallClient``, the hall's live state by ``/hall`` (resync by ``last_seq``);
- ``state``: ``HallState`` and ``apply_event`` (pure).

Import the module you need.
"""
