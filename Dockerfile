# The ragkit web app and workers. The embedding model ships inside a Python package, so the
# image runs offline; the database and Redis are separate services (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    RAGKIT_HOME=/var/lib/ragkit MEDIA_ROOT=/var/lib/ragkit/media
WORKDIR /app

# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY ragkit ragkit
COPY webapp webapp
COPY workers workers
COPY migrations migrations
RUN pip install ".[web]" gunicorn \
    && useradd --system --home /var/lib/ragkit ragkit \
    && mkdir -p /var/lib/ragkit/media && chown -R ragkit /var/lib/ragkit
USER ragkit
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "120", "webapp:create_app()"]
