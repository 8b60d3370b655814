"""Screenshots of the evaluation report at 1280 px for ``docs/report-screenshots/``.

    python benchmarks/report_screenshots.py [--n 2000] [--out docs/report-screenshots]
        [--keep DIR]

Simulates two ds1-photons samples (seeds 1 and 2, ``--n`` showers each), evaluates them with
``hist,cls-low,fpd,physics`` and ``--reference-split`` (cls-low keeps the voxels, so every
figure is drawn), opens ``report.html`` in headless Chromium
(:mod:`caloforge.evaluate.report_browser`; ``apt-get install chromium``), checks that every
image loaded and the console stayed clean, and writes one 1280 x 900 PNG per section listed in
:data:`SECTIONS`, reduced to 256 colours so each stays under 300 kB. ``--keep DIR`` keeps the
evaluation output there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image

from caloforge.data import write_showers
from caloforge.evaluate import evaluate_files
from caloforge.evaluate.report_browser import Renderer, find_chromium
from caloforge.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
#: (file stem, element id or None for the top of the page).
SECTIONS = (("01-top", None), ("02-classifiers", "classifiers"),
            ("03-separation", "separation"), ("04-response", "fig-response"),
            ("05-features", "fig-features"), ("06-voxels", "fig-voxels"),
            ("07-images", "figure-average_images"), ("08-physics", "fig-physics"))
MAX_BYTES = 300_000


def _shrink(path: Path) -> int:
    """Quantise a screenshot to 256 colours (the pages are mostly flat colours)."""
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    """Make the screenshots; 1 when an image failed to load or the console logged an error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="showers per sample")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report-screenshots")
    parser.add_argument("--keep", type=Path, help="keep the evaluation output in this folder")
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("no chromium found: apt-get install chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = [write_showers(work / f"ds1_seed{seed}.h5",
                               simulate("ds1-photons", n=args.n, seed=seed),
                               metadata={"producer": "caloforge.simulate", "seed": seed})
                 for seed in (1, 2)]
        out = args.keep or work / "eval"
        result = evaluate_files(files[0], files[1], out, modes="hist,cls-low,fpd,physics",
                                reference_split=True)
        args.out.mkdir(parents=True, exist_ok=True)
        with Renderer(width=1280, height=900) as browser:
            check = browser.open(result.report_path)
            problems = check.broken_images + check.console_errors + check.outside_requests
            for stem, element in SECTIONS:
                shot = browser.screenshot(args.out / f"{stem}.png", element=element)
                size = _shrink(shot)
                print(f"{shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}: "
                      f"{size / 1000:.0f} kB{'  (over 300 kB)' if size > MAX_BYTES else ''}")
        print(f"{len(check.images)} images, page {check.height} px tall, "
              f"rendered in {check.seconds:.1f} s")
    if problems:
        print(f"problems: {problems}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
