"""Shared fixtures: a tiny model trained in seconds on sentences written here,
so tests exercise the real training and tagging code without the corpora."""
from __future__ import annotations

import numpy as np
import pytest

from rhetoric.devices import DEVICE_IDS
from rhetoric.rules import RuleSet
from rhetoric.train import LabelledDoc, TrainingConfig, fit_model

try:  # property tests (tests/test_properties.py): a short default run, more with
    # `--hypothesis-profile=ci-long` or RHETORIC_HYPOTHESIS_PROFILE=ci-long
    import os

    from hypothesis import HealthCheck, settings

    _SLOW_START = [HealthCheck.too_slow, HealthCheck.data_too_large]
    settings.register_profile("rhetoric-default", max_examples=200, deadline=None,
                              suppress_health_check=_SLOW_START)
    settings.register_profile("ci-long", max_examples=2000, deadline=None, suppress_health_check=_SLOW_START)
    settings.load_profile(os.environ.get("RHETORIC_HYPOTHESIS_PROFILE", "rhetoric-default"))
except ImportError:  # hypothesis is a test extra; test_properties.py skips without it
    pass

# (sentence, devices) pairs: a toy corpus, not a claim about real data.
TOY_SENTENCES = [
    ("The corrupt elites shamelessly betrayed the people.", {"loaded_language", "us_vs_them"}),
    ("This disgusting massacre of the truth must stop.", {"loaded_language"}),
    ("Their vile, shameful lies poison everything.", {"loaded_language"}),
    ("History will not forgive those who surrender now.", {"appeal_to_history"}),
    ("Our forefathers bled for this land.", {"appeal_to_history", "flag_waving"}),
    ("This is Munich 1938 all over again.", {"appeal_to_history"}),
    ("They want to destroy everything we stand for.", {"us_vs_them"}),
    ("Real patriots know who the enemy is.", {"us_vs_them", "flag_waving"}),
    ("Is this really a coincidence, or a cover-up?", {"doubt"}),
    ("Can anyone still believe a word these officials say?", {"doubt"}),
    ("The committee met on Tuesday to discuss the budget.", set()),
    ("Rainfall was slightly above average this spring.", set()),
    ("The company will release its results in March.", set()),
    ("China and the U.S. held talks in Geneva.", set()),
    ("We will publish the details in due course.", set()),
    ("The treaty was signed in 1648 after long negotiations.", set()),
]


def toy_docs(copies: int = 6) -> list[LabelledDoc]:
    """Several small documents of the toy sentences, each a document of its own
    so grouped cross-validation has groups to split."""
    docs = []
    for k in range(copies):
        text, spans = "", []
        labels = np.zeros((len(TOY_SENTENCES), len(DEVICE_IDS)), dtype=np.int8)
        for i, (sentence, devices) in enumerate(TOY_SENTENCES):
            start = len(text) + (1 if text else 0)
            text = f"{text} {sentence}" if text else sentence
            spans.append((start, len(text)))
            for d in devices:
                labels[i, DEVICE_IDS.index(d)] = 1
        docs.append(LabelledDoc(f"toy{k}", text, spans, labels))
    return docs


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return RuleSet.load()


TOY_DEVICES = ["loaded_language", "appeal_to_history", "us_vs_them", "doubt"]


@pytest.fixture(scope="session")
def toy_model(rules: RuleSet):
    """Stage 1 only: the toy documents are too uniform for a context stage to
    learn anything sensible, and the tagger tests need predictable tags."""
    return fit_model(toy_docs(), rules, TrainingConfig(folds=3, stage2=False), devices=TOY_DEVICES)


@pytest.fixture(scope="session")
def toy_model_stage2(rules: RuleSet):
    """Both stages, for the mechanics of the context stage (shapes, saving)."""
    return fit_model(toy_docs(), rules, TrainingConfig(folds=3), devices=TOY_DEVICES)


@pytest.fixture(scope="session")
def toy_tagger(toy_model, rules):
    from rhetoric.tagger import Tagger

    return Tagger(toy_model, rules)


@pytest.fixture(scope="session")
def toy_model_dir(toy_model, tmp_path_factory, rules):
    """The toy model saved as the library saves models, loadable by Tagger.load."""
    import copy

    from rhetoric import __version__
    from rhetoric.tagger import _minor
    from rhetoric.text import splitter_fingerprint

    model = copy.copy(toy_model)
    model.info = {"library_version": _minor(__version__), "rules_fingerprint": rules.fingerprint,
                  "splitter_fingerprint": splitter_fingerprint(), "training": {"ptc_articles": ["1"]}}
    return model.save(tmp_path_factory.mktemp("model"))
