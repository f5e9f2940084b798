# meas_realbogus: the two commands of the README, and helpers.
#   make demo   set up the environment, build the simulated demo repository and show it
#   make test   run the test suite (what CI runs)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
REPO ?= $(CURDIR)/demo_repo
SEED ?= 1
# Real HST galaxies as hosts when the project's shared data is beside the clone (optional).
HOSTS := $(wildcard $(CURDIR)/../shared/data/hosts/AEGIS_F814w_catalog.fits)
SIM_OPTIONS ?= $(if $(HOSTS),-c realGalaxyCatalog=$(HOSTS))
IN_ENV := source $(CURDIR)/setup.sh &&

.PHONY: env demo test test-fast lint docs clean

env:
	@bash admin/make_env.sh >/dev/null

demo: env
	$(IN_ENV) make_realbogus_sim_repo.py $(REPO) --preset demo --seed $(SEED) --overwrite $(SIM_OPTIONS)
	@echo "--- visits and detectors of tract 3080 (the training tract):"
	$(IN_ENV) butler query-data-ids $(REPO) visit detector --collections RBSimCam/sim \
		--datasets difference_image --where "skymap='DC2_sim' AND tract=3080"
	@echo "--- datasets of one detector:"
	$(IN_ENV) butler query-datasets $(REPO) '*' --collections RBSimCam/sim \
		--where "instrument='RBSimCam' AND visit=10000 AND detector=0"

test: env
	$(IN_ENV) python -m pytest tests

test-fast: env
	$(IN_ENV) python -m pytest tests -m "not slow"

lint: env
	$(IN_ENV) ruff check python tests bin.src bench && ruff format --check python tests bin.src bench

docs: env
	$(IN_ENV) sphinx-build -W -b html doc doc/_build/html

clean:
	rm -rf doc/_build .pytest_cache demo_repo
