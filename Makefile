# meas_realbogus: the two commands of the README, and helpers.
#   make demo   set up the environment, build the simulated demo repository, score it with
#               pipetask and the shipped model, and report against the truth
#   make test   run the test suite (what CI runs)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
REPO ?= $(CURDIR)/demo_repo
SEED ?= 1
# Real HST galaxies as hosts when the project's shared data is beside the clone (optional).
HOSTS := $(wildcard $(CURDIR)/../shared/data/hosts/AEGIS_F814w_catalog.fits)
SIM_OPTIONS ?= $(if $(HOSTS),-c realGalaxyCatalog=$(HOSTS))
IN_ENV := source $(CURDIR)/setup.sh &&

.PHONY: env demo bps-demo training-triplets train-model shifted-repo shifted-seeds-repos shifted-s3-repo shifted-s5-repo in-domain-repo evaluate-candidate evaluate-variety evaluate-shifted evaluate-shifted-s3 evaluate-shifted-s5 evaluate-sharp evaluate-coarse judge-candidate coarse-repo sharp-repo default-model default-desom relabel-desom quality-repo quality-model test test-fast lint docs bench bench-training bench-desom clean

env:
	@bash admin/make_env.sh >/dev/null
	@# The optional C copy loop of the cutouts (falls back to Python if it cannot be built).
	@$(IN_ENV) python setup.py -q build_ext --inplace >/dev/null 2>&1 \
		|| echo "warning: the C cutout loop was not built; using the slower Python loop" >&2

demo: env
	$(IN_ENV) make_realbogus_sim_repo.py $(REPO) --preset demo --seed $(SEED) --overwrite $(SIM_OPTIONS)
	@echo "--- visits and detectors of tract 3080 (the training tract):"
	$(IN_ENV) butler query-data-ids $(REPO) visit detector --collections RBSimCam/sim \
		--datasets difference_image --where "skymap='DC2_sim' AND tract=3080"
	@echo "--- real/bogus scoring of every diaSource with the shipped model:"
	$(IN_ENV) pipetask --log-level WARNING --log-level lsst.realBogus=INFO \
		run -b $(REPO) -i RBSimCam/sim -o u/demo/realbogus -p pipelines/RealBogus.yaml \
		--register-dataset-types -j 1
	@echo "--- scores against the simulation's truth:"
	$(IN_ENV) realbogus_score_report.py $(REPO) u/demo/realbogus --png $(CURDIR)/demo_scores.png

# BPS on parsl (doc/lsst.meas.realbogus/scaleout.rst): RealBogus.yaml over both tracts of the demo
# repository (built if missing), submitted with bps/realbogus.yaml from this directory (the submit
# directory goes to submit/), then the report of what was scored.
BPS_OUTPUT ?= u/bps/realbogus
bps-demo: env
	@test -f $(REPO)/butler.yaml || { $(IN_ENV) make_realbogus_sim_repo.py $(REPO) --preset demo \
		--seed $(SEED) $(SIM_OPTIONS); }
	$(IN_ENV) realbogus_bps.py submit bps/realbogus.yaml -b $(REPO) -o $(BPS_OUTPUT)
	$(IN_ENV) realbogus_score_report.py $(REPO) $(BPS_OUTPUT)

# A simulated repository, built unless it exists: $(call SIM_REPO,REPO,PRESET,SEED,OPTIONS).
define SIM_REPO
$(IN_ENV) test -f $(1)/butler.yaml || make_realbogus_sim_repo.py $(1) --preset $(2) --seed $(3) -j 2 $(4)
endef

