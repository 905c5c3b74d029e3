//! Signed policies: Ed25519 signatures over the exact bytes a broker loads.
//!
//! A deployment signs each compiled policy with a private key; brokers hold
//! the public keys they trust and refuse a policy that is not signed, was
//! changed after signing (by one byte), or was signed by a key they do not
//! know — each a [`VerifyError`] of its own kind. Several keys can be
//! trusted at once, so a key is rotated by trusting the new one before
//! signing with it.
//!
//! Three small JSON documents, each with `schemaVersion` 1 and `algorithm`
//! `ed25519`:
//!
//! * a public key (`<key id>.pub`): `keyId`, `publicKey` (base64 of the
//!   32 bytes);
//! * a private key (`<key id>.key`): `keyId`, `secretKey` (base64 of the
//!   32-byte seed);
//! * a detached signature (`POLICY.sig`): `keyId`, `signature` (base64 of
//!   the 64 bytes) over the policy file's bytes.
//!
//! A key id is the first 16 hex digits of the SHA-256 of the public key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The one algorithm.
pub const ALGORITHM: &str = "ed25519";

/// Why a policy is refused, or a key or signature cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// Occurs when keys are trusted but the policy has no signature.
    Unsigned,
    /// Occurs when the signature does not match the bytes: the policy was
    /// changed after it was signed (or the signature belongs to another).
    Altered {
        /// The key the signature names.
        key_id: String,
    },
    /// Occurs when the signature names a key that is not trusted.
    UnknownKey {
        /// The key the signature names.
        key_id: String,
    },
    /// Occurs when a signature or key document is not one.
    Malformed(String),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::Unsigned => f.write_str("it is not signed"),
            VerifyError::Altered { key_id } => write!(
                f,
                "its signature by key `{key_id}` does not match it: it was changed after signing"
            ),
            VerifyError::UnknownKey { key_id } => {
                write!(f, "it is signed by key `{key_id}`, which is not trusted")
            }
            VerifyError::Malformed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for VerifyError {}

impl VerifyError {
    /// A stable name of the kind: `unsigned`, `altered`, `unknown-key` or
    /// `malformed`.
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::Unsigned => "unsigned",
            VerifyError::Altered { .. } => "altered",
            VerifyError::UnknownKey { .. } => "unknown-key",
            VerifyError::Malformed(_) => "malformed",
        }
    }
}

/// A signature document (`POLICY.sig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a signature document"
)]
pub struct SignatureFile {
    /// Always 1.
    pub schema_version: u32,
    /// Always `ed25519`.
    pub algorithm: String,
    /// The signing key's id.
    pub key_id: String,
    /// Base64 of the 64-byte signature.
    pub signature: String,
}

#[derive(Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a public key document"
)]
struct PublicKeyFile {
    schema_version: u32,
    algorithm: String,
    key_id: String,
    public_key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a secret key document"
)]
struct SecretKeyFile {
    schema_version: u32,
    algorithm: String,
    key_id: String,
    secret_key: String,
}

/// The id of a public key: 16 hex digits of its SHA-256.
fn key_id_of(key: &VerifyingKey) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn malformed(what: &str, e: impl std::fmt::Display) -> VerifyError {
    VerifyError::Malformed(format!("not a {what}: {e}"))
}

fn check_header(what: &str, version: u32, algorithm: &str) -> Result<(), VerifyError> {
    if version != 1 {
        return Err(VerifyError::Malformed(format!(
            "{what} has `schemaVersion` {version}; this version reads 1"
        )));
    }
    if algorithm != ALGORITHM {
        return Err(VerifyError::Malformed(format!(
            "{what} uses the algorithm `{algorithm}`; only `{ALGORITHM}` is supported"
        )));
    }
    Ok(())
}

fn bytes<const N: usize>(what: &str, field: &str, text: &str) -> Result<[u8; N], VerifyError> {
    let raw = BASE64
        .decode(text)
        .map_err(|_| VerifyError::Malformed(format!("{what}: `{field}` is not base64")))?;
    raw.try_into().map_err(|raw: Vec<u8>| {
        VerifyError::Malformed(format!(
            "{what}: `{field}` has {} bytes, not {N}",
            raw.len()
        ))
    })
}

/// A private key, to sign with.
#[derive(Clone)]
pub struct SecretKey {
    key: SigningKey,
    id: String,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        f.debug_struct("SecretKey").field("id", &self.id).finish()
    }
}

impl SecretKey {
    /// The key of a 32-byte seed (draw it from a secure random source).
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        let key = SigningKey::from_bytes(&seed);
        SecretKey {
            id: key_id_of(&key.verifying_key()),
            key,
        }
    }

    /// Reads a private key document.
    pub fn from_json(text: &str) -> Result<SecretKey, VerifyError> {
        let f: SecretKeyFile =
            serde_json::from_str(text).map_err(|e| malformed("private key", e))?;
        check_header("the private key", f.schema_version, &f.algorithm)?;
        let key = SecretKey::from_seed(bytes("the private key", "secretKey", &f.secret_key)?);
        if key.id != f.key_id {
            return Err(VerifyError::Malformed(format!(
                "the private key says it is `{}`, but it is `{}`",
                f.key_id, key.id
            )));
        }
        Ok(key)
    }

    /// Its id.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// The private key document (keep it secret).
    pub fn to_json(&self) -> String {
        crate::jsonfmt::to_string(&SecretKeyFile {
            schema_version: 1,
            algorithm: ALGORITHM.into(),
            key_id: self.id.clone(),
            secret_key: BASE64.encode(self.key.to_bytes()),
        })
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key: self.key.verifying_key(),
            id: self.id.clone(),
        }
    }

    /// The detached signature of `policy`, the bytes a broker will load.
    pub fn sign(&self, policy: &[u8]) -> SignatureFile {
        SignatureFile {
            schema_version: 1,
            algorithm: ALGORITHM.into(),
            key_id: self.id.clone(),
            signature: BASE64.encode(self.key.sign(policy).to_bytes()),
        }
    }
}

/// A public key, to verify with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: String,
}

impl PublicKey {
    /// Reads a public key document.
    pub fn from_json(text: &str) -> Result<PublicKey, VerifyError> {
        let f: PublicKeyFile =
            serde_json::from_str(text).map_err(|e| malformed("public key", e))?;
        check_header("the public key", f.schema_version, &f.algorithm)?;
        let raw = bytes("the public key", "publicKey", &f.public_key)?;
        let key = VerifyingKey::from_bytes(&raw)
            .map_err(|_| VerifyError::Malformed("the public key is not an Ed25519 point".into()))?;
        let id = key_id_of(&key);
        if id != f.key_id {
            return Err(VerifyError::Malformed(format!(
                "the public key says it is `{}`, but it is `{id}`",
                f.key_id
            )));
        }
        Ok(PublicKey { key, id })
    }

    /// Its id.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// The public key document.
    pub fn to_json(&self) -> String {
        crate::jsonfmt::to_string(&PublicKeyFile {
            schema_version: 1,
            algorithm: ALGORITHM.into(),
            key_id: self.id.clone(),
            public_key: BASE64.encode(self.key.as_bytes()),
        })
    }
}

/// The public keys a broker trusts; any of them may have signed a policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    /// No keys yet.
    pub fn new() -> TrustedKeys {
        TrustedKeys::default()
    }

    /// Trusts one more key (a key already trusted is kept once).
    pub fn add(&mut self, key: PublicKey) {
        if !self.keys.iter().any(|k| k.id == key.id) {
            self.keys.push(key);
        }
    }

    /// The keys, in the order added.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks that `signature` (the text of `POLICY.sig`, `None` when there
    /// is none) is a trusted key's signature of exactly `policy`.
    pub fn verify(&self, policy: &[u8], signature: Option<&str>) -> Result<(), VerifyError> {
        let text = signature.ok_or(VerifyError::Unsigned)?;
        let sig: SignatureFile =
            serde_json::from_str(text).map_err(|e| malformed("signature", e))?;
        check_header("the signature", sig.schema_version, &sig.algorithm)?;
        let raw: [u8; 64] = bytes("the signature", "signature", &sig.signature)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sig.key_id)
            .ok_or_else(|| VerifyError::UnknownKey {
                key_id: sig.key_id.clone(),
            })?;
        key.key
            .verify_strict(policy, &ed25519_dalek::Signature::from_bytes(&raw))
            .map_err(|_| VerifyError::Altered { key_id: sig.key_id })
    }
}

impl SignatureFile {
    /// The document, pretty, with a final newline.
    pub fn to_json(&self) -> String {
        crate::jsonfmt::to_string(self)
    }
}

