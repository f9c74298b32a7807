"""Character n-grams most predictive of the label, and n-grams found in one class only.

n-grams are ranked by the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi &
Quinn 2008); warn when an n-gram absent from one class covers `exclusive_warn_share` of the other.
n-grams are the text's substrings as written (char_ngrams: no whitespace folded, `\\r` kept), so a
reported n-gram's record counts are the numbers of records that contain it; reports show them with
escapes (fraudft.audit.features.show), e.g. "。\\r" for a full stop before a CRLF line ending.
"""

from __future__ import annotations

import functools

import numpy as np

from fraudft.audit.config import AuditConfig
from fraudft.audit.features import Split, pct, show
from fraudft.audit.registry import check
from fraudft.audit.report import Finding


def render_ngrams(figures: dict) -> list[str]:
    if not figures:
        return []
    out = []
    for name in ("fraud", "not_fraud"):
        cells = [f"{show(r['ngram'])} z={r['z']:+.1f} ({r['fraud_records']}/{r['not_fraud_records']})" for r in figures[name]]
        out.append(f"top {name.replace('_', ' ')} (z, records fraud/not fraud): " + ", ".join(cells))
    for name, rows in figures["exclusive"].items():
        if rows:
            cells = [f"{show(r['ngram'])} {r[name + '_records']} ({pct(r['share_of_class'])})" for r in rows[:10]]
            out.append(f"only in {name.replace('_', ' ')} records: " + ", ".join(cells))
    return out


def char_ngrams(text: str, n_max: int) -> list[str]:
    """Every substring of `text` of 1 to n_max characters, overlapping, in order of length then place.

    Unlike scikit-learn's `analyzer="char"`, which folds each whitespace run to one space (so that it
    reports "。 " for the "。\\r\\n" of CRLF records, found in none), the text is taken as written.
    """
    return [text[i:i + n] for n in range(1, n_max + 1) for i in range(len(text) - n + 1)]


@check("ngrams", title="Character n-grams most predictive of the label", render=render_ngrams,
       needs_both_classes=True)
def check_ngrams(split: Split, config: AuditConfig) -> Finding:
    from sklearn.feature_extraction.text import CountVectorizer

    texts = [r["input"] for r in split.records]
    vectorizer = CountVectorizer(analyzer=functools.partial(char_ngrams, n_max=config.ngram_max_n), dtype=np.int32)
    try:
        x = vectorizer.fit_transform(texts).tocsc()
    except ValueError:  # nothing but empty inputs
        return Finding("ngrams", split.name, "info", "no characters to count", {})
    vocab = vectorizer.get_feature_names_out()
    xf, xn = x[split.labels], x[~split.labels]
    y_f = np.asarray(xf.sum(axis=0)).ravel().astype(float)
    y_n = np.asarray(xn.sum(axis=0)).ravel().astype(float)
    keep = ((y_f + y_n) >= config.ngram_min_count) & np.array([bool(g.strip()) for g in vocab])
    idx = np.flatnonzero(keep)
    if len(idx) < 2:  # the log-odds ratio compares an n-gram with the rest of the vocabulary
        return Finding("ngrams", split.name, "info", f"{len(idx)} n-gram(s) seen often enough to compare", {})
    vocab, y_f, y_n = vocab[idx], y_f[idx], y_n[idx]
    df_f = np.asarray((xf[:, idx] > 0).sum(axis=0)).ravel()
    df_n = np.asarray((xn[:, idx] > 0).sum(axis=0)).ravel()
    # Monroe, Colaresi & Quinn (2008): log-odds ratio with an informative Dirichlet prior (the pooled
    # counts, scaled), divided by its approximate standard deviation.
    alpha = config.ngram_prior_scale * (y_f + y_n)
    a0, n_f, n_n = alpha.sum(), y_f.sum(), y_n.sum()
    delta = np.log((y_f + alpha) / (n_f + a0 - y_f - alpha)) - np.log((y_n + alpha) / (n_n + a0 - y_n - alpha))
    z = delta / np.sqrt(1 / (y_f + alpha) + 1 / (y_n + alpha))
    n_fraud, n_not = int(split.labels.sum()), int((~split.labels).sum())

    def row(i: int) -> dict:
        return {"ngram": str(vocab[i]), "z": float(z[i]), "fraud_count": int(y_f[i]), "not_fraud_count": int(y_n[i]),
                "fraud_records": int(df_f[i]), "not_fraud_records": int(df_n[i])}

    def alike(i: int, j: int) -> bool:  # about the same records in each class
        return all(abs(int(a[i]) - int(a[j])) <= max(2, 0.1 * max(a[i], a[j])) for a in (df_f, df_n))

    def top(order) -> list[dict]:
        """The first top_k n-grams of `order`, one per family: a part of a listed n-gram is skipped,
        and a longer n-gram found in about the same records replaces the shorter one it contains."""
        chosen: list[int] = []
        for i in order:
            gram = str(vocab[i])
            if any(gram in str(vocab[c]) for c in chosen):
                continue
            parts = [k for k, c in enumerate(chosen) if str(vocab[c]) in gram and alike(i, c)]
            if parts:
                chosen[parts[0]] = i
                chosen = [c for k, c in enumerate(chosen) if k not in parts[1:]]
                continue
            if len(chosen) == config.ngram_top_k:
                break
            chosen.append(i)
        return [row(i) for i in chosen]

    exclusive, level, notes = {}, "info", []
    for name, mine, other, size in (("fraud", df_f, df_n, n_fraud), ("not_fraud", df_n, df_f, n_not)):
        hits = np.flatnonzero((mine >= config.exclusive_min_records) & (other == 0))
        rows = top(hits[np.argsort(-mine[hits], kind="stable")])
        for r in rows:
            r["share_of_class"] = r[f"{name}_records"] / size
        exclusive[name] = rows
        strong = [r for r in rows if r["share_of_class"] >= config.exclusive_warn_share]
        if strong:
            level = "warn"
            notes.append(
                f"{show(strong[0]['ngram'])} in {pct(strong[0]['share_of_class'])} of {name.replace('_', '-')} "
                f"records and none of the other class"
            )
    figures = {
        "fraud": top(np.argsort(-z, kind="stable")),
        "not_fraud": top(np.argsort(z, kind="stable")),
        "exclusive": exclusive,
        "vocabulary": len(vocab),
    }
    lead = ", ".join(show(r["ngram"]) for r in figures["fraud"][:5])
    lead_n = ", ".join(show(r["ngram"]) for r in figures["not_fraud"][:5])
    verdict = f"most fraud-like: {lead}; most not-fraud-like: {lead_n}"
    if notes:
        verdict = "; ".join(notes) + f" ({verdict})"
    return Finding("ngrams", split.name, level, verdict, figures)
