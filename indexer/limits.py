"""Work limits per document: what a real policy library never reaches, and hostile files do.

The page parses uploads in the server process and a build embeds every
sentence, so a single file must not be able to take minutes of CPU or
gigabytes of memory.  The figures below are far above the largest real
documents (measured on the shared corpora: 民法典 has 107k characters, no
measure more than 35 sentences, no sentence more than 282 characters, no title
more than 74) and far below what would stall a build.

A document beyond a limit is refused with :class:`DocumentTooLargeError`,
whose ``kind`` is one of :data:`LIMIT_KINDS` and ``limit`` the value crossed;
a build skips it with that reason, the page shows a Chinese message for it.
"""

from __future__ import annotations

from .errors import DocumentTooLargeError
from .schema import Document

#: characters of body text per document (about 3× 民法典; embedding it takes a few minutes)
MAX_DOCUMENT_CHARS = 300_000
#: sentences per measure (the largest real one has 35); every query that finds a measure reads them all
MAX_SENTENCES_PER_MEASURE = 1_000
#: characters per sentence: longer runs are split (at a comma where possible) before they are
#: embedded, since the encoder reads at most 512 tokens anyway
MAX_SENTENCE_CHARS = 500
#: characters of a title; a longer first line is body text, and the title its first part
MAX_TITLE_CHARS = 200
#: uncompressed bytes of a .docx's body XML: 40 bytes of XML per character at the character
#: limit (Word writes 5–30); 12 MiB of the smallest paragraphs XML allows take about 4 s to read
MAX_DOCX_XML_BYTES = 12 * 1024 * 1024
#: uncompressed bytes of all members of a .docx together (images included)
MAX_DOCX_TOTAL_BYTES = 200 * 1024 * 1024
#: pages of a PDF (at the character limit a page would hold 100 characters)
MAX_PDF_PAGES = 3_000
#: start tags of an HTML page (a long law page has a few thousand; BeautifulSoup needs about
#: 0.1 ms for each, so 30,000 take about 3 s, more on a busy machine)
MAX_HTML_TAGS = 30_000
#: members of a .docx zip (a real one has tens, a few hundred with many images)
MAX_DOCX_MEMBERS = 2_000

#: the ``kind`` of each refusal, with the limit it names
LIMIT_KINDS = {
    "document_chars": MAX_DOCUMENT_CHARS,
    "measure_sentences": MAX_SENTENCES_PER_MEASURE,
    "docx_xml_bytes": MAX_DOCX_XML_BYTES,
    "docx_total_bytes": MAX_DOCX_TOTAL_BYTES,
    "docx_members": MAX_DOCX_MEMBERS,
    "pdf_pages": MAX_PDF_PAGES,
    "html_tags": MAX_HTML_TAGS,
}


def too_large(path: str, kind: str, reason: str) -> DocumentTooLargeError:
    """The refusal for crossing limit ``kind``."""
    limit = LIMIT_KINDS[kind]
    return DocumentTooLargeError(path, reason, kind=kind, limit=limit, shown=f"{limit // 2**20}" if kind.endswith("_bytes") else None)


def check_characters(path: str, paragraphs: list[str] | tuple[str, ...]) -> None:
    """Refuse a body longer than :data:`MAX_DOCUMENT_CHARS`."""
    n = sum(len(p) for p in paragraphs)
    if n > MAX_DOCUMENT_CHARS:
        raise too_large(
            path,
            "document_chars",
            f"the text is too long ({n:,} characters, the limit is {MAX_DOCUMENT_CHARS:,}); split it into smaller documents",
        )


def check_document(doc: Document) -> None:
    """Refuse a document whose chunks cross a limit (characters, sentences per measure).

    Chunking a document within the character limit takes well under a second,
    so the check cuts it the way a build will.
    """
    from .chunking import segment_document

    check_characters(doc.path, doc.paragraphs)
    for chunk in segment_document(doc).chunks:
        if len(chunk.sentences) > MAX_SENTENCES_PER_MEASURE:
            raise too_large(
                doc.path,
                "measure_sentences",
                f"measure {chunk.chunk_id} has {len(chunk.sentences):,} sentences, the limit is {MAX_SENTENCES_PER_MEASURE:,}; "
                "split it into smaller documents",
            )
