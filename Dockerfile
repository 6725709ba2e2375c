# The ragkit web app and workers. The embedding model ships inside a Python package, so the
# image runs offline; the database and Redis are separate services (docker-compose.yml). A
# container keeps nothing of its own: uploads are stored in PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    RAGKIT_HOME=/var/lib/ragkit WEB_CONCURRENCY=2
WORKDIR /app

# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY ragkit ragkit
COPY webapp webapp
COPY workers workers
COPY migrations migrations
RUN pip install ".[web]" \
    && useradd --system --home /var/lib/ragkit ragkit \
    && mkdir -p /var/lib/ragkit && chown -R ragkit /var/lib/ragkit
USER ragkit
EXPOSE 8000
# Threaded workers, one per core: measured on 2 cores, 2 workers x 4 threads answered 2.5x the
# chats per second of 2 sync workers at a fifth of the 95th-percentile latency (docs/deploy.md).
# Each worker loads the embedding model on its first chat (about 0.6 GiB). gunicorn starts
# WEB_CONCURRENCY workers: set it to the cores of the machine.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--threads", "4", "--timeout", "120", "--graceful-timeout", "30", "--keep-alive", "5", "--no-control-socket", "webapp:create_app()"]
