"""rhetoric.tag_dataframe: one row per tag, ids from a column or the index."""
from __future__ import annotations

import pytest

import rhetoric
from rhetoric.batch import CSV_COLUMNS

pd = pytest.importorskip("pandas")

TEXTS = ["The shameful elites betrayed us! Is this really a coincidence?", "The committee met on Tuesday.",
         "History will not forgive them."]


def expected_rows(tagger, texts, ids):
    return [(doc_id, t.device, t.start, t.end, t.text) for text, doc_id in zip(texts, ids, strict=True)
            for t in tagger.tag(text).tags]


def test_one_row_per_tag_with_ids_from_a_column(toy_tagger):
    df = pd.DataFrame({"key": ["a", "b", "c"], "body": TEXTS})
    rows = rhetoric.tag_dataframe(df, "body", id_col="key", tagger=toy_tagger)
    assert list(rows.columns) == list(CSV_COLUMNS)
    assert list(rows[["id", "device", "start", "end", "text"]].itertuples(index=False, name=None)) == \
        expected_rows(toy_tagger, TEXTS, ["a", "b", "c"])
    for row in rows.itertuples():
        assert df.set_index("key").loc[row.id, "body"][row.start:row.end] == row.text
    assert rows["error"].isna().all() and rows["score"].between(0, 1).all()


def test_ids_default_to_the_index_and_missing_cells_raise_or_give_error_rows(toy_tagger):
    df = pd.DataFrame({"body": [TEXTS[0], None, float("nan")]}, index=[10, 20, 30])
    with pytest.raises(TypeError):
        rhetoric.tag_dataframe(df, "body", tagger=toy_tagger)
    rows = rhetoric.tag_dataframe(df, "body", tagger=toy_tagger, on_error="skip")
    errors = rows[rows["error"].notna()]
    assert list(errors["id"]) == [20, 30] and errors["device"].isna().all()
    assert set(rows.loc[rows["error"].isna(), "id"]) == {10}
    with pytest.raises(KeyError, match="no column 'text'"):
        rhetoric.tag_dataframe(df, "text", tagger=toy_tagger)


def test_loads_the_model_from_a_path_once(toy_model_dir):
    from rhetoric import batch

    batch.clear_tagger_cache()
    df = pd.DataFrame({"text": TEXTS})
    first = rhetoric.tag_dataframe(df, "text", model=str(toy_model_dir))
    second = rhetoric.tag_dataframe(df, "text", model=str(toy_model_dir))
    assert first.equals(second) and len(first) and list(batch._TAGGERS) == [(str(toy_model_dir), None, False)]
