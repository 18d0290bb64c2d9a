"""CRM records: accounts, contacts, opportunities, intent signals, visits, notes, CSG, NPS, tickets, requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from faker import Faker

from lodestar.demo import names, notes
from lodestar.demo.common import TODAY, WEEKS, rng
from lodestar.demo.master import Master

STAGES = ["线索", "需求确认", "方案报价", "商务谈判", "赢单", "输单"]
SIGNALS = {"email_open": ["《2026年新品目录》", "《季度促销方案》", "《清洁消毒解决方案白皮书》", "《年度价格调整通知》"],
           "proposal_download": ["定制方案V2.pdf", "年度采购报价单.xlsx", "技术参数表.pdf"],
           "site_visit": ["/products/disinfect", "/solutions/hotel", "/solutions/hospital", "/news", "/contact"]}


@dataclass
class Crm:
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    note_truth: pd.DataFrame | None = None
    account_health: pd.DataFrame | None = None


def _ts(d: date, r: np.random.Generator) -> datetime:
    return datetime(d.year, d.month, d.day, int(r.integers(8, 19)), int(r.integers(0, 60)), int(r.integers(0, 60)))


def build_crm(m: Master, seed: int, scale: float) -> Crm:
    r = rng(seed, "crm")
    fake = Faker("zh_CN")
    fake.seed_instance(seed + 1)
    c = m.customers.reset_index(drop=True)
    n_c = len(c)
    # Accounts: every ERP customer (mapping missing for some) plus CRM-only prospects.
    acc = pd.DataFrame({
        "account_id": [f"ACC{100000 + i * 7 + 3}" for i in range(n_c)],
        "account_name": c.crm_name, "erp_customer_id": np.where(r.random(n_c) < 0.85, c.customer_id, None),
        "industry": c.industry, "province": c.province, "city": c.city, "tier": c.tier,
        "account_manager_id": c.account_manager_id, "cluster_id": c.cluster_id,
        "created_at": [_ts(d, r) for d in c.created_date], "customer_id": c.customer_id})
    n_pros = max(3, int(round(30 * scale)))
    pros = []
    for i in range(n_pros):
        prov, _, region, cities = names.PROVINCES[int(r.integers(0, len(names.PROVINCES)))]
        city = cities[0]
        industry = list(names.INDUSTRIES)[int(r.integers(3, len(names.INDUSTRIES)))]
        brand = names.BRAND_WORDS[int(r.integers(0, len(names.BRAND_WORDS)))]
        am = m.account_managers.iloc[int(r.integers(0, len(m.account_managers)))]
        pros.append({"account_id": f"ACC{900000 + i}", "account_name": f"{city}{brand}{names.INDUSTRIES[industry][2]}（潜在）",
                     "erp_customer_id": None, "industry": industry, "province": prov, "city": city,
                     "tier": "D", "account_manager_id": am.account_manager_id, "cluster_id": am.cluster_id,
                     "created_at": _ts(date(2026, 1, 5) + timedelta(days=int(r.integers(0, 300))), r),
                     "customer_id": None})
    acc = pd.concat([acc, pd.DataFrame(pros)], ignore_index=True)
    n_a = len(acc)
    health = r.normal(0, 1, n_a)
    acc_health = pd.DataFrame({"account_id": acc.account_id, "customer_id": acc.customer_id,
                               "latent_health": np.round(health, 3)})
    tier_w = acc.tier.map({"A": 2.0, "B": 1.4, "C": 1.0, "D": 0.7}).to_numpy()

    # Contacts.
    n_ct = np.maximum(1, r.poisson(3.0 * tier_w))
    ct_acc = np.repeat(np.arange(n_a), n_ct)
    titles = r.integers(0, len(names.TITLES), len(ct_acc))
    contacts = pd.DataFrame({
        "contact_id": [f"CT{i + 1:06d}" for i in range(len(ct_acc))], "account_id": acc.account_id.to_numpy()[ct_acc],
        "name": [fake.name() for _ in range(len(ct_acc))], "title": [names.TITLES[t][0] for t in titles],
        "department": [names.DEPARTMENTS[int(i)] for i in r.integers(0, len(names.DEPARTMENTS), len(ct_acc))],
        "is_decision_maker": [names.TITLES[t][1] for t in titles],
        "phone": [f"1{int(p):02d}****{int(q):04d}" for p, q in zip(r.integers(30, 99, len(ct_acc)),
                                                                   r.integers(0, 10000, len(ct_acc)), strict=True)],
        "email": [f"contact{i + 1}@example.cn" for i in range(len(ct_acc))]})
    ct_by_acc = contacts.groupby("account_id").contact_id.apply(list).to_dict()

    start = [max(d.date() if isinstance(d, datetime) else d, WEEKS[0].date()) for d in acc.created_at]
    span = np.array([(TODAY - s).days for s in start])

    # Opportunities.
    n_op = r.poisson(4 * tier_w)
    op_acc = np.repeat(np.arange(n_a), n_op)
    created = [start[a] + timedelta(days=int(r.integers(0, max(1, span[a] - 10)))) for a in op_acc]
    close = [d + timedelta(days=int(r.integers(20, 180))) for d in created]
    stage = [STAGES[4] if (cl < TODAY and r.random() < 0.55 + 0.1 * health[a]) else
             (STAGES[5] if cl < TODAY else STAGES[int(r.integers(0, 4))]) for a, cl in zip(op_acc, close, strict=True)]
    lines = [pl for pl, *_ in names.PRODUCT_LINES]
    pl_pick = [lines[int(i)] for i in r.integers(0, len(lines), len(op_acc))]
    opps = pd.DataFrame({
        "opportunity_id": [f"OPP{i + 1:06d}" for i in range(len(op_acc))], "account_id": acc.account_id.to_numpy()[op_acc],
        "account_manager_id": acc.account_manager_id.to_numpy()[op_acc],
        "opportunity_name": [f"{acc.account_name[a]}-{dict((p, n) for p, n, *_ in names.PRODUCT_LINES)[p]}年度采购"
                             for a, p in zip(op_acc, pl_pick, strict=True)],
        "product_line_id": pl_pick, "stage": stage,
        "amount": np.round(r.lognormal(11, 0.8, len(op_acc)) * tier_w[op_acc], -2),
        "probability": [{"线索": 0.1, "需求确认": 0.25, "方案报价": 0.45, "商务谈判": 0.7, "赢单": 1.0, "输单": 0.0}[s]
                        for s in stage],
        "created_date": created, "expected_close_date": close,
        "closed_date": [cl if s in ("赢单", "输单") else None for s, cl in zip(stage, close, strict=True)]})

    # Intent signals: a base rate that rises in the last months for accounts with growing needs.
    rising = r.random(n_a) < 0.12
    n_sig = r.poisson(40 * tier_w * np.where(rising, 1.6, 1.0))
    sig_acc = np.repeat(np.arange(n_a), n_sig)
    u = r.random(len(sig_acc))
    frac = np.where(rising[sig_acc], u ** 0.4, u)  # rising accounts skew towards recent dates
    sig_day = [start[a] + timedelta(days=int(f * (span[a] - 1))) for a, f in zip(sig_acc, frac, strict=True)]
    stype = r.choice(list(SIGNALS), len(sig_acc), p=[0.6, 0.15, 0.25])
    signals = pd.DataFrame({
        "signal_id": [f"SIG{i + 1:07d}" for i in range(len(sig_acc))], "account_id": acc.account_id.to_numpy()[sig_acc],
        "contact_id": [ct_by_acc[acc.account_id[a]][int(r.integers(0, len(ct_by_acc[acc.account_id[a]])))]
                       for a in sig_acc],
        "signal_type": stype, "occurred_at": [_ts(d, r) for d in sig_day],
        "detail": [SIGNALS[t][int(r.integers(0, len(SIGNALS[t])))] for t in stype]})
    signals = signals.sort_values(["occurred_at", "signal_id"], kind="stable").reset_index(drop=True)

    # Visits with attendees, and notes for most visits.
    n_v = r.poisson(14 * tier_w)
    v_acc = np.repeat(np.arange(n_a), n_v)
    v_day = sorted(zip(v_acc, [start[a] + timedelta(days=int(r.integers(0, span[a]))) for a in v_acc], strict=True),
                   key=lambda x: (x[1], x[0]))
    v_acc = np.array([a for a, _ in v_day], dtype=int)
    v_date = [d for _, d in v_day]
    # Event customers get a visit in the last weeks whose note announces the upgrade.
    upgrade_cust = set(m.events.customer_id[m.events.event_type == "production_line_upgrade"]) if len(m.events) else set()
    acc_of_cust = dict(zip(acc.customer_id, range(n_a), strict=False))
    extra = [(acc_of_cust[cu], TODAY - timedelta(days=int(r.integers(5, 30)))) for cu in sorted(upgrade_cust)]
    v_acc = np.concatenate([v_acc, [a for a, _ in extra]]).astype(int)
    v_date = v_date + [d for _, d in extra]
    is_upgrade_visit = np.zeros(len(v_acc), dtype=bool)
    is_upgrade_visit[len(v_acc) - len(extra):] = True
    attendees, visits_rows = [], []
    for i, (a, d) in enumerate(zip(v_acc, v_date, strict=True)):
        pool = ct_by_acc[acc.account_id[a]]
        k = int(min(len(pool), 1 + r.poisson(0.8)))
        att = sorted(r.choice(pool, size=k, replace=False).tolist())
        attendees.append(att)
        visits_rows.append({"visit_id": f"VIS{i + 1:06d}", "account_id": acc.account_id[a],
                            "account_manager_id": acc.account_manager_id[a], "visit_date": d,
                            "visit_type": ["拜访", "电话会议", "技术交流", "商务宴请", "年度回顾"][int(r.integers(0, 5))],
                            "attendee_contact_ids": ";".join(att), "duration_minutes": int(r.choice([30, 45, 60, 90, 120]))})
    visits = pd.DataFrame(visits_rows)
    contact_name = dict(zip(contacts.contact_id, contacts.name, strict=True))
    contact_title = dict(zip(contacts.contact_id, contacts.title, strict=True))
    products = [n for _, _, ps, _ in names.PRODUCT_LINES for n in ps]
    note_rows, truth_rows = [], []
    for i, v in enumerate(visits_rows):
        if not is_upgrade_visit[i] and r.random() > 0.7:
            continue
        a = v_acc[i]
        p_pos = 1 / (1 + np.exp(-(health[a] + 0.3)))
        u_ = r.random()
        sentiment = "positive" if u_ < p_pos * 0.7 else ("neutral" if u_ < p_pos * 0.7 + 0.3 else "negative")
        comp = names.COMPETITORS[int(r.integers(0, len(names.COMPETITORS)))] if r.random() < 0.15 else None
        upgrade = "future" if is_upgrade_visit[i] else ("past" if r.random() < 0.01 else None)
        if upgrade == "future":
            sentiment = "neutral"
        first = attendees[i][0]
        who = f"{contact_title[first]}{contact_name[first][0]}{'先生' if r.random() < 0.5 else '女士'}"
        text = notes.meeting_note(r, acc.account_name[a], who, products[int(r.integers(0, len(products)))],
                                  sentiment, comp, upgrade)
        nid = f"NOTE{len(note_rows) + 1:06d}"
        note_rows.append({"note_id": nid, "visit_id": v["visit_id"], "account_id": v["account_id"],
                          "account_manager_id": v["account_manager_id"], "note_date": v["visit_date"], "text": text})
        truth_rows.append({"note_id": nid, "account_id": v["account_id"], "sentiment": sentiment,
                           "competitor": comp, "mentions_upgrade": upgrade is not None,
                           "announces_upgrade": upgrade == "future"})
    meeting_notes = pd.DataFrame(note_rows)

    # Customer success groups for the larger accounts.
    csg_acc = np.flatnonzero((acc.tier.isin(["A", "B"]).to_numpy()) & (r.random(n_a) < 0.6))
    csg = pd.DataFrame({"csg_id": [f"CSG{i + 1:04d}" for i in range(len(csg_acc))],
                        "account_id": acc.account_id.to_numpy()[csg_acc],
                        "csg_name": [f"{acc.account_name[a]}客户成功小组" for a in csg_acc],
                        "lead_account_manager_id": acc.account_manager_id.to_numpy()[csg_acc],
                        "created_date": [max(start[a], date(2023, 3, 1)) + timedelta(days=int(r.integers(0, 200)))
                                         for a in csg_acc]})
    mem_rows, task_rows = [], []
    for g in csg.itertuples():
        funcs = ["销售"] + sorted(r.choice(names.CSG_FUNCTIONS[1:], size=int(r.integers(2, 6)), replace=False).tolist())
        mids = []
        for j, f in enumerate(funcs):
            mid = f"MEM{len(mem_rows) + 1:05d}"
            mids.append(mid)
            mem_rows.append({"membership_id": mid, "csg_id": g.csg_id, "member_name": fake.name(), "function": f,
                             "role": "组长" if j == 0 else "成员"})
        for _ in range(int(r.poisson(12))):
            cd = g.created_date + timedelta(days=int(r.integers(0, max(1, (TODAY - g.created_date).days))))
            due = cd + timedelta(days=int(r.integers(7, 60)))
            done = r.random() < 0.75 and due < TODAY + timedelta(days=10)
            comp_d = cd + timedelta(days=int(r.integers(3, 75))) if done else None
            if comp_d is not None and comp_d >= TODAY:
                comp_d = None
            task_rows.append({"task_id": f"TSK{len(task_rows) + 1:06d}", "csg_id": g.csg_id,
                              "title": ["季度业务回顾", "新品试用跟进", "质量问题闭环", "库存优化方案", "培训现场保洁人员",
                                        "年度合同续签", "定制方案评审"][int(r.integers(0, 7))],
                              "owner_membership_id": mids[int(r.integers(0, len(mids)))], "created_date": cd,
                              "due_date": due, "completed_date": comp_d,
                              "status": "已完成" if comp_d else ("进行中" if r.random() < 0.6 else "未开始"),
                              "knowledge_captured": bool(comp_d is not None and r.random() < 0.55)})
    members = pd.DataFrame(mem_rows)
    tasks = pd.DataFrame(task_rows)

    # NPS twice a year per account contact sample.
    nps_rows = []
    for a in range(n_a):
        pool = ct_by_acc[acc.account_id[a]]
        for half in pd.date_range(max(start[a], date(2023, 6, 1)), TODAY, freq="6MS"):
            if r.random() < 0.7:
                score = int(np.clip(np.round(7.5 + 1.6 * health[a] + r.normal(0, 1.3)), 0, 10))
                nps_rows.append({"survey_id": f"NPS{len(nps_rows) + 1:06d}", "account_id": acc.account_id[a],
                                 "contact_id": pool[int(r.integers(0, len(pool)))],
                                 "survey_date": half.date() + timedelta(days=int(r.integers(0, 20))), "score": score,
                                 "comment": ["服务很好", "交付及时", "价格偏高", "质量稳定", "响应慢", ""][int(r.integers(0, 6))]})
    nps = pd.DataFrame(nps_rows)

    # Service tickets: unhealthy accounts raise more.
    n_t = r.poisson(8 * tier_w * np.exp(-0.4 * health))
    t_acc = np.repeat(np.arange(n_a), n_t)
    opened = [_ts(start[a] + timedelta(days=int(r.integers(0, span[a]))), r) for a in t_acc]
    closed = [o + timedelta(hours=int(r.integers(2, 400))) for o in opened]
    basket = m.baskets.groupby("customer_id").sku_id.apply(list).to_dict()
    tickets = pd.DataFrame({
        "ticket_id": [f"TK{i + 1:06d}" for i in range(len(t_acc))], "account_id": acc.account_id.to_numpy()[t_acc],
        "sku_id": [(lambda b: b[int(r.integers(0, len(b)))] if b and r.random() < 0.7 else None)(
            basket.get(acc.customer_id[a])) for a in t_acc],
        "opened_at": opened, "closed_at": [cl if cl < datetime(2026, 11, 20) else None for cl in closed],
        "category": r.choice(["质量问题", "物流延误", "发票问题", "技术咨询", "退换货"], len(t_acc)),
        "priority": r.choice(["高", "中", "低"], len(t_acc), p=[0.2, 0.5, 0.3])})
    tickets["status"] = np.where(tickets.closed_at.isna(), "open", "closed")

    # Custom-solution requests; rising accounts ask more and more recently.
    n_r = r.poisson(np.where(rising, 6, 1.2) * tier_w)
    r_acc = np.repeat(np.arange(n_a), n_r)
    ur = r.random(len(r_acc))
    fr = np.where(rising[r_acc], ur ** 0.35, ur)
    req_date = [start[a] + timedelta(days=int(f * (span[a] - 1))) for a, f in zip(r_acc, fr, strict=True)]
    requests = pd.DataFrame({
        "request_id": [f"REQ{i + 1:05d}" for i in range(len(r_acc))], "account_id": acc.account_id.to_numpy()[r_acc],
        "request_date": req_date, "product_line_id": [lines[int(i)] for i in r.integers(0, len(lines), len(r_acc))],
        "title": r.choice(["定制包装规格", "专用配方开发", "联合品牌", "定制配送方案", "专属培训服务"], len(r_acc)),
        "status": r.choice(["评估中", "已立项", "已拒绝", "已交付"], len(r_acc)),
        "estimated_value": np.round(r.lognormal(10, 0.7, len(r_acc)), -2)}).sort_values(
        ["request_date", "request_id"], kind="stable").reset_index(drop=True)
    acc_health["rising_requests"] = rising

    tables = {"clusters": m.clusters, "account_managers": m.account_managers, "accounts": acc,
              "contacts": contacts, "opportunities": opps, "intent_signals": signals, "visits": visits,
              "meeting_notes": meeting_notes, "csg_groups": csg, "csg_members": members, "csg_tasks": tasks,
              "nps": nps, "tickets": tickets, "custom_requests": requests}
    return Crm(tables, pd.DataFrame(truth_rows), acc_health)
