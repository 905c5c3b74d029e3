//! `scapi keygen`, `sign` and `verify`: Ed25519 signatures over compiled
//! policies (`scapi_policy::signing`), and the trusted keys `eval` and
//! `explain` take with `--keys`.

use super::{CliError, Exit, read_input, write_atomically};
use scapi_policy::signing::{PublicKey, SecretKey, TrustedKeys, VerifyError};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// The folder to write `<key id>.key` (private) and `<key id>.pub`
    /// into (created when missing).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The compiled policy to sign: its exact bytes, as brokers load them.
    #[arg(value_name = "POLICY")]
    policy: String,
    /// The private key (`<key id>.key` of `scapi keygen`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The compiled policy; its signature is `POLICY.sig`.
    #[arg(value_name = "POLICY")]
    policy: String,
    /// The trusted public keys: a `.pub` file, or a folder of them.
    #[arg(long, value_name = "DIR|FILE")]
    keys: PathBuf,
}

/// The detached signature of the file at `policy`.
pub fn signature_path(policy: &str) -> PathBuf {
    PathBuf::from(format!("{policy}.sig"))
}

fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// The trusted keys at `path`: one `.pub` file, or every `.pub` file of a
/// folder (at least one).
pub fn trusted_keys(path: &Path) -> Result<TrustedKeys, CliError> {
    let shown = path.display().to_string();
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| CliError::Read {
                path: shown.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "pub"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        return Err(CliError::Key {
            path: shown,
            source: VerifyError::Malformed(
                "no public key (`*.pub`) in it; `scapi keygen` writes one".into(),
            ),
        });
    }
    let mut keys = TrustedKeys::new();
    for file in files {
        let key = PublicKey::from_json(&read_text(&file)?).map_err(|source| CliError::Key {
            path: file.display().to_string(),
            source,
        })?;
        keys.add(key);
    }
    Ok(keys)
}

/// The signature of the policy at `policy`, if it has one.
pub fn read_signature(policy: &str) -> Result<Option<String>, CliError> {
    let path = signature_path(policy);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CliError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

pub fn keygen(args: KeygenArgs) -> Exit {
    let mut seed = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut seed) {
        return CliError::Random(e.to_string().to_lowercase()).report();
    }
    let key = SecretKey::from_seed(seed);
    if let Err(source) = std::fs::create_dir_all(&args.dir) {
        return CliError::Write {
            path: args.dir.display().to_string(),
            source,
        }
        .report();
    }
    let private = args.dir.join(format!("{}.key", key.key_id()));
    let public = args.dir.join(format!("{}.pub", key.key_id()));
    if let Err(e) = write_atomically(&private, key.to_json().as_bytes()) {
        return e.report();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(source) =
            std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600))
        {
            return CliError::Write {
                path: private.display().to_string(),
                source,
            }
            .report();
        }
    }
    if let Err(e) = write_atomically(&public, key.public_key().to_json().as_bytes()) {
        return e.report();
    }
    println!("{}", key.key_id());
    eprintln!(
        "wrote `{}` (keep it secret) and `{}` (give it to brokers)",
        private.display(),
        public.display()
    );
    Exit::Success
}

pub fn sign(args: SignArgs) -> Exit {
    let key = match read_text(&args.key).and_then(|t| {
        SecretKey::from_json(&t).map_err(|source| CliError::Key {
            path: args.key.display().to_string(),
            source,
        })
    }) {
        Ok(k) => k,
        Err(e) => return e.report(),
    };
    let bytes = match read_input(&args.policy, u64::MAX) {
        Ok(r) => r.bytes,
        Err(e) => return e.report(),
    };
    let sig = signature_path(&args.policy);
    if let Err(e) = write_atomically(&sig, key.sign(&bytes).to_json().as_bytes()) {
        return e.report();
    }
    eprintln!(
        "signed `{}` with key `{}`: `{}`",
        args.policy,
        key.key_id(),
        sig.display()
    );
    Exit::Success
}

pub fn verify(args: VerifyArgs) -> Exit {
    let keys = match trusted_keys(&args.keys) {
        Ok(k) => k,
        Err(e) => return e.report(),
    };
    let bytes = match read_input(&args.policy, u64::MAX) {
        Ok(r) => r.bytes,
        Err(e) => return e.report(),
    };
    let signature = match read_signature(&args.policy) {
        Ok(s) => s,
        Err(e) => return e.report(),
    };
    match keys.verify(&bytes, signature.as_deref()) {
        Ok(()) => {
            eprintln!("`{}`: signed by a trusted key", args.policy);
            Exit::Success
        }
        // A signature or key that is not one: unusable input.
        Err(source @ VerifyError::Malformed(_)) => CliError::Key {
            path: signature_path(&args.policy).display().to_string(),
            source,
        }
        .report(),
        // A policy that must not be used.
        Err(source) => {
            let _ = CliError::Unverified {
                path: args.policy.clone(),
                source,
            }
            .report();
            Exit::Negative
        }
    }
}
