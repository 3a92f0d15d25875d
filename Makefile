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

.PHONY: venv demo stop lab lab-run lab-stop test unit emulator-test playbook-test lint sanity bench chaos clean changelog core-range

venv: $(STAMP) $(COLLECTION_LINK)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	# ansible-core's imports warn that cryptography deprecates DSA on every command: quiet in this venv
	printf '%s\n' 'import warnings; warnings.filterwarnings("ignore", message="DSA is deprecated")' \
	  > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/quorum_quiet_dsa.pth"
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

# make demo: provision inventories/local (six emulated members over three datacenters, auth and
# keyFile on) with site.yml, then show the status table and the fault-domain report. The members
# keep running; make stop stops them by the pids in their pid files.
DEMO_INVENTORY := inventories/local
DEMO_STATE := .demo
# Print the Markdown lines that the named debug tasks show, and Ansible's warnings.
DEMO_SHOW = awk -v tasks="$(1)" 'BEGIN { n = split(tasks, want, "|") } \
  /^TASK \[/ { show = 0; for (i = 1; i <= n; i++) if (index($$0, want[i]) > 0) show = 1 } \
  /^\[WARNING\]: / && show { sub(/^\[WARNING\]: /, "  warning: "); print } \
  show && /^ +".*",?$$/ { sub(/^ +"/, "  "); sub(/",?$$/, ""); gsub(/\\"/, "\""); print }'

demo: venv
	@mkdir -p $(DEMO_STATE)
	@echo "== Provisioning $(DEMO_INVENTORY) with playbooks/site.yml (log: $(DEMO_STATE)/site.log)"
	@# validate.yml's fault-domain report in the same run: one ansible-playbook start, not two
	@$(BIN)/ansible-playbook --forks 8 -i $(DEMO_INVENTORY) playbooks/site.yml playbooks/validate.yml > $(DEMO_STATE)/site.log 2>&1 \
	  || { tail -n 30 $(DEMO_STATE)/site.log; echo "make demo: provisioning failed; see $(DEMO_STATE)/site.log"; exit 1; }
	@$(call DEMO_SHOW,Show the plan applied|Show the status|Show the smoke check|Validate each|Show the fault-domain report) $(DEMO_STATE)/site.log
	@echo
	@echo "The set keeps running (mongo shell: mongodb://admin:\$$(cat $(DEMO_STATE)/secrets/admin_password)@127.0.0.21:27017/?replicaSet=demo)."
	@echo "Change the topology in $(DEMO_INVENTORY)/hosts.yml (move the preferred primary with mongodb_priority,"
	@echo "give 127.0.0.24 a vote, add a member on 127.0.0.27, ...) and run make demo again: the live set is"
	@echo "reconfigured step by step. Preview the plan first with:"
	@echo "  $(BIN)/ansible-playbook -i $(DEMO_INVENTORY) playbooks/reconfig.yml --check --diff"
	@echo "make stop stops every member."

