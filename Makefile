.PHONY: run test test-all lint

# Install, migrate SQLite, load demo data, start web + worker.
run:
	scripts/run.sh

# Install and run the whole test suite (SQLite unless DATABASE_URL/REDIS_URL are set).
test:
	scripts/test.sh

# Both passes CI runs: SQLite, then PostgreSQL + Redis (starting them if installed and down).
test-all:
	bash .ci/run

lint:
	.venv/bin/python -m ruff check .
