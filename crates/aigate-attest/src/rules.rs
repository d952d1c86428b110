//! Every rule signature verification reports. `aigate verify-sig`, `aigate verify` with
//! `[trust] keys` and `aigate fetch --signature` render them through the same renderers as
//! `aigate verify`.

aigate_report::rules! {
    /// Every rule of signature verification.
    RULES;
    SIGNATURE_INVALID = "signature-invalid", Critical,
        "the signature does not verify: the signed statement was altered after signing, or the signature is not over it",
        "do not use the artifact; get it and its signature from the publisher again";
    SIGNATURE_UNTRUSTED = "signature-untrusted-signer", Critical,
        "the signature was made by a key or certificate that is not trusted here",
        "verify with the publisher's public key or CA certificate; if the signer really changed, trust the new key only after checking it with the publisher";
    SIGNATURE_MALFORMED = "signature-malformed", High,
        "the signature file is not a model-signing bundle aigate can read: not JSON, truncated, too large, a wrong media or payload type, several signatures, or a signed statement that breaks the format",
        "get the signature again; a signature must be an OpenSSF model-signing (Sigstore bundle v0.3) file";
    SIGNATURE_UNSUPPORTED = "signature-unsupported", High,
        "the signature uses a method aigate does not verify yet: a keyless Sigstore certificate, an unknown hash or serialization, or another kind of key",
        "ask the publisher for a signature made with an ECDSA key or certificate (P-256, P-384 or P-521), or verify this one with model_signing";
    SIGNATURE_MISSING = "signature-missing", High,
        "no signature where one is required",
        "sign it with `aigate sign`, or obtain the publisher's signature";
    SIGNATURE_FILE_MISSING = "signature-file-missing", High,
        "a file the signature covers is missing",
        "restore it from the publisher: a model missing files may load other code or weights";
    SIGNATURE_FILE_EXTRA = "signature-file-extra", High,
        "a file the signature does not cover",
        "remove it, or have the publisher sign the model with it";
    SIGNATURE_FILE_CHANGED = "signature-file-changed", Critical,
        "a signed file's content differs from what was signed",
        "do not load it; restore it from the publisher, or sign again if the change is yours";
    SIGNATURE_FILE_NOT_REGULAR = "signature-file-not-regular", High,
        "a symbolic link or special file inside a model whose signature does not allow links",
        "replace the link with the file it stands for, or remove it";
}