# Stop every member make demo started, by the pid in its pid file (SIGTERM, then SIGKILL after 30 s),
# and only when that process's command line names that member's directory: an argument (or the value
# of an --option=value) that is an existing path inside it, relative paths taken from the process's
# own working directory (members started by hand with -f .demo/x/mongod.conf, or -f mongod.conf
# from inside .demo/x, are stopped too).
stop:
	@for pidfile in $(DEMO_STATE)/*/mongod.pid; do \
	  [ -f "$$pidfile" ] || continue; \
	  pid=$$(cat "$$pidfile"); dir=$$(dirname "$$(realpath "$$pidfile")"); \
	  case "$$pid" in ''|*[!0-9]*) continue;; esac; \
	  names=no; cwd=$$(readlink /proc/$$pid/cwd 2>/dev/null) || continue; \
	  while IFS= read -r -d '' arg; do \
	    arg=$${arg#--*=}; case "$$arg" in /*) ;; *) arg="$$cwd/$$arg";; esac; \
	    case "$$(realpath -e -- "$$arg" 2>/dev/null)/" in "$$dir"/*) names=yes; break;; esac; \
	  done < /proc/$$pid/cmdline 2>/dev/null; \
	  if [ "$$names" = yes ]; then \
	    echo "stopping $$dir (pid $$pid)"; kill -TERM "$$pid"; \
	    for _ in $$(seq 300); do [ -d /proc/$$pid ] && grep -qv ') Z' /proc/$$pid/stat 2>/dev/null || break; sleep 0.1; done; \
	    if [ -d /proc/$$pid ] && grep -qv ') Z' /proc/$$pid/stat 2>/dev/null; then kill -KILL "$$pid"; fi; \
	  fi; \
	done

# make lab: the field lab - four Debian 12 machines on this host (systemd-nspawn, systemd as PID 1, SSH,
# MongoDB's packages from the lab's signed repository; lab/fieldlab.py) - provisioned with
# playbooks/site.yml from the lab's network namespace, over SSH, as real hosts are (inventories/lab).
# Needs root; installs debootstrap and systemd-container with apt-get when missing. The machines keep
# running: make lab-run CMD="ansible-playbook -i inventories/lab playbooks/status.yml" runs a command as
# the controller; make lab-stop stops everything it started.
LAB_STATE := .lab/lab
LAB := $(BIN)/python lab/fieldlab.py --state $(LAB_STATE) --name lab --subnet 10.78.0
export QUORUM_LAB_STATE := $(CURDIR)/$(LAB_STATE)
lab: venv
	@$(LAB) start --machines 4
	@echo "== Provisioning inventories/lab with playbooks/site.yml over SSH (log: $(LAB_STATE)/site.log)"
	@$(LAB) exec -- $(BIN)/ansible-playbook -i inventories/lab playbooks/site.yml > $(LAB_STATE)/site.log 2>&1 \
	  || { tail -n 30 $(LAB_STATE)/site.log; echo "make lab: provisioning failed; see $(LAB_STATE)/site.log"; exit 1; }
	@$(call DEMO_SHOW,Show the status|Show the smoke check) $(LAB_STATE)/site.log
	@echo
	@echo "The machines keep running. As the controller (inside the lab's network namespace):"
	@echo "  make lab-run CMD=\"ansible-playbook -i inventories/lab playbooks/status.yml\""
	@echo "  make lab-run CMD=\"ssh -i $(LAB_STATE)/id_ed25519 -o UserKnownHostsFile=$(LAB_STATE)/known_hosts quorum@10.78.0.11\""
	@echo "make lab-stop stops every machine, mount, namespace and the repository server."

lab-run: venv
	@$(LAB) exec -- bash -c 'PATH=$(CURDIR)/$(BIN):$$PATH; $(CMD)'

lab-stop: venv
	@$(LAB) stop

# The test files run on two pytest-xdist workers, a file per worker at a time: most tests wait on
# elections and timeouts, so two keep the 2 cores busy. Files go in tests/conftest.py's order, the
# longest first (xdist would otherwise sort them by their number of tests).
test: venv
	$(BIN)/pytest -q --durations=15 -n 2 --dist loadfile --no-loadscope-reorder tests
	$(MAKE) --no-print-directory lint sanity
	$(BIN)/python tests/compat/core_range.py --quick

# The ansible-core range of meta/runtime.yml: 2.16, 2.17 and 2.18 in their own venvs from PyPI (docs,
# module_defaults and the installed tarball end to end), the modules' compile check on Python 3.8-3.13
# (about 2 minutes once the venvs exist in ~/.cache; make test runs the bounds: 2.16, Python 3.8 and 3.13).
core-range: venv
	$(BIN)/python tests/compat/core_range.py

# Fold the fragments of changelogs/fragments/ into changelogs/changelog.yaml under the version in
# galaxy.yml (antsibull-changelog; the fragments are then removed) and write CHANGELOG.md from it.
changelog: venv
	PYTHONWARNINGS=ignore $(BIN)/antsibull-changelog release --update-existing

lint: venv
	$(BIN)/ansible-lint --profile production

sanity: venv
	$(BIN)/python tests/sanity/run_sanity.py

# Every benchmark (about 30 minutes), then bench/RESULTS.md and its figures (matplotlib is
# installed into the venv for them; community.mongodb comes from PyPI into bench/.peer/).
bench: venv
	$(BIN)/python -m pip install --quiet matplotlib
	$(BIN)/python -m bench.bench_validation
	$(BIN)/python -m bench.bench_planner
	$(BIN)/python bench/bench_mongoemu.py
	$(BIN)/python bench/bench_replset.py
	$(BIN)/python bench/bench_peer.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_rolling.py
	$(BIN)/python bench/bench_provision.py
	$(BIN)/python bench/bench_field.py
	$(BIN)/python bench/bench_upgrade.py
	$(BIN)/python tests/chaos/chaos_runner.py --runs 5
	$(BIN)/python bench/report.py

# Chaos runs (about 7 minutes per seed): rs_config plans, rolling resyncs and forced reconfigs with
# a random member killed or paused at a random moment, and the drills (lagging survivors, arbiters
# under auth, a resync with a member down, a full dbPath - root: tmpfs mounts), CHAOS_RUNS seeds
# each from CHAOS_SEED (random when unset); make test runs one recorded seed of the first three and
# of lagging_survivors (tests/chaos). Results: bench/results/chaos.*
CHAOS_RUNS ?= 6
chaos: venv
	$(BIN)/python tests/chaos/chaos_runner.py --runs $(CHAOS_RUNS) $(if $(CHAOS_SEED),--seed $(CHAOS_SEED))

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
