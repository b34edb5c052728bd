//! The data directory holds the database (password hashes, sealed credentials, session
//! digests, prompts in the request log) and the master key: only the account LangMart
//! runs as may read it. The directory is made 0700 and the SQLite files 0600; SQLite
//! gives its `-wal` and `-shm` files the database file's mode, so creating the database
//! file owner-only before SQLite opens it covers them too.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Creates `dir` if needed and makes it, and the SQLite database `database_url` names
/// (when it is a file), readable by this account only.
pub fn prepare(dir: &Path, database_url: &str) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
    if let Some(db) = sqlite_file(database_url) {
        if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(FILE_MODE)
            .open(&db)?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = db.clone().into_os_string();
            path.push(suffix);
            let path = PathBuf::from(path);
            if path.exists() {
                fs::set_permissions(&path, fs::Permissions::from_mode(FILE_MODE))?;
            }
        }
    }
    Ok(())
}

/// The file of a `sqlite://path?…` URL; `None` for in-memory databases and other stores.
fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:" && !rest.contains("mode=memory"))
        .then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_directory_and_database_files_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let wal = dir.join("langmart.db-wal");
        fs::write(&wal, b"").unwrap();
        fs::set_permissions(&wal, fs::Permissions::from_mode(0o644)).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("langmart.db").display());
        prepare(&dir, &url).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("langmart.db")), 0o600);
        assert_eq!(mode(&wal), 0o600);
    }

    #[test]
    fn only_sqlite_files_are_touched() {
        assert_eq!(sqlite_file("postgres://u:p@h/db"), None);
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(
            sqlite_file("sqlite:///var/lib/lm/x.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/lm/x.db"))
        );
    }
}
