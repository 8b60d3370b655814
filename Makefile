# The two commands of the README: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.caloforge-installed
SLOW ?= 0
PYTEST_ARGS ?=
DEMO_DIR ?= demo_out

ifeq ($(SLOW),1)
MARKERS :=
else
MARKERS := -m "not slow"
endif

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[dev,geant4,deploy,dask]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/caloforge geometries
	$(VENV)/bin/caloforge simulate --geometry ds1-photons --particle photon -n 5000 --seed 1 \
		-o $(DEMO_DIR)/ds1_photons.h5 --force
	$(VENV)/bin/caloforge info $(DEMO_DIR)/ds1_photons.h5
	$(VENV)/bin/caloforge simulate --geometry ild-photons -n 200 --seed 1 \
		-o $(DEMO_DIR)/ild_photons.h5 --force
	$(VENV)/bin/caloforge info $(DEMO_DIR)/ild_photons.h5
	@echo "== real Geant4 (data-free EM physics) against the fast simulator: CaloGAN, 10 GeV e+ =="
	$(VENV)/bin/caloforge simulate --engine geant4 --geometry calogan --particle positron \
		--energy 10000 -n 300 --seed 1 --workers 2 -o $(DEMO_DIR)/calogan_g4.h5 --force
	$(VENV)/bin/caloforge info $(DEMO_DIR)/calogan_g4.h5
	$(VENV)/bin/caloforge simulate --geometry calogan --particle positron --energy 10000 -n 300 \
		--seed 1 -o $(DEMO_DIR)/calogan_fast.h5 --force --no-progress
	$(VENV)/bin/caloforge evaluate --reference $(DEMO_DIR)/calogan_g4.h5 \
		--generated $(DEMO_DIR)/calogan_fast.h5 --mode hist,physics \
		--out $(DEMO_DIR)/evaluation_fast_vs_geant4 --force --no-progress
	@echo "== the statistical floor: two independent simulator samples, full evaluation =="
	$(VENV)/bin/caloforge simulate --geometry ds1-photons --particle photon -n 5000 --seed 2 \
		-o $(DEMO_DIR)/ds1_photons_b.h5 --force --no-progress
	$(VENV)/bin/caloforge evaluate --reference $(DEMO_DIR)/ds1_photons.h5 \
		--generated $(DEMO_DIR)/ds1_photons_b.h5 --mode hist,cls-high,fpd,kpd,physics \
		--reference-split --out $(DEMO_DIR)/evaluation --force --no-progress
	@echo "== a tiny CaloFlow: the MAF teacher, then the IAF student distilled from it, in one run =="
	$(VENV)/bin/caloforge train --model caloflow --data $(DEMO_DIR)/ds1_photons.h5 \
		-o $(DEMO_DIR)/runs/tiny --preset tiny --force --no-progress
	$(VENV)/bin/caloforge generate --run $(DEMO_DIR)/runs/tiny \
		--energies $(DEMO_DIR)/ds1_photons_b.h5 -o $(DEMO_DIR)/ds1_generated.h5 --force --no-progress
	$(VENV)/bin/caloforge log-prob --run $(DEMO_DIR)/runs/tiny $(DEMO_DIR)/ds1_photons_b.h5 \
		--no-progress
	@echo "== the baseline family (per-energy-bin voxel statistics): the trivial reference point =="
	$(VENV)/bin/caloforge train --model baseline --data $(DEMO_DIR)/ds1_photons.h5 \
		-o $(DEMO_DIR)/runs/baseline --force --no-progress
	$(VENV)/bin/caloforge generate --run $(DEMO_DIR)/runs/baseline \
		--energies $(DEMO_DIR)/ds1_photons_b.h5 -o $(DEMO_DIR)/ds1_baseline.h5 --force --no-progress
	@echo "== uses of the likelihood (tiny model: shows the commands, not their quality) =="
	$(VENV)/bin/caloforge calibrate $(DEMO_DIR)/ds1_photons_b.h5 --run $(DEMO_DIR)/runs/tiny \
		-o $(DEMO_DIR)/calibration.h5 --force --no-progress
	$(VENV)/bin/caloforge anomaly-study --run $(DEMO_DIR)/runs/tiny -o $(DEMO_DIR)/anomaly \
		-n 300 --energies 50000 --separations 0 20 100 --force --no-progress
	$(VENV)/bin/caloforge evaluate --reference $(DEMO_DIR)/ds1_photons_b.h5 \
		--generated $(DEMO_DIR)/ds1_generated.h5 --mode hist,cls-high,fpd,kpd,physics \
		--reference-split --out $(DEMO_DIR)/evaluation_caloflow --force --no-progress
	$(VENV)/bin/caloforge evaluate --reference $(DEMO_DIR)/ds1_photons_b.h5 \
		--generated $(DEMO_DIR)/ds1_baseline.h5 --mode hist,cls-high,fpd,kpd \
		--out $(DEMO_DIR)/evaluation_baseline --force --no-progress
	@echo "fast simulator vs Geant4 (CaloGAN):   $(DEMO_DIR)/evaluation_fast_vs_geant4/report.html"
	@echo "floor report (two simulator samples): $(DEMO_DIR)/evaluation/report.html"
	@echo "tiny CaloFlow report:                 $(DEMO_DIR)/evaluation_caloflow/report.html"
	@echo "baseline report:                      $(DEMO_DIR)/evaluation_baseline/report.html"

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest $(MARKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
