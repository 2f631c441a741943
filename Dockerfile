# syntax=docker/dockerfile:1

# Build stage. sprocketd links mattn/go-sqlite3, which needs cgo and a C
# compiler; the bookworm Go image ships gcc.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=1

# Download the modules in their own layer so that source-only changes
# reuse the cache; the module cache is a BuildKit cache mount, kept between
# builds.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
# The version the binary reports (sprocketd version, /metrics
# sprocket_build_info). Empty means the VERSION file of the build context
# (.git is not in the context); to add the commit:
#   docker build --build-arg VERSION="$(cat VERSION)-$(git rev-parse --short=12 HEAD)" .
ARG VERSION=
# Go's build cache is a cache mount too: a rebuild after a source change
# recompiles the changed packages, not SQLite's C code (1.5 to 2 minutes
# on two cores).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    v="${VERSION:-$(cat VERSION)}" \
 && go build -trimpath -ldflags "-s -w -X main.version=${v}" \
      -o /out/sprocketd ./cmd/sprocketd \
 && /out/sprocketd version

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

# The image carries no curl: sprocketd probes itself. The healthcheck
# command reads the container's HOST and PORT and GETs /readyz (database
# reachable), exiting 0 when ready and 1 otherwise, within 3 s.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/sprocketd", "healthcheck"]

# SIGTERM starts a graceful shutdown of up to SHUTDOWN_GRACE (20 s by
# default): give the container more than that before it is killed
# (docker stop -t 30, compose's stop_grace_period; Docker's default is 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sprocketd"]
CMD ["serve"]
