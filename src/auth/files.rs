//! Secret files under `server.data_dir`: created with mode 0600 in a 0700 directory, never
//! overwritten, read back verbatim.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Creates `dir` (and parents) with mode 0700 when missing.
pub fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating directory {}", dir.display()))
}

/// Writes a new secret file with mode 0600; fails if it already exists (no silent overwrite).
pub fn create_secret_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        ensure_private_dir(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating secret file {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing secret file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_private_and_never_overwritten() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("keys/k.pem");
        create_secret_file(&path, b"one")?;
        assert!(create_secret_file(&path, b"two").is_err());
        assert_eq!(std::fs::read(&path)?, b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path)?.permissions().mode() & 0o777,
                0o600
            );
            let dir_mode = std::fs::metadata(dir.path().join("keys"))?
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        Ok(())
    }
}
