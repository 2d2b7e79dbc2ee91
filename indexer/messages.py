"""What the page tells its users, in Chinese, keyed by the kind of error, refusal or warning.

The library raises English errors for the CLI; each carries a ``kind`` (see
:mod:`indexer.errors`) and ``fields``.  The page shows :func:`error_text` of
the error instead: the catalogue entry of its kind, filled with its fields.
Skipped files (``Skipped.kind``) and document warnings (codes in
``Document.warnings``) are shown the same way with :func:`text`.

Adding a kind: raise ``SomeIndexerError("English message", kind="my_kind",
field=value)`` and add ``"my_kind": "中文……{field}……"`` below.  Entries for
files are *reasons* shown after the file name (「broken.txt：是二进制数据……」);
the others are whole sentences.  Fields never hold an absolute path (name the
file only); :func:`strip_paths` is the last line of defence for free text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from .loading import formats_label

_TYPES = formats_label()

#: kind → Chinese text; ``{field}`` is filled from the error's (or skip's) fields
MESSAGES: dict[str, str] = {
    # ---- generic, one per exception class (used when a kind has no entry of its own)
    "error": "操作未能完成。请刷新页面重试；若问题持续，请联系管理员。",
    "bad_input": "输入有误，请检查后重试。",
    "unreadable": "无法读取该文件",
    "model_unavailable": (
        "无法加载向量模型。请检查环境变量 INDEXER_MODEL（留空即使用默认的 e5-legal；设为 e5-small 则只用内置的 4 位模型）和模型缓存目录 INDEXER_MODEL_CACHE 是否可写，或重新安装依赖：pip install -r requirements.txt。"
    ),
    "index_missing": "还没有文档索引。请点击「重建索引」。",
    "index_mismatch": "文档索引与当前的向量模型或词典不一致（可能更改了 INDEXER_MODEL）。请点击「重建索引」。",
    "index_damaged": "文档索引文件损坏或不完整。请点击「重建索引」；也可在服务器上运行 python -m indexer build --force。",
    "build_busy": "另一个建索引进程正在运行，请稍后再试。",
    "index_write": "无法写入文档索引。请联系管理员检查索引文件夹（INDEXER_INDEX）的权限和磁盘空间。",
    "index_not_folder": "索引位置不是文件夹。请联系管理员检查 INDEXER_INDEX 的设置。",
    "index_permission": "没有写入索引文件夹的权限。请联系管理员检查索引文件夹（INDEXER_INDEX）的权限。",
    "disk_full": "磁盘已满，索引未能写入（原有索引不受影响）。请联系管理员清理磁盘空间后再点击「重建索引」。",
    "unexpected": "出现意外错误（详情已记录在服务器日志中）。请刷新页面重试；若问题持续，请联系管理员。",
    # ---- files that cannot be read: reasons, shown after the file name
    "binary": "是二进制数据，不是文字文件",
    "encoding": "文字编码无法识别，请另存为 UTF-8 后再试",
    "unsupported_type": f"不支持该文件类型（{{suffix}}），请使用 {_TYPES}",
    "too_large": "文件大小 {size_mb} MB，超过 {limit_mb} MB 的上限",
    "empty": "是空文件",
    "is_folder": "是文件夹，不是文件",
    "cannot_open": "无法打开该文件（{error}）",
    "not_html": "不是网页（HTML）文件",
    "html_damaged": "网页（HTML）无法解析",
    "not_docx": "不是有效的 Word（.docx）文件",
    "docx_damaged": "Word（.docx）文件已损坏",
    "not_pdf": "不是 PDF 文件",
    "pdf_encrypted": "PDF 设有密码，无法读取",
    "pdf_damaged": "PDF 文件已损坏",
    "pdf_no_text": "PDF 没有文字层（可能是扫描件），请先做文字识别（OCR）",
    "no_text": "文件中没有文字",
    "no_body": "标题之后没有正文",
    "symlink_folder": "是指向其他位置的文件夹链接，未读取",
    "symlink_broken": "是失效或循环的链接，已忽略",
    "symlink_outside": "是指向文档文件夹之外的链接，已忽略",
    "folder_unreadable": "是无法打开的文件夹（请检查读取权限），其中的文件未收录",
    # ---- documents beyond a work limit (indexer.limits): reasons, shown after the file name
    "document_chars": "文件过长：超过 {limit} 字，请拆分后上传",
    "measure_sentences": "文件过长：其中一条超过 {limit} 句，请拆分后上传",
    "docx_xml_bytes": "Word 文件过大：解压后正文超过 {limit} MB，请拆分后上传",
    "docx_total_bytes": "Word 文件过大：解压后超过 {limit} MB，请压缩其中的图片或拆分后上传",
    "docx_members": "Word 文件内含超过 {limit} 个部件，不是正常的 Word 文件，未收录",
    "pdf_pages": "PDF 过长：超过 {limit} 页，请拆分后上传",
    "html_tags": "网页过于复杂：超过 {limit} 个网页元素，请另存为 .docx 或 .txt 后上传",
    "duplicate": "与已收录的《{title}》（{other}）内容相同，未收录",
    "id_clash": "与 {other} 同名（仅后缀不同），未收录；请改名其中一个",
    # ---- uploads and removals (page library)
    "duplicate_upload": "与已收录的《{title}》（{other}）内容相同，未添加",
    "name_no_type": f"文件名没有类型后缀，请使用 {_TYPES}",
    "name_empty": "文件名去掉不安全字符后为空，请重命名后再上传",
    "name_reserved": "以「.」或「~$」开头的文件名是隐藏文件或 Office 临时文件，不会被收录，请重命名后再上传",
    "name_taken": "文库中已有同名文件《{title}》（{other}），请改名后再上传，或先移除那份文件",
    "write_failed": "无法保存文件（{error}），请联系管理员检查文件夹权限和磁盘空间",
    "remove_failed": "无法删除文件（{error}），请联系管理员检查文件夹权限",
    "not_found": "文库中没有这份文件（可能已被移除），请刷新页面",
    "file_changed": "文件 {other} 在索引之后被改动过，为免删错文件未作处理；请先点击「重新扫描文件夹」",
    "corpus_missing": "找不到文档文件夹 {name}。请建立该文件夹并放入文件，或用环境变量 INDEXER_CORPUS 指定文件夹。",
    "no_documents": f"文档文件夹中没有可检索的文件。请放入 {_TYPES} 文件后刷新页面。",
    # ---- search input
    "query_empty": "请输入问题或关键词。",
    "query_too_long": "问题太长（超过 {limit} 个字），请精简后再试。",
    "top_k_range": "结果条数须在 1 到 {limit} 之间。",
    "unknown_measure": "索引中没有这一条款（可能所在文件已被移除），请重新检索。",
    "unknown_document": "索引中没有所选文件（可能已被移除），请重新选择。",
    # ---- document warnings (codes in Document.warnings), shown in the library's 提示 column
    "encoding_detected": "非 UTF-8 编码，已自动识别为 GB18030/GBK",
    "no_date": "未找到发布日期",
    "no_measures": "未找到编号条款",
}

#: absolute POSIX or Windows paths in free text
_ABS_PATH = re.compile(r"(?:(?<![\w./:])/(?:[^\s/:;,，；：、（）()'\"]+/)+|[A-Za-z]:\\(?:[^\s\\:;,，；：]+\\)+)(?=[^\s/\\])")


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "…"


def text(kind: str, fallback: str = "error", **fields: Any) -> str:
    """The Chinese text of ``kind`` filled with ``fields``; the ``fallback`` kind's text for an unknown kind."""
    template = MESSAGES.get(kind) or MESSAGES.get(fallback) or MESSAGES["error"]
    shown = _Fields({k: strip_paths(str(v)) for k, v in fields.items()})
    return string.Formatter().vformat(template, (), shown)


