//! Crash-safe file replacement: write a temporary file in the same directory, fsync it, rename
//! it over the target, fsync the directory.
//!
//! A crash at any point leaves either the old file or the new one at the target path, never a
//! mix: `rename(2)` within one directory is atomic on POSIX file systems, and the fsyncs order
//! the data before the rename and make the rename itself durable. A crash can leave a stray
//! temporary file (`.<name>.tmp-<pid>`); it is never read, and the next write of the same
//! target from the same process id replaces it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Result, TrainError};

/// Bytes per `write` call; also the granularity of the crash hook.
const CHUNK: usize = 1 << 20;

static CRASH_AFTER: AtomicU64 = AtomicU64::new(u64::MAX);

/// Test hook: the next atomic write of this process aborts it (`std::process::abort`, as
/// abrupt as `kill -9` for the file system) once at least `bytes` bytes of its temporary file
/// have been written and flushed to the operating system, before the rename.
///
/// Used by the crash-safety tests; it has no other use.
#[doc(hidden)]
pub fn crash_during_next_write_after(bytes: u64) {
    CRASH_AFTER.store(bytes, Ordering::SeqCst);
}

/// The temporary file used to replace `path`.
pub(crate) fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        TrainError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path has no file name",
            ),
        )
    })?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp-{}", std::process::id()));
    Ok(path.with_file_name(tmp))
}

/// Replace `path` with `bytes`, atomically and durably (see the module docs).
///
/// # Errors
/// An I/O error naming the temporary file, the target or the directory; the target is then
/// unchanged and the temporary file removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path)?;
    let result = write_and_rename(&tmp, path, bytes);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_and_rename(tmp: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let crash_after = CRASH_AFTER.swap(u64::MAX, Ordering::SeqCst);
    {
        let mut file = File::create(tmp).map_err(|e| TrainError::io(tmp, e))?;
        let mut written = 0usize;
        while written < bytes.len() {
            // Stop exactly at the crash point, if one is set.
            let until =
                usize::try_from(crash_after.saturating_sub(written as u64)).unwrap_or(usize::MAX);
            let end = bytes
                .len()
                .min(written + CHUNK)
                .min(written.saturating_add(until.max(1)));
            file.write_all(&bytes[written..end])
                .map_err(|e| TrainError::io(tmp, e))?;
            written = end;
            if written as u64 >= crash_after {
                file.flush().map_err(|e| TrainError::io(tmp, e))?;
                std::process::abort();
            }
        }
        file.sync_all().map_err(|e| TrainError::io(tmp, e))?;
    }
    std::fs::rename(tmp, path).map_err(|e| TrainError::io(path, e))?;
    sync_dir(path)
}

/// Make a rename in the directory of `path` durable.
fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| TrainError::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, &vec![7u8; 3 * CHUNK + 5]).unwrap();
        assert_eq!(std::fs::read(&p).unwrap().len(), 3 * CHUNK + 5);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.bin")]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        write_atomic(&p, b"old").unwrap();
        // The target's name is taken by a non-empty directory: the rename fails.
        let q = dir.path().join("d");
        std::fs::create_dir(&q).unwrap();
        std::fs::write(q.join("x"), b"x").unwrap();
        let e = write_atomic(&q, b"new").unwrap_err().to_string();
        assert!(e.contains("/d"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert!(!temp_path(&q).unwrap().exists());
    }
}
