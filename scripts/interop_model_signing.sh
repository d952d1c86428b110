#!/usr/bin/env bash
# Interoperability with the real OpenSSF model-signing (PyPI `model-signing` 1.1.1):
#   (a) signatures aigate makes verify with `model_signing verify …` (and its Python API for
#       shards and BLAKE3, which its CLI does not re-hash with);
#   (b) signatures a freshly installed model-signing makes verify with aigate;
# and each side rejects a tampered copy. Installs what it needs into a venv (PyPI only).
#
#   bash scripts/interop_model_signing.sh          # INTEROP_VENV=… to reuse a venv
#
# Ends with "N passed, M failed"; exits 1 when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DATA=$REPO/crates/aigate-attest/tests/data
REF=$DATA/model-signing-1.1.1
VENV=${INTEROP_VENV:-$REPO/target/interop-venv}
start=$(date +%s)

if [ ! -x "$VENV/bin/model_signing" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check model-signing==1.1.1 pyopenssl
fi
PY=$VENV/bin/python
MS=$VENV/bin/model_signing
"$PY" -c 'import importlib.metadata as m; print("model-signing", m.version("model-signing"))'

cargo build --release --locked --quiet -p aigate || exit 2
AIGATE=$REPO/target/release/aigate

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# `attest sign|verify …`: the checks below, spoken to `aigate sign` and `aigate verify-sig`.
ATTEST=$WORK/attest
cat > "$ATTEST" <<SHEOF
#!/usr/bin/env bash
cmd=\$1; shift; args=()
while [ \$# -gt 0 ]; do
  case \$1 in
    --ca|--chain) args+=(--certificate-chain "\$2"); shift 2 ;;
    --cert) args+=(--certificate "\$2"); shift 2 ;;
    --shards) args+=(--shard-size "\$2"); shift 2 ;;
    --blake3) args+=(--hash blake3); shift ;;
    --ignore) args+=(--ignore-paths "\$2"); shift 2 ;;
    *) args+=("\$1"); shift ;;
  esac
done
case \$cmd in
  sign) exec "$AIGATE" sign "\${args[@]}" ;;
  verify) exec "$AIGATE" verify-sig "\${args[@]}" ;;
