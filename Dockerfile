# syntax=docker/dockerfile:1
# Build stage: the same release build as `cargo build --release` on a developer machine.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin tessera

# Runtime stage: a small Debian image with only the binary, run as a non-root user.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/tessera --create-home tessera
COPY --from=build /src/target/release/tessera /usr/local/bin/tessera
USER tessera
WORKDIR /var/lib/tessera
ENV TESSERA_BIND=0.0.0.0:8080 \
    TESSERA_DATABASE_URL=sqlite:///var/lib/tessera/data/tessera.db?mode=rwc \
    TESSERA_KEYS_DIR=/var/lib/tessera/keys
VOLUME ["/var/lib/tessera"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/tessera", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/tessera"]
CMD ["serve"]
