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

# The runtime stage builds the wheel and installs it like any user's install, then drops the
# sources: every file the package reads at run time (migrations, Feast templates, card template)
# ships inside it (emily._data, found through importlib.resources), and `emily init` makes the
# home in the volume. The check runs from / so that nothing can come from a source tree.
FROM base AS runtime
COPY --from=deps /opt/venv /opt/venv
COPY src/ /tmp/build/src/
COPY pyproject.toml README.md /tmp/build/
RUN /opt/venv/bin/pip wheel --no-deps -w /tmp/dist /tmp/build \
 && /opt/venv/bin/pip install --no-deps --force-reinstall /tmp/dist/emily_sovereign-*.whl \
 && rm -rf /tmp/build /tmp/dist \
 && cd / && /opt/venv/bin/python -c "from emily._data import data_path; data_path('migrations')" \
 && useradd --create-home emily && mkdir -p /data/emily && chown emily /data/emily
USER emily
VOLUME ["/data/emily"]
EXPOSE 8000
ENTRYPOINT ["/opt/venv/bin/emily"]
CMD ["serve", "--host", "0.0.0.0"]
