"""The article as JATS XML: front matter, sections, tables, figures, equations and references
where a journal's reader looks for them; provenance links to local places left out."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import yaml

from conftest import ROOT
from lnpaper.manuscript.front import front_block
from lnpaper.manuscript.jats import check, jats_xml

# the filled abstract as the manuscript rule hands it to the front block
ABSTRACT = """Chúng tôi đo $\\sigma$ với seed [[42](http://127.0.0.1:5000/#/experiments/1/runs/abc)]{.num data-name="Seed" title="nguồn: config"}."""
PAPER = """# Kết quả

Như [@ba2016] đã viết, $$y = \\frac{x - \\mu}{\\sigma}.$$

| γ | std |
|---|---|
| 1 | 0.99 |

: Độ lệch chuẩn theo γ [Nguồn gốc: [run](http://127.0.0.1:5000/#/runs/abc)]{.trace title="MLflow: abc"}

![Chuẩn theo bước [Nguồn gốc: `fig`]{.trace title="x"}](figures/matmul_norms.png){#fig:matmul_norms width=3.5in}

# Tài liệu tham khảo

::: {#refs}
:::
"""


def _article():
    front = ROOT / "manuscript/front.vi.yaml"
    md = front_block(PAPER, front, ROOT / "manuscript/references.bib", abstract=ABSTRACT)
    return jats_xml(md + PAPER, "vi")


def test_front_body_and_back_are_where_a_journal_reads_them():
    xml = _article()
    assert check(xml, {"figures/matmul_norms.png"}) == []
    root = ET.fromstring(xml.encode())
    front = root.find("front/article-meta")
    title = yaml.safe_load((ROOT / "manuscript/front.vi.yaml").read_text("utf-8"))["title"]
    assert front.find("title-group/article-title").text == title  # the front file's
    assert len(front.findall("contrib-group/contrib")) == 2
    assert [k.text for k in front.findall("kwd-group/kwd")][0] == "Layer Normalization"
    abstract = ET.tostring(front.find("abstract"), encoding="unicode")
    assert "Chúng tôi đo" in abstract and ">42<" not in abstract and "42" in abstract
    body = ET.tostring(root.find("body"), encoding="unicode")
    assert "Chúng tôi đo" not in body  # the abstract is not part of the body
    assert root.find("body/sec/title").text == "Kết quả"
    wrap = root.find(".//table-wrap")
    assert "Độ lệch chuẩn theo γ" in ET.tostring(wrap.find("caption"), encoding="unicode")
    assert "mml:math" in xml or "{http://www.w3.org/1998/Math/MathML}math" in body
    assert root.find("back/ref-list/ref").get("id") == "ref-ba2016"
    assert "127.0.0.1" not in xml and "Nguồn gốc" not in xml


def test_a_missing_graphic_or_broken_xml_is_named():
    xml = _article()
    assert check(xml, set()) == ["graphic figures/matmul_norms.png is not in the bundle"]
    assert check(xml[:-20], {"figures/matmul_norms.png"})[0].startswith("not well-formed")
