# syntax=docker/dockerfile:1
# The Weir controller image: `weir controller` on Node 24, which runs the
# TypeScript sources as they are (no build step), with production
# dependencies only, as a non-root user, on a read-only root filesystem
# (the Git cache is the only thing it writes: mount a volume at
# /var/cache/weir, as deploy/ does with an emptyDir).
#
#   docker build -t weir-controller:0.1.0 .
#
# test/packaging-image.test.ts checks that what this file copies exists and
# that the entrypoint runs from the same layout.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: no production dependency has one (the `node`
# devDependency does, and is omitted).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOME=/tmp \
    WEIR_CACHE_DIR=/var/cache/weir/git \
    WEIR_LISTEN=0.0.0.0:8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# The base image's unprivileged `node` user (uid 1000); it owns only the cache.
RUN mkdir -p /var/cache/weir && chown 1000:1000 /var/cache/weir
USER 1000:1000
EXPOSE 8080
VOLUME ["/var/cache/weir"]
ENTRYPOINT ["node", "bin/weir.js", "controller"]