# The training repository (variety preset, seed 1, unless TRAIN_PRESET says otherwise; default-model
# sets it to MODEL_PRESET) and its labelled triplets of tract 3080, built once and reused by
# train-model and default-desom (admin/pipetask_once.sh: a cut that stopped part way, as on a full
# disk, is finished by the next make, never trained on as it is); TRAIN_PRESET=training gives the
# repository rbsim03 and desom01 were trained on. The shifted repository (shifted preset, seed 2: a PSF family
# and a sampling outside the variety preset's ranges), the coarse one (coarse preset, seed 4: a
# camera of 1 arcsec pixels) and the sharp one (sharp preset, seed 2: templates broader than most
# visits, which are subtracted by convolving the science) are only evaluated on.
TRAIN_PRESET ?= variety
TRAIN_REPO ?= $(CURDIR)/rbsim_$(TRAIN_PRESET)_repo
SHIFTED_REPO ?= $(CURDIR)/rbsim_shifted_repo
COARSE_REPO ?= $(CURDIR)/rbsim_coarse_repo
SHARP_REPO ?= $(CURDIR)/rbsim_sharp_repo
# Training is one quantum: give it every core (pipetask grants one per quantum by default). Every
# other pipetask here runs with -j 1: ctrl_mpexec starts a fresh process for each quantum when -j > 1,
# which imports the stack (and loads the model) each time, so -j 2 cut triplets and evaluated 2.5x
# slower than -j 1 (training.rst, "Running the pipelines fast"). Evaluations of different
# repositories run two at once instead: make -j 2 evaluate-candidate.
CORES ?= $(shell nproc)
# Expanded where used (=, not :=), so that a target's own TRAIN_REPO (default-model's) is its -b.
PIPETASK = pipetask --log-level WARNING --log-level lsst.trainRealBogus=INFO --log-level lsst.trainDesom=INFO \
	--log-level lsst.evaluateRealBogus=INFO run -b $(TRAIN_REPO) --register-dataset-types
# TRAIN_SIM_OPTIONS: -c options for the training repository alone (e.g. -c 'tracts=[3080]' to build the
# training tract only, which is the same tract pixel for pixel).
TRAIN_SIM_OPTIONS ?=
# TRIPLET_OPTIONS: -c options for BuildTrainingSet (e.g. -c buildTrainingSet:maxBogusPerDetector=2000). They
# apply when u/rb/triplets3080 is made; a repository that has it already keeps its triplets.
TRIPLET_OPTIONS ?=
training-triplets: env
	$(call SIM_REPO,$(TRAIN_REPO),$(TRAIN_PRESET),1,$(SIM_OPTIONS) $(TRAIN_SIM_OPTIONS))
	$(IN_ENV) admin/pipetask_once.sh $(TRAIN_REPO) u/rb/triplets3080 $(PIPETASK) -j 1 -i RBSimCam/sim \
		-p pipelines/BuildTrainingSet.yaml -d "skymap='DC2_sim' AND tract=3080" $(TRIPLET_OPTIONS)

# Regenerate the shipped default model with the training pipelines: TrainRealBogus on tract 3080
# (train-model), then EvaluateRealBogus on tract 4024 of each test. Each ensemble member is saved in
# CHECKPOINT_DIR when trained (and the member in training after every epoch), so rerunning an interrupted
# make default-model resumes after the last finished epoch; the members are keyed by the triplets'
# content, so a directory copied beside a training repository rebuilt elsewhere resumes there too.
MODEL_OUT ?= $(CURDIR)/python/lsst/meas/realbogus/models/rb_default.pt
MODEL_VERSION ?= rbsim13
CHECKPOINT_DIR ?= $(TRAIN_REPO)/members_$(MODEL_VERSION)
TRAIN_OPTIONS ?= -c trainRealBogus:epochs=45 -c trainRealBogus:patience=10 -c trainRealBogus:normalization=robust_asinh \
	-c trainRealBogus:ensembleSize=3
