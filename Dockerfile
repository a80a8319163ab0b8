# syntax=docker/dockerfile:1.7
# Lighthouse images: every binary of the workspace on a distroless runtime (glibc, no
# shell, no package manager, uid 65532). One image, one entrypoint per worker kind:
#   docker build -t lighthouse .
#   docker run --rm lighthouse --help
# compose.yaml and k8s/ choose the binary with their entrypoint/command. deploy/check.py
# checks this file against the workspace (stages, user, entrypoints, copied paths).

ARG RUST_VERSION=1.95

# ---- build: the release binaries ----------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# Manifests first, so the dependency layer is cached across source edits.
COPY Cargo.toml Cargo.lock ./
COPY schemas schemas
COPY nats nats
COPY services services
COPY tests tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --workspace --bins \
 && mkdir -p /out \
 && find target/release -maxdepth 1 -type f -executable -name 'lighthouse*' -exec cp {} /out/ \;

# ---- runtime ----------------------------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="lighthouse" \
      org.opencontainers.image.description="Guard and coordination layer for AI coding agents, on NATS JetStream: CLI, hook and workers (validator, aggregator, annotator, projector)." \
      org.opencontainers.image.source="https://github.com/lighthouse-dev/lighthouse" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/ /usr/local/bin/
# The metrics listener of every worker: /metrics, /healthz, /readyz.
ENV LIGHTHOUSE__METRICS__LISTEN=0.0.0.0:9464
EXPOSE 9464
# distroless's nonroot user; the projector alone runs as root (FUSE mount: compose, k8s).
USER 65532:65532
WORKDIR /tmp
# No shell in the image: probes are the binary itself (k8s probes read /healthz directly).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/lighthouse", "probe", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["/usr/local/bin/lighthouse"]
CMD ["--help"]
