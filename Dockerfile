# One image for every BlueRanch role; docker-compose.yml picks the subcommand.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/blueranch
COPY pyproject.toml README.md ./
COPY blueranch ./blueranch
COPY edge ./edge
COPY ingest ./ingest
COPY models ./models
COPY dashboards ./dashboards
COPY firmware_sim ./firmware_sim
RUN pip install --no-cache-dir '.[all]'
# State folders (edge buffer, alert state and outbox) are named volumes: owned by the runtime user.
RUN mkdir -p /var/lib/blueranch /run/blueranch && chown nobody:nogroup /var/lib/blueranch /run/blueranch
USER nobody
ENTRYPOINT []
CMD ["blueranch", "--help"]
