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

# The backup agent's image: the same binary beside the Postgres 17 client
# tools (pg_dump 17 dumps servers from 9.2 to 17; the server of a verify Job
# is this image too). Build: docker build --target backup-agent -t chatbot-operator-backup-agent .
FROM postgres:17-bookworm AS backup-agent
COPY --from=build /src/target/release/chatbot-operator /usr/local/bin/chatbot-operator
# Its own account, with a high id no host account shares (10001, the
# Jobs' runAsUser): initdb, which a verify Job runs for its throwaway
# database, refuses a user id /etc/passwd does not name.
RUN groupadd --system --gid 10001 agent \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin agent
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/chatbot-operator", "backup-agent"]

# The operator image (the default target).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/chatbot-operator /usr/local/bin/chatbot-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/chatbot-operator"]
CMD ["run", "--log-format=json"]
