"""Tests of sim.outputs.report: reading a run folder, the headline, and report.html (also in headless Chromium)."""
from __future__ import annotations

import base64
import html
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_run import write_run_folder

from sim.errors import InputError
from sim.outputs.report import headline, html_table, read_run_folder, summary_value, write_report
from sim.outputs.schema import RUN_TABLES

CHROMIUM = Path("/usr/bin/chromium")
FIG_SPAN = re.compile(r'<span class="fig" data-key="([^"]*)" data-value="([^"]*)">([^<]*)</span>')


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return write_run_folder(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def report(run_dir) -> Path:
    """report.html written once for the module (drawing the figures is the slow part)."""
    return write_report(run_dir)


def _expected_text(key: str, value) -> str:
    """How a headline figure must read, derived here independently of sim.outputs.report."""
    leaf = key.split(".")[-1]
    if isinstance(value, str):
        return value
    if key.startswith(("served_within_slo_share", "max_link_utilisation")) or leaf in (
            "slo_share_lost", "utilisation_p50"):
        return f"{100 * value:.1f} %"
    if "_mw" in key:
        return f"{value:,.0f} MW"
    return str(value)


def _check_figures(figures: list[tuple[str, str, str]], summary: dict) -> None:
    assert figures
    for key, raw, text in figures:
        value = summary_value(summary, key)
        if isinstance(value, str):
            assert raw == value
        else:
            assert math.isclose(float(raw), float(value), rel_tol=1e-12), key
        if value == "not within horizon":
            assert text == "not within the horizon", key
        else:
            assert text == _expected_text(key, value), (key, text)


# ------------------------------------------------------------------------------------- reading
def test_read_run_folder_loads_every_table_with_text_ids(run_dir):
    run = read_run_folder(run_dir)
    assert set(run) == {"tables", "summary", "meta", "scenario_yaml"}
    assert set(run["tables"]) == set(RUN_TABLES)
    links = run["tables"]["links"]
    assert links.month.map(type).eq(str).all() and links.month.iloc[0] == "2025-01"
    assert np.isinf(links.queue_delay_ms).any()  # overloaded links stay infinite, never NaN
    assert not links.queue_delay_ms.isna().any()
    assert run["meta"]["seed"] == 2025 and "analysis:" in run["scenario_yaml"]


def test_missing_run_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as err:
        read_run_folder(tmp_path / "nowhere")
    assert err.value.field == "summary.json" and "not found" in err.value.reason
    assert str(err.value).startswith(str(tmp_path / "nowhere") + ": summary.json: not found")


def test_corrupt_summary_is_an_input_error(tmp_path):
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(InputError, match="summary.json: cannot be read as JSON"):
        read_run_folder(tmp_path)


def test_table_without_its_columns_is_an_input_error(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "links.csv").write_text("curve,month\nbase,2025-01\n")
    with pytest.raises(InputError, match="links.csv: missing columns quantile, link_id"):
        read_run_folder(tmp_path)


def test_write_report_on_a_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="summary.json: not found"):
        write_report(tmp_path / "nowhere")


# ------------------------------------------------------------------------------------ headline
def test_headline_answers_the_five_questions_with_figures_from_the_summary(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    answers = headline(summary)
    assert list(answers) == ["saturation", "latency", "links", "shortfall", "resilience"]
    figures = [(k, html.unescape(v), html.unescape(t)) for s in answers.values() for k, v, t in FIG_SPAN.findall(s)]
    _check_figures(figures, summary)
    keys = {k for k, _, _ in figures}
    assert {f"served_within_slo_share.{c}.p50" for c in ("bear", "base", "bull")} <= keys
    # the last month's on-time share beside the horizon average, in the same sentence
    assert {f"served_within_slo_share_last_month.{c}.p50" for c in ("bear", "base", "bull")} <= keys
    assert "in 2030-12 alone" in answers["latency"]
    assert "idle_mw_mean_p50.base" in keys
    assert {f"unmet_mw_p50.{c}" for c in ("bear", "base", "bull")} <= keys
    assert {f"new_zones.{r}.saturation.base.p50" for r in summary["new_zones"]} <= keys
    assert "n_minus_1_worst.0.unmet_mw" in keys and "max_link_utilisation.base.p50" in keys


def test_headline_of_an_empty_summary_says_what_is_missing():
    answers = headline({})
    assert "no new sites" in answers["saturation"] and "no N-1" in answers["resilience"]
    assert all('class="fig"' not in sentence for sentence in answers.values())  # no number without a source


def test_html_table_formats_units_and_escapes():
    frame = pd.DataFrame({"link_id": ["a<b"], "utilisation": [0.8734], "unmet_mw": [1234.56],
                          "queue_delay_ms": [math.inf]})
    out = html_table(frame)
    assert "a&lt;b" in out and "87.3 %" in out and "1,234.6" in out and "overloaded (∞)" in out


# -------------------------------------------------------------------------------------- report
def test_report_says_quantiles_do_not_add_up_and_shows_figures_that_do(report, run_dir):
    page = report.read_text(encoding="utf-8")
    note = page[page.index('<p id="quantile-note">'):]
    assert "do not add up" in note[:note.index("</p>")]
    assert "One sample's own figures at 2030-12" in html.unescape(page)
    assert "Most idle regions" in page and "Every region and new site that runs above its ceiling" in page


def test_report_is_self_contained_with_every_figure_embedded(report, run_dir):
    page = report.read_text(encoding="utf-8")
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) == 6
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(https?:)?//', page) and "url(" not in page
    assert "<script" not in page and "<link" not in page
    plots = sorted(p.name for p in (run_dir / "plots").iterdir())
    assert len(plots) == 12 and all((run_dir / "plots" / p).stat().st_size > 1000 for p in plots)
    assert "synthetic-fixture" in page and "slo_rtt_ms: 100.0" in page  # the scenario, verbatim
    assert "started_at" in page and "2025-11-26T11:00:00+00:00" in page  # run.json


CHECK_SCRIPT = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const out = document.createElement('pre');
  out.id = 'page-check';
  out.textContent = JSON.stringify({
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
    figures: [...document.querySelectorAll('#headline span.fig')]
      .map(s => [s.dataset.key, s.dataset.value, s.textContent]),
    topics: [...document.querySelectorAll('#headline li')].map(li => li.dataset.topic)});
  document.body.appendChild(out);
});
</script></body>"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed (/usr/bin/chromium); "
                    "install the Debian package `chromium` to run this check")
def test_report_renders_in_headless_chromium_with_every_image_and_the_summary_figures(report, run_dir,
                                                                                      tmp_path):
    page = tmp_path / "check.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT), encoding="utf-8")
    profile = tmp_path / "profile"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}",
           "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    shutil.rmtree(profile, ignore_errors=True)
    found = re.search(r'<pre id="page-check">(.*?)</pre>', dom, re.S)
    assert found, "the check script did not run: " + dom[:300]
    check = json.loads(html.unescape(found.group(1)))
    assert check["images"] == 6 and check["broken"] == []
    assert check["topics"] == ["saturation", "latency", "links", "shortfall", "resilience"]
    summary = json.loads((run_dir / "summary.json").read_text())
    _check_figures([tuple(f) for f in check["figures"]], summary)
