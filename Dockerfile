# syntax=docker/dockerfile:1
# One image for every service: web (gunicorn), worker, scheduler and the migrate job.
#   docker build -t notesite .

ARG PYTHON_IMAGE=python:3.12-slim

# --- builder: compilers live here only ---------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Compilers for any requirement that has no wheel for this platform.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels --requirement requirements.txt

# --- runtime: no compilers, no build cache, runs as an unprivileged user ------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN groupadd --system --gid 10001 notesite \
    && useradd --system --uid 10001 --gid notesite --home-dir /app --shell /usr/sbin/nologin notesite

# Install from the builder's wheels only (--no-index): nothing is compiled or fetched here,
# and the bind mount keeps the wheels out of every layer of this image.
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m venv /opt/venv \
    && pip install --no-index --find-links=/wheels --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

WORKDIR /app
COPY --chown=root:root . .

# Hashed, compressed static files are built into the image. The SECRET_KEY here exists
# only for this one command (settings refuse to start without one when DEBUG is off);
# it is not an ENV, so it never reaches a running container.
RUN SECRET_KEY=collectstatic-build-only-not-a-secret DEBUG=false STATICFILES_MANIFEST=true \
    python manage.py collectstatic --noinput

# The code and static files stay owned by root: the app user can read, not change them.
USER notesite

EXPOSE 8000

CMD ["gunicorn", "--config", "gunicorn.conf.py", "notesite.wsgi"]
