"""Dialogue lines `speaker: text`: parsing, speaker tags and their formats, normalised lines.

    from fraudft.data.dialogue import parse_dialogue, speakers_of, speaker_format
    parse_dialogue("发言人1: 你好\n发言人2: 您好")  # [("发言人1", "你好"), ("发言人2", "您好")]

A speaker tag is whatever precedes the first `:` or `：` when it is 1-20 characters without
sentence punctuation. Lines without such a tag count as turns but have no speaker. A line ends at
`\\r\\n`, `\\r` or `\\n` (line_ending_style says which a dialogue uses).

normalize_input is the one key of duplicate and leakage checks (the audit's duplicates, leakage and
label-conflict checks, fraudft.data.leaks, and `fraudft mitigate`'s transforms): two texts that differ
only in character width (`，？！：` against `,?!:`, full-width letters and digits), compatibility forms,
the CJK punctuation NFKC keeps (`。、“”‘’`) or whitespace (`你好, 我` is `你好，我`: an ASCII comma
takes a space that a full-width one does not) have the same key. Keys are for comparing only:
reports show the text as written.
"""

from __future__ import annotations

import functools
import re
import unicodedata

SPEAKER_LINE = re.compile(
    r"^(?P<lead>\s*)(?P<tag>[^:：\n，。！？、；,!?\"“”]{1,20}?)(?P<sep>\s*[:：](?!//)\s?)(?P<text>.*)$",
    re.S,
)
LINE_BREAK = re.compile(r"\r\n|\r|\n")
LINE_ENDINGS = ("lf", "crlf", "cr", "mixed")  # line_ending_style of a dialogue with a line break
_BREAK_STYLE = {"\n": "lf", "\r\n": "crlf", "\r": "cr"}
_NUMBERED = re.compile(r"(发言人|说话人|讲话人|说话者|发言者|speaker|spk|角色)\s*_?\s*\d+", re.I)
ROLE_WORDS = (
    "客服", "民警", "警官", "警察", "警方", "公安", "刑警", "检察", "法官", "法院", "诈骗", "骗子",
    "受害", "嫌疑", "专家", "老师", "导师", "教授", "经理", "主管", "领导", "老板", "商家", "店员",
    "派单", "专员", "顾问", "分析师", "理赔", "售后", "接线员", "工作人员", "中介", "房东", "租客",
    "医生", "护士", "同事", "客户", "用户", "主持人", "嘉宾", "记者", "银行", "快递", "员工", "助理",
    "家长", "妈妈", "爸爸", "母亲", "父亲", "儿子", "女儿", "室友", "买家", "卖家", "网友", "群主",
)
_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff]"
_NAME_LIKE = re.compile(
    rf"{_HAN}{{2,3}}"  # 张伟, 王小明
    rf"|{_HAN}{{1,2}}(某{{1,2}}{_HAN}?|女士|先生|小姐|阿姨|大爷|大妈|大姐|大哥|姐|哥|叔|婶|老伯|同学)"  # 李某, 王女士
    rf"|[小老阿]({_HAN}|[A-Za-z]){{1,2}}"  # 小王, 老陈, 阿芬, 小A
    rf"|{_HAN}{{1,2}}\*{{1,3}}"  # 张**
)


def parse_dialogue(text: str) -> list[tuple[str | None, str]]:
    """(speaker tag or None, text) for each non-empty line of a dialogue (lines end at \\r\\n, \\r or \\n)."""
    turns = []
    for line in LINE_BREAK.split(text):
        if not line.strip():
            continue
        match = SPEAKER_LINE.match(line)
        if match and match["tag"].strip():
            turns.append((match["tag"].strip(), match["text"]))
        else:
            turns.append((None, line))
    return turns


def speakers_of(text: str) -> list[str]:
    """Distinct speaker tags of a dialogue, in order of first appearance."""
    return list(dict.fromkeys(tag for tag, _ in parse_dialogue(text) if tag is not None))


@functools.lru_cache(maxsize=1 << 16)
def speaker_format(tag: str) -> str:
    """numbered (发言人3, Speaker 2), role (客服, 诈骗者1, 张警官), name (张伟, 李女士, 小王, 王某) or other."""
    tag = tag.strip()
    if _NUMBERED.fullmatch(tag):
        return "numbered"
    if any(word in tag for word in ROLE_WORDS):
        return "role"
    if _NAME_LIKE.fullmatch(tag):
        return "name"
    return "other"


def line_ending_style(text: str) -> str | None:
    """How a dialogue's lines end: "lf" (\\n), "crlf" (\\r\\n), "cr" (\\r alone), "mixed" (more than
    one of these), or None when it has no line break."""
    styles = {_BREAK_STYLE[m.group()] for m in LINE_BREAK.finditer(text)}
    if not styles:
        return None
    return styles.pop() if len(styles) == 1 else "mixed"


# CJK punctuation that NFKC leaves as it is, mapped to what an ASCII rewrite of the text would use.
_KEY_PUNCTUATION = str.maketrans({"。": ".", "、": ",", "“": '"', "”": '"', "‘": "'", "’": "'"})


def normalize_input(text: str) -> str:
    """The key of duplicate and leakage checks (see the module docstring): NFKC, the CJK punctuation
    NFKC keeps mapped to ASCII, all whitespace (line breaks included) removed; "" for a blank text.
    `normalize_input("你好，世界。\\r\\nＡ １") == normalize_input("你好, 世界.A1") == "你好,世界.A1"`."""
    text = unicodedata.normalize("NFKC", text).translate(_KEY_PUNCTUATION)
    return "".join(text.split())


def meaningful_lines(text: str, min_chars: int) -> set[str]:
    """Keys (normalize_input) of the line texts, speaker tag stripped, with at least min_chars characters."""
    lines = (normalize_input(line) for _, line in parse_dialogue(text))
    return {line for line in lines if len(line) >= min_chars}
