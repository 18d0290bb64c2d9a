"""Field signals from complaints and visits: complaint hot words per competitor per week (jieba + TF-IDF +
KMeans topics, week-over-week heat) and a stakeholder influence graph (co-attendance and note co-mentions)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba
import networkx as nx
import numpy as np
import pandas as pd

RESOURCES = Path(__file__).parent / "resources"
_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z]")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    words = (RESOURCES / "stopwords_zh.txt").read_text(encoding="utf-8").split()
    return frozenset(w for w in words if not w.startswith("#"))


def tokenize(text: str) -> list[str]:
    """jieba tokens without stop words, numbers, punctuation or single characters."""
    stop = stopwords()
    return [t for t in (w.strip() for w in jieba.lcut(str(text)))
            if len(t) > 1 and t not in stop and _KEEP.search(t)]


@dataclass
class HotWords:
    terms: pd.DataFrame  # competitor, week, term, count, prev_count, heat, wow_change
    clusters: pd.DataFrame  # cluster, label, size, top_terms
    assignments: pd.DataFrame  # complaint index, competitor, week, cluster, cluster_label


def _require(df: pd.DataFrame, cols: set[str], name: str) -> None:
    missing = cols - set(df.columns)
    if missing:
        raise ValueError(f"{name} is missing column(s) {sorted(missing)}")


def complaint_hot_words(complaints: pd.DataFrame, *, n_clusters: int = 6, top_terms: int = 20,
                        seed: int = 0) -> HotWords:
    """complaints: columns competitor, date (or week), text. Weeks are Monday-starting. heat = the term's
    TF-IDF weight summed over the week's complaints; wow_change = count minus the previous week's count."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    _require(complaints, {"competitor", "text"}, "complaints")
    if "week" not in complaints.columns and "date" not in complaints.columns:
        raise ValueError("complaints needs a 'date' or 'week' column")
    df = complaints.reset_index(drop=True).copy()
    dates = pd.to_datetime(df["week"] if "week" in df.columns else df["date"], errors="coerce")
    bad = dates.isna()
    if bad.any():
        raise ValueError(f"complaints row(s) {df.index[bad].tolist()[:5]} have an unparseable date/week")
    df["week"] = (dates - pd.to_timedelta(dates.dt.weekday, unit="D")).dt.normalize()
    docs = [tokenize(t) for t in df["text"].fillna("")]
    vec = TfidfVectorizer(analyzer=lambda toks: toks, min_df=1)
    x = vec.fit_transform(docs)
    vocab = np.array(vec.get_feature_names_out())

    k = max(1, min(n_clusters, x.shape[0], len(vocab)))
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x)
    cluster_rows, labels = [], {}
    for c in range(k):
        order = np.argsort(km.cluster_centers_[c])[::-1][:5]
        terms = [vocab[i] for i in order if km.cluster_centers_[c][i] > 0]
        labels[c] = "/".join(terms[:3]) or f"cluster-{c}"
        cluster_rows.append({"cluster": c, "label": labels[c], "size": int((km.labels_ == c).sum()),
                             "top_terms": ",".join(terms)})
    df["cluster"] = km.labels_
    df["cluster_label"] = df["cluster"].map(labels)

    rows = []
    for i, toks in enumerate(docs):
        weights = x[i].toarray().ravel()
        for t in set(toks):
            rows.append({"competitor": df.at[i, "competitor"], "week": df.at[i, "week"], "term": t,
                         "count": toks.count(t), "heat": float(weights[vec.vocabulary_[t]])})
    terms = pd.DataFrame(rows, columns=["competitor", "week", "term", "count", "heat"])
    if len(terms):
        terms = terms.groupby(["competitor", "week", "term"], as_index=False).agg(count=("count", "sum"),
                                                                                  heat=("heat", "sum"))
        # previous week's count of the same competitor+term (0 when absent): the week-over-week baseline
        prev = terms[["competitor", "week", "term", "count"]].copy()
        prev["week"] = prev["week"] + pd.Timedelta(days=7)
        terms = terms.merge(prev.rename(columns={"count": "prev_count"}), on=["competitor", "week", "term"],
                            how="left")
        terms["prev_count"] = terms["prev_count"].fillna(0).astype(int)
        terms["wow_change"] = terms["count"] - terms["prev_count"]
        terms["heat"] = terms["heat"].round(4)
        terms = (terms.sort_values(["competitor", "week", "heat"], ascending=[True, True, False])
                 .groupby(["competitor", "week"]).head(top_terms).reset_index(drop=True))
    else:
        terms = terms.assign(prev_count=pd.Series(dtype=int), wow_change=pd.Series(dtype=int))
    assignments = df[["competitor", "week", "cluster", "cluster_label"]].rename_axis("complaint").reset_index()
    return HotWords(terms=terms, clusters=pd.DataFrame(cluster_rows), assignments=assignments)


