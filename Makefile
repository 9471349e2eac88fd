# The user's verbs. `make help` lists them; every target sets up .venv first.
SHELL := /bin/bash
PYTHON := .venv/bin/python
SAMPLE := inputs/sample
COMPETITION := inputs/competition
# DATA: the competition data when downloaded, else the embedded sample (generated on first use).
DATA ?= $(if $(wildcard $(COMPETITION)/train.csv),$(COMPETITION),$(SAMPLE))
SEED ?= 42
K ?= 5
# PROFILE: smoke (CPU, minutes) on the sample, the full kaggle recipe on the competition data.
PROFILE ?= $(if $(filter $(SAMPLE),$(DATA)),smoke,kaggle)
BACKBONE ?= mobilenet_v2
RUNS ?= runs
# NAME: the blend (sample-blend on the sample, so its generated recipe stays out of git).
NAME ?= $(if $(filter $(SAMPLE),$(DATA)),sample-blend,blend)
# BUDGET_MS: per-image latency budget in ms; empty: the competition's 330 (solution/core/config.py)
BUDGET_MS ?=
# LATENCY_ON: which recorded latency `make ensemble` prices: cpu (default) or gpu (one GPU's, from GPU-trained runs)
LATENCY_ON ?=
METHOD ?= auto
# QUANT: the exported model's precision, float32 or int8 (smaller and faster, checked for agreement with float).
QUANT ?= float32
IMAGES ?=
# DEMO_PHOTO: the photo `make demo` labels (default: a public-domain NASA portrait that scikit-image ships).
DEMO_PHOTO ?= inputs/demo/astronaut.png
# ARGS: extra arguments for `make bench` (--quick) and `make sweep` (--only TEXT).
ARGS ?=
# PINS: `make rehearse PINS=kaggle` rehearses in a second venv holding the library versions of Kaggle's image.
PINS ?=
# KERNEL: what `make pull` downloads: all (every finished training and distill kernel), a backbone, or pilot (its pilot.json).
KERNEL ?= all
# RESUME: `make push BACKBONE=x RESUME=1` attaches the kernel's own previous output, so it continues from there.
RESUME ?=
# REFIT: `make train REFIT=1` also trains one model on every training image (RUNS/<backbone>/refit/), a one-model member.
REFIT ?=
# TEST_WORKERS: processes `make test` runs the suite in (pytest-xdist; an idle worker takes tests queued for the other,
# --dist worksteal): TensorFlow's small steps leave a core idle in one process. tests/conftest.py starts the longest
# tests first, so that no worker is left alone with one at the end.
TEST_WORKERS ?= 2

# Every user variable reaches the recipes through the environment and is quoted there ("$$DATA"): no character of
# a value is ever run by the shell (a backtick, $(...) or a quote in DATA or NAME stays text).
export KERNEL DATA SEED K PROFILE BACKBONE RUNS NAME BUDGET_MS LATENCY_ON METHOD QUANT IMAGES DEMO_PHOTO ARGS FORCE SAMPLE COMPETITION

.DEFAULT_GOAL := help
.PHONY: help setup lock data-ready folds-ready download sample eda folds train train-all distill tta backbones latency ensemble submission submit test test-fast lint all clean clean-runs \
	kernels kernels-check kernels-dataset pilot plan rehearse push push-all status pull export demo bench report scale sweep

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'
	@echo "  variables: DATA=$$DATA SEED=$$SEED K=$$K PROFILE=$$PROFILE BACKBONE=$$BACKBONE RUNS=$$RUNS"
	@echo "             NAME=$$NAME BUDGET_MS=$(or $(BUDGET_MS),330 (the competition's)) METHOD=$$METHOD QUANT=$$QUANT IMAGES=<slug|zip|folder>"
	@echo "             LATENCY_ON=$(or $(LATENCY_ON),cpu) DEMO_PHOTO=$$DEMO_PHOTO"

# install_into VENV, ARGS: pip-style install arguments, run by uv (about 15 s for this kit's requirements with an empty
# cache, where pip took 52 s of make all's first minute); pip does it where uv cannot be installed.
install_into = $(1)/bin/pip install --quiet uv && $(1)/bin/uv pip install --quiet --python $(1)/bin/python $(2) \
	|| $(1)/bin/pip install --quiet $(2)

.venv/.installed: requirements.txt requirements-dev.txt constraints.txt
	python3 -m venv .venv
	$(call install_into,.venv,-r requirements.txt -r requirements-dev.txt -c constraints.txt)
	touch $@

setup: .venv/.installed ## create .venv and install the pinned requirements

lock: .venv/.installed ## re-pin constraints.txt from what .venv holds now
	{ sed -n '1,3p' constraints.txt; .venv/bin/pip freeze --exclude-editable; } > constraints.txt.new && mv constraints.txt.new constraints.txt

# Path variables are quoted in every recipe and never used as make targets, so DATA="my data" or RUNS="my runs" work.
data-ready: | .venv/.installed
	@if [ "$$DATA" = "$$SAMPLE" ] && [ ! -f "$$SAMPLE/train.csv" ]; then $(PYTHON) -m solution sample --out "$$SAMPLE"; fi

