# syntax=docker/dockerfile:1
# The one image the chart runs: `linnstream` (operator, gateway, and every child the
# operator creates). Build and push:
#   docker build -t REGISTRY/linnstream:0.1.0 .
#   docker push REGISTRY/linnstream:0.1.0
# then install the chart with --set image.repository=REGISTRY/linnstream.

# Build: the release binary (glibc; rustls, so no OpenSSL; fonts and migrations embedded).
FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin linnstream \
    && cp target/release/linnstream /linnstream

# Run: distroless (glibc and libgcc only, no shell), as the non-root uid 65532 that the
# chart's and the operator's security contexts require.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /linnstream /usr/local/bin/linnstream
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/linnstream"]
CMD ["--help"]
