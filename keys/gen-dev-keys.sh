#!/usr/bin/env bash
# Development keys: ES256 and RS256 signing keys (JWK), the cookie AEAD key and the
# pairwise-subject secret, written to keys/dev/ (ignored by git). Existing keys are kept.
# Production keys are made the same way (eidgw keys generate DIR) on the production host.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/eidgw ] || bash tools/setup.sh
./build/eidgw keys generate "${1:-keys/dev}"
