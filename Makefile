# Everything a fresh machine needs, from Python 3.11, pip and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME ?= demo-home
DEMO_DATE ?= 2023-12-20
# Debian packages are installed with apt-get, through sudo when make does not run as root.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: demo test install fonts chromium clean docs

# pip's and setuptools' chatter goes to $(VENV)/install.log; it is printed only when the install fails.
$(BIN)/warmline: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing warmline and its dependencies into $(VENV) (log: $(VENV)/install.log)"
	@{ $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e '.[test,dask]'; } > $(VENV)/install.log 2>&1 \
		|| { tail -40 $(VENV)/install.log; exit 1; }
	@touch $(BIN)/warmline

install: $(BIN)/warmline fonts

# The bulletin's chart draws Chinese labels: Debian's Noto CJK fonts when the machine has no Chinese font.
fonts:
	@command -v fc-list >/dev/null && fc-list :lang=zh | grep -q . || \
		($(SUDO) apt-get update -qq && $(APT) install -y -qq fontconfig fonts-noto-cjk)

# The test that renders status.html draws it in headless Chromium: Debian's chromium when the machine has none.
chromium:
	@command -v chromium >/dev/null || \
		($(SUDO) apt-get update -qq && $(APT) install -y -qq chromium)

# The main job on the worked example: a fresh home, the six submissions of 2023-12-20, the city-wide table.
# A home left by an earlier demo may still run its Prefect server and writer: stopped before the folder goes,
# or they would be left running with no home to stop them from.
demo: install
	@if [ -d $(DEMO_HOME) ]; then cd $(DEMO_HOME) && WARMLINE_HOME=. ../$(BIN)/warmline server stop || true; fi
	rm -rf $(DEMO_HOME)
	mkdir -p $(DEMO_HOME)
	cd $(DEMO_HOME) && ../$(BIN)/warmline init && ../$(BIN)/warmline demo && ../$(BIN)/warmline run --date $(DEMO_DATE)

# docs/warehouse.md, the data dictionary: generated from the SQL models, docs/dictionary/ and data/reference/;
# docs/problems.md, every problem a file can be refused or warned for: from transforms/core/problems.toml.
docs: $(BIN)/warmline
	$(BIN)/python -m transforms.warehouse.dictionary docs/warehouse.md
	$(BIN)/python -m transforms.core.problems docs/problems.md

# Two workers, one test file each at a time (a file's fixtures are built once): most tests wait on a Prefect
# server, a reader process or a browser, so two keep both cores of a small machine busy.
TEST_WORKERS ?= 2
test: install chromium
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache
