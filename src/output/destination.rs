//! Where results go: buffered stdout, a regular file replaced atomically
//! (its mode kept) only when the run succeeds, a device or FIFO written
//! through, or, under `--expect`, a temporary file compared with the
//! golden file at the end.
//!
//! A replaced file is written to a file without a name (`O_TMPFILE`) in
//! the target's directory, and linked into place on success: a run that
//! is killed, even by SIGKILL, leaves nothing behind. Where the file
//! system has no unnamed files, a named temporary file is used, removed
//! on failure and on the signals rbag can catch.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where results go.
pub enum Destination {
    Stdout,
    /// A regular file (or a new one), replaced by renaming a temporary file
    /// written beside it, with the old file's mode, when the run succeeds.
    Replace {
        shown: String,
        target: PathBuf,
        temp: Pending,
        mode: Option<u32>,
    },
    /// Not a regular file (a device, a FIFO): written directly.
    Through {
        shown: String,
        path: PathBuf,
    },
    /// `--expect`: written to a temporary file, then compared with the
    /// golden file.
    Expect {
        golden: PathBuf,
        shown: String,
        temp: std::fs::File,
        command: String,
    },
}

/// The file a replaced file is written to until the run succeeds.
pub enum Pending {
    /// A file without a name in the target's directory.
    Unnamed(File),
    /// A named temporary file beside the target.
    Named(tempfile::NamedTempFile),
}

impl Pending {
    /// A pending file in `dir`: unnamed where the file system allows.
    fn create(dir: &Path) -> io::Result<Pending> {
        use rustix::fs::{Mode, OFlags};
        // Linking an unnamed file into place goes through /proc (without
        // it only a privileged process may link one).
        if Path::new("/proc/self/fd").is_dir() {
            // 0666 before the umask, as any new file gets.
            let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
            match rustix::fs::openat(rustix::fs::CWD, dir, flags, Mode::from_raw_mode(0o666)) {
                Ok(fd) => return Ok(Pending::Unnamed(File::from(fd))),
                // Kernels and file systems without O_TMPFILE.
                Err(
                    rustix::io::Errno::OPNOTSUPP
                    | rustix::io::Errno::ISDIR
                    | rustix::io::Errno::INVAL
                    | rustix::io::Errno::NOSYS,
                ) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // 0666 before the umask, as any new file gets; tempfile's default
        // 0600 would leave the result unreadable to others.
        let temp = tempfile::Builder::new()
            .prefix(".rbag-")
            .suffix(".tmp")
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)?;
        crate::interrupt::register(temp.path());
        Ok(Pending::Named(temp))
    }

    fn file(&self) -> &File {
        match self {
            Pending::Unnamed(file) => file,
            Pending::Named(temp) => temp.as_file(),
        }
    }

    /// Put the file in place of `target`, atomically.
    fn persist(self, target: &Path) -> io::Result<()> {
        match self {
            Pending::Named(temp) => {
                let path = temp.path().to_path_buf();
                let result = temp.persist(target).map(drop).map_err(|e| e.error);
                crate::interrupt::unregister(&path);
                result
            }
            Pending::Unnamed(file) => {
                use std::os::fd::AsRawFd;
                let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
                let link = |to: &Path| {
                    rustix::fs::linkat(
                        rustix::fs::CWD,
                        proc.as_str(),
                        rustix::fs::CWD,
                        to,
                        rustix::fs::AtFlags::SYMLINK_FOLLOW,
                    )
                };
                match link(target) {
                    Ok(()) => return Ok(()),
                    Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                // The target exists: a link cannot replace it, a rename
                // can. The name lives only between these two calls.
                let dir = match target.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir,
                    _ => Path::new("."),
                };
                for attempt in 0..100u32 {
                    let name = dir.join(format!(
                        ".rbag-{}-{attempt}-{}.tmp",
                        std::process::id(),
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.subsec_nanos())
                    ));
                    match link(&name) {
                        Ok(()) => {}
                        Err(rustix::io::Errno::EXIST) => continue,
                        Err(e) => return Err(e.into()),
                    }
                    crate::interrupt::register(&name);
                    let result = std::fs::rename(&name, target);
                    if result.is_err() {
                        let _ = std::fs::remove_file(&name);
                    }
                    crate::interrupt::unregister(&name);
                    return result;
                }
                Err(io::Error::from(io::ErrorKind::AlreadyExists))
            }
        }
    }
}

/// Follow symbolic links from `path` to the path they end at (which may
/// not exist yet).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::from_raw_os_error(40)) // ELOOP
}

