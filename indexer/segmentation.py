"""Word segmentation for lexical matching: jieba with a legal dictionary and stop words.

Each :class:`Segmenter` owns a private ``jieba.Tokenizer`` (never the global
one, so loading our dictionary cannot change anybody else's segmentation)
with a user dictionary of legal and policy terms (个人破产, 繁简分流, 认罪认罚,
执行难…) so they stay whole.  Search mode also yields their sub-words, so a
query for 破产 still meets 个人破产.

Text is normalised before it is cut: full-width forms folded (NFKC),
traditional characters converted to simplified, Latin letters lower-cased.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from functools import cached_property
from pathlib import Path

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
USER_DICT = DATA_DIR / "legal_terms.txt"
STOP_WORDS = DATA_DIR / "stopwords.txt"

_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def read_word_list(path: Path) -> list[str]:
    """Lines of a word-list file, without comments and blanks."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(line)
    return words


class _T2S:
    """Traditional → simplified conversion, created on first use (thread-safe).

    The pure-Python OpenCC costs ~1 ms per measure; almost every text here is
    already simplified, so a text is only converted when it contains a
    character that some conversion rule can change.  That set is derived
    from OpenCC's own t2s dictionaries, so skipping is exact, not a heuristic.
    """

    _lock = threading.Lock()
    _cc = None
    _changeable: re.Pattern[str] | None = None

    @classmethod
    def _load(cls) -> None:
        import opencc

        folder = Path(opencc.__file__).parent / "dictionary"
        chars: set[str] = set()
        for name in ("TSCharacters.txt", "TSPhrases.txt"):
            for line in (folder / name).read_text(encoding="utf-8").splitlines():
                key, _, values = line.partition("\t")
                target = values.split(" ")[0]
                if not key or target == key:
                    continue
                if len(target) == len(key):
                    chars.update(a for a, b in zip(key, target, strict=True) if a != b)
                else:
                    chars.update(key)
        cls._changeable = re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")
        cls._cc = opencc.OpenCC("t2s")

    @classmethod
    def convert(cls, text: str) -> str:
        if text.isascii():
            return text
        if cls._cc is None:
            with cls._lock:
                if cls._cc is None:
                    cls._load()
        assert cls._changeable is not None
        if not cls._changeable.search(text):
            return text
        return cls._cc.convert(text)


def normalise(text: str) -> str:
    """Fold full-width forms, drop control characters, convert to simplified, lower-case."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    return _T2S.convert(text).lower()


class Segmenter:
    """Cuts text into index tokens: jieba search mode, legal dictionary, stop words removed."""

    def __init__(self, user_dict: Path = USER_DICT, stop_words: Path = STOP_WORDS) -> None:
        self.user_dict = user_dict
        self.stop_words = frozenset(read_word_list(stop_words))
        self._words = read_word_list(user_dict)
        self._lock = threading.Lock()
        self._tokenizer = None

    @cached_property
    def fingerprint(self) -> str:
        """Identifies the segmentation: jieba version, dictionary and stop words."""
        import jieba

        h = hashlib.sha256(f"jieba {jieba.__version__}\n".encode())
        h.update("\n".join(self._words).encode())
        h.update(b"\x00")
        h.update("\n".join(sorted(self.stop_words)).encode())
        return h.hexdigest()[:16]

    @cached_property
    def dictionary_sha256(self) -> str:
        """SHA-256 of the legal dictionary file (an index records the one it was built with)."""
        return hashlib.sha256(self.user_dict.read_bytes()).hexdigest()

    def _jieba(self):  # noqa: ANN202 - jieba has no types
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tk = jieba.Tokenizer()
                    tk.initialize()
                    for word in self._words:
                        tk.add_word(word)  # frequency chosen by jieba so the word is kept whole
                    self._tokenizer = tk
        return self._tokenizer

    def words(self, text: str) -> list[str]:
        """Content words of ``text`` in order (precise mode, stop words and punctuation out)."""
        return [w for w in self._jieba().lcut(normalise(text), HMM=True) if self._keep(w)]

    def tokens(self, text: str) -> list[str]:
        """Index tokens of ``text``: search mode (whole terms and their sub-words), stop words out."""
        return [w for w in self._jieba().lcut_for_search(normalise(text), HMM=True) if self._keep(w)]

    def _keep(self, w: str) -> bool:
        w = w.strip()
        return bool(w) and w not in self.stop_words and bool(_TOKEN_OK.search(w))


_DEFAULT: Segmenter | None = None
_DEFAULT_LOCK = threading.Lock()


def default_segmenter() -> Segmenter:
    """The process-wide segmenter with the bundled dictionary (jieba loads once)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Segmenter()
        return _DEFAULT
