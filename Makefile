# Everything a fresh machine needs, from Python 3.11, pip and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME ?= demo-home
DEMO_DATE ?= 2023-12-20

.PHONY: demo test install clean

# pip's and setuptools' chatter goes to $(VENV)/install.log; it is printed only when the install fails.
$(BIN)/warmline: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing warmline and its dependencies into $(VENV) (log: $(VENV)/install.log)"
	@{ $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e '.[test]'; } > $(VENV)/install.log 2>&1 \
		|| { tail -40 $(VENV)/install.log; exit 1; }
	@touch $(BIN)/warmline

install: $(BIN)/warmline

# The main job on the worked example: a fresh home, the six submissions of 2023-12-20, the city-wide table.
demo: install
	rm -rf $(DEMO_HOME)
	mkdir -p $(DEMO_HOME)
	cd $(DEMO_HOME) && ../$(BIN)/warmline init && ../$(BIN)/warmline demo && ../$(BIN)/warmline run --date $(DEMO_DATE)

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache
