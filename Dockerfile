# One image for every Rasd service (crawler, ingest, indexer, demo site);
# the command picks the stage.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 rasd
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY ingest ingest
COPY crawlers crawlers
COPY indexer indexer
COPY deploy deploy
COPY rasd rasd
# the versions the tests ran with (constraints.txt, `make lock`)
RUN pip install -c constraints.txt .

USER rasd
ENTRYPOINT ["rasd"]
CMD ["--help"]
