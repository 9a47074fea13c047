# syntax=docker/dockerfile:1
# One image for every orderflow service; the command picks one:
#   node services/<service>/dist/main.js [migrate]
# Runtime: Node 24, production dependencies only, uid 65532, read-only root filesystem friendly
# (writes only to /tmp). The runtime tree is defined by scripts/build-runtime-tree.sh, which the
# tests also use to run a service from the same files without a Docker engine.

# Fully qualified so podman and docker resolve it alike. Where Docker Hub cannot be reached,
# scripts/containers/node-base.sh builds a local stand-in under this same name (see docs/kubernetes.md).
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim

# Workspace manifests only, so dependency layers stay cached while sources change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN scripts/build-runtime-tree.sh /manifests --manifests

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN scripts/build-runtime-tree.sh --compile \
 && scripts/build-runtime-tree.sh /out --files

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="orderflow" \
      org.opencontainers.image.description="Event-sourced CQRS order pipeline: every service in one image (node services/<svc>/dist/main.js)" \
      org.opencontainers.image.source="https://github.com/orderflow/orderflow" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
COPY --from=build /out/ ./
# Numeric user so the kubelet can verify runAsNonRoot; no home, no shell needed.
USER 65532:65532
EXPOSE 9090
# Exec form: Node is PID 1 and gets SIGTERM directly (graceful shutdown). Override the arguments
# with the service to run; the chart sets `command` explicitly.
ENTRYPOINT ["node"]
CMD ["services/order-api/dist/main.js"]
