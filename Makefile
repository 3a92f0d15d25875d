# quorum.mongodb: two commands for people (make demo, make test); the rest serves them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTION_LINK := $(VENV)/collections/ansible_collections/quorum/mongodb
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(VENV)/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: venv demo test unit emulator-test playbook-test lint sanity bench clean

venv: $(STAMP) $(COLLECTION_LINK)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

# Until provisioning lands, the demo validates the example topologies and prints their
# fault-domain reports.
demo: venv
	@for inventory in inventories/examples/*/; do \
	  echo "== $$inventory"; \
	  $(BIN)/ansible-playbook -i $$inventory playbooks/validate.yml || exit 1; \
	done

test: venv
	$(BIN)/pytest -q tests
	$(MAKE) --no-print-directory lint sanity

lint: venv
	$(BIN)/ansible-lint --profile production

sanity: venv
	$(BIN)/python tests/sanity/run_sanity.py

bench: venv
	$(BIN)/python -m bench.bench_validation
	$(BIN)/python -m bench.bench_planner
	$(BIN)/python bench/bench_mongoemu.py

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
