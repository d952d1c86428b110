#!/usr/bin/env bash
# Regenerates this test PKI (throw-away keys): an RSA root, a P-384 intermediate it signs with
# sha256WithRSAEncryption, and P-256 leaves the intermediate signs with ecdsa-with-SHA384:
#   leaf        digitalSignature + codeSigning  (usable)
#   leaf-nosign keyEncipherment only, no EKU    (unfit for signing)
#   notca       a leaf that is not a CA, and    (cannot issue)
#   under-notca a leaf it issued
set -euo pipefail
cd "$(dirname "$0")"
ext() { printf '%s\n' "$@" > ext.cnf; }
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out root.key 2>/dev/null
openssl req -x509 -new -key root.key -subj "/CN=aigate test root" -days 7300 -sha256 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.crt
leaf() { # name issuer curve extensions...
  local name=$1 issuer=$2 curve=$3; shift 3
  openssl ecparam -name "$curve" -genkey -noout -out "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=aigate test $name" -out "$name.csr"
  ext "$@"
  openssl x509 -req -in "$name.csr" -CA "$issuer.crt" -CAkey "$issuer.key" -CAcreateserial \
    -days 3650 -sha384 -extfile ext.cnf -out "$name.crt" 2>/dev/null
  rm "$name.csr"
}
leaf intermediate root secp384r1 "basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign"
leaf leaf intermediate prime256v1 "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=codeSigning"
leaf leaf-nosign intermediate prime256v1 "basicConstraints=CA:FALSE" "keyUsage=critical,keyEncipherment"
leaf notca intermediate prime256v1 "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyCertSign"
leaf under-notca notca prime256v1 "keyUsage=critical,digitalSignature"
rm -f ext.cnf ./*.srl root.key intermediate.key notca.key
