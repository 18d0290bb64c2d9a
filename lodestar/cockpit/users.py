"""Cockpit users: the demo users the main job creates, scrypt password hashes, and who may see which customer.

Roles: ``sales_director`` sees everything; ``account_manager`` sees the customers whose account manager they are
and their own forecast series; ``csg_member`` sees the customers of their customer success group.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lodestar.settings import get_settings
from lodestar.warehouse import Warehouse

ROLES = ("sales_director", "account_manager", "csg_member")
USERS_TABLE = ("raw", "cockpit_users")
# scrypt cost: ~50 ms per check on this machine, memory 16 MiB (n * r * 128 bytes)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class Principal:
    """A signed-in user: the role and the id the role is scoped to (account manager id, CSG id, or none)."""

    username: str
    display_name: str
    role: str
    principal_id: str | None


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$<salt hex>$<hash hex>``: a fresh random salt per password."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=64 * 2**20, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), maxmem=64 * 2**20, **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def access_policy_sql(present: set[tuple[str, str]]) -> str:
    """(principal_kind, principal_id, customer_id): every principal x customer it may see.

    The one place ownership is defined: ``marts.access_policy`` when the warehouse has it, else the same rows
    from what exists (customer_360's account manager, csg_health's customer per CSG)."""
    if ("marts", "access_policy") in present:
        return "select principal_kind, principal_id, customer_id from marts.access_policy"
    return """
        select 'account_manager' as principal_kind, account_manager_id as principal_id, customer_id
        from marts.customer_360 where account_manager_id is not null
        union
        select 'csg' as principal_kind, csg_id as principal_id, customer_id
        from marts.csg_health where customer_id is not null"""


def demo_users(warehouse: Warehouse) -> pd.DataFrame:
    """The demo company's people as cockpit users: one director, every account manager, one member per CSG."""
    ams = warehouse.query("""
        select distinct c.account_manager_id, coalesce(m.account_manager_name, c.account_manager_id) as name
        from marts.customer_360 c
        left join staging.stg_crm__account_managers m using (account_manager_id)
        where c.account_manager_id is not null order by 1""")
    csgs = warehouse.query("""
        select g.csg_id, g.csg_name,
               (select min(member_name) from staging.stg_crm__csg_members m where m.csg_id = g.csg_id) as member
        from marts.csg_health g order by 1""")
    rows = [{"username": "director", "display_name": "销售总监 Sales director", "role": "sales_director",
             "principal_id": None}]
    rows += [{"username": r.account_manager_id.lower(), "display_name": f"{r.name} (客户经理 {r.account_manager_id})",
              "role": "account_manager", "principal_id": r.account_manager_id} for r in ams.itertuples()]
    rows += [{"username": f"csg-{r.csg_id.lower()}",
              "display_name": f"{r.member or r.csg_id} ({r.csg_name or r.csg_id})",
              "role": "csg_member", "principal_id": r.csg_id} for r in csgs.itertuples()]
    return pd.DataFrame(rows)


def demo_passwords_file(home: Path) -> Path:
    return home / "cockpit" / "demo-users.json"


def create_demo_users(warehouse: Warehouse, home: Path) -> pd.DataFrame:
    """Write raw.cockpit_users (hashes only) and the demo passwords file (mode 0600) the demo summary prints.

    Passwords: ``$LODESTAR_COCKPIT_DEMO_PASSWORD`` for everyone when set, else a random one per user, kept across
    re-runs so a re-run does not lock anyone out."""
    users = demo_users(warehouse)
    path = demo_passwords_file(home)
    known: dict[str, str] = {}
    if path.exists():
        known = {u["username"]: u["password"] for u in json.loads(path.read_text(encoding="utf-8"))}
    fixed = get_settings().cockpit_demo_password
    passwords = {u: fixed or known.get(u) or secrets.token_urlsafe(9) for u in users["username"]}
    out = users.copy()
    out["password_hash"] = [hash_password(passwords[u]) for u in out["username"]]
    out["created_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    warehouse.replace_table(*USERS_TABLE, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump([{**{k: r[k] for k in ("username", "display_name", "role", "principal_id")},
                    "password": passwords[r["username"]]} for r in users.to_dict("records")], fh, ensure_ascii=False,
                  indent=1)
    os.replace(tmp, path)
    return users


def read_demo_passwords(home: Path) -> list[dict]:
    """The demo users and passwords (for the demo summary); empty before the first main job."""
    path = demo_passwords_file(home)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
