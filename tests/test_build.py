from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer.build import build_index, is_stale
from indexer.encoders import HashEncoder
from indexer.fusion import FusionModels, LinearRanker
from indexer.store import load_index, publish_models

from .conftest import DATA, REFORM_PLAN


class CountingEncoder(HashEncoder):
    """The hash encoder, counting what it is asked to embed."""

    def __init__(self) -> None:
        super().__init__(64)
        self.embedded: list[str] = []

    def encode_passages(self, texts):
        self.embedded.extend(texts)
        return super().encode_passages(texts)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    c = tmp_path / "corpus"
    shutil.copytree(DATA, c)
    return c


def test_first_build_embeds_sentences_titles_and_document_titles_once(corpus: Path, tmp_path: Path) -> None:
    enc = CountingEncoder()
    report = build_index(corpus, tmp_path / "index", encoder=enc)
    assert report.documents == 3 and report.chunks == 11 + 3 and not report.up_to_date  # 11 measures, 3 preambles
    assert len(enc.embedded) == len(set(enc.embedded)) == report.texts_embedded
    assert "某某法院诉讼服务规则" in enc.embedded  # a document title
    assert "完善院庭长阅核制度" in enc.embedded  # a measure title
    assert "第一条" not in enc.embedded and not any(t.startswith("第一条") for t in enc.embedded)


def test_unchanged_corpus_is_up_to_date(corpus: Path, tmp_path: Path) -> None:
    build_index(corpus, tmp_path / "index", model="hash")
    again = build_index(corpus, tmp_path / "index", model="hash")
    assert again.up_to_date and again.texts_embedded == 0


