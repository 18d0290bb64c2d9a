"""Rules + fact types on hand-written sentences, and entity linking under aliases and legal suffixes."""

from __future__ import annotations

import pandas as pd
import pytest

from nlp.facts import classify_sentence, extract_facts, split_sentences
from nlp.linking import link_organisations, normalise_org

SENTENCES = [
    # (sentence, organisations expected, amounts expected as (value, unit))
    ("浙江华海药业股份有限公司拟投资3.5亿元建设两条新产线。", {"浙江华海药业股份有限公司"}, {("3.5", "亿元")}),
    ("宁德时代新能源科技股份有限公司与华为集团签订采购框架协议，金额约8000万元。",
     {"宁德时代新能源科技股份有限公司", "华为集团"}, {("8000", "万元")}),
    ("江苏省财政厅向恒瑞医药控股上海分公司拨付补贴500万元，占其研发投入的12.5%。",
     {"江苏省财政厅", "恒瑞医药控股上海分公司"}, {("500", "万元"), ("12.5", "%")}),
]


@pytest.mark.parametrize(("sentence", "orgs", "amounts"), SENTENCES)
def test_rules_find_organisations_and_amounts(rules_nlp, sentence, orgs, amounts):
    doc = rules_nlp(sentence)
    found_orgs = {e.text for e in doc.ents if e.label_ in {"company", "government", "organization"}}
    assert found_orgs == orgs
    found_amounts = {(m.value, m.unit) for m in doc._.rule_matches if m.label in {"MONEY", "PERCENT"}}
    assert found_amounts == amounts


def test_policy_standard_and_deadline(rules_nlp):
    doc = rules_nlp("国家发改委印发《产业结构调整指导目录》，要求2025年6月底前执行GB/T 32161-2015标准。")
    ents = {(e.label_, e.text) for e in doc.ents}
    assert ("POLICY", "《产业结构调整指导目录》") in ents
    assert ("STANDARD", "GB/T 32161-2015") in ents
    assert ("DEADLINE", "2025年6月底前") in ents
    assert ("government", "国家发改委") in ents


FACT_EXAMPLES = [
    ("对购置新能源设备的企业给予最高200万元补贴。", "policy_measure", "subsidy"),
    ("自2025年起全面执行新版强制性国家标准GB 30252。", "policy_measure", "standard"),
    ("环保督察期间，区内所有砖厂一律限产50%，落后产能限期淘汰。", "policy_measure", "restriction"),
    ("公司2024年度净利润亏损2.3亿元，部分银行贷款已逾期，存在流动性风险。", "financial_risk", "risk_disclosure"),
    ("该厂完成产线升级后产能提升至年产30万吨。", "capacity_change", "capacity"),
    ("集团承诺2030年前实现碳达峰，2060年前实现碳中和。", "esg_carbon", "carbon"),
    ("客户计划下季度扩大采购，近期将发布招标公告。", "demand_signal", "demand"),
    ("今天天气很好，我们一起吃了午饭。", None, None),
]


@pytest.mark.parametrize(("sentence", "ftype", "sub"), FACT_EXAMPLES)
def test_fact_type_classification(sentence, ftype, sub):
    got_type, got_sub, conf = classify_sentence(sentence)
    assert (got_type, got_sub) == (ftype, sub)
    assert (conf > 0.5) if ftype else conf == 0.0


def test_extract_facts_offsets_point_into_page(rules_nlp):
    page = "第一段说明。\n公司计划投资1.2亿元新建生产线，预计2026年投产。今天开会。"
    facts = extract_facts(rules_nlp, page, doc_id="d1", page=2)
    money = facts[facts["entity_label"] == "MONEY"].iloc[0]
    assert page[money["start"]:money["end"]] == "1.2亿元"
    assert (money["value"], money["unit"], money["fact_type"], money["page"]) == ("1.2", "亿元", "capacity_change", 2)
    assert "今天开会。" not in set(facts["sentence"])  # nothing to report there
    assert [s.text for s in split_sentences(page)][:2] == ["第一段说明。", "公司计划投资1.2亿元新建生产线，预计2026年投产。"]


def test_normalise_org_strips_suffixes_and_branches():
    assert normalise_org("浙江华海药业股份有限公司") == "浙江华海药业"
    assert normalise_org("华海药业（上海）有限公司杭州分公司") == "华海药业"
    assert normalise_org("美的集团") == "美的"


def test_link_organisations_by_alias_and_suffix():
    customers = pd.DataFrame({
        "id": ["C1", "C2", "C3"],
        "name": ["浙江华海药业股份有限公司", "比亚迪股份有限公司", "宁波舟山港集团有限公司"],
        "aliases": [["华海药业", "华海"], "BYD;比亚迪汽车", None],
    })
    links = link_organisations(
        ["华海药业杭州分公司", "比亚迪汽车有限公司", "BYD Co., Ltd.", "宁波舟山港", "完全无关的公司"], customers)
    got = dict(zip(links["org"], links["customer_id"], strict=True))
    assert got == {"华海药业杭州分公司": "C1", "比亚迪汽车有限公司": "C2", "BYD Co., Ltd.": "C2", "宁波舟山港": "C3"}
    assert (links["score"] >= 85).all()
    with pytest.raises(ValueError, match="missing column"):
        link_organisations(["x"], pd.DataFrame({"id": [1]}))
