# syntax=docker/dockerfile:1
# Rivulet container image, for machines with Docker.
#
# CI builds the images the Helm chart runs with scripts/image/build.sh instead, without a
# container engine (docs/images.md): same paths (/app), user (10001), ENTRYPOINT and CMD,
# which test/images/broker-image.test.ts checks against this file. Keep them in step.
#
#   docker build -t rivulet:0.1.0 .
#   docker run --rm -p 9092:9092 -p 9644:9644 -v rivulet-data:/var/lib/rivulet \
#     rivulet:0.1.0 start --data-dir /var/lib/rivulet --host 0.0.0.0 --advertised-host localhost
#
# Both stages use the same glibc (Debian bookworm) base: @node-rs/crc32, snappy and
# lz4-napi ship prebuilt native binaries per libc, and `npm ci` in each stage picks the
# ones matching that base. Do not switch the runtime stage to Alpine (musl).
#
# Signals: node runs as PID 1 with no init. That is deliberate: `rivulet start` installs
# SIGTERM and SIGINT handlers (stop accepting, answer in-flight requests, fsync, exit 0),
# so the kernel's "PID 1 ignores signals without a handler" rule does not bite, and the
# broker spawns no child processes, so there are no zombies to reap. `docker run --init`
# (or Kubernetes, which needs nothing extra) works as well if you prefer an init.

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: all dependencies, compile TypeScript --------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` runs the build, which needs the sources copied below (native
# modules and esbuild's binary come as prebuilt optional packages; no install script needed).
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm run build

# ---- runtime: production dependencies and the compiled broker only -------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc, which is a dev dependency and not installed.
# The native modules above ship prebuilt binaries as optional dependencies, so no
# install script is needed to get them.
RUN npm ci --omit=dev --ignore-scripts \
 && npm cache clean --force \
 && groupadd --system --gid 10001 rivulet \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/rivulet --shell /usr/sbin/nologin rivulet \
 && mkdir -p /var/lib/rivulet \
 && chown 10001:10001 /var/lib/rivulet
# The bundle (scripts/bundle.mjs) is all the broker and the CLI run; dist/src is for tests.
COPY --from=build /src/dist/bin ./dist/bin

USER 10001:10001
VOLUME /var/lib/rivulet
# 9092: Kafka protocol; 9644: HTTP (/healthz, /readyz, /metrics)
EXPOSE 9092 9644
# --initial-old-space-size: fewer mark-compact pauses (DESIGN.md, "Latency rules").
ENTRYPOINT ["node", "--initial-old-space-size=64", "/app/dist/bin/rivulet.js"]
CMD ["start", "--data-dir", "/var/lib/rivulet", "--host", "0.0.0.0"]