def test_changing_one_document_re_embeds_only_its_new_text(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    before = load_index(index)
    doc = corpus / "rules_articles.html"
    doc.write_text(
        doc.read_text(encoding="utf-8").replace("诉讼服务应当便民、高效、公开。", "诉讼服务应当便民、高效、公开、智能。"), encoding="utf-8"
    )
    enc = CountingEncoder()
    report = build_index(corpus, index, encoder=enc)
    assert report.changed == ("rules_articles",) and not report.added and not report.removed
    assert enc.embedded == ["诉讼服务应当便民、高效、公开、智能。"]
    assert report.texts_reused > 20
    after = load_index(index)
    assert after.version != before.version
    # unchanged chunks keep identical vectors
    i = next(i for i, c in enumerate(after.chunks) if c.chunk_id == "notice_items#2")
    j = next(i for i, c in enumerate(before.chunks) if c.chunk_id == "notice_items#2")
    np.testing.assert_array_equal(after.dense.vectors(np.array([i])), before.dense.vectors(np.array([j])))


def test_texts_whose_key_ends_in_a_zero_byte_are_reused(corpus: Path, tmp_path: Path) -> None:
    # numpy's fixed-width bytes drop trailing NULs: such keys once missed the cache on every build
    sentence = "第95号试点法院应当公开审判流程信息。"
    assert hashlib.sha1(sentence.encode()).digest()[-1] == 0
    (corpus / "pilot.txt").write_text(f"试点规定\n第一条 {sentence}\n第二条 本规定自公布之日起施行。\n", encoding="utf-8")
    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    (corpus / "extra.txt").write_text("补充规定\n第一条 补充规定的内容。\n", encoding="utf-8")
    enc = CountingEncoder()
    build_index(corpus, index, encoder=enc)
    assert sentence not in enc.embedded
    assert sorted(enc.embedded) == sorted(["补充规定", "补充规定的内容。"])


def test_added_and_removed_documents(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    (corpus / "notice_items.md").unlink()
    shutil.copy(REFORM_PLAN, corpus)
    report = build_index(corpus, index, model="hash")
    assert report.added == ("gd_courts_judicial_reform_2021",) and report.removed == ("notice_items",)
    assert report.chunks == 4 + 4 + 24 + 3  # measures, and the preamble of each document


def test_bad_files_are_skipped_and_reported(corpus: Path, tmp_path: Path) -> None:
    (corpus / "broken.pdf").write_bytes(b"not a pdf")
    report = build_index(corpus, tmp_path / "index", model="hash")
    assert report.documents == 3
    assert [Path(s.path).name for s in report.skipped] == ["broken.pdf"]
    assert load_index(tmp_path / "index").manifest["skipped"][0]["reason"].startswith("not a PDF")


def test_is_stale_tracks_corpus_changes(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    assert is_stale(corpus, index)
    build_index(corpus, index, model="hash")
    assert not is_stale(corpus, index)
    (corpus / "notice_items.md").unlink()
    assert is_stale(corpus, index)


def test_progress_callback_reports_counts(corpus: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    build_index(corpus, tmp_path / "index", model="hash", on_progress=lambda done, total, _: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] > 0


def _trained(model_id: str = "hash-64") -> FusionModels:
    ranker = LinearRanker(("bm25", "sentence"), np.zeros(2), np.ones(2), np.array([1.0, 2.0]), {"encoder": model_id})
    return FusionModels.make(model_id, ranker, None)


def test_trained_models_survive_document_updates_and_a_forced_rebuild_resets_them(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    models = _trained()
    publish_models(index, models)
    assert not is_stale(corpus, index)
    assert build_index(corpus, index, model="hash").up_to_date
    (corpus / "notice_items.md").unlink()
    build_index(corpus, index, model="hash")
    kept = load_index(index)
    assert kept.models is not None and kept.models.sha256 == models.sha256 and kept.manifest["ranker"]["origin"] == "trained"
    build_index(corpus, index, model="hash", force=True)
    # the package ships no models for the test encoder
    assert load_index(index).models is None


def test_trained_models_fitted_with_another_associations_table_are_not_kept(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    stale = LinearRanker(("bm25", "assoc_bm25"), np.zeros(2), np.ones(2), np.ones(2), {"associations": "0" * 64})
    publish_models(index, FusionModels.make("hash-64", stale, None))
    (corpus / "notice_items.md").unlink()
    build_index(corpus, index, model="hash")
    # refused by the searcher, so the rebuild falls back to the package's (none for the test encoder)
    assert load_index(index).models is None


def test_trained_models_that_carry_their_own_associations_are_kept(corpus: Path, tmp_path: Path) -> None:
    from indexer.associations import Associations

    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    text = "# mined from a court's questions\n老赖\t执行:1\n"
    ranker = LinearRanker(
        ("bm25", "assoc_bm25"), np.zeros(2), np.ones(2), np.ones(2), {"associations": Associations.from_text(text).sha256}
    )
    models = FusionModels.make("hash-64", ranker, None, associations=text)
    publish_models(index, models)
    (corpus / "notice_items.md").unlink()
    build_index(corpus, index, model="hash")
    kept = load_index(index).models
    assert kept is not None and kept.sha256 == models.sha256 and kept.associations == text


def test_the_package_defaults_serve_a_new_index_of_their_encoder(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.fusion

    shipped = tmp_path / "models"
    shipped.mkdir()
    default = _trained().with_origin("default")
    default.save(shipped / "hash-64.json")
    monkeypatch.setattr(indexer.fusion, "MODELS_DIR", shipped)
    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    data = load_index(index)
    assert data.models is not None and data.models.sha256 == default.sha256 and data.manifest["ranker"]["origin"] == "default"
    # new defaults reach an index that serves the old ones at its next build
    ranker = LinearRanker(("sentence", "bm25"), np.zeros(2), np.ones(2), np.array([1.0, 0.5]), {})
    newer = FusionModels.make("hash-64", ranker, None, origin="default")
    assert newer.sha256 != default.sha256
    newer.save(shipped / "hash-64.json")
    assert is_stale(corpus, index)
    report = build_index(corpus, index, model="hash")
    assert not report.up_to_date and report.texts_embedded == 0
    assert load_index(index).models.sha256 == FusionModels.load(shipped / "hash-64.json").sha256  # type: ignore[union-attr]


def test_a_changed_thesaurus_makes_the_index_stale_and_a_rebuild_embeds_nothing(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import indexer.build

    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    monkeypatch.setattr(indexer.build, "thesaurus_sha256", lambda: "f" * 64)
    assert is_stale(corpus, index)
    report = build_index(corpus, index, model="hash")
    assert not report.up_to_date and report.texts_embedded == 0
    assert load_index(index).manifest["thesaurus"]["sha256"] == "f" * 64


def test_empty_corpus_is_a_clear_error(tmp_path: Path) -> None:
    from indexer.errors import BadInputError

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "broken.pdf").write_bytes(b"nope")
    with pytest.raises(BadInputError, match="no readable documents"):
        build_index(tmp_path / "corpus", tmp_path / "index", model="hash")


def _chunk_dicts(index: Path) -> list[dict]:
    return [c.to_dict() for c in load_index(index).chunks]


def test_a_rebuild_parses_only_changed_files_and_matches_a_full_build(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import indexer.loading as loading

    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    shutil.copy(REFORM_PLAN, corpus)
    parsed: list[str] = []
    real = loading.parse_document
    monkeypatch.setattr(loading, "parse_document", lambda data, path, *a: parsed.append(Path(path).name) or real(data, path, *a))
    report = build_index(corpus, index, model="hash")
    assert report.added == ("gd_courts_judicial_reform_2021",)
    assert parsed == ["gd_courts_judicial_reform_2021.txt"]
    monkeypatch.undo()
    fresh = tmp_path / "fresh"
    build_index(corpus, fresh, model="hash")
    assert _chunk_dicts(index) == _chunk_dicts(fresh)
    assert load_index(index).manifest["documents"] == load_index(fresh).manifest["documents"]


def test_chunks_from_other_parsing_code_are_not_reused(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.build as build
    import indexer.loading as loading

    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    monkeypatch.setattr(build, "parser_fingerprint", lambda: "other-code")
    parsed: list[str] = []
    real = loading.parse_document
    monkeypatch.setattr(loading, "parse_document", lambda data, path, *a: parsed.append(Path(path).name) or real(data, path, *a))
    build_index(corpus, index, model="hash", force=True)
    assert len(parsed) == 3


def test_new_parsing_code_rebuilds_without_force(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an index cut by older chunking code (say, with 第X条之一 merged into article X) is brought up to date
    import indexer.build as build

    index = tmp_path / "index"
    build_index(corpus, index, model="hash")
    monkeypatch.setattr(build, "parser_fingerprint", lambda: "other-code")
    assert is_stale(corpus, index)
    report = build_index(corpus, index, model="hash")
    assert not report.up_to_date and report.texts_embedded == 0  # re-cut, every text reused
    assert build_index(corpus, index, model="hash").up_to_date


def test_documents_with_body_text_in_no_chunk_are_flagged(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import indexer.build as build
    from indexer.catalog import list_documents
    from indexer.chunking import segment_document
    from indexer.search import Searcher

    def misread(doc):  # a chunker that drops the measures of one document, as a misreading would
        layout = segment_document(doc)
        if doc.doc_id != "rules_articles":
            return layout
        keep = [i for i, c in enumerate(layout.chunks) if c.measure_no <= 1]
        owner = tuple(keep.index(o) if o in keep else -1 for o in layout.owner)
        return dataclasses.replace(layout, owner=owner, chunks=tuple(layout.chunks[i] for i in keep))

    monkeypatch.setattr(build, "segment_document", misread)
    index = tmp_path / "index"
    report = build_index(corpus, index, model="hash")
    (flag,) = report.unchunked
    assert flag[:2] == ("rules_articles", 5) and flag[2] > 30  # articles 2–4, with their sub-items
    assert report.to_dict()["unchunked"] == [{"doc_id": "rules_articles", "paragraphs": 5, "chars": flag[2]}]
    meta = load_index(index).manifest["documents"]["rules_articles"]
    assert "5 段未归入任何条款" in meta["warnings"] and meta["coverage"]["lost_paragraphs"] == 5
    assert meta["measures"] == 1 and meta["coverage"]["unchunked_by_role"]["measure"] == 5
    info = {d.doc_id: d for d in list_documents(Searcher.open(index))}
    assert info["rules_articles"].unchunked == 5 and "5 段未归入任何条款" in info["rules_articles"].row()["提示"]
    assert info["notice_items"].unchunked == 0 and "未归入" not in info["notice_items"].row()["提示"]
    # an up-to-date build still says so
    assert build_index(corpus, index, model="hash").unchunked == report.unchunked


def _live(index: Path) -> Path:
    return index / (index / "CURRENT").read_text(encoding="utf-8").strip()


def test_a_rebuild_after_damage_reuses_every_verified_embedding(corpus: Path, tmp_path: Path) -> None:
    """Issue 13.5: only dense.faiss damaged → 重建索引 embeds nothing again."""
    index = tmp_path / "index"
    first = build_index(corpus, index, encoder=CountingEncoder())
    dense = _live(index) / "dense.faiss"
    dense.write_bytes(dense.read_bytes()[:100])
    enc = CountingEncoder()
    report = build_index(corpus, index, encoder=enc, force=True)
    assert enc.embedded == [] and report.texts_reused == first.texts_embedded
    load_index(index)  # and the new version is whole


def test_vectors_come_from_any_intact_version(corpus: Path, tmp_path: Path) -> None:
    """A damaged live units.npy: the vectors of the previous version (checked against its own manifest) are used."""
    index = tmp_path / "index"
    build_index(corpus, index, encoder=CountingEncoder())
    (corpus / "extra.txt").write_text("补充规定\n\n第一条 人民法院应当公开审判流程信息。\n", encoding="utf-8")
    build_index(corpus, index, encoder=CountingEncoder())
    units = _live(index) / "units.npy"
    units.write_bytes(units.read_bytes()[:-64] + bytes(64))  # same size, other bytes
    enc = CountingEncoder()
    build_index(corpus, index, encoder=enc, force=True)
    # only the texts the older version never had are embedded again
    assert sorted(enc.embedded) == sorted({"人民法院应当公开审判流程信息。", "补充规定"})
