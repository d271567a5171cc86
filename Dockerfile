# syntax=docker/dockerfile:1
# Multi-stage: dependencies resolve in their own layer (keyed on pyproject + lock), so editing
# source rebuilds only the last layers.
FROM python:3.11-slim AS base
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 EMILY_HOME=/data/emily
WORKDIR /app

FROM base AS deps
COPY pyproject.toml requirements.lock README.md ./
RUN mkdir -p src/emily && touch src/emily/__init__.py \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c requirements.lock \
      --extra-index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
 && /opt/venv/bin/pip install -c requirements.lock .

FROM deps AS dev
RUN apt-get update && apt-get install -y --no-install-recommends make git restic \
      prometheus prometheus-alertmanager && rm -rf /var/lib/apt/lists/*
RUN /opt/venv/bin/pip install -c requirements.lock ".[dev]"

FROM base AS runtime
COPY --from=deps /opt/venv /opt/venv
COPY src/ ./src/
COPY pyproject.toml requirements.lock README.md ./
RUN /opt/venv/bin/pip install --no-deps . && useradd --create-home emily \
 && mkdir -p /data/emily && chown emily /data/emily
USER emily
VOLUME ["/data/emily"]
EXPOSE 8000
ENTRYPOINT ["/opt/venv/bin/emily"]
CMD ["serve", "--host", "0.0.0.0"]
