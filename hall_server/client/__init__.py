"""The agents' one client of the hall server: it imports the public contract and nothing else
of the server, so a kiosk PC or an LED agent loads no Flask, SQLAlchemy or models (an
import-linter contract in pyproject.toml keeps it so).

- ``api``: ``HallApi``, the JSON API with a device token (errors carry the server's sentence);
- ``connection``: ``Connection``, one Socket.IO namespace kept connected in the background;
- ``hall``: ``HallClient``, the hall's live state by ``/hall`` (resync by ``last_seq``);
- ``state``: ``HallState`` and ``apply_event`` (pure);
- ``status``: ``StatusReporter``, a device's health sent to ``POST /devices/status``.

Import the module you need (the keypad agent needs no Socket.IO).
"""
