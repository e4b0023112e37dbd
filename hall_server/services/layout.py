"""Load a hall's layout (services, windows, skills, devices, notices) into the database.

Idempotent: run again with the same config and nothing changes; with a changed config the
rows are updated in place (ids and history kept), removed services and windows are
deactivated, and the hall's config version moves on so every process reloads it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..models import Device, Hall, Notice, Service, Window, WindowSkill
from ..settings import HallConfig


def apply_hall_config(db: Database, config: HallConfig) -> tuple[int, bool]:
    """Load the site file's ``config``; return the hall id and whether anything changed.

    The site file is applied again only when it changed since it was last applied, so
    edits made on /admin survive a restart with the same site file — and an upgrade whose
    settings gained a field (or a new default): the fingerprint covers what the file says,
    not the defaults filled in around it.
    """
    site = _site_fingerprint(config)
    with db.write() as session:
        hall = session.scalar(select(Hall).where(Hall.code == config.code))
        if hall is not None and hall.site_hash in (site, _fingerprint(config)):
            hall.site_hash = site  # a hall last loaded before file fingerprints: now one
            return hall.id, False
        hall_id, changed = write_hall_config(session, config)
        session.execute(update(Hall).where(Hall.id == hall_id).values(site_hash=site))
        return hall_id, changed


def _site_fingerprint(config: HallConfig) -> str:
    """What the site file set, whatever this version's defaults are."""
    return hashlib.sha256(config.model_dump_json(exclude_unset=True).encode()).hexdigest()


def _fingerprint(config: HallConfig) -> str:
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()


def write_hall_config(session: Session, config: HallConfig) -> tuple[int, bool]:
    """Write ``config`` in the caller's transaction (admin edits run inside a hall write)."""
    fingerprint = _fingerprint(config)
    hall = session.scalar(select(Hall).where(Hall.code == config.code))
    if hall is None:
        hall = Hall(code=config.code, name=config.name, last_seq=0, config_version=0)
        session.add(hall)
        session.flush()
    if hall.config_hash == fingerprint:
        return hall.id, False
    hall.name, hall.name_en, hall.timezone = config.name, config.name_en, config.timezone
    hall.policy = config.policy.model_dump()
    hall.voice = config.voice.model_dump()
    hall.alarms = config.alarms.model_dump()
    hall.issuing = config.issuing.model_dump()
    services = _services(session, hall.id, config)
    _windows(session, hall.id, config, services)
    _devices(session, hall.id, config)
    _notices(session, hall.id, list(config.notices))
    hall.config_hash = fingerprint
    hall.config_version = (hall.config_version or 0) + 1
    return hall.id, True


def _services(session: Session, hall_id: int, config: HallConfig) -> dict[str, int]:
    existing = {
        s.code: s for s in session.scalars(select(Service).where(Service.hall_id == hall_id))
    }
    for row in existing.values():
        row.active = False
        row.prefix = f"~{row.id}"  # frees the prefix for a service that takes it over
    session.flush()
    ids: dict[str, int] = {}
    for order, cfg in enumerate(config.services):
        row = existing.get(cfg.code) or Service(hall_id=hall_id, code=cfg.code)
        values: dict[str, Any] = {
            "name": cfg.name,
            "name_en": cfg.name_en,
            "category": cfg.category,
            "prefix": cfg.prefix,
            "number_start": cfg.number_start,
            "number_end": cfg.number_end,
            "digits": cfg.digits,
            "daily_cap": cfg.daily_cap,
            "hours": [list(p) for p in cfg.hours],
            "weekdays": list(cfg.weekdays),
            "weekday_hours": {str(d): [list(p) for p in h] for d, h in cfg.weekday_hours.items()},
            "zone": cfg.zone,
            "floor": cfg.floor,
            "avg_handle_min": cfg.avg_handle_min,
            "sla_wait_min": cfg.sla_wait_min,
            "wait_yellow_min": cfg.wait_yellow_min,
            "wait_red_min": cfg.wait_red_min,
            "guide": cfg.guide.model_dump(mode="json"),
            "sort_order": order,
            "active": True,
        }
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
        session.flush()
        ids[cfg.code] = row.id
    return ids


def _windows(session: Session, hall_id: int, config: HallConfig, services: dict[str, int]) -> None:
    existing = {
        w.number: w for w in session.scalars(select(Window).where(Window.hall_id == hall_id))
    }
    for row in existing.values():
        row.active = False
    session.execute(delete(WindowSkill).where(WindowSkill.hall_id == hall_id))
    for cfg in config.windows:
        row = existing.get(cfg.number) or Window(hall_id=hall_id, number=cfg.number, state="closed")
        row.name, row.zone, row.floor = cfg.name, cfg.zone, cfg.floor
        row.general, row.active = cfg.general, True
        session.add(row)
        session.flush()
        for code, weight in cfg.services.items():
            session.add(
                WindowSkill(
                    window_id=row.id, service_id=services[code], hall_id=hall_id, weight=weight
                )
            )


def _devices(session: Session, hall_id: int, config: HallConfig) -> None:
    existing = {d.name: d for d in session.scalars(select(Device).where(Device.hall_id == hall_id))}
    for cfg in config.devices:
        row = existing.get(cfg.name) or Device(hall_id=hall_id, name=cfg.name)
        row.kind, row.zone, row.floor = cfg.kind, cfg.zone, cfg.floor
        row.label = cfg.label
        row.windows, row.layout, row.options = list(cfg.windows), cfg.layout, dict(cfg.options)
        session.add(row)


def _notices(session: Session, hall_id: int, lines: list[str]) -> None:
    session.execute(delete(Notice).where(Notice.hall_id == hall_id))
    for order, text in enumerate(lines):
        session.add(Notice(hall_id=hall_id, text=text, sort_order=order, active=True))
