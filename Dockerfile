# Multi-stage: build with the full toolchain, run on a slim image with libpq only, as non-root.
FROM rust:1.89-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs rustfmt.toml ./
COPY migrations migrations
COPY openapi openapi
COPY src src
RUN cargo build --release --locked && strip target/release/concierge

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app concierge \
    && mkdir -p /app/data && chown -R concierge /app
COPY --from=build /src/target/release/concierge /usr/local/bin/concierge
USER concierge
WORKDIR /app
ENV CONCIERGE_BIND=0.0.0.0:8080 RUST_LOG=info
EXPOSE 8080
VOLUME /app/data
ENTRYPOINT ["/usr/local/bin/concierge"]
CMD ["serve"]