@dataclass
class InfluenceGraph:
    graph: nx.Graph
    nodes: pd.DataFrame  # stakeholder_id, degree, weighted_degree, pagerank, betweenness
    edges: pd.DataFrame  # source, target, weight, co_visits, co_mentions


def influence_graph(visits: pd.DataFrame, notes: pd.DataFrame | None = None, *,
                    mention_weight: float = 0.5) -> InfluenceGraph:
    """visits: visit_id, stakeholder_id (one row per attendee). notes (optional): note_id, stakeholder_id (one
    row per stakeholder mentioned). Each co-attendance adds 1 to an edge, each co-mention mention_weight."""
    _require(visits, {"visit_id", "stakeholder_id"}, "visits")
    pair_visits: dict[tuple, int] = {}
    pair_notes: dict[tuple, int] = {}
    g = nx.Graph()
    g.add_nodes_from(visits["stakeholder_id"].dropna().unique())

    def add_pairs(df: pd.DataFrame, key: str, into: dict[tuple, int]) -> None:
        for _k, grp in df.dropna(subset=["stakeholder_id"]).groupby(key):
            people = sorted(set(grp["stakeholder_id"]))
            g.add_nodes_from(people)
            for a, b in itertools.combinations(people, 2):
                into[(a, b)] = into.get((a, b), 0) + 1

    add_pairs(visits, "visit_id", pair_visits)
    if notes is not None:
        _require(notes, {"note_id", "stakeholder_id"}, "notes")
        add_pairs(notes, "note_id", pair_notes)
    for pair in set(pair_visits) | set(pair_notes):
        cv, cm = pair_visits.get(pair, 0), pair_notes.get(pair, 0)
        w = cv + mention_weight * cm
        # distance = 1/weight: strong ties are short paths for betweenness
        g.add_edge(*pair, weight=w, distance=1.0 / w, co_visits=cv, co_mentions=cm)
    pr = nx.pagerank(g, weight="weight") if g.number_of_edges() else {n: 1 / max(len(g), 1) for n in g}
    btw = nx.betweenness_centrality(g, weight="distance", normalized=True)
    nodes = pd.DataFrame([{"stakeholder_id": n, "degree": g.degree(n),
                           "weighted_degree": g.degree(n, weight="weight"),
                           "pagerank": pr.get(n, 0.0), "betweenness": btw.get(n, 0.0)} for n in g.nodes],
                         columns=["stakeholder_id", "degree", "weighted_degree", "pagerank", "betweenness"])
    nodes = nodes.sort_values("pagerank", ascending=False).reset_index(drop=True)
    edges = pd.DataFrame([{"source": min(a, b), "target": max(a, b), "weight": d["weight"], "co_visits": d["co_visits"],
                           "co_mentions": d["co_mentions"]} for a, b, d in g.edges(data=True)],
                         columns=["source", "target", "weight", "co_visits", "co_mentions"])
    return InfluenceGraph(graph=g, nodes=nodes, edges=edges)


@lru_cache(maxsize=1)
def competitors() -> tuple[str, ...]:
    """Competitor brands from resources/competitors.txt, longest first so that "庄臣泰华" wins over a prefix."""
    words = (RESOURCES / "competitors.txt").read_text(encoding="utf-8").split("\n")
    names = {w.strip() for w in words if w.strip() and not w.startswith("#")}
    for n in names:
        jieba.add_word(n)  # a brand must stay one token for the hot-word counts
    return tuple(sorted(names, key=len, reverse=True))


def find_competitor(text: str, names: tuple[str, ...] | None = None) -> str | None:
    """The first competitor brand named in text (by position), or None."""
    text = str(text or "")
    hits = [(text.find(n), n) for n in (names or competitors()) if n in text]
    return min(hits)[1] if hits else None
