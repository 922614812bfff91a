# The operator image: built with the Rust toolchain, run from a distroless
# base as a non-root user. Build: docker build -t chatbot-operator .
FROM rust:1.92-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY templates templates
COPY environments environments
COPY benches benches
RUN cargo build --release --locked --bin chatbot-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/chatbot-operator /usr/local/bin/chatbot-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/chatbot-operator"]
CMD ["run", "--log-format=json"]
