# Thin wrapper: every target runs tasks.py, which needs only Python.
PY ?= python3
WORKERS ?=

.PHONY: demo test setup release lint bench grade
demo:      ; $(PY) tasks.py demo
test:      ; $(PY) tasks.py test
setup:     ; $(PY) tasks.py setup
release:   ; $(PY) tasks.py release
lint:      ; $(PY) tasks.py lint
bench:     ; $(PY) tasks.py bench
grade:     ; $(PY) tasks.py grade $(if $(WORKERS),--workers $(WORKERS))
