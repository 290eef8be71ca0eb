"""What bundle.zip carries for a rebuild (``manuscript/reproduce.py``): one layout, the whole
source of the commit whichever folder the rule runs in, a machine record without host, user or
path, and digests that locate one changed cell."""

from __future__ import annotations

import getpass
import io
import platform
import sys
import tarfile

import pandas as pd

from conftest import make_git_repository
from lnpaper.manuscript import reproduce
from lnpaper.manuscript.meca import manifest_xml, media_type


def test_science_names_round_trip_through_the_one_layout():
    name = reproduce.science_name("matmul/growth")
    assert name == "data/matmul/growth.parquet"
    assert reproduce.science_ref(name) == "matmul/growth"
    assert reproduce.science_ref("tables/claims.csv") is None


def test_the_source_is_the_whole_tree_even_from_a_subfolder(tmp_path):
    (tmp_path / "workflow/scripts").mkdir(parents=True)
    (tmp_path / "Snakefile").write_text("# top\n")
    (tmp_path / "workflow/scripts/x.py").write_text("# script\n")

    commit = make_git_repository(tmp_path)
    data = reproduce.git_archive(tmp_path / "workflow/scripts", commit)
    names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
    assert "Snakefile" in names and "workflow/scripts/x.py" in names
    assert reproduce.git_archive(tmp_path, "0" * 40) is None


def test_the_machine_record_names_no_host_user_or_path():
    record = reproduce.machine_record()
    text = repr(record)
    for private in (platform.node(), getpass.getuser(), sys.prefix, sys.executable):
        assert private not in text
    assert record["cores"] >= 1 and record["versions"]["python"] == platform.python_version()
    assert set(record["kernel_variables"]) == set(reproduce.KERNEL_VARIABLES)
    assert reproduce.same_kernels(record, dict(record))
    assert not reproduce.same_kernels(record, {**record, "torch_cpu_capability": "other"})


def test_frame_digests_locate_one_changed_cell():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    edited = frame.copy()
    edited.loc[1, "a"] = 2.0000000001
    d0, d1 = reproduce.frame_digests(frame), reproduce.frame_digests(edited)
    assert [c for c in d0["columns"] if d0["columns"][c] != d1["columns"][c]] == ["a"]
    assert [i for i, (x, y) in enumerate(zip(d0["rows"], d1["rows"])) if x != y] == [1]


def test_the_new_files_have_media_types_in_the_manifest():
    names = ["data/matmul/growth.parquet", "reproduce/config.yaml", "reproduce/source.tar.gz"]
    assert media_type(names[0]) == "application/vnd.apache.parquet"
    assert media_type(names[1]) == "application/yaml"
    assert media_type(names[2]) == "application/gzip"
    xml = manifest_xml(names, title="t")
    assert xml.count('type="data"') == 3
