"""``trellis job diagram`` and ``trellis asset diagram`` on the quickstart project: Mermaid
on standard output, a standalone SVG with ``-o FILE.svg``, a usage error otherwise."""

import xml.etree.ElementTree as ET

from cli_fixture_paths import QUICKSTART

SVG = "{http://www.w3.org/2000/svg}"


def test_job_diagram_flowchart(invoke):
    result = invoke("job", "diagram", "-j", "sales_job", "-f", QUICKSTART)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("flowchart LR\n")
    for key in ("raw_orders", "shipped_orders", "revenue_by_region"):
        assert f'["{key}<br/>AssetExecutionContext"]' in out
    assert 's0 -- "result → raw_orders (io_manager)" --> s1' in out
    assert 's1 -- "result → shipped_orders (io_manager)" --> s2' in out


def test_job_diagram_sequence(invoke):
    result = invoke("job", "diagram", "-j", "report_job", "-f", QUICKSTART, "--format", "sequence")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("sequenceDiagram\n")
    assert "participant p5 as IO json_io_manager" in out
    assert out.index("StepExecutionContext load_summary") < out.index(
        "StepExecutionContext format_report"
    )
    assert "load_input(InputContext summary)" in out
    assert "compute(OpExecutionContext)" in out


def test_job_diagram_svg(invoke, tmp_path):
    target = tmp_path / "out.svg"
    result = invoke("job", "diagram", "-j", "sales_job", "-f", QUICKSTART, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    root = ET.parse(target).getroot()
    assert len(root.findall(f".//{SVG}rect")) == 3
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "revenue_by_region" in text and "json_io_manager" in text


def test_asset_diagram_selection(invoke):
    result = invoke("asset", "diagram", "--select", "shipped_orders+", "-f", QUICKSTART)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert '["shipped_orders<br/>AssetExecutionContext"]' in out
    assert '["revenue_by_region<br/>AssetExecutionContext"]' in out
    assert "raw_orders<br/>" not in out
    assert 'x0[("asset raw_orders")]' in out  # loaded from outside the run
    seq = invoke(
        "asset",
        "diagram",
        "--select",
        "revenue_by_region",
        "-f",
        QUICKSTART,
        "--format",
        "sequence",
    )
    assert seq.exit_code == 0, seq.output
    assert "handle_output(OutputContext result) asset revenue_by_region" in seq.stdout


def test_bad_output_suffix_is_a_usage_error(invoke, tmp_path):
    result = invoke(
        "job", "diagram", "-j", "sales_job", "-f", QUICKSTART, "-o", str(tmp_path / "out.png")
    )
    assert result.exit_code == 2
    assert ".svg" in result.output
    assert not (tmp_path / "out.png").exists()
    result = invoke("asset", "diagram", "--select", "*", "-f", QUICKSTART, "-o", "x.txt")
    assert result.exit_code == 2


def test_unknown_selection(invoke):
    result = invoke("asset", "diagram", "--select", "nope", "-f", QUICKSTART)
    assert result.exit_code == 2
