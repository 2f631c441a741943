# syntax=docker/dockerfile:1

# Build stage. sprocketd links mattn/go-sqlite3, which needs cgo and a C
# compiler; the bookworm Go image ships gcc.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=1

# Download the modules in their own layer so that source-only changes
# reuse the cache.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/sprocketd ./cmd/sprocketd

# Runtime stage. The binary is dynamically linked against glibc (cgo), so
# this is a slim Debian of the same release rather than scratch or alpine.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 sprocket \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /data --shell /usr/sbin/nologin sprocket \
 && mkdir -p /data \
 && chown 10001:10001 /data

COPY --from=build /out/sprocketd /usr/local/bin/sprocketd

USER 10001:10001
# A SQLite DATABASE_URL given as a relative path lands here; mount a volume
# on /data to keep it.
WORKDIR /data
ENV ENV=production PORT=8080
EXPOSE 8080

# No HEALTHCHECK: the image deliberately carries no curl or wget, so health
# checking is left to docker compose or the orchestrator (probe the HTTP
# port from outside the container).

ENTRYPOINT ["/usr/local/bin/sprocketd"]
CMD ["serve"]
