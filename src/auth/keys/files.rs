//! Key files: `data_dir/keys/<algorithm>-<created ms>.pem`, one PKCS#8 private key each, mode
//! 0600. The name carries the algorithm and the creation time, so the directory listing alone
//! says which key signs and which may be retired, and one directory can hold keys of several
//! algorithms while a migration runs. (HS256 has no file: its key is `tokens.hmac_secret`.)

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::auth::files::create_secret_file;
use crate::auth::secrets::{hex, random_bytes};
use crate::config::SigningAlgorithm;

/// A key file, as its name describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    /// Where it is.
    pub path: PathBuf,
    /// The algorithm its key is for.
    pub algorithm: SigningAlgorithm,
    /// When it was created (Unix ms).
    pub created_ms: i64,
}

/// The file-name prefix of an algorithm whose keys live in files. `ed25519` predates the
/// others and is kept so existing key directories load unchanged.
pub fn prefix(algorithm: SigningAlgorithm) -> Option<&'static str> {
    match algorithm {
        SigningAlgorithm::EdDSA => Some("ed25519"),
        SigningAlgorithm::ES256 => Some("es256"),
        SigningAlgorithm::RS256 => Some("rs256"),
        SigningAlgorithm::HS256 => None,
    }
}

fn algorithm_of(prefix: &str) -> Option<SigningAlgorithm> {
    [
        SigningAlgorithm::EdDSA,
        SigningAlgorithm::ES256,
        SigningAlgorithm::RS256,
    ]
    .into_iter()
    .find(|&a| self::prefix(a) == Some(prefix))
}

/// Reads what a file name says, or `None` when it is not a key file name.
fn parse_name(path: &Path) -> Option<(SigningAlgorithm, i64)> {
    let stem = path.file_stem()?.to_str()?;
    let (prefix, ms) = stem.split_once('-')?;
    Some((algorithm_of(prefix)?, ms.parse().ok()?))
}

/// The key files in `dir`, newest first. Other files are ignored, but a `.pem` file that is not
/// named like a key is an error: nod would otherwise silently not use a key someone put there.
pub fn list(dir: &Path) -> anyhow::Result<Vec<KeyFile>> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "pem") {
            continue;
        }
        let (algorithm, created_ms) = parse_name(&path).with_context(|| {
            format!(
                "key file {} is not named <ed25519|es256|rs256>-<unix ms>.pem",
                path.display()
            )
        })?;
        files.push(KeyFile {
            path,
            algorithm,
            created_ms,
        });
    }
    files.sort_by(|a, b| {
        b.created_ms
            .cmp(&a.created_ms)
            .then_with(|| a.path.cmp(&b.path))
    });
    Ok(files)
}

/// Writes a new key file for `algorithm` created at `now_ms`, without a moment where a reader
/// could see half a key: the key goes to a hidden temporary file that is then linked under its
/// final name (a link, unlike a rename, never replaces an existing file). A name already taken
/// (two rotations in one millisecond) moves the creation time on by a millisecond.
pub fn write(
    dir: &Path,
    algorithm: SigningAlgorithm,
    now_ms: i64,
    pkcs8_der: &[u8],
) -> anyhow::Result<KeyFile> {
    let Some(prefix) = prefix(algorithm) else {
        bail!("{algorithm:?} keys are not kept in files");
    };
    let temp = dir.join(format!(".{prefix}-{}.tmp", hex(&random_bytes::<8>()?)));
    create_secret_file(&temp, pem("PRIVATE KEY", pkcs8_der).as_bytes())?;
    let linked = link_under_free_name(dir, prefix, now_ms, &temp);
    // The temporary name goes either way; the key lives on under its final name.
    let removed = std::fs::remove_file(&temp);
    let (path, created_ms) = linked?;
    removed.with_context(|| format!("removing {}", temp.display()))?;
    Ok(KeyFile {
        path,
        algorithm,
        created_ms,
    })
}

fn link_under_free_name(
    dir: &Path,
    prefix: &str,
    now_ms: i64,
    temp: &Path,
) -> anyhow::Result<(PathBuf, i64)> {
    for created_ms in now_ms..now_ms.saturating_add(1000) {
        let path = dir.join(format!("{prefix}-{created_ms}.pem"));
        match std::fs::hard_link(temp, &path) {
            Ok(()) => return Ok((path, created_ms)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    bail!("no free key file name in {} near {now_ms}", dir.display())
}

/// The PKCS#8 DER inside a key file.
pub fn read_pkcs8(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading key {}", path.display()))?;
    unpem(&text).with_context(|| format!("key {} is not PEM", path.display()))
}

/// PEM text of a DER document.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    if body.is_empty() {
        bail!("empty PEM body");
    }
    Ok(STANDARD.decode(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::files::ensure_private_dir;

    #[test]
    fn names_carry_algorithm_and_time_and_collisions_move_on() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let keys = dir.path().join("keys");
        ensure_private_dir(&keys)?;
        let a = write(&keys, SigningAlgorithm::ES256, 5_000, b"one")?;
        let b = write(&keys, SigningAlgorithm::ES256, 5_000, b"two")?;
        let c = write(&keys, SigningAlgorithm::EdDSA, 1_000, b"three")?;
        assert_eq!(a.path, keys.join("es256-5000.pem"));
        assert_eq!(b.created_ms, 5_001);
        assert_eq!(read_pkcs8(&a.path)?, b"one");
        assert_eq!(read_pkcs8(&b.path)?, b"two");
        assert_eq!(list(&keys)?, vec![b, a, c]);
        // Only the key files are left: no temporary files.
        assert_eq!(std::fs::read_dir(&keys)?.count(), 3);
        assert!(write(&keys, SigningAlgorithm::HS256, 1, b"x").is_err());
        Ok(())
    }

    #[test]
    fn a_pem_file_with_a_strange_name_is_an_error_other_files_are_ignored() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("README"), "hello")?;
        std::fs::write(dir.path().join(".es256-1.tmp"), "half")?;
        assert!(list(dir.path())?.is_empty());
        std::fs::write(dir.path().join("hs256-1.pem"), "x")?;
        assert!(list(dir.path()).is_err());
        Ok(())
    }
}
