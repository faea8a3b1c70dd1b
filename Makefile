# otp-service: `make run` starts the service, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run dev test lint container-test deploy-test bench clean

# The .env below is made only for a project that reads it: with ENV_FILE given (another file, or
# empty for none) nothing is written into the work tree.
DOTENV := $(if $(filter undefined,$(origin ENV_FILE)),.env)

# The venv is rebuilt when the requirements change; each stamp records one install.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# The client package (clients/python) is installed editable with the dev tools: a change to its
# metadata or console script needs the install again.
$(VENV)/.dev-installed: requirements.txt requirements-dev.txt clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-installed

# A fresh .env with random secrets, only when there is none: an existing one is never touched.
.env:
	@$(PYTHON) -c 'import base64, secrets; \
	print("API_KEY=" + secrets.token_urlsafe(32)); \
	print("OTP_SECRET=" + base64.b32encode(secrets.token_bytes(20)).decode()); \
	print("OTP_ENCRYPTION_KEYS=" + base64.b64encode(secrets.token_bytes(32)).decode())' > .env
	@chmod 600 .env
	@echo "Created .env with a fresh random API_KEY, OTP_SECRET and OTP_ENCRYPTION_KEYS (see .env.example for the rest)."

run: $(VENV)/.run-installed $(DOTENV)
	exec $(BIN)/gunicorn -c otpsite/gunicorn.conf.py

# gunicorn migrates in its master before binding (gunicorn.conf.py); runserver does not. With no
# address given, runserver binds HOST:PORT like gunicorn (otp/management/commands/runserver.py).
dev: $(VENV)/.run-installed $(DOTENV)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py createcachetable
	ENABLE_DOCS=true exec $(BIN)/python manage.py runserver

# ruff keeps its cache in .venv (pyproject.toml), as pytest does; lint-imports has no setting
# for it, so its cache directory is given here.
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --cache-dir $(VENV)/.import_linter_cache
	$(BIN)/hadolint Dockerfile container/python-standin.Containerfile \
		container/postgres-standin.Containerfile container/redis-standin.Containerfile

# Leaves the work tree as it found it: test data goes to temporary folders and caches to .venv,
# Python writes no bytecode here, and git status before and after must agree. PYTEST_ARGS
# narrows the pytest run (e.g. PYTEST_ARGS=tests/core/test_totp.py).
test: $(VENV)/.dev-installed
	@tree=$$(mktemp -d) && trap 'rm -rf "$$tree"' EXIT; \
	git status --porcelain --ignored >"$$tree/before" 2>/dev/null; \
	$(MAKE) --no-print-directory lint && PYTHONDONTWRITEBYTECODE=1 $(BIN)/pytest $(PYTEST_ARGS); \
	status=$$?; \
	git status --porcelain --ignored >"$$tree/after" 2>/dev/null; \
	if ! diff "$$tree/before" "$$tree/after" >"$$tree/changes"; then \
		echo "make test changed the work tree (git status --porcelain --ignored; > is new):"; \
		cat "$$tree/changes"; \
		status=1; \
	fi; \
	exit $$status

container-test:
	bash container/test.sh

# deploy/compose.yaml brought up with podman-compose and checked, and deploy/kubernetes/ validated
# (and played with podman kube play where it can): deploy/README.md. The venv brings
# podman-compose and kubernetes-validate.
deploy-test: $(VENV)/.dev-installed
	bash deploy/test.sh

bench: $(VENV)/.dev-installed
	bash bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache var/test