folds-ready: data-ready
	@[ -f "$$DATA/folds.csv" ] || $(PYTHON) -m solution folds --data "$$DATA" --k "$$K" --seed "$$SEED"

download: setup ## competition files via the kaggle client + images from IMAGES into inputs/competition
	$(PYTHON) -m solution download --out "$$COMPETITION" $(if $(IMAGES),--images "$$IMAGES")

sample: setup ## (re)generate the embedded synthetic data set in inputs/sample
	$(PYTHON) -m solution sample --out "$$SAMPLE"

eda: data-ready ## validate DATA and write its EDA report to DATA/eda/
	$(PYTHON) -m solution eda --data "$$DATA" --seed "$$SEED"

folds: data-ready ## validate DATA and write DATA/folds.csv (K folds, SEED)
	$(PYTHON) -m solution folds --data "$$DATA" --k "$$K" --seed "$$SEED"

backbones: setup ## list the registered backbones
	$(PYTHON) -m solution backbones

train: folds-ready ## train BACKBONE over every fold into RUNS/<backbone>/ (PROFILE)
	$(PYTHON) -m solution train --data "$$DATA" --backbone "$$BACKBONE" --profile "$$PROFILE" --runs "$$RUNS" --set "seed=$$SEED" $(if $(REFIT),--refit)

train-all: folds-ready ## train every backbone of PROFILE's list (resumes; finished folds are skipped)
	$(PYTHON) -m solution train --data "$$DATA" --backbone all --profile "$$PROFILE" --runs "$$RUNS" --set "seed=$$SEED"

distill: folds-ready ## train BACKBONE as a student of the blend NAME (its OOF soft targets) into RUNS/<backbone>-student/
	$(PYTHON) -m solution distill --blend "$$NAME" --data "$$DATA" --backbone "$$BACKBONE" --profile "$$PROFILE" --runs "$$RUNS" --set "seed=$$SEED" $(if $(REFIT),--refit)

tta: setup ## add flip-TTA predictions (oof_flip.csv, test_flip.csv) to the runs in RUNS that lack them (no retraining)
	$(PYTHON) -m solution tta --runs "$$RUNS"

latency: setup ## re-measure each run's per-image latency on this machine
	$(PYTHON) -m solution latency --runs "$$RUNS"

ensemble: setup ## blend the runs in RUNS into ensembles/NAME/ within BUDGET_MS (METHOD; LATENCY_ON=cpu|gpu)
	$(PYTHON) -m solution ensemble --runs "$$RUNS" --name "$$NAME" $(if $(BUDGET_MS),--budget-ms "$$BUDGET_MS") --method "$$METHOD" $(if $(LATENCY_ON),--latency-on "$$LATENCY_ON")

submission: setup ## write and validate submissions/NAME.csv from the blend NAME
	$(PYTHON) -m solution submission --ensemble "$$NAME" --data "$$DATA"

submit: submission ## validate and upload submissions/NAME.csv to Kaggle, logged in submissions/log.csv
	$(PYTHON) -m solution submit "submissions/$$NAME.csv" --data "$$DATA"

kernels: setup ## write kernels/<name>/kernel.py and kernel-metadata.json from kernels/kernels.yaml (IMAGES=owner/name)
	$(PYTHON) -m solution kernels $(if $(IMAGES),--images "$$IMAGES")

kernels-check: setup ## check the kernel folders against Kaggle's rules and their arguments, then run one script of each kind here
	$(PYTHON) -m solution kernels-check

kernels-dataset: setup ## upload the kit's wheel as the Kaggle dataset every kernel attaches
	$(PYTHON) -m solution kernels-dataset

pilot: setup ## push the index kernel, then the pilot: the week's backbones timed on Kaggle's GPUs before the week (then make pull KERNEL=pilot)
	$(PYTHON) -m solution pilot $(if $(IMAGES),--images "$$IMAGES")

plan: setup ## print the week's kernels: role (member/teacher/student), GPU hours on T4s, weekly total, share reaching the submission
	$(PYTHON) -m solution plan

rehearse: setup ## run every kernel as Kaggle runs it (Kaggle-shaped inputs, the kit as its wheel, offline); PINS=kaggle: in Kaggle's library versions
	$(if $(filter kaggle,$(PINS)),$(MAKE) .venv-kaggle/.installed)
	$(PYTHON) -m solution rehearse $(if $(filter kaggle,$(PINS)),--python .venv-kaggle/bin/python)

# The versions Kaggle's image runs (constraints-kaggle.txt says where they come from), for `make rehearse PINS=kaggle`.
.venv-kaggle/.installed: requirements.txt constraints-kaggle.txt
	python3 -m venv .venv-kaggle
	$(call install_into,.venv-kaggle,-r requirements.txt -c constraints-kaggle.txt)
	touch $@

