# syntax=docker/dockerfile:1
#
# dashboard-service: multi-stage build, small non-root runtime image.
#
#   docker build -t dashboard-service .
#   docker run -p 50051:50051 -v dashboards-data:/data dashboard-service
#   docker exec <container> dashboard-service token --sub alice --org acme --role AUTHOR
#
# With no DATABASE_URL the service keeps its embedded SQLite database (dashboards.db) and its
# generated JWT secret (dashboards.db.jwt-secret) in /data, the working directory.
# For PostgreSQL: -e DATABASE_URL=postgres://user:password@host:5432/dashboards -e JWT_SECRET=...

# ---- build ----------------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
# Protos compile with protox (pure Rust): no protoc needed.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin dashboard-service \
    && install -D -m 0755 target/release/dashboard-service /out/dashboard-service

# ---- runtime --------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
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
ENV LISTEN_ADDR=0.0.0.0:50051
EXPOSE 50051
# Exits 0 only when the server's grpc.health.v1 status is SERVING (it probes 127.0.0.1 on the
# port of LISTEN_ADDR).
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["dashboard-service", "health"]
ENTRYPOINT ["dashboard-service"]