impl Destination {
    /// The destination the output options name: `--expect FILE`, `-o
    /// FILE`, or stdout. `command` names the output in a diff.
    ///
    /// # Errors
    /// As [`Destination::open`]; a golden file that cannot be read.
    pub fn for_output(
        to: Option<&Path>,
        expect: Option<&Path>,
        command: &str,
    ) -> Result<Destination, Error> {
        let Some(golden) = expect else {
            return Destination::open(to, "-o");
        };
        let from_stdin = golden == Path::new("-");
        let shown = if from_stdin {
            "<stdin>".to_owned()
        } else {
            crate::error::display_path(golden)
        };
        let fail = |e: io::Error| Error::io(shown.clone(), e);
        if from_stdin {
            // A closed stdin would read as an empty golden file.
            crate::input::check_stdin_open()?;
        } else {
            let meta = std::fs::metadata(golden).map_err(fail)?;
            if meta.is_dir() {
                return Err(Error::NotAFile {
                    path: shown,
                    option: "--expect",
                    what: "the golden file to compare with",
                });
            }
            rustix::fs::access(golden, rustix::fs::Access::READ_OK)
                .map_err(|e| fail(io::Error::from(e)))?;
        }
        let temp = tempfile::tempfile().map_err(|e| Error::io("temporary file", e))?;
        Ok(Destination::Expect {
            golden: golden.to_path_buf(),
            shown,
            temp,
            command: command.to_owned(),
        })
    }

    /// Prepare the destination, before any work, so that a bad `-o` path
    /// fails at once: resolve symbolic links, refuse what the user may not
    /// write (as `sort -o` does) and directories, and create the temporary
    /// file beside a regular file.
    ///
    /// `option` names the option that gave the path, for messages.
    ///
    /// # Errors
    /// The path is a directory, cannot be written, or its directory does
    /// not exist or cannot be written to.
    pub fn open(path: Option<&Path>, option: &'static str) -> Result<Destination, Error> {
        let Some(path) = path else {
            crate::input::check_stdout_open()?;
            return Ok(Destination::Stdout);
        };
        let shown = crate::error::display_path(path);
        let fail = |e: io::Error| Error::io(shown.clone(), e);
        let target = follow_links(path).map_err(fail)?;
        let mode = match std::fs::metadata(&target) {
            Ok(meta) if meta.is_dir() => {
                return Err(Error::NotAFile {
                    path: shown,
                    option,
                    what: "the file to write (a path to a file in it, say)",
                });
            }
            Ok(meta) => {
                rustix::fs::access(&target, rustix::fs::Access::WRITE_OK)
                    .map_err(|e| fail(io::Error::from(e)))?;
                if !meta.is_file() {
                    return Ok(Destination::Through {
                        shown,
                        path: target,
                    });
                }
                Some(meta.permissions().mode() & 0o7777)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(fail(e)),
        };
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = Pending::create(dir).map_err(|e| match e.kind() {
            // The directory is at fault, not the file.
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                Error::CannotCreate {
                    dir: crate::error::display_path(dir),
                    file: target.file_name().map_or_else(
                        || shown.clone(),
                        |n| crate::error::display_path(Path::new(n)),
                    ),
                    source: e,
                }
            }
            _ => fail(e),
        })?;
        Ok(Destination::Replace {
            shown,
            target,
            temp,
            mode,
        })
    }

    /// Whether two destinations write one file (`x` and `./x`, or two
    /// links to it), which may not exist yet.
    pub fn same_file(&self, other: &Destination) -> bool {
        let target = |d: &Destination| -> Option<PathBuf> {
            let path = match d {
                Destination::Stdout | Destination::Expect { .. } => return None,
                Destination::Replace { target, .. } => target,
                Destination::Through { path, .. } => path,
            };
            // The directory exists (a temporary file was made in it); the
            // file itself may not.
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            Some(std::fs::canonicalize(dir).ok()?.join(path.file_name()?))
        };
        matches!((target(self), target(other)), (Some(a), Some(b)) if a == b)
    }