train-model: training-triplets
	$(IN_ENV) $(PIPETASK) -j 1 -n $(CORES) -i u/rb/triplets3080 -o u/rb/$(MODEL_VERSION) -p pipelines/TrainRealBogus.yaml \
		-d "skymap='DC2_sim' AND tract=3080" -c trainRealBogus:modelVersion=$(MODEL_VERSION) \
		-c trainRealBogus:outputFile=$(MODEL_OUT) -c trainRealBogus:checkpointDir=$(CHECKPOINT_DIR) \
		$(TRAIN_OPTIONS)
	$(IN_ENV) export_realbogus_onnx.py $(MODEL_OUT) $(MODEL_OUT:.pt=.onnx)
# The default (rbsim13) is trained on tract 3080 of the blurfield6 preset, built alone (MODEL_PRESET,
# MODEL_SIM_OPTIONS; the training repository of default-desom stays variety's), then evaluated on every
# test of evaluate-candidate (IN_DOMAIN_REPO holds the in-domain tract 4024).
MODEL_PRESET ?= blurfield6
MODEL_SIM_OPTIONS ?= -c 'tracts=[3080]'
default-model: TRAIN_PRESET = $(MODEL_PRESET)
default-model: TRAIN_SIM_OPTIONS = $(MODEL_SIM_OPTIONS)
default-model: train-model
	$(MAKE) evaluate-candidate

# EvaluateRealBogus of MODEL_OUT on tract 4024 of a test repository: $(call EVALUATE_ON,REPO,NAME)
# writes u/rb/MODEL_VERSION/NAME4024 and REPO/eval_MODEL_VERSION, unless that holds metrics.json
# already (so an interrupted evaluate-candidate goes on where it stopped; delete it to redo one).
define EVALUATE_ON
$(IN_ENV) test -f $(1)/eval_$(MODEL_VERSION)/metrics.json \
	|| $(subst -b $(TRAIN_REPO),-b $(1),$(PIPETASK)) -j 1 -i RBSimCam/sim -o u/rb/$(MODEL_VERSION)/$(2)4024 \
	-p pipelines/EvaluateRealBogus.yaml -d "skymap='DC2_sim' AND tract=4024" \
	-c parameters:modelSource=file -c parameters:modelFile=$(MODEL_OUT) \
	-c evaluateRealBogus:outputDir=$(1)/eval_$(MODEL_VERSION)
endef

shifted-repo: env
	$(call SIM_REPO,$(SHIFTED_REPO),shifted,2,$(SIM_OPTIONS))

# Two more draws of the shifted preset (seeds 3 and 5), on which the shifted target is judged pooled. As
# they were first built and documented (training.rst: 18,391 and 27,827 diaSources), they have the
# simulator's own galaxies, not the HST hosts of SIM_OPTIONS.
SHIFTED_S3_REPO ?= $(CURDIR)/rbsim_shifted_s3
SHIFTED_S5_REPO ?= $(CURDIR)/rbsim_shifted_s5
shifted-seeds-repos: shifted-s3-repo shifted-s5-repo
shifted-s3-repo: env
	$(call SIM_REPO,$(SHIFTED_S3_REPO),shifted,3)
shifted-s5-repo: env
	$(call SIM_REPO,$(SHIFTED_S5_REPO),shifted,5)

coarse-repo: env
	$(call SIM_REPO,$(COARSE_REPO),coarse,4,$(SIM_OPTIONS))

sharp-repo: env
	$(call SIM_REPO,$(SHARP_REPO),sharp,2,$(SIM_OPTIONS))

