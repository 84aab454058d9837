# syntax=docker/dockerfile:1
#
# dashboard-service: multi-stage build, small non-root runtime image.
#
#   docker build -t dashboard-service .
#   docker run -p 50051:50051 -p 9090:9090 -v dashboards-data:/data dashboard-service
#   docker exec <container> dashboard-service token --sub alice --org acme --role AUTHOR
#
# With no DATABASE_URL the service keeps its embedded SQLite database (dashboards.db) and its
# generated JWT secret (dashboards.db.jwt-secret) in /data, the working directory.
# For PostgreSQL: -e DATABASE_URL=postgres://user:password@host:5432/dashboards -e JWT_SECRET=...
#
# Base images are pinned by tag and digest (the toolchain matches rust-version and CI's
# rustc); bump both together. `hadolint Dockerfile` runs in .ci/run.

# ---- build ----------------------------------------------------------------------------------
FROM rust:1.95.0-bookworm@sha256:6258907abe69656e41cd992e0b705cdcfabcbbe3db374f92ed2d47121282d4a1 AS build
WORKDIR /src
# Protos compile with protox (pure Rust): no protoc needed. Symbols are stripped from the
# release binary here only (local release builds keep them for profiling).
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin dashboard-service \
    && install -D -m 0755 target/release/dashboard-service /out/dashboard-service

# ---- runtime --------------------------------------------------------------------------------
FROM debian:12.11-slim@sha256:b1a741487078b369e78119849663d7f1a5341ef2768798f7b7406c4240f86aef

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="dashboard-service" \
      org.opencontainers.image.description="gRPC service that stores dashboards, widgets, members and shares" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="debian:12.11-slim"

# ca-certificates: TLS to PostgreSQL and identity providers. The version is pinned (the
# bookworm-security build); a point release that supersedes it needs this line bumped.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20250419~deb12u2 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 dashboards \
    && useradd --system --uid 10001 --gid dashboards --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin dashboards \
    && install -d -o dashboards -g dashboards -m 0750 /data
COPY --from=build /out/dashboard-service /usr/local/bin/dashboard-service

# Numeric, so that Kubernetes runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
ENV LISTEN_ADDR=0.0.0.0:50051 \
    METRICS_ADDR=0.0.0.0:9090
# 50051: gRPC (health, reflection, the API). 9090: Prometheus metrics, plain HTTP /metrics.
EXPOSE 50051 9090
# Exits 0 only when the server's grpc.health.v1 status is SERVING (it probes 127.0.0.1 on the
# port of LISTEN_ADDR; over TLS, accepting the server's own certificate, when TLS_CERT_FILE is
# set).
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["dashboard-service", "health"]
ENTRYPOINT ["dashboard-service"]