    /// A buffered writer to the destination (for a replaced file, to its
    /// temporary file until [`Destination::commit`]).
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn sink(&self) -> Result<Box<dyn Write + Send>, Error> {
        match self {
            Destination::Stdout => Ok(Box::new(BufWriter::with_capacity(1 << 16, io::stdout()))),
            Destination::Replace { shown, temp, .. } => {
                let file = temp
                    .file()
                    .try_clone()
                    .map_err(|e| Error::io(shown.clone(), e))?;
                Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
            }
            Destination::Through { shown, path } => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| Error::io(shown.clone(), e))?;
                Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
            }
            Destination::Expect { temp, .. } => {
                let file = temp
                    .try_clone()
                    .map_err(|e| Error::io("temporary file", e))?;
                Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
            }
        }
    }

    /// The error for a failed write to this destination. A reader closing
    /// stdout early becomes [`Error::Stdout`] with kind `BrokenPipe`, which
    /// callers treat as success.
    pub fn error(&self, err: io::Error) -> Error {
        match self {
            Destination::Stdout => Error::Stdout(err),
            Destination::Replace { shown, .. } | Destination::Through { shown, .. } => {
                Error::io(shown.clone(), err)
            }
            Destination::Expect { .. } => Error::io("temporary file", err),
        }
    }

    /// Move a replaced file into place (with its old mode); nothing to do
    /// otherwise.
    ///
    /// # Errors
    /// The rename failed.
    pub fn commit(self) -> Result<(), Error> {
        match self {
            Destination::Stdout | Destination::Through { .. } => Ok(()),
            Destination::Expect {
                golden,
                shown,
                mut temp,
                command,
            } => {
                use std::io::{BufReader, Seek};
                temp.rewind().map_err(|e| Error::io("temporary file", e))?;
                let output = BufReader::with_capacity(1 << 16, temp);
                let fail = |(side, e): (crate::expect::Side, io::Error)| match side {
                    crate::expect::Side::Golden => Error::io(shown.clone(), e),
                    crate::expect::Side::Output => Error::io("temporary file", e),
                };
                let report = if golden == Path::new("-") {
                    crate::expect::compare(&shown, io::stdin().lock(), output, &command)
                } else {
                    let file =
                        std::fs::File::open(&golden).map_err(|e| Error::io(shown.clone(), e))?;
                    let golden = BufReader::with_capacity(1 << 16, file);
                    crate::expect::compare(&shown, golden, output, &command)
                }
                .map_err(fail)?;
                match report {
                    None => Ok(()),
                    Some(report) => Err(Error::Different(report)),
                }
            }
            Destination::Replace {
                shown,
                target,
                temp,
                mode,
            } => (|| {
                if let Some(mode) = mode {
                    temp.file().set_permissions(Permissions::from_mode(mode))?;
                }
                temp.persist(&target)
            })()
            .map_err(|e| Error::io(shown, e)),
        }
    }

    /// Write everything with `fill`, then commit.
    ///
    /// # Errors
    /// As [`Destination::sink`], [`Destination::error`] and
    /// [`Destination::commit`].
    pub fn write_with(
        self,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), Error> {
        let mut sink = self.sink()?;
        fill(&mut sink)
            .and_then(|()| sink.flush())
            .map_err(|e| self.error(e))?;
        drop(sink);
        self.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_follow_links_keep_modes_and_write_through_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.tsv");
        std::fs::write(&real, "old\n").unwrap();
        std::fs::set_permissions(&real, Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.tsv");
        std::os::unix::fs::symlink("real.tsv", &link).unwrap();
        Destination::open(Some(&link), "-o")
            .unwrap()
            .write_with(|w| w.write_all(b"new\n"))
            .unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new\n");
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );

        // A new file gets the mode any new file gets, and no temporary
        // file is ever named beside it.
        let new = dir.path().join("new.tsv");
        let destination = Destination::open(Some(&new), "-o").unwrap();
        assert!(matches!(
            destination,
            Destination::Replace {
                temp: Pending::Unnamed(_),
                ..
            }
        ));
        destination.write_with(|w| w.write_all(b"new\n")).unwrap();
        let umask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
        rustix::process::umask(umask);
        assert_eq!(
            std::fs::metadata(&new).unwrap().permissions().mode() & 0o777,
            0o666 & !umask.bits()
        );
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["link.tsv", "new.tsv", "real.tsv"]);

        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::read(fifo).unwrap()
        });
        Destination::open(Some(&fifo), "-o")
            .unwrap()
            .write_with(|w| w.write_all(b"through\n"))
            .unwrap();
        assert_eq!(reader.join().unwrap(), b"through\n");
        assert!(
            rustix::fs::FileType::from_raw_mode(rustix::fs::stat(&fifo).unwrap().st_mode)
                == rustix::fs::FileType::Fifo
        );
        assert!(matches!(
            Destination::open(Some(dir.path()), "-o"),
            Err(Error::NotAFile { .. })
        ));
    }
}
