# HotGigs: `make setup` once (idempotent), then `make run` or `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
# Debian packages the project needs (later issues add nginx, prometheus, wrk, ...).
DEBIAN_PACKAGES := openssl wrk nghttp2-client prometheus prometheus-alertmanager prometheus-node-exporter prometheus-redis-exporter nginx chromium chromium-driver
# Host tools of the deploy test rig (tests/deploy/testhost): only `make deploy-test` installs them.
DEPLOY_TEST_PACKAGES := debootstrap systemd-container zstd dpkg-dev

.PHONY: setup run observe test audit lint protos proto-lint proto-breaking api-release stubs ansible-lint bench eval wheelhouse deploy-wheelhouse deploy-test clean

setup: $(STAMPS)/python $(STAMPS)/node $(STAMPS)/debian protos

$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS) && test -x $(PY) || python3.11 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==26.3 && $(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,embedded]' && touch $@

$(STAMPS)/node: package.json package-lock.json
	@mkdir -p $(STAMPS) && npm ci --no-audit --no-fund --loglevel=error && touch $@

$(STAMPS)/debian: Makefile
	@mkdir -p $(STAMPS) && { [ -z "$(strip $(DEBIAN_PACKAGES))" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES); }; } && touch $@

protos: $(STAMPS)/python
	$(PY) -m http_bridge.build_protos

run: setup
	$(VENV)/bin/hotgigs up

observe: setup
	$(VENV)/bin/hotgigs up --observe

lint: setup proto-lint ansible-lint
	$(VENV)/bin/ruff check server http_bridge tests && $(VENV)/bin/mypy

ansible-lint: $(STAMPS)/python
	cd ansible && for p in playbooks/*.yml; do PATH=$(CURDIR)/$(VENV)/bin:$$PATH ansible-playbook --syntax-check $$p > /dev/null || exit 1; done && PATH=$(CURDIR)/$(VENV)/bin:$$PATH ansible-lint --nocolor -q

proto-lint: $(STAMPS)/node
	sh protos/vendor.sh && npx --no-install buf lint

# The API contract: protos/ against the last released API (the highest protos/released/*.binpb),
# buf's FILE rules (what generated code relies on). `make api-release` records a new release.
RELEASED_API = $(shell ls protos/released/*.binpb | sort -V | tail -n 1)
proto-breaking: $(STAMPS)/node
	sh protos/vendor.sh && npx --no-install buf breaking protos --against $(RELEASED_API)

api-release: proto-breaking
	@v=$$(cat protos/VERSION); test ! -e protos/released/$$v.binpb || { echo "API $$v is already released: raise protos/VERSION first"; exit 1; }; \
	npx --no-install buf build protos --exclude-source-info -o protos/released/$$v.binpb && echo "recorded protos/released/$$v.binpb"

# hotgigs-api, the stubs wheel for internal callers (dist/hotgigs_api-<protos/VERSION>-py3-none-any.whl).
stubs: protos
	$(PY) -m hotgigs.dev.stubs_wheel --output-dir dist

test: lint proto-breaking audit
	$(PY) -m pytest

# pip-audit over the locked dependencies; an unreachable advisory index is reported, not fatal.
audit: setup
	$(PY) -m hotgigs.dev.audit

bench: setup
	$(PY) -m hotgigs.dev.bench --json var/bench/results.json
	$(PY) -m hotgigs.dev.bench.scale --json var/bench/scale.json

eval: setup
	$(PY) -m hotgigs.ai.evaluation

wheelhouse: protos
	rm -rf build dist/wheelhouse && $(PY) -m pip wheel --quiet --wheel-dir dist/wheelhouse .

# Debian 12's Python is 3.11.2: redis needs async-timeout below 3.11.3, which pip on a newer Python leaves out.
deploy-wheelhouse: wheelhouse
	$(PY) -m pip wheel --quiet --wheel-dir dist/wheelhouse 'async-timeout>=4.0.3'

$(STAMPS)/deploy-test-tools: Makefile
	@mkdir -p $(STAMPS) && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEPLOY_TEST_PACKAGES) && touch $@

deploy-test: setup deploy-wheelhouse $(STAMPS)/deploy-test-tools
	$(PY) -m pytest -m deploy -s tests/deploy/test_e2e_deploy.py

clean:
	rm -rf $(STAMPS) build server/hotgigs/v1 .pytest_cache .mypy_cache .ruff_cache
