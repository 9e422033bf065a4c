# Two set-up commands: `make demo` and `make test`. Both install into .venv first.
# `make test-fast` leaves out the tests marked slow (well under a minute).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR := demo-output

.PHONY: install demo test test-fast bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV) || { $(PYTHON) -m pip install --user -q virtualenv && $(PYTHON) -m virtualenv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# An editable install leaves the package uncompiled, and with PYTHONDONTWRITEBYTECODE
# set every run would compile it again (0.1 s of each command); compile it here.
install: $(VENV)/.installed
	$(PY) -m compileall -q quantize

demo: install
	mkdir -p $(DEMO_DIR)
	$(VENV)/bin/quantize sample_images/astronaut.jpg -k 8 --seed 0 --force \
		-o $(DEMO_DIR)/astronaut-k8.png --palette $(DEMO_DIR)/astronaut-k8.gpl
	$(VENV)/bin/quantize sample_images/coffee.jpg -k 16 --seed 0 --force \
		-o $(DEMO_DIR)/coffee-k16.png --palette $(DEMO_DIR)/coffee-k16-swatch.png
	$(VENV)/bin/quantize sample_images/rocket.jpg -k 16 --seed 0 --force --dither floyd-steinberg \
		-o $(DEMO_DIR)/rocket-k16-dithered.png --no-palette
	$(VENV)/bin/quantize sample_images/logo-rgba.png -k 8 --seed 0 --force \
		-o $(DEMO_DIR)/logo-k8.png --palette $(DEMO_DIR)/logo-k8.json
	$(PY) bench/make_digits.py --count 6000 --test-count 0 --out $(DEMO_DIR)/digits
	$(VENV)/bin/quantize cluster $(DEMO_DIR)/digits/train-images-idx3-ubyte.gz -k 36 --ks 10,16,36,64 \
		--seed 0 --force -o $(DEMO_DIR)/digits-clusters
	@echo "demo output is in $(DEMO_DIR)/"

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

bench: install
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) bench/bench_kmeans.py
	$(PY) bench/bench_speed.py
	$(PY) bench/bench_speed_curve.py
	$(PY) bench/bench_spaces.py
	$(PY) bench/bench_quality.py
	$(PY) bench/bench_elbow.py
	$(PY) bench/bench_batch.py
	$(PY) bench/bench_memory.py
	$(PY) bench/bench_alpha.py
	$(PY) bench/bench_dither.py
	$(PY) bench/bench_targets.py
	$(PY) bench/bench_cluster.py
	$(PY) bench/bench_vectors_core.py
	$(PY) bench/bench_out_of_core.py
	$(PY) bench/bench_wu.py
	$(PY) bench/bench_startup.py
	$(PY) bench/bench_liq.py
	$(PY) bench/bench_optimize_time.py
	$(PY) bench/bench_filesize.py
	$(PY) bench/bench_filesize_bound.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) bench/output .pytest_cache .hypothesis
