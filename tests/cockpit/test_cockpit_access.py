"""Roles are enforced on the server: an account manager asking for another manager's customer, by page URL or API,
gets 404 and none of its data; a CSG member sees only their CSG."""

from __future__ import annotations

import duckdb
import httpx
import pytest


def _owned(world) -> dict[str, list[tuple[str, str]]]:
    """account manager -> [(customer_id, legal_name)] by the access policy the server uses (marts.access_policy
    once it exists, else customer_360's account manager)."""
    from lodestar.cockpit.users import access_policy_sql

    con = duckdb.connect(str(world.warehouse), read_only=True)
    try:
        present = set(con.execute("select table_schema, table_name from information_schema.tables").fetchall())
        rows = con.execute(f"""select p.principal_id, p.customer_id, c.legal_name from ({access_policy_sql(present)}) p
                               join marts.customer_360 c using (customer_id)
                               where p.principal_kind = 'account_manager' order by 2""").fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[str, str]]] = {}
    for am, cid, name in rows:
        out.setdefault(am, []).append((cid, name))
    return out


def _page_client(base_url: str, username: str) -> httpx.Client:
    from cockpit_world import PASSWORD

    c = httpx.Client(base_url=base_url, timeout=60)
    r = c.post("/login", data={"username": username, "password": PASSWORD, "next": "/customers"})
    assert r.status_code == 303, r.text
    return c


def test_account_manager_sees_only_own_customers(world, am_clients):
    owned = _owned(world)
    for user, client in am_clients:
        mine = {cid for cid, _ in owned[user["principal_id"]]}
        listed = {c["customer_id"] for c in client.get("/api/customers").json()}
        assert listed == mine
        assert {p["customer_id"] for p in client.get("/api/matrix").json()["points"]} == mine


def test_other_managers_customer_is_404_by_api_and_by_url(world, am_clients, base_url):
    owned = _owned(world)
    (a, client_a), (b, _) = am_clients
    theirs_id, theirs_name = owned[b["principal_id"]][0]
    r = client_a.get(f"/api/customers/{theirs_id}")
    assert r.status_code == 404
    assert theirs_name not in r.text and "health" not in r.text
    page = _page_client(base_url, a["username"])
    r = page.get(f"/customers/{theirs_id}")
    assert r.status_code == 404 and theirs_name not in r.text
    # their own customer opens
    mine_id, mine_name = owned[a["principal_id"]][0]
    ok = page.get(f"/customers/{mine_id}")
    assert ok.status_code == 200 and mine_name in ok.text
    # the report download is checked the same way
    assert client_a.get(f"/reports/{theirs_id}/2026Q3.pdf").status_code == 404
    # a search does not reach around the filter
    found = client_a.get("/api/customers", params={"q": theirs_name}).json()
    assert all(c["customer_id"] != theirs_id for c in found)
    page.close()


def test_account_manager_sees_own_series_and_scoped_pages(world, am_clients, director):
    (a, client_a), _ = am_clients
    total = director.post("/api/forecast", json={"levers": {}}).json()
    mine = client_a.post("/api/forecast", json={"levers": {}}).json()
    assert 0 < mine["total"]["base"] < total["total"]["base"]
    lights = client_a.get("/api/lights").json()
    assert len(lights) < len(director.get("/api/lights").json())
    assert all(lt["scope_type"] in ("region", "csg") for lt in lights)
    repl = client_a.get("/api/reconciliation").json()["replenishment"]
    assert all(r["account_manager_id"] == a["principal_id"] for r in repl)
    owned = {cid for cid, _ in _owned(world)[a["principal_id"]]}
    groups = client_a.get("/api/csg").json()["groups"]
    assert all(g["customer_id"] in owned for g in groups)


def test_csg_member_sees_their_csg_only(csg_client, director):
    user, client = csg_client
    w = client.get("/api/csg").json()
    assert [g["csg_id"] for g in w["groups"]] == [user["principal_id"]]
    assert all(m["csg_id"] == user["principal_id"] for m in w["members"])
    customers = client.get("/api/customers").json()
    assert [c["customer_id"] for c in customers] == [w["groups"][0]["customer_id"]]
    others = [c for c in director.get("/api/customers").json() if c["customer_id"] != customers[0]["customer_id"]]
    assert client.get(f"/api/customers/{others[0]['customer_id']}").status_code == 404
    assert client.post("/api/forecast", json={"levers": {}}).status_code == 403
    assert client.post("/api/scenarios", json={"name": "x", "levers": {}}).status_code == 403
    lights = client.get("/api/lights").json()
    assert [(lt["scope_type"], lt["scope_id"]) for lt in lights] == [("csg", user["principal_id"])]


@pytest.mark.parametrize("evil", ["' or 1=1 --", "%' union select * from raw.cockpit_users --", "C0001'); drop table x; --"])
def test_injection_attempts_are_just_strings(am_clients, evil):
    (_, client), _ = am_clients
    assert client.get(f"/api/customers/{evil}").status_code == 404
    r = client.get("/api/customers", params={"q": evil})
    assert r.status_code == 200 and r.json() == []


def test_pages_redirect_to_sign_in_and_bad_sign_in_says_so(base_url):
    c = httpx.Client(base_url=base_url, timeout=30)
    r = c.get("/customers")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = c.post("/login", data={"username": "director", "password": "nope", "next": "/"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = c.get("/customers?q=" + "x" * 80, follow_redirects=False)
    assert r.status_code == 303
