"""The glossary (manuscript/glossary.yaml) and the wording scan (lnpaper.manuscript.wording):
the scan finds each kind of defect a reader saw in the paper, the text sources of tables,
figures, captions and the claims table use the glossary's terms, the verdict words are the
glossary's, and the templates quote the article in its own words. The scan of a filled paper
in both languages is tests/e2e/test_paper_wording.py."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import ROOT, TEMPLATES
from lnpaper.manuscript import wording
from lnpaper.report import claims  # noqa: F401  (registers the rules)
from lnpaper.report.claim_text import verdict_word
from lnpaper.report.verdicts import CLAIMS, VERDICTS

TEXT_SECTIONS = ("labels", "label_patterns", "label_messages", "figures", "claim_templates")

# what a reviewer found in the Vietnamese paper, one line per kind, as the pipeline printed it
DEFECTS_VI = """# Kết quả

Kết luận của 5.1-s-below-1-decays đọc từ results/experiments/matmul/growth.parquet
(cấu hình 6b39677a6741) với tỉ lệ tới hạn exp(-lambda_1(n)) và sqrt(n*n).
Mạng plain có Loss test 1.053e+04; LN nhanh hơn ở 0/0 seed (Wilson –-–); {{num:Seed}}

| Kết luận | KTC 95% | max \\|TB nhóm\\| |
|---|---|---|
| chỉ đúng khi | [1, 2] | 0.01 |

Khi đầu vào có độ lệch lớn, độ lệch chuẩn của nó là "khoảng một phần trăm".

```{=typst}
#pagebreak(weak: true)
```

# Tài liệu tham khảo
"""


def test_the_scan_finds_each_kind_of_defect_in_the_main_text():
    found = wording.scan(DEFECTS_VI, "vi")
    assert sorted(k for k, v in found.items() if v) == sorted(wording.CATEGORIES)
    ids = " ".join(found["identifiers"])
    for kind in ("claim id", "path", "hash", "code formula", "snake_case"):
        assert f"{kind}:" in ids, kind
    assert {f.split(":")[0] for f in found["abbreviations"]} == {"KTC", "LN", "TB"}
    terms = " ".join(found["terms"])
    for word in ("'plain'", "'Loss'", "'test'", "'độ lệch'", "'chỉ đúng khi |'", "'TB'"):
        assert word in terms, word
    artefacts = " ".join(found["artefacts"])
    for kind in ("placeholder", "empty interval", "no seed", "raw block"):
        assert f"{kind}:" in artefacts, kind
    assert found["numbers"] == [f"'1.053e+04' in {_line(DEFECTS_VI, '1.053e+04')!r}"]


def _line(text: str, needle: str) -> str:
    return next(line.strip() for line in text.splitlines() if needle in line)


def test_the_scan_passes_defined_terms_math_and_provenance():
    text = (
        "# Giới thiệu\n\nKhoảng tin cậy 95% (KTC) của LayerNorm (viết tắt LN) theo seed.\n\n"
        "| KTC 95% |\n|---|\n| [1, 2] |\n\n: Chú thích. [Nguồn gốc: `table_scale_main` · cấu hình "
        '`6b39677a6741`]{.trace title="bước: table_scale_main"}\n\n'
        'Giá trị [0.1]{.num data-name="X" title="nguồn: results/tables/x.csv · cấu hình: ab12cd34ef56"}'
        " với $\\lambda_1(n) = \\sqrt{n}$ và $x_{k}$.\n"
    )
    assert wording.scan(text, "vi") == {k: [] for k in wording.CATEGORIES}


def _source_texts(language: str):
    """Every text a table, figure, caption or claims row shows, with where it comes from."""
    text = yaml.safe_load((ROOT / "src/lnpaper/report/text.yaml").read_text("utf-8"))
    for section in TEXT_SECTIONS:
        for key, entry in text[section].items():
            if isinstance(entry, dict) and language in entry:
                yield f"text.yaml {section}.{key}", str(entry[language])
    captions = yaml.safe_load((ROOT / "manuscript/captions.yaml").read_text("utf-8"))
    for key, entry in captions.items():
        yield f"captions.yaml {key}", entry[language]
    for c in CLAIMS:
        yield f"claim {c.claim_id}", c.text_vi if language == "vi" else c.text_en


@pytest.mark.parametrize("language", ["vi", "en"])
def test_table_figure_caption_and_claim_texts_use_the_glossary_terms(language):
    bad = []
    for where, text in _source_texts(language):
        text = re.sub(r"\{\w*\}", " ", text)  # a format field is a name, not a word
        bad += [f"{where}: {f}" for f in wording.terms(text, language)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_sentence_variant_of_the_templates_uses_the_glossary_terms(language):
    """All variants, not only those a build keeps: markup and the header comment removed."""
    text = re.sub(r"<!--.*?-->", " ", TEMPLATES[language], flags=re.S)
    text = re.sub(r"\{\{[^{}]*\}\}", " ", text)
    assert wording.terms(wording.visible(text), language) == []


@pytest.mark.parametrize("language", ["vi", "en"])
def test_verdict_words_are_the_glossarys(language):
    chosen = wording.glossary()["terms"]
    for verdict in VERDICTS:
        assert verdict_word(verdict, language) == chosen[f"verdict_{verdict}"][language]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_templates_quote_the_article_in_its_own_words(language):
    assert wording.misquotes(TEMPLATES[language], language) == []


def test_a_paraphrase_in_quotation_marks_is_a_misquote():
    tpl = 'không phải {{#quote}}"khoảng một phần trăm"{{/quote}}, mà {{#quote}}0.01{{/quote}}'
    assert wording.misquotes(tpl, "vi") == [
        "quoted phrase not in the article: 'khoảng một phần trăm'"
    ]
    assert wording.misquotes("{{#quote}}$k=17${{/quote}}", "en")[0].startswith("number not")


def test_every_abbreviation_has_an_expansion_in_each_language_it_is_used_in():
    gloss = wording.glossary()
    for token, expansions in gloss["abbreviations"].items():
        assert expansions and set(expansions) <= {"vi", "en"}, token
    assert not set(gloss["well_known"]) & set(gloss["abbreviations"])