# A candidate model (MODEL_OUT, version MODEL_VERSION) evaluated on every test of the rule that decides
# whether it replaces the default (training.rst, "Choosing the default"): the variety preset's tract 4024
# (IN_DOMAIN_REPO: the whole variety repository, seed 1, built if missing, as TRAIN_REPO is; tract 4024
# built alone is another draw, since visit ids and each visit's conditions follow a tract's position in
# the list), the three shifted tracts, sharp and coarse. Run it for the default too (MODEL_VERSION=rbsim13
# MODEL_OUT=.../rb_default.pt), then judge-candidate compares the two. Each test is a target of its own
# (evaluate-variety, ...), so make -j 2 evaluate-candidate evaluates two repositories at once, one core each
# (-O keeps each one's log together).
IN_DOMAIN_REPO ?= $(CURDIR)/rbsim_variety_repo
REFERENCE_VERSION ?= rbsim13
in-domain-repo: env
	$(call SIM_REPO,$(IN_DOMAIN_REPO),variety,1,$(SIM_OPTIONS))
	@grep -qx -- '- 3080' $(IN_DOMAIN_REPO)/simulation_summary.yaml && grep -qx -- '- 4024' $(IN_DOMAIN_REPO)/simulation_summary.yaml \
		|| { echo "$(IN_DOMAIN_REPO) is not variety's two tracts (built with -c 'tracts=[...]'?): set IN_DOMAIN_REPO" >&2; exit 1; }
evaluate-candidate: evaluate-variety evaluate-shifted evaluate-shifted-s3 evaluate-shifted-s5 evaluate-sharp \
	evaluate-coarse
evaluate-variety: in-domain-repo
	$(call EVALUATE_ON,$(IN_DOMAIN_REPO),variety)
evaluate-shifted: shifted-repo
	$(call EVALUATE_ON,$(SHIFTED_REPO),shifted)
evaluate-shifted-s3: shifted-s3-repo
	$(call EVALUATE_ON,$(SHIFTED_S3_REPO),shifted)
evaluate-shifted-s5: shifted-s5-repo
	$(call EVALUATE_ON,$(SHIFTED_S5_REPO),shifted)
evaluate-sharp: sharp-repo
	$(call EVALUATE_ON,$(SHARP_REPO),sharp)
evaluate-coarse: coarse-repo
	$(call EVALUATE_ON,$(COARSE_REPO),coarse)
judge-candidate: env
	$(IN_ENV) realbogus_judge_candidate.py $(MODEL_VERSION) $(REFERENCE_VERSION) --in-domain $(IN_DOMAIN_REPO) \
		--shifted $(SHIFTED_REPO) $(SHIFTED_S3_REPO) $(SHIFTED_S5_REPO) --sharp $(SHARP_REPO) --coarse $(COARSE_REPO)

# Regenerate the shipped DESOM and its prototype labelling: TrainDesom on tract 3080 (prototypes
# labelled with the shipped CNN's scores), then EvaluateRealBogus with DESOM flagging on tract 4024.
DESOM_VERSION ?= desom04
DESOM_OUT ?= $(CURDIR)/python/lsst/meas/realbogus/models/desom_default.pt
DESOM_LABELS_OUT ?= $(CURDIR)/python/lsst/meas/realbogus/models/desom_default_labels.yaml
DESOM_OPTIONS ?=
# The collections and output directories of the run (the DESOM's version unless relabelling).
DESOM_RUN ?= $(DESOM_VERSION)
default-desom: training-triplets
	$(IN_ENV) $(PIPETASK) -j 1 -n $(CORES) -i u/rb/triplets3080 -o u/rb/$(DESOM_RUN) -p pipelines/TrainDesom.yaml \
		-d "skymap='DC2_sim' AND tract=3080" -c trainDesom:modelVersion=$(DESOM_VERSION) \
		-c trainDesom:outputFile=$(DESOM_OUT) -c trainDesom:labelsFile=$(DESOM_LABELS_OUT) \
		-c trainDesom:outputDir=$(TRAIN_REPO)/plots_$(DESOM_RUN) $(DESOM_OPTIONS)
	$(IN_ENV) $(PIPETASK) -j 1 -i u/rb/$(DESOM_RUN),RBSimCam/sim -o u/rb/$(DESOM_RUN)/eval4024 \
		-p pipelines/EvaluateRealBogus.yaml -d "skymap='DC2_sim' AND tract=4024" \
		-c parameters:modelSource=file -c parameters:doDesom=True -c parameters:desomSource=butler \
		-c evaluateRealBogus:outputDir=$(TRAIN_REPO)/eval_$(DESOM_RUN)

