# Wharf: one image for every part; the command picks it (docker run IMAGE control|gateway|agent,
# or any other wharf subcommand). Classic-builder syntax only (Docker 20.10, no BuildKit).
#
# Build from a checkout after `npm ci` (it fills node_modules and builds the dashboard into
# ui/dist); the build itself uses no network: the runtime dependencies come from the context's
# node_modules, the devDependencies pruned by package-lock.json's "dev" flags, no npm needed.
#
#   docker build -t wharf:local .                                       # FROM node:24-slim
#   images/build.sh base && \
#   docker build -t wharf:local --build-arg BASE=wharf/base:local .     # offline: bookworm minbase + Node 24
#
# The base must provide Node 24 as `node` on PATH and a user `node` (1000), as node:24-slim does.
ARG BASE=node:24-slim

FROM ${BASE} AS deps
WORKDIR /opt/wharf
COPY package.json package-lock.json ./
COPY deploy/image/prune-dev.ts deploy/image/
COPY node_modules node_modules
RUN node deploy/image/prune-dev.ts

FROM ${BASE}
ENV NODE_ENV=production \
    WHARF_HOME=/var/lib/wharf
WORKDIR /opt/wharf
COPY --from=deps /opt/wharf/node_modules node_modules
COPY package.json package-lock.json ./
COPY protocol protocol
COPY certs certs
COPY apps apps
COPY gateway gateway
COPY control control
COPY agent agent
COPY bin bin
COPY ui/dist ui/dist
COPY deploy/image deploy/image
# A missing dashboard would only show when someone opens it, an old Node at the first start:
# fail the build instead.
RUN if [ ! -f ui/dist/index.html ]; then echo "ui/dist is missing: run npm ci (it builds the dashboard) before docker build" >&2; exit 1; fi; \
    if ! node --version | grep -q '^v2[4-9]\.'; then echo "the base image's node is $(node --version 2>&1); Wharf needs Node 24 or later" >&2; exit 1; fi
RUN ln -s /opt/wharf/bin/wharf.ts /usr/local/bin/wharf \
 && mkdir -p /var/lib/wharf \
 && chown node:node /var/lib/wharf
# Not root: control and gateway need nothing more. The agent needs the Docker socket (see
# deploy/agent/docker-compose.yml: the socket's group, which is as good as root on that host).
USER node
ENTRYPOINT ["wharf"]
CMD ["--help"]