/// Why a signed policy is not loaded: its signature, or the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedLoadError {
    /// The signature does not hold (checked first: an unverified document
    /// is never parsed).
    Verify(VerifyError),
    /// The document, verified, does not load.
    Load(crate::compiled::LoadError),
}

impl std::fmt::Display for SignedLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignedLoadError::Verify(e) => e.fmt(f),
            SignedLoadError::Load(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SignedLoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignedLoadError::Verify(e) => Some(e),
            SignedLoadError::Load(e) => Some(e),
        }
    }
}

/// Loads a compiled policy document after checking that a trusted key
/// signed exactly these bytes. With no trusted keys, this is
/// [`CompiledPolicy::load`](crate::CompiledPolicy::load): signatures are
/// not asked for.
pub fn load_signed(
    text: &str,
    signature: Option<&str>,
    keys: &TrustedKeys,
) -> Result<crate::Policy, SignedLoadError> {
    if !keys.is_empty() {
        keys.verify(text.as_bytes(), signature)
            .map_err(SignedLoadError::Verify)?;
    }
    crate::CompiledPolicy::load(text).map_err(SignedLoadError::Load)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &[u8] = b"{\"schemaVersion\": 1}\n";

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed([n; 32])
    }

    fn trusting(keys: &[&SecretKey]) -> TrustedKeys {
        let mut t = TrustedKeys::new();
        for k in keys {
            t.add(PublicKey::from_json(&k.public_key().to_json()).unwrap());
        }
        t
    }

    #[test]
    fn a_signed_policy_verifies_under_either_of_two_keys() {
        let (old, new) = (key(1), key(2));
        let trusted = trusting(&[&old, &new]);
        for k in [&old, &new] {
            let sig = k.sign(POLICY).to_json();
            assert_eq!(trusted.verify(POLICY, Some(&sig)), Ok(()));
        }
        // Round trip of the private key document.
        let again = SecretKey::from_json(&old.to_json()).unwrap();
        assert_eq!(again.key_id(), old.key_id());
        assert_eq!(old.key_id().len(), 16);
    }

    #[test]
    fn each_refusal_has_its_kind() {
        let k = key(1);
        let trusted = trusting(&[&k]);
        let sig = k.sign(POLICY).to_json();
        assert_eq!(trusted.verify(POLICY, None), Err(VerifyError::Unsigned));
        let mut changed = POLICY.to_vec();
        changed[3] ^= 1;
        assert!(matches!(
            trusted.verify(&changed, Some(&sig)),
            Err(VerifyError::Altered { .. })
        ));
        let stranger = key(9).sign(POLICY).to_json();
        assert!(matches!(
            trusted.verify(POLICY, Some(&stranger)),
            Err(VerifyError::UnknownKey { .. })
        ));
        for bad in [
            "",
            "{}",
            "[1]",
            &sig.replace("ed25519", "rsa"),
            &sig.replace("\"schemaVersion\": 1", "\"schemaVersion\": 2"),
        ] {
            assert!(
                matches!(
                    trusted.verify(POLICY, Some(bad)),
                    Err(VerifyError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_signed_document_loads_only_as_signed() {
        let k = key(1);
        let text = include_str!("../../../examples/wwews-cluster.policy.json");
        let sig = k.sign(text.as_bytes()).to_json();
        let trusted = trusting(&[&k]);
        assert!(load_signed(text, Some(&sig), &trusted).is_ok());
        let changed = text.replacen("voice.dial", "voice.dia1", 1);
        assert!(matches!(
            load_signed(&changed, Some(&sig), &trusted),
            Err(SignedLoadError::Verify(VerifyError::Altered { .. }))
        ));
        // Without keys, as `CompiledPolicy::load`.
        assert!(load_signed(text, None, &TrustedKeys::new()).is_ok());
    }

    #[test]
    fn a_key_document_that_lies_about_its_id_is_refused() {
        let public = key(1).public_key().to_json();
        let liar = public.replace(key(1).key_id(), "0000000000000000");
        assert!(matches!(
            PublicKey::from_json(&liar),
            Err(VerifyError::Malformed(_))
        ));
        assert!(format!("{:?}", key(1)).contains(key(1).key_id()));
        assert!(!format!("{:?}", key(1)).contains(&BASE64.encode([1u8; 32])));
    }
}
