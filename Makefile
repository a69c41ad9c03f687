# golive.core — development entry points. `make test` and `make demo` bootstrap first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
# Integration tests wait on servers more than they compute: three workers keep both cores
# busy (four only make every test slower); groups keep tests that share lab state one at a time.
PYTEST_WORKERS ?= 3
# The demo goes live with the next image of the demo application under a release id of
# its own each time (a release that was rolled back is not gone live again under its id).
DEMO_APP_VERSION ?= 2026.11.3
DEMO_RELEASE ?= $(DEMO_APP_VERSION)-demo.$(shell date -u +%Y%m%d%H%M%S)
# The approval phase 5 requires (an AWX workflow passes these from its approval step).
DEMO_CHANGE ?= CHG-DEMO-1
DEMO_APPROVER ?= demo-approver

.PHONY: help bootstrap test unit integration sanity lint changelog-lint demo lab-up lab-down lab-status lock build clean

help:
	@echo "make demo    start the lab; go live with the next release, break it, roll it back; write the report"
	@echo "make test    unit + integration tests (real servers), ansible-test sanity, ansible-lint"
	@echo "make lab-up | lab-down | lab-status   manage the local lab"
	@echo "make build   build the collection tarball into build/"

bootstrap:
	@./scripts/bootstrap.sh

REPORTS := $(ROOT)/.cache/test-reports

# Ends with the 15 slowest tests of the run and how long it took (bootstrap included), pass or fail.
# ansible-test sanity and ansible-lint run in the background while the tests run (the
# integration tests mostly wait on servers), niced so that the tests keep the CPU; their output
# is printed after the tests'. The serial pager group is the longest path: the other integration
# tests run niced too (tests/integration/conftest.py).
test:
	@start=$$(date +%s); rm -rf $(REPORTS); mkdir -p $(REPORTS); \
	  ./scripts/bootstrap.sh && { \
	    { nice -n 10 $(MAKE) --no-print-directory sanity > $(REPORTS)/sanity.log 2>&1; echo $$? > $(REPORTS)/sanity.rc; } & \
	    { nice -n 10 $(MAKE) --no-print-directory lint > $(REPORTS)/lint.log 2>&1; echo $$? > $(REPORTS)/lint.rc; } & \
	    $(MAKE) --no-print-directory unit && $(MAKE) --no-print-directory integration; tests=$$?; wait; \
	    cat $(REPORTS)/sanity.log $(REPORTS)/lint.log; \
	    [ $$tests = 0 ] && [ "$$(cat $(REPORTS)/sanity.rc)" = 0 ] && [ "$$(cat $(REPORTS)/lint.rc)" = 0 ]; }; \
	  status=$$?; $(PY) scripts/slowest.py $(REPORTS)/*.xml --top 15 --elapsed $$(( $$(date +%s) - start )); \
	  exit $$status

unit: bootstrap
	$(PY) -m pytest tests/unit -q -p no:cacheprovider --junitxml=$(REPORTS)/unit.xml

integration: bootstrap
	$(PY) -m pytest tests/integration -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup \
	  --junitxml=$(REPORTS)/integration.xml

# ansible-test wants the collection at ansible_collections/golive/core: a fresh copy of
# the collection content per run, outside this checkout (git would hide it as ignored).
sanity: bootstrap
	@root=$$(mktemp -d $(or $(TMPDIR),/tmp)/golive-sanity.XXXXXX)/ansible_collections/golive/core; \
	  mkdir -p $$root; \
	  git ls-files -co --exclude-standard | grep -vE '^(lab|bench|scripts|tests/integration|\.ci)/|^tests/conftest\.py$$|^pytest\.ini$$' \
	    | tar -cf - -T - | tar -xf - -C $$root; \
	  cd $$root && $(VENV)/bin/ansible-test sanity --color no --python 3.11 --requirements; \
	  status=$$?; rm -rf $${root%/ansible_collections/golive/core}; exit $$status

lint: bootstrap changelog-lint
	$(VENV)/bin/ansible-lint --offline -q

changelog-lint: bootstrap
	$(VENV)/bin/antsibull-changelog lint

lab-up: bootstrap
	$(PY) -m lab up

lab-down: bootstrap
	$(PY) -m lab down

lab-status: bootstrap
	$(PY) -m lab status

demo: bootstrap
	$(PY) -m lab up
	@echo
	$(VENV)/bin/ansible-playbook -i inventories/lab playbooks/demo.yml --diff -e golive_release=$(DEMO_RELEASE) \
	  -e golive_app_version=$(DEMO_APP_VERSION) -e golive_change_id=$(DEMO_CHANGE) -e golive_approved_by=$(DEMO_APPROVER)
	@echo
	@echo "The evidence report: $(ROOT)/artifacts/reports/latest/report.html (also report.md, junit.xml, report.json)"
	@echo "Notifications the lab's sinks received: curl -s $$($(PY) -m lab env --json | $(PY) -c 'import json,sys; print(json.load(sys.stdin)["notify"]["sink_url"])')/messages"

build: bootstrap
	@mkdir -p build
	$(VENV)/bin/ansible-galaxy collection build --force --output-path build .

lock:
	rm -rf build/lockenv && python3 -m venv build/lockenv
	build/lockenv/bin/pip install --quiet --upgrade pip
	build/lockenv/bin/pip install --quiet -r requirements-dev.in
	(echo "# Exact pins of requirements-dev.in and everything it pulls in (make lock)."; \
	  build/lockenv/bin/pip freeze --exclude pip) > requirements.lock

clean:
	rm -rf build tests/output
