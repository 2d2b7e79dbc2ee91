from __future__ import annotations

import json
from pathlib import Path

from indexer.evaluation import Question
from indexer.search import CALIBRATION_FEATURES, FEATURES, Searcher
from indexer.training import ranking_lists, train


def test_training_writes_models_over_the_search_features(hash_index: Path, tmp_path: Path) -> None:
    searcher = Searcher.open(hash_index)
    answerable = [
        Question("个人破产制度", frozenset({"gd_courts_judicial_reform_2021#5"})),
        Question("网上立案", frozenset({"rules_articles#2", "gd_courts_judicial_reform_2021#18"})),
        Question("执行款发放期限", frozenset({"notice_items#3"})),
        Question("院庭长阅核", frozenset({"reform_plan_fullwidth#1"})),
    ]
    unanswerable = [Question("明天天气怎么样", frozenset()), Question("红烧肉怎么做", frozenset())]
    lists = ranking_lists(searcher, answerable)
    assert all(X.shape[1] == len(FEATURES) and X.shape[0] == len(y) for X, y in lists)
    out = tmp_path / "ranker.json"
    ranker, calibrator = train(searcher, answerable, unanswerable, out=out)
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["ranker"]["features"] == list(FEATURES)
    assert saved["calibrator"]["features"] == list(CALIBRATION_FEATURES)
    assert ranker.info["questions"] == 4 and 0 < calibrator.threshold < 1