esac
SHEOF
chmod +x "$ATTEST"
K=$WORK/keys
mkdir -p "$K"
cp "$REF"/keys/*.pem "$REF"/keys/pki/* "$K"/
cp "$DATA"/keys/p521.sec1.pem "$DATA"/keys/p521.pub.pem "$DATA"/keys/p384.encrypted.pem "$DATA"/keys/p384.pub.pem "$K"/
mkdir -p "$K/ours"
cp "$DATA"/pki/*.crt "$DATA"/pki/*.key "$K/ours/"
export INTEROP_PASSWORD='correct horse'

passed=0
failed=0
# check NAME EXPECTED_EXIT CMD...: EXPECTED_EXIT 0 = must succeed, 1 = must fail.
check() {
  local name=$1 want=$2
  shift 2
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if { [ "$want" = 0 ] && [ $rc = 0 ]; } || { [ "$want" = 1 ] && [ $rc != 0 ]; }; then
    passed=$((passed + 1))
    echo "  ok    $name"
  else
    failed=$((failed + 1))
    echo "  FAIL  $name (exit $rc)"
    echo "$out" | tail -n 5 | sed 's/^/        /'
  fi
}

fresh_model() { # DIR: a writable copy of the reference model
  rm -rf "$1"
  cp -r "$REF/model" "$1"
  chmod -R u+w "$1"
  mkdir -p "$1/.git" && echo 'ref: x' > "$1/.git/HEAD" # ignored by default on both sides
}
tamper() { printf 'x' >> "$1/weights.bin"; }

# Verifies with model-signing's Python API, guessing the hashing from the signature, as
# verifying.Config does when no hashing config is set (the CLI always re-hashes files/sha256).
ms_verify_guessed() { # MODEL SIG PUB
  "$PY" - "$@" <<'PYEOF'
import sys
from model_signing import verifying
verifying.Config().use_elliptic_key_verifier(public_key=sys.argv[3]).verify(sys.argv[1], sys.argv[2])
print("Verification succeeded")
PYEOF
}
ms_sign_api() { # MODEL SIG KEY MODE (shards1024|blake3)
  "$PY" - "$@" <<'PYEOF'
import sys
from model_signing import hashing, signing
model, sig, key, mode = sys.argv[1:5]
hc = hashing.Config()
if mode == "shards1024":
    hc = hc.use_shard_serialization(shard_size=1024)
else:
    hc = hc.use_file_serialization(hashing_algorithm="blake3")
hc.set_ignored_paths(paths=[sig], ignore_git_paths=True)
signing.Config().use_elliptic_key_signer(private_key=key).set_hashing_config(hc).sign(model, sig)
PYEOF
}

echo "== (a) aigate signs, model-signing verifies"
M=$WORK/a/model
mkdir -p "$WORK/a"
for spec in "ec_p256.key.pem:ec_p256.pub.pem:" "ec_p256_pkcs8.key.pem:ec_p256_pkcs8.pub.pem:" \
            "ec_p384.key.pem:ec_p384.pub.pem:" "p521.sec1.pem:p521.pub.pem:" \
            "p384.encrypted.pem:p384.pub.pem:--password-env INTEROP_PASSWORD"; do
  IFS=: read -r key pub extra <<< "$spec"
  fresh_model "$M"
  # shellcheck disable=SC2086
  check "files/sha256 with $key" 0 sh -c "'$ATTEST' sign --key '$K/$key' $extra --signature '$WORK/a/s.sig' '$M' >/dev/null && '$MS' verify key '$M' --signature '$WORK/a/s.sig' --public_key '$K/$pub'"
done
fresh_model "$M"
"$ATTEST" sign --key "$K/ec_p256.key.pem" --signature "$WORK/a/s.sig" "$M" >/dev/null
tamper "$M"
check "model-signing rejects a tampered copy" 1 "$MS" verify key "$M" --signature "$WORK/a/s.sig" --public_key "$K/ec_p256.pub.pem"

fresh_model "$M"
check "signature inside the model (recorded in ignore_paths)" 0 sh -c "'$ATTEST' sign --key '$K/ec_p256.key.pem' --signature '$M/model.sig' '$M' >/dev/null && '$MS' verify key '$M' --signature '$M/model.sig' --public_key '$K/ec_p256.pub.pem'"
fresh_model "$M"
check "user ignore path (README.md)" 0 sh -c "'$ATTEST' sign --key '$K/ec_p256.key.pem' --ignore README.md --signature '$WORK/a/s.sig' '$M' >/dev/null && echo changed > '$M/README.md' && '$MS' verify key '$M' --signature '$WORK/a/s.sig' --public_key '$K/ec_p256.pub.pem'"
fresh_model "$M"
check "single file" 0 sh -c "'$ATTEST' sign --key '$K/ec_p384.key.pem' --signature '$WORK/a/s.sig' '$M/weights.bin' >/dev/null && '$MS' verify key '$M/weights.bin' --signature '$WORK/a/s.sig' --public_key '$K/ec_p384.pub.pem'"
fresh_model "$M"
check "certificate: leaf + CA (P-256)" 0 sh -c "'$ATTEST' sign --key '$K/leaf.key' --cert '$K/leaf.crt' --chain '$K/ca.crt' --signature '$WORK/a/s.sig' '$M' >/dev/null && '$MS' verify certificate '$M' --signature '$WORK/a/s.sig' --certificate_chain '$K/ca.crt'"
check "certificate: leaf + P-384 intermediate under an RSA root" 0 sh -c "'$ATTEST' sign --key '$K/ours/leaf.key' --cert '$K/ours/leaf.crt' --chain '$K/ours/intermediate.crt' --signature '$WORK/a/s.sig' '$M' >/dev/null && '$MS' verify certificate '$M' --signature '$WORK/a/s.sig' --certificate_chain '$K/ours/root.crt'"
for flags in "--shards 1024" "--shards 1000000000" "--blake3"; do
  fresh_model "$M"
  # shellcheck disable=SC2086
  "$ATTEST" sign --key "$K/ec_p256.key.pem" $flags --signature "$WORK/a/s.sig" "$M" >/dev/null
  check "model-signing API verifies aigate's $flags" 0 ms_verify_guessed "$M" "$WORK/a/s.sig" "$K/ec_p256.pub.pem"
  tamper "$M"
  check "model-signing API rejects a tampered copy ($flags)" 1 ms_verify_guessed "$M" "$WORK/a/s.sig" "$K/ec_p256.pub.pem"
done

echo "== (b) model-signing signs, aigate verifies"
M=$WORK/b/model
S=$WORK/b/s.sig
mkdir -p "$WORK/b"
# ms_sign NAME CMD...: a fresh model, the old signature removed, the signing itself checked.
ms_sign() {
  local name=$1
  shift
  fresh_model "$M"
  rm -f "$S"
  check "model-signing signs: $name" 0 "$@"
}
for spec in "ec_p256.key.pem:ec_p256.pub.pem" "ec_p384.key.pem:ec_p384.pub.pem" "p521.sec1.pem:p521.pub.pem"; do
  IFS=: read -r key pub <<< "$spec"
  ms_sign "sign key with $key" "$MS" sign key "$M" --private_key "$K/$key" --signature "$S"
  check "aigate verifies it" 0 "$ATTEST" verify --key "$K/$pub" --signature "$S" "$M"
  tamper "$M"
  check "aigate rejects a tampered copy" 1 "$ATTEST" verify --key "$K/$pub" --signature "$S" "$M"
done
# The 1.1.1 CLI passes --password as str where cryptography wants bytes, so it cannot sign
# with an encrypted key; its Python API can.
ms_sign "encrypted PKCS#8 key (Python API)" "$PY" -c "
from model_signing import signing
signing.Config().use_elliptic_key_signer(private_key='$K/p384.encrypted.pem', password=b'$INTEROP_PASSWORD').sign('$M', '$S')"
check "aigate verifies it" 0 "$ATTEST" verify --key "$K/p384.pub.pem" --signature "$S" "$M"
fresh_model "$M"
rm -f "$M/model.sig"
check "model-signing signs: signature inside the model" 0 "$MS" sign key "$M" --private_key "$K/ec_p256.key.pem" --signature "$M/model.sig"
check "aigate verifies it" 0 "$ATTEST" verify --key "$K/ec_p256.pub.pem" --signature "$M/model.sig" "$M"
ms_sign "single file" "$MS" sign key "$M/weights.bin" --private_key "$K/ec_p256.key.pem" --signature "$S"
check "aigate verifies it" 0 "$ATTEST" verify --key "$K/ec_p256.pub.pem" --signature "$S" "$M/weights.bin"
ms_sign "--ignore-paths README.md" "$MS" sign key "$M" --ignore-paths "$M/README.md" --private_key "$K/ec_p256.key.pem" --signature "$S"
echo changed > "$M/README.md"
check "aigate verifies it (README.md changed, ignored)" 0 "$ATTEST" verify --key "$K/ec_p256.pub.pem" --signature "$S" "$M"
ms_sign "sign certificate" "$MS" sign certificate "$M" --private_key "$K/leaf.key" --signing_certificate "$K/leaf.crt" --certificate_chain "$K/ca.crt" --signature "$S"
check "aigate verifies it" 0 "$ATTEST" verify --ca "$K/ca.crt" --signature "$S" "$M"
ms_sign "sign certificate through an intermediate under an RSA root" "$MS" sign certificate "$M" --private_key "$K/ours/leaf.key" --signing_certificate "$K/ours/leaf.crt" --certificate_chain "$K/ours/intermediate.crt" --signature "$S"
check "aigate verifies it" 0 "$ATTEST" verify --ca "$K/ours/root.crt" --signature "$S" "$M"
check "aigate refuses it with another CA" 1 "$ATTEST" verify --ca "$K/ca.crt" --signature "$S" "$M"
for mode in shards1024 blake3; do
  ms_sign "Python API, $mode" ms_sign_api "$M" "$S" "$K/ec_p256.key.pem" "$mode"
  check "aigate verifies it" 0 "$ATTEST" verify --key "$K/ec_p256.pub.pem" --signature "$S" "$M"
  rm "$M/sub/tokenizer.txt"
  check "aigate rejects a copy missing a file" 1 "$ATTEST" verify --key "$K/ec_p256.pub.pem" --signature "$S" "$M"
done

echo
echo "interop took $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
