"""Sentiment lexicon, complaint hot words (TF-IDF + KMeans, week over week) and the influence graph."""

from __future__ import annotations

import pandas as pd
import pytest

from nlp.sentiment import score_sentiment, sentiment_accuracy
from nlp.signals import complaint_hot_words, influence_graph, tokenize


def test_sentiment_scores_and_labels():
    texts = ["客户对我们的方案非常满意，计划下月续签合同。", "客户不满意交货延误，威胁换供应商。",
             "会议讨论了下季度的排期。", "客户表示价格没有问题。", "对方并不认可我们的报价。"]
    out = score_sentiment(texts)
    assert out["score"].between(-1, 1).all()
    assert out["label"].tolist() == ["positive", "negative", "neutral", "positive", "negative"]
    assert out["score"].iloc[0] > out["score"].iloc[3] > 0  # strong praise beats a negated complaint
    acc = sentiment_accuracy(out["label"].tolist(), ["positive", "negative", "neutral", "neutral", "negative"])
    assert acc["accuracy"] == pytest.approx(0.8)
    assert acc["recall_neutral"] == 0.5
    with pytest.raises(ValueError):
        sentiment_accuracy(["positive"], [])


def test_tokenize_drops_stopwords():
    toks = tokenize("我们的客户反映交货延迟，而且价格太贵了！")
    assert "交货" in toks and "我们" not in toks and "，" not in toks


def test_hot_words_week_over_week():
    rows = []
    for _ in range(3):
        rows.append(("竞品A", "2026-03-02", "竞品A交货延迟严重，物流很慢"))
    rows.append(("竞品A", "2026-03-04", "竞品A价格贵，报价太高"))
    for _ in range(5):
        rows.append(("竞品A", "2026-03-10", "竞品A价格偏高，客户嫌报价太贵"))
    rows.append(("竞品B", "2026-03-10", "竞品B售后服务态度差，售后响应慢"))
    df = pd.DataFrame(rows, columns=["competitor", "date", "text"])
    hw = complaint_hot_words(df, n_clusters=3)
    t = hw.terms.set_index(["competitor", "week", "term"])
    w1, w2 = pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-09")
    assert t.loc[("竞品A", w2, "价格"), "count"] == 5
    assert t.loc[("竞品A", w2, "价格"), "prev_count"] == 1
    assert t.loc[("竞品A", w2, "价格"), "wow_change"] == 4
    assert t.loc[("竞品A", w1, "交货"), "wow_change"] == 3
    assert len(hw.clusters) == 3 and hw.clusters["size"].sum() == len(df)
    # the price complaints share one cluster whose label names price terms
    price = hw.assignments.loc[df["text"].str.contains("价格"), "cluster"].unique()
    assert len(price) == 1
    label = hw.clusters.set_index("cluster").loc[price[0], "label"]
    assert any(w in label for w in ("价格", "报价", "太贵", "上涨"))
    with pytest.raises(ValueError, match="unparseable"):
        complaint_hot_words(pd.DataFrame({"competitor": ["A"], "date": ["not a date"], "text": ["x"]}))


def test_influence_graph_centrality():
    visits = pd.DataFrame({"visit_id": [1, 1, 1, 2, 2, 3, 3, 4],
                           "stakeholder_id": ["boss", "buyer", "engineer", "boss", "buyer", "boss", "cfo", "loner"]})
    notes = pd.DataFrame({"note_id": [10, 10], "stakeholder_id": ["cfo", "engineer"]})
    g = influence_graph(visits, notes)
    edges = g.edges.set_index(["source", "target"])
    assert edges.loc[("boss", "buyer"), "weight"] == 2
    assert edges.loc[("cfo", "engineer"), "weight"] == 0.5
    assert g.nodes.iloc[0]["stakeholder_id"] == "boss"  # the most connected person leads by pagerank
    loner = g.nodes.set_index("stakeholder_id").loc["loner"]
    assert loner["degree"] == 0 and loner["betweenness"] == 0
