# The release image: the release's static binary on an empty base (scratch), with CA certificates
# for HTTPS to OpenRouter, run as a numeric non-root user.
#
# The build context is not the repository but dist/image/, which .ci/release fills from the release
# (goreleaser's binaries and the build machine's CA bundle), so that nothing is downloaded here:
#
#   .ci/release                                  # or, with a release already in dist/:
#   podman build --build-arg TARGETARCH=amd64 --build-arg VERSION=0.1.0 -f Dockerfile -t openrouter-keys-mcp dist/image
#
# Running it (the default command serves streamable HTTP on port 8080: MCP at /mcp, health at
# GET /healthz, which answers {"status":"ok","version":...}):
#
#   docker run --rm -p 127.0.0.1:8080:8080 openrouter-keys-mcp
#       each caller sends its own OpenRouter key: Authorization: Bearer sk-or-v1-...
#   docker run --rm -p 8080:8080 -e OPENROUTER_KEYS_MCP_KEY_SOURCE=server \
#       -e OPENROUTER_MANAGEMENT_KEY -e OPENROUTER_KEYS_MCP_AUTH_TOKEN openrouter-keys-mcp
#       the server's key, for callers that present the access token
#   docker run --rm -i -e OPENROUTER_MANAGEMENT_KEY openrouter-keys-mcp stdio
#       MCP over stdin/stdout, for a local client that starts the container itself
#
# Why caller mode by default: in a container the server must listen on 0.0.0.0, and the server
# refuses to serve its own key on a non-loopback address without an access token (config.go,
# parseHTTP). In caller mode it holds no key at all, so the image starts with no secrets; set
# OPENROUTER_KEYS_MCP_KEY_SOURCE=server with a key and a token to change that.
FROM scratch

ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev

LABEL org.opencontainers.image.title="openrouter-keys-mcp" \
      org.opencontainers.image.description="MCP server that lets AI agents manage OpenRouter API keys" \
      org.opencontainers.image.source="https://github.com/orkeys/openrouter-keys-mcp" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      io.modelcontextprotocol.server.name="io.github.orkeys/openrouter-keys-mcp"

COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY ${TARGETOS}_${TARGETARCH}/openrouter-keys-mcp /openrouter-keys-mcp

USER 65532:65532
ENV OPENROUTER_KEYS_MCP_KEY_SOURCE=caller \
    OPENROUTER_KEYS_MCP_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/openrouter-keys-mcp"]
CMD ["http", "--addr", "0.0.0.0:8080"]