def _class_kind(exc: BaseException) -> str:
    """The kind of the nearest class of ``exc`` that has an entry (the generic text of its class)."""
    for cls in type(exc).__mro__:
        kind = cls.__dict__.get("kind")
        if isinstance(kind, str) and kind in MESSAGES:
            return kind
    return "unexpected"


def error_text(exc: BaseException) -> str:
    """What to tell a user about ``exc``, in Chinese; never a path, never a traceback.

    Errors the package raises on purpose are shown by their kind; anything else
    is an unexpected error (the caller logs it with its traceback).
    """
    kind = getattr(exc, "kind", None)
    fields: Mapping[str, Any] = getattr(exc, "fields", None) or {}
    if not isinstance(kind, str) or not hasattr(exc, "fields"):
        return MESSAGES["unexpected"]
    return text(kind, _class_kind(exc), **fields)


def warning_text(code: str) -> str:
    """A document warning in Chinese; a warning without an entry is shown without server paths."""
    return MESSAGES.get(code) or strip_paths(code)


def strip_paths(value: str) -> str:
    """``value`` with every absolute path cut down to its last part (the file name)."""
    return _ABS_PATH.sub("", value)


def file_name(path: str) -> str:
    """The name of a file, for messages (never the folder it is in)."""
    return PurePath(path.replace("\\", "/")).name


__all__ = ["MESSAGES", "error_text", "file_name", "strip_paths", "text", "warning_text"]
