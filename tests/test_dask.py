"""rhetoric.dask on a distributed.LocalCluster: the code a real cluster runs."""
from __future__ import annotations

import pytest

from rhetoric import batch

pytest.importorskip("dask")
pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from rhetoric.dask import tag_bag, tag_dataframe  # noqa: E402

TEXTS = [f"The shameful elites betrayed us! Case {i}." if i % 2 else f"Is this really a coincidence, {i}?"
         for i in range(12)]


@pytest.fixture(scope="module")
def client():
    # In-process workers (threads): the same graph and serialization paths as
    # a cluster, started in well under a second.
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


def test_bag_of_texts_gives_one_dict_per_text_in_order(client, toy_model_dir, toy_tagger, monkeypatch):
    from rhetoric.tagger import Tagger

    batch.clear_tagger_cache()
    loads = []
    real_load = Tagger.load.__func__
    monkeypatch.setattr(Tagger, "load", classmethod(lambda cls, *a, **k: loads.append(a) or real_load(cls, *a, **k)))
    bag = db.from_sequence(TEXTS, npartitions=3)
    out = tag_bag(bag, str(toy_model_dir)).compute()
    assert out == [toy_tagger.tag(t).to_dict() for t in TEXTS]
    assert all(type(d) is dict for d in out)
    assert len(loads) == 1  # 3 partitions on 2 threads of one worker process: one load
    pairs = db.from_sequence(list(enumerate(TEXTS[:3])) + [(99, None)], npartitions=2)
    out = tag_bag(pairs, str(toy_model_dir), with_ids=True, on_error="skip").compute()
    assert [d["id"] for d in out] == [0, 1, 2, 99] and "NoneType" in out[-1]["error"]


def test_dataframe_column_gives_the_pandas_rows(client, toy_model_dir, toy_tagger):
    from rhetoric.batch import tag_dataframe as tag_pandas

    pdf = pd.DataFrame({"key": [f"k{i}" for i in range(len(TEXTS))], "body": TEXTS})
    ddf = dd.from_pandas(pdf, npartitions=3)
    rows = tag_dataframe(ddf, "body", id_col="key", model=str(toy_model_dir)).compute()
    expected = tag_pandas(pdf, "body", id_col="key", tagger=toy_tagger)
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), expected, check_dtype=False)
    assert len(rows) >= len(TEXTS)
