#!/usr/bin/env bash
# Development keys: ES256 and RS256 signing keys (JWK), the cookie AEAD key and the
# pairwise-subject secret, written to keys/dev/ (ignored by git). Existing keys are kept.
# Also the SAML IdP's signing key and self-signed certificate (RSA-2048, PEM:
# saml-idp.key, saml-idp.crt; docs/saml.md).
# Production keys are made the same way (eidgw keys generate DIR, and the openssl line
# below) on the production host.
# A relative DIR is taken from the caller's working directory; without DIR: keys/dev of
# this checkout.
set -euo pipefail
case "${1:-}" in
  '') dir= ;;
  /*) dir="$1" ;;
  *) dir="$PWD/$1" ;;
esac
cd "$(dirname "$0")/.."
dir="${dir:-$PWD/keys/dev}"
[ -x build/eidgw ] || bash tools/setup.sh
mkdir -p "$dir"
./build/eidgw keys generate "$dir"
if [ ! -f "$dir/saml-idp.key" ]; then
  (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=eidgw SAML IdP" \
    -keyout "$dir/saml-idp.key" -out "$dir/saml-idp.crt" 2>/dev/null)
  echo "gen-dev-keys: SAML IdP key and certificate in $dir"
fi
