//! Input sources: which files a command line names (stdin, paths, quoted
//! globs), checking them all before any work starts, and opening them.

pub mod block;
pub mod record;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::error::Error;

/// One input stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    /// The name used in messages: the path as given, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => String::from("<stdin>"),
            Source::File(path) => path.to_string_lossy().into_owned(),
        }
    }

    /// Open the source for reading.
    ///
    /// # Errors
    /// The path cannot be opened, or is a directory.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, Error> {
        match self {
            Source::Stdin => Ok(Box::new(io::stdin())),
            Source::File(path) => {
                let file = File::open(path).map_err(|e| Error::io(self.name(), e))?;
                let meta = file.metadata().map_err(|e| Error::io(self.name(), e))?;
                if meta.is_dir() {
                    return Err(Error::IsDirectory { path: self.name() });
                }
                Ok(Box::new(file))
            }
        }
    }

    /// The size in bytes when it is known in advance (regular files).
    pub fn known_size(&self) -> Option<u64> {
        match self {
            Source::Stdin => None,
            Source::File(path) => std::fs::metadata(path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
        }
    }
}

/// Turn FILE arguments into sources: none or `-` is stdin; an argument with
/// `*`, `?` or `[` that does not exist as written is a glob, expanded here in
/// byte order so that quoted globs work and avoid the shell's ARG_MAX.
///
/// # Errors
/// A glob that is malformed or matches nothing.
pub fn resolve(args: &[OsString]) -> Result<Vec<Source>, Error> {
    if args.is_empty() {
        return Ok(vec![Source::Stdin]);
    }
    let mut sources = Vec::with_capacity(args.len());
    for arg in args {
        if arg == "-" {
            sources.push(Source::Stdin);
        } else if is_glob(arg) && std::fs::symlink_metadata(arg).is_err() {
            sources.extend(expand_glob(arg)?);
        } else {
            sources.push(Source::File(PathBuf::from(arg)));
        }
    }
    Ok(sources)
}

/// Open every file once, so a missing, unreadable or directory argument is
/// reported before any input is read or any output written.
///
/// # Errors
/// The first source, in command-line order, that cannot be read.
pub fn check_readable(sources: &[Source]) -> Result<(), Error> {
    for source in sources {
        if let Source::File(_) = source {
            drop(source.open()?);
        }
    }
    Ok(())
}

fn is_glob(arg: &OsStr) -> bool {
    arg.as_bytes()
        .iter()
        .any(|b| matches!(b, b'*' | b'?' | b'['))
}

fn expand_glob(pattern: &OsStr) -> Result<Vec<Source>, Error> {
    let shown = pattern.to_string_lossy().into_owned();
    let text = pattern.to_str().ok_or_else(|| Error::BadGlob {
        pattern: shown.clone(),
        reason: "a glob must be valid UTF-8".into(),
    })?;
    // Like a shell: `*` does not match a leading dot.
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let paths = glob::glob_with(text, options).map_err(|e| Error::BadGlob {
        pattern: shown.clone(),
        reason: e.msg.to_string(),
    })?;
    let mut found = Vec::new();
    for entry in paths {
        match entry {
            Ok(path) => found.push(path),
            Err(e) => {
                let path = e.path().to_string_lossy().into_owned();
                return Err(Error::io(path, e.into()));
            }
        }
    }
    if found.is_empty() {
        return Err(Error::NoMatch { pattern: shown });
    }
    found.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    Ok(found.into_iter().map(Source::File).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_argument_and_dash_mean_stdin() {
        assert_eq!(resolve(&[]).unwrap(), vec![Source::Stdin]);
        assert_eq!(resolve(&["-".into()]).unwrap(), vec![Source::Stdin]);
    }

    #[test]
    fn globs_expand_in_byte_order_and_skip_dotfiles() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.txt", "a.txt", "B.txt", ".hidden.txt", "c.log"] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        let pattern = dir.path().join("*.txt");
        let got = resolve(&[pattern.into_os_string()]).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|s| match s {
                Source::File(p) => p.file_name().unwrap().to_string_lossy().into_owned(),
                Source::Stdin => unreachable!(),
            })
            .collect();
        assert_eq!(names, ["B.txt", "a.txt", "b.txt"]);
    }

    #[test]
    fn a_glob_that_matches_nothing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let pattern = dir.path().join("*.none");
        let err = resolve(&[pattern.into_os_string()]).unwrap_err();
        assert!(matches!(err, Error::NoMatch { .. }), "{err}");
    }

    #[test]
    fn an_existing_name_with_glob_characters_is_taken_literally() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("odd[1].txt");
        std::fs::write(&odd, "x\n").unwrap();
        let got = resolve(&[odd.clone().into_os_string()]).unwrap();
        assert_eq!(got, vec![Source::File(odd)]);
    }
}