push: setup ## push BACKBONE's training kernel(s) to Kaggle (or index, distill, ensemble, ab-NAME, a seed reproduction; RESUME=1: continue; FORCE=1: past the quota)
	$(PYTHON) -m solution push "$$BACKBONE" $(if $(IMAGES),--images "$$IMAGES") $(if $(filter 1,$(FORCE)),--force) $(if $(filter 1,$(RESUME)),--resume)

push-all: setup ## push the week (index, training, distill, ensemble) in order, each after the kernels it attaches; a re-run continues (FORCE=1: past the quota)
	$(PYTHON) -m solution push all $(if $(IMAGES),--images "$$IMAGES") $(if $(filter 1,$(FORCE)),--force)

status: setup ## show the state of every kernel on Kaggle
	$(PYTHON) -m solution status all

pull: setup ## download every finished training and distill kernel's run folder into RUNS/<name>/ (KERNEL=pilot: kernels/pilot.json)
	$(PYTHON) -m solution pull "$$KERNEL" --runs "$$RUNS"

export: setup ## export, for the demo, the fastest run within 2 OOF points of the best (within BUDGET_MS) to demo/model/ (QUANT=int8: quantised)
	$(PYTHON) -m solution export --runs "$$RUNS" $(if $(BUDGET_MS),--budget-ms "$$BUDGET_MS") --precision "$$QUANT" --out demo/model

demo: | .venv/.installed ## label the faces of DEMO_PHOTO (default: NASA's astronaut photo) into demo/out/; a sample-trained model also labels 12 held-out sample faces
	@[ -f "$$DEMO_PHOTO" ] || $(PYTHON) -c "import sys; from solution.standins.media import write_face_photo; write_face_photo(sys.argv[1])" "$$DEMO_PHOTO"
	$(PYTHON) demo/photo.py "$$DEMO_PHOTO" --out demo/out --bars --sample-check "$$SAMPLE"

bench: setup ## measure speeds into reports/bench.md and bench.json (about 14 minutes on 2 CPU cores; ARGS=--quick: about 2)
	$(PYTHON) -m tools bench $$ARGS

report: setup ## write reports/index.md from the run folders and blends, and print the results table
	$(PYTHON) -m solution report --runs "$$RUNS"

scale: setup ## time every CPU stage on 55,000 synthetic images of the competition's sizes into reports/scale.md (not in make test)
	$(PYTHON) -m tools scale

sweep: setup ## try the kit's bad-input, interrupt and hostile-file cases on a clone into reports/sweep.md (about 30 minutes; as root it also mounts full and read-only disks)
	$(PYTHON) -m tools sweep $$ARGS

lint: setup ## ruff check
	$(PYTHON) -m ruff check .

# The kernel scripts themselves run in the suite's rehearsal test (index, training, resume, distill, ensemble, as
# Kaggle runs them); `make kernels-check` also runs one of each kind with --local.
test: setup ## lint, the kernel folders' metadata and arguments, then the test suite
	$(PYTHON) -m ruff check .
	$(PYTHON) -m solution kernels-check --no-run
	$(PYTHON) -m pytest -q -n $(TEST_WORKERS) --dist worksteal

test-fast: setup ## lint and the tests not marked heavy (a quick check while you work)
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest -q -m "not heavy"

all: eda folds train-all ensemble submission export demo ## the main job on DATA: eda -> folds -> train-all -> ensemble -> submission -> export -> demo
	@if [ "$$DATA" = "$$SAMPLE" ]; then \
	  echo "done on the synthetic sample: the pipeline works, the model knows nothing of real faces. For a real model:"; \
	  echo "  1. make download IMAGES=<owner/dataset or images.zip>    (needs ~/.kaggle/kaggle.json; see README)"; \
	  echo "  2. make kernels-dataset && make push-all IMAGES=owner/name    (trains every backbone on Kaggle's GPUs)"; \
	  echo "  3. make pull ensemble submit export    (blend the pulled runs, submit, and give the demo the best model)"; \
	fi

clean: ## remove generated reports, caches, the sample, make scale's sets and demo output (never trained runs: see clean-runs)
	rm -rf -- "$$SAMPLE" reports "$$COMPETITION/cache" "$$COMPETITION/eda" demo/out inputs/demo inputs/scale

clean-runs: ## delete the trained runs in RUNS, the blend NAME, demo/model and local kernel runs (inputs/kernel-output), after asking (FORCE=1: without asking)
	@case "$$NAME" in ""|.|..|*/*) echo "clean-runs: NAME='$$NAME' is not a blend name; pass NAME=<blend>" >&2; exit 2;; esac
	@[ -n "$$RUNS" ] || { echo "clean-runs: RUNS is empty; pass RUNS=<folder of runs>" >&2; exit 2; }
	@if [ "$$FORCE" != 1 ]; then \
	  printf '%s' "delete the trained runs in '$$RUNS', the blend ensembles/$$NAME, demo/model and inputs/kernel-output? [y/N] "; \
	  read -r answer || answer=; \
	  [ "$$answer" = y ] || { echo "kept them (answer y, or pass FORCE=1)"; exit 1; }; \
	fi
	rm -rf -- "$$RUNS" "ensembles/$$NAME" "ensembles/$$NAME.yaml" demo/model inputs/kernel-output
