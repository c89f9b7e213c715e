# firebreak's production image: the worker, the Slack front door and every
# other command, without the embedded Temporal server (build tag noembedded;
# 'firebreak dev' and 'firebreak demo' say so and point at the full build).
# It runs against a Temporal cluster or Temporal Cloud named by TEMPORAL_*.
#
#   docker build -t firebreak .
#   docker run --rm firebreak validate          # the built-in library
#
# See docs/operations.md ("Deploying with docker-compose").

# The Go release go.mod asks for (go 1.26.8 or later).
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a change of source does not download them again.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
# A static binary (no cgo, so no libc to match), with no build paths inside.
RUN CGO_ENABLED=0 go build -tags noembedded -trimpath -ldflags="-s -w" \
        -o /out/firebreak ./cmd/firebreak \
    && /out/firebreak validate >/dev/null \
    && mkdir -p /out/data

# distroless static: CA certificates (Slack, PagerDuty, webhooks, Temporal
# Cloud over TLS), tzdata and /etc/passwd with the nonroot user; no shell, no
# package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/firebreak /usr/local/bin/firebreak
# The simulation journal lives here; mount a volume on it. Owned by nonroot
# so that a new named volume starts writable.
COPY --from=build --chown=65532:65532 /out/data /var/lib/firebreak
ENV FIREBREAK_DATA_DIR=/var/lib/firebreak
WORKDIR /var/lib/firebreak
# uid 65532. A worker whose nftables blocks are real needs CAP_NET_ADMIN
# (and CAP_SYS_ADMIN for a named namespace) in its effective set, which a
# non-root user does not get from cap_add: see docker-compose.yml.
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/firebreak"]
CMD ["--help"]
