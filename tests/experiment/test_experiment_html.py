"""report.html is one self-contained file whose every figure loads in a real
browser (headless Chromium, Debian's package; ``.ci/run`` installs it)."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import sim

from conftest import experiment, mmc_scenario

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
# after the load event, count the images that decoded with a real size
PROBE = ('<script>window.addEventListener("load",function(){var n=0;for(const i of document.images)'
         '{if(i.complete&&i.naturalWidth>0)n++;}document.body.setAttribute("data-images",'
         'document.images.length);document.body.setAttribute("data-loaded",n);});</script>')


def loaded_images(html: str) -> tuple[int, int]:
    """``(images, loaded)`` of ``html`` as headless Chromium renders it from a
    file in an empty folder (nothing but the page itself can be read)."""
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as profile:
        page = Path(folder) / "page.html"
        page.write_text(html.replace("</body>", PROBE + "</body>"))
        dom = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'data-images="(\d+)" data-loaded="(\d+)"', dom)
    assert found, f"the probe did not run; chromium printed: {dom[:300]!r}"
    return int(found.group(1)), int(found.group(2))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed and could not be (.ci/run installs "
                                             "Debian's package with apt-get)")
def test_report_html_is_self_contained_and_every_figure_loads(tmp_path: Path):
    out = tmp_path / "out"
    sim.sweep(experiment(replications=2, scenario=mmc_scenario(duration=90.0),
                         factors={"workload.clients.arrivals.rate": [3.0, 5.0]}), out=out, jobs=1)
    html = (out / "report.html").read_text()
    figures = sorted((out / "figures").glob("*.png"))
    assert len(figures) >= 4                             # metrics, cost vs latency, time series
    assert html.count('src="data:image/png;base64,') == len(figures)
    assert "figures/" not in html and "<h2>Answer</h2>" in html
    shutil.rmtree(out / "figures")                       # the page needs nothing beside itself
    images, loaded = loaded_images(html)
    assert images == len(figures) and loaded == images
    # the probe can fail: a broken figure is counted as not loaded
    broken = html.replace('src="data:image/png;base64,', 'src="data:image/png;base64,AAAA', 1)
    assert loaded_images(broken) == (images, images - 1)
