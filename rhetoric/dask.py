"""Tagging beyond one machine with Dask (`pip install "rhetoric-tagger[dask]"`).

The same code runs on a laptop's `distributed.LocalCluster` and on a real
cluster: every partition is tagged by a module-level function that gets its
Tagger from `rhetoric.batch.cached_tagger`, so each worker process reads the
model once, whatever the number of partitions. Results are plain dicts (a bag)
or plain rows (a data frame), never Python objects with methods.

    import dask.bag as db
    import dask.dataframe as dd
    from rhetoric.dask import tag_bag, tag_dataframe

    texts = db.read_text("corpus/*.jsonl").map(json.loads).pluck("body")   # or any bag of str
    tag_bag(texts).map(lambda r: len(r["tags"])).sum().compute()
    tags = tag_dataframe(dd.read_parquet("posts/"), "body", id_col="id")  # one row per tag

On a cluster, `model` must be a folder every worker can read (or None for the
model shipped with the package installed on the workers).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhetoric.batch import ROW_DTYPES, cached_tagger
from rhetoric.batch import tag_dataframe as _tag_pandas_frame
from rhetoric.tagger import DEFAULT_BATCH_SIZE

if TYPE_CHECKING:
    import dask.bag
    import dask.dataframe
    import pandas as pd


def tag_bag(texts: dask.bag.Bag, model: str | None = None, *, threshold: float | None = None,
            rules_only: bool = False, with_ids: bool = False, on_error: str = "raise",
            batch_size: int = DEFAULT_BATCH_SIZE) -> dask.bag.Bag:
    """A bag of result dicts (`Result.to_dict()`: sentences, tags, and `error`
    for a skipped bad item), one per text, in the bag's order. With
    `with_ids`, items are `(id, text)` pairs and each dict gets an `id`."""
    # through Any: dask's map_partitions is untyped in some releases and typed in others
    map_partitions: Any = texts.map_partitions
    bag: dask.bag.Bag = map_partitions(_tag_partition, model, threshold, rules_only, with_ids, on_error,
                                       batch_size)
    return bag


def _tag_partition(items: Any, model: str | None, threshold: float | None, rules_only: bool, with_ids: bool,
                   on_error: str, batch_size: int) -> list[dict[str, Any]]:
    tagger = cached_tagger(model, threshold, rules_only)
    pairs = ((item[1], item[0]) if with_ids else (item, None) for item in items)
    out = []
    for result, doc_id in tagger.tag_many(pairs, batch_size=batch_size, as_tuples=True, on_error=on_error):
        out.append({"id": doc_id, **result.to_dict()} if with_ids else result.to_dict())
    return out


def tag_dataframe(df: dask.dataframe.DataFrame, text_col: str, id_col: str | None = None, *,
                  model: str | None = None, threshold: float | None = None, rules_only: bool = False,
                  on_error: str = "raise") -> dask.dataframe.DataFrame:
    """One row per tag of the texts in `df[text_col]`, partition by partition:
    the columns of `rhetoric.tag_dataframe` (id from `id_col`, or the index)."""
    map_partitions: Any = df.map_partitions  # see tag_bag
    frame: dask.dataframe.DataFrame = map_partitions(_tag_frame_partition, text_col, id_col, model, threshold,
                                                     rules_only, on_error, meta=empty_rows())
    return frame


def _tag_frame_partition(part: pd.DataFrame, text_col: str, id_col: str | None, model: str | None,
                         threshold: float | None, rules_only: bool, on_error: str) -> pd.DataFrame:
    tagger = cached_tagger(model, threshold, rules_only)
    return _tag_pandas_frame(part, text_col, id_col, tagger=tagger, on_error=on_error)


def empty_rows() -> pd.DataFrame:
    """The columns and types of the tag rows, with no rows: Dask's `meta`."""
    import pandas as pd

    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in ROW_DTYPES.items()})


__all__ = ["empty_rows", "tag_bag", "tag_dataframe"]