# After a new default model: the shipped DESOM's prototypes labelled again, and its stacked score
# fitted again, on the shipped CNN's scores of tract 3080, without training the map (minutes, not the
# 20 of default-desom); the DESOM file itself is unchanged.
relabel-desom:
	$(MAKE) default-desom DESOM_RUN=$(DESOM_VERSION)-$(MODEL_VERSION) \
		DESOM_OPTIONS="-c trainDesom:relabelDesomFile=$(DESOM_OUT) $(DESOM_OPTIONS)"

# Exposure quality (seed 002): the quality repository (quality preset, seed 3), DESOM-1 and
# DESOM-2 trained and their cells labelled on tract 3080 (written into the package), then every
# detector-visit of tract 4024 labelled and compared with the truth (see quality.rst).
QUALITY_REPO ?= $(CURDIR)/rbsim_quality_repo
QUALITY_VERSION ?= qual05
QUALITY_MODELS := $(CURDIR)/python/lsst/meas/realbogus/models
QUALITY_OPTIONS ?=
QUALITY_PIPETASK := pipetask --log-level WARNING --log-level lsst.trainExposureQuality=INFO \
	--log-level lsst.summarizeExposureQuality=INFO run -b $(QUALITY_REPO) --register-dataset-types
quality-repo: env
	$(call SIM_REPO,$(QUALITY_REPO),quality,3)
quality-model: quality-repo
	$(IN_ENV) $(QUALITY_PIPETASK) -j 1 -n $(CORES) -i RBSimCam/sim -o u/rb/$(QUALITY_VERSION) \
		-p pipelines/TrainExposureQuality.yaml -d "skymap='DC2_sim' AND tract=3080" \
		-c trainExposureQuality:modelVersion=$(QUALITY_VERSION) \
		-c trainExposureQuality:desom1File=$(QUALITY_MODELS)/quality_desom1.pt \
		-c trainExposureQuality:desom2File=$(QUALITY_MODELS)/quality_desom2.pt \
		-c trainExposureQuality:cellLabelsFile=$(QUALITY_MODELS)/quality_cell_labels.yaml \
		-c trainExposureQuality:outputDir=$(QUALITY_REPO)/plots_$(QUALITY_VERSION) $(QUALITY_OPTIONS)
	$(IN_ENV) $(QUALITY_PIPETASK) -j 1 -i u/rb/$(QUALITY_VERSION),RBSimCam/sim -o u/rb/$(QUALITY_VERSION)/eval4024 \
		-p pipelines/ExposureQuality.yaml -d "skymap='DC2_sim' AND tract=4024" \
		-c parameters:qualitySource=butler -c parameters:doEvaluate=True

test: env
	$(IN_ENV) python -m pytest tests

test-fast: env
	$(IN_ENV) python -m pytest tests -m "not slow"

lint: env
	$(IN_ENV) ruff check python tests bin.src bench && ruff format --check python tests bin.src bench

docs: env
	$(IN_ENV) sphinx-build -W -b html doc doc/_build/html

bench: env
	$(IN_ENV) python bench/bench_realbogus.py && python bench/bench_simulation.py --presets demo

# SOM training against MiniSom and torchsom, and the cost of DESOM flagging (see desom.rst).
bench-desom: env
	$(IN_ENV) python bench/bench_desom.py $(if $(wildcard $(TRAIN_REPO)/butler.yaml),--repo $(TRAIN_REPO))

# Training at 200,000 triplets (about 25 minutes and 13 GB of scratch disk; see training.rst).
bench-training: env
	$(IN_ENV) python bench/bench_training_scale.py

clean:
	rm -rf doc/_build .pytest_cache demo_repo demo_scores.png
