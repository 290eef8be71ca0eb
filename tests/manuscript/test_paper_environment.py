"""The compute environment the paper states is the build's machine record (the one bundle.zip
ships), naming no host, user or path; the Conclusion lists the claims of each verdict."""

from __future__ import annotations

import getpass
import platform
import sys

from lnpaper.manuscript.environment import NAMES, fill_env
from lnpaper.manuscript.fill import claims_with
from lnpaper.manuscript.reproduce import machine_record

RECORD = {
    "cpu": "Example CPU 9000",
    "cores": 16,
    "os": "Linux 6.1",
    "machine": "x86_64",
    "torch_cpu_capability": "AVX512",
    "versions": {"python": "3.11.7", "torch": "2.13.0+cpu", "numpy": "2.4.6"},
}


def test_environment_values_come_from_the_machine_record():
    text = "On {{env:EnvCpu}} ({{env:EnvCores}} cores, {{env:EnvCpuCapability}}), torch {{env:EnvTorch}}"
    assert (
        fill_env(text, RECORD) == "On `Example CPU 9000` (`16` cores, `AVX512`), torch `2.13.0+cpu`"
    )
    assert fill_env("{{env:EnvMlflow}}", RECORD) == "`absent`"  # not in the record


def test_this_machine_s_statement_names_no_host_user_or_path():
    record = machine_record()
    text = fill_env(" ".join(f"{{{{env:{n}}}}}" for n in sorted(NAMES)), None)
    assert "{{" not in text and record["cpu"] in text and str(record["cores"]) in text
    for private in (platform.node(), getpass.getuser(), sys.executable, sys.prefix):
        assert len(private) < 4 or private not in text  # a two-letter host name may be a word


def test_the_conclusion_lists_the_claims_of_a_verdict_in_the_paper_s_language():
    claims = {"5.1-layernorm-stabilises": "holds", "6.3-post-ln-trains": "fails"}
    held = claims_with(claims, "holds", "en")
    assert held.startswith("“") and "(§5.1)" in held and "6.3" not in held
    assert "(§6.3)" in claims_with(claims, "fails", "vi")
    assert claims_with(claims, "inconclusive", "en") == "none"
    assert claims_with(claims, "inconclusive", "vi") == "không có khẳng định nào"
