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

# start the mock upstream on 127.0.0.1 (OpenAI- and Anthropic-compatible routes, faults, recording)
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

# ask the running server to reload its configuration (pass --key-file with an operator key, --url)
[group('config')]
reload *args: sync
    uv run switchboard reload {{args}}

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

# install the Debian packages the benchmarks drive (wrk as load generator, nginx as reference upstream)
[group('develop')]
bench-tools:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    if ((${#missing[@]})); then
      sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
      $sudo_ apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    echo "wrk: $(command -v wrk), nginx: $(command -v nginx || echo /usr/sbin/nginx)"

# --- deploy ----------------------------------------------------------------------------------------------

# build the container image with buildah (BASE: an image with python3 >= 3.11 and venv; empty: a Debian base
# built here with mmdebstrap, reused once built; docs/deployment.md)
[group('deploy')]
image tag="switchboard:latest" base="":
    #!/usr/bin/env bash
    set -euo pipefail
    base="{{ base }}"
    if [[ -z $base ]]; then
      base=localhost/switchboard-base:bookworm
      buildah inspect --type image "$base" >/dev/null 2>&1 || deploy/container/build-base.sh "$base"
    fi
    buildah bud --isolation chroot --layers --build-arg BASE="$base" -f Containerfile -t "{{ tag }}" .

# install the Debian packages `just image` and its test need (mmdebstrap, buildah), as root
[group('deploy')]
image-tools:
    apt-get install -y --no-install-recommends mmdebstrap buildah uidmap

# build the image and run the opt-in image test (builds, serves from it, probes health, a chat, a stream)
[group('deploy')]
test-image *args: sync
    SWITCHBOARD_IMAGE_TEST=1 uv run pytest tests/deploy/test_image.py {{ args }}
