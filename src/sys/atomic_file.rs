//! Files written whole or not at all: the bytes go to a temporary name beside the target
//! (`.NAME.conlab-PID.tmp`), which is renamed over the target only once every write and
//! the flush succeeded. A full disk or a cancel leaves the old file (or none), never a
//! truncated one; the temporary file is removed on any failure.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written under a temporary name; [`AtomicFile::commit`] puts it in place,
/// dropping it uncommitted removes it.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
}

/// The temporary name for `path`, in its folder (a rename stays on one file system).
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.conlab-{}.tmp", std::process::id()))
}

impl AtomicFile {
    /// Start writing `path` (under its temporary name).
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let tmp = temporary(path);
        let file = File::create(&tmp)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            out: Some(BufWriter::new(file)),
        })
    }

    /// The file's final name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush, sync and rename into place; on failure the temporary file is removed.
    pub fn commit(mut self) -> io::Result<()> {
        let Some(out) = self.out.take() else {
            return Err(io::Error::other("already committed"));
        };
        let done = out
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&self.tmp, &self.path));
        if done.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        done
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.out {
            Some(o) => o.write(buf),
            None => Err(io::Error::other("already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(o) => o.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Write `body` to `path` whole or not at all.
pub fn write(path: &Path, body: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(body)?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_file_is_in_place_and_nothing_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.svg");
        write(&p, b"whole").expect("written");
        assert_eq!(std::fs::read(&p).expect("reads"), b"whole");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("a.svg")]);
    }

    #[test]
    fn an_uncommitted_file_leaves_the_old_one_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.cast");
        write(&p, b"old").expect("written");
        let mut f = AtomicFile::create(&p).expect("creates");
        f.write_all(b"half of the new").expect("writes");
        drop(f);
        assert_eq!(std::fs::read(&p).expect("reads"), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).expect("lists").count(), 1);
    }
}
