# Switchboard tasks. `just` lists them; `just serve` and `just test` are all a newcomer needs.

set shell := ["bash", "-euo", "pipefail", "-c"]

[private]
default:
    @just --list --unsorted

# --- run -------------------------------------------------------------------------------------------------

# install (from uv.lock) and serve on the embedded defaults (SQLite under var/, offline provider)
[group('run')]
serve *args: sync
    uv run switchboard serve {{args}}

# apply database migrations (DATABASE_URL; default the SQLite file under var/)
[group('run')]
migrate: sync
    uv run switchboard migrate

# start the mock OpenAI-compatible upstream on 127.0.0.1
[group('run')]
mock-upstream port="8100": sync
    uv run python -m ops.mock_upstream --port {{port}}

# --- configuration ---------------------------------------------------------------------------------------

# validate configuration and the dependency graph without serving
[group('config')]
check: sync
    uv run switchboard check

# print the validated dependency graph (pass --mermaid for a diagram)
[group('config')]
graph *args: sync
    uv run switchboard graph {{args}}

# which providers the environment enables, the default and the order
[group('config')]
providers: sync
    uv run switchboard providers

# --- develop ---------------------------------------------------------------------------------------------

# install the locked dependencies into .venv, with bytecode compiled ahead (fast startup even where
# PYTHONDONTWRITEBYTECODE is set)
[group('develop')]
sync:
    uv sync --locked --quiet --compile-bytecode
    uv run --no-sync python -m compileall -q contracts backend adapters ops

# run the whole test suite
[group('develop')]
test *args: sync
    uv run pytest {{args}}

# lint and check formatting
[group('develop')]
lint: sync
    uv run ruff check .

# strict type check of contracts/ and backend/
[group('develop')]
typecheck: sync
    uv run mypy

# format the code and apply safe lint fixes
[group('develop')]
fmt: sync
    uv run ruff check --fix .

# run the benchmarks under ops/bench (numbers, not assertions)
[group('develop')]
bench *args: sync
    uv run python -m ops.bench {{args}}
