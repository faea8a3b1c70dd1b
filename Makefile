# otp-service: `make run` starts the service, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run dev test lint container-test bench clean

# The venv is rebuilt when the requirements change; each stamp records one install.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
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

run: $(VENV)/.run-installed .env
	exec $(BIN)/gunicorn -c otpsite/gunicorn.conf.py

# gunicorn migrates in its master before binding (gunicorn.conf.py); runserver does not.
dev: $(VENV)/.run-installed .env
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py createcachetable
	ENABLE_DOCS=true exec $(BIN)/python manage.py runserver

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile container/python-standin.Containerfile

test: lint
	$(BIN)/pytest

container-test:
	bash container/test.sh

bench: $(VENV)/.dev-installed
	bash bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
